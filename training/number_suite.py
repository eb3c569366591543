"""The whole-number suite: numbers composed from the validation digits, written on paper, read through
the whole serving path (`digits.numbers.read_number`), split by spacing.

    digits evaluate reader --suite numbers [--json]
    digits evaluate reader --suite typeface-numbers [--json]

The second suite's numbers are written by other hands: each number by one of the held-out typeface
families (training/typefaces.py: 20 families never trained on, their digits rendered and read back as
uploads), composed and spaced the same way. It is the proxy for writers outside MNIST.

Each spacing (apart, touching, overlapping: training/number_data.py) gets the same count of numbers of
2 to 6 digits, composed with a fixed seed and saved as dark ink on white paper (PNG), the digits about
80 pixels tall. Figures per spacing:
  whole     the share of numbers read exactly right
  count     the share read with the right number of digits
  digits    the share of the numbers' digits read right, in order (longest common subsequence)
  ceiling   the share of numbers whose every digit the chosen classifier reads right alone (its 28x28)
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from training.config import NumberReaderTrainConfig
from training.data import validation_split
from training.number_data import SPACINGS, by_family, compose_number

SUITE_SEED = 2025  # apart from the training seeds: the suite's numbers are not the checkpoint-choosing lines
TEST_SEED = 7  # numbers from MNIST test digits: the final figure, never chosen on
TYPEFACE_SEED = 2026  # numbers by the held-out typeface families (not the training run's checking lines, seed 42)
PER_SPACING = 300
PAPER_SCALE = 2  # composed digits are about 40 pixels tall; written at 80
MARGIN = 40


@dataclass(frozen=True)
class SuiteNumber:
    data: bytes  # a PNG, dark ink on white
    truth: str
    digits: np.ndarray  # uint8 (n, 28, 28): the digits it was composed from
    spacing: str
    hand: str = "mnist"  # who wrote it: MNIST's writers, or a typeface family
    ink: np.ndarray | None = field(default=None, repr=False)  # the composed ink before paper (scripts/number_errors.py)


def on_paper(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Composed ink (0-1, light on dark) as a PNG of dark ink on slightly noisy white paper."""
    padded = np.pad(ink, MARGIN // PAPER_SCALE)
    image = Image.fromarray(np.uint8(padded * 255)).resize(
        (padded.shape[1] * PAPER_SCALE, padded.shape[0] * PAPER_SCALE), Image.Resampling.BICUBIC)
    paper = 245 - np.asarray(image, np.float32) * (225 / 255) + rng.normal(0, 2, image.size[::-1])
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(paper.clip(0, 255))).save(buffer, format="PNG")
    return buffer.getvalue()


def suite_numbers(x: np.ndarray, y: np.ndarray, per_spacing: int = PER_SPACING, seed: int = SUITE_SEED,
                  lengths=(2, 3, 4, 5, 6), hands: dict | None = None) -> list[SuiteNumber]:
    """`hands` (family -> (images, labels)): each number written by one family, chosen in turn, instead
    of by MNIST's writers (x, y)."""
    numbers = []
    for index, spacing in enumerate(SPACINGS):
        rng = np.random.default_rng([seed, index])
        for count in range(per_spacing):
            hand = list(hands)[count % len(hands)] if hands else "mnist"
            images, labels = hands[hand] if hands else (x, y)
            chosen = rng.choice(len(images), int(rng.choice(lengths)), replace=False)
            composed = compose_number(images[chosen], labels[chosen], rng, spacing)
            numbers.append(SuiteNumber(on_paper(composed.ink, rng), "".join(map(str, composed.labels)),
                                       images[chosen], spacing, hand, composed.ink))
    return numbers


def typeface_numbers(per_spacing: int = PER_SPACING, seed: int = TYPEFACE_SEED, rendered=None) -> list[SuiteNumber]:
    """Numbers by the held-out typeface families (their suite's renders, or `rendered`: a StyledSet of
    some families' digits), each family writing as many."""
    from training.typefaces import load_typeface_suite

    rendered = rendered if rendered is not None else load_typeface_suite()
    families = dict.fromkeys(rendered.styles.tolist())
    return suite_numbers(None, None, per_spacing, seed, hands=dict(zip(families, by_family(
        rendered.images, rendered.labels, rendered.styles))))


def validation_numbers(mnist, per_spacing: int = PER_SPACING) -> list[SuiteNumber]:
    config = NumberReaderTrainConfig()
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    return suite_numbers(x_val, y_val, per_spacing)


def common_digits(a: str, b: str) -> int:
    """The length of the longest common subsequence of two digit strings."""
    row = [0] * (len(b) + 1)
    for ca in a:
        diagonal, row[0] = 0, 0
        for j, cb in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def score(numbers: list[SuiteNumber], read, alone) -> dict:
    """`read(bytes) -> str` reads a number; `alone(uint8 (n, 28, 28)) -> (n,)` digits read alone."""
    started = time.perf_counter()
    rows = []
    for number in numbers:
        got = read(number.data)
        ceiling = "".join(map(str, alone(number.digits))) == number.truth
        rows.append((number.spacing, got == number.truth, len(got) == len(number.truth),
                     common_digits(got, number.truth), len(number.truth), ceiling))
    figures = {}
    for spacing in (*SPACINGS, "all"):
        part = [r for r in rows if spacing in ("all", r[0])]
        figures[spacing] = {
            "numbers": len(part),
            "whole": float(np.mean([r[1] for r in part])),
            "count": float(np.mean([r[2] for r in part])),
            "digits": float(sum(r[3] for r in part) / sum(r[4] for r in part)),
            "ceiling": float(np.mean([r[5] for r in part])),
        }
    hands = dict.fromkeys(number.hand for number in numbers)
    if len(hands) > 1:
        figures["per_hand"] = {hand: float(np.mean([r[1] for r, number in zip(rows, numbers) if number.hand == hand]))
                               for hand in hands}
    figures["ms_per_number"] = (time.perf_counter() - started) * 1000 / len(numbers)
    return figures


def evaluate_numbers(engine, mnist, model: str = "cnn", per_spacing: int = PER_SPACING, confirm: str = "weighed",
                     read=None, split: str = "validation", suite: str = "numbers") -> dict:
    """The suite on numbers composed from `split`'s digits: "validation" (choose on these) or "test" (the final
    figure, other seed); or `suite="typeface-numbers"`: by the held-out typeface families (`split` unused,
    `mnist` may be None). `read(engine, data, model) -> str`: another reader to score (for comparison)."""
    from digits.numbers import read_number

    def alone(digits):
        return engine.predict_probabilities(model, digits).argmax(axis=1)

    read = read or (lambda engine, data, model: read_number(engine, data, model, confirm=confirm).number)
    if suite == "typeface-numbers":
        numbers, seed, split = typeface_numbers(per_spacing), TYPEFACE_SEED, "held-out typefaces"
    elif split == "test":
        numbers, seed = suite_numbers(mnist.x_test, mnist.y_test, per_spacing, TEST_SEED), TEST_SEED
    else:
        numbers, seed = validation_numbers(mnist, per_spacing), SUITE_SEED
    figures = score(numbers, lambda data: read(engine, data, model), alone)
    return {"suite": suite, "model": model if confirm != "none" else "reader alone", "confirm": confirm,
            "split": split, "seed": seed, **figures}


def format_figures(figures: dict) -> str:
    source = ("the held-out typeface families' digits" if figures.get("suite") == "typeface-numbers"
              else f"MNIST {figures.get('split', 'validation')} digits")
    lines = [f"Whole numbers composed from {source}, read by {figures['model']} "
             f"(seed {figures['seed']}, {figures['ms_per_number']:.1f} ms a number):",
             f"  {'spacing':<12} {'numbers':>7} {'whole':>7} {'count':>7} {'digits':>7} {'ceiling':>8}"]
    for spacing in (*SPACINGS, "all"):
        f = figures[spacing]
        lines.append(f"  {spacing:<12} {f['numbers']:>7} {f['whole']:>7.1%} {f['count']:>7.1%} {f['digits']:>7.1%} "
                     f"{f['ceiling']:>8.1%}")
    if "per_hand" in figures:
        lines.append("  whole numbers by hand: " + ", ".join(f"{hand} {share:.0%}" for hand, share in
                                                          sorted(figures["per_hand"].items(), key=lambda kv: kv[1])))
    return "\n".join(lines)
