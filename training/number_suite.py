"""The whole-number suite: numbers composed from the validation digits, written on paper, read through
the whole serving path (`digits.numbers.read_number`), split by spacing.

    digits evaluate reader --suite numbers [--json]

Each spacing (apart, touching, overlapping: training/number_data.py) gets the same count of numbers of
2 to 6 digits, composed with a fixed seed and saved as dark ink on white paper (PNG), the digits about
80 pixels tall. Figures per spacing:
  whole     the share of numbers read exactly right
  count     the share read with the right number of digits
  digits    the share of the numbers' digits read right, in order (longest common subsequence)
  ceiling   the share of numbers whose every digit the chosen classifier reads right alone (28x28 MNIST)
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.config import NumberReaderTrainConfig
from training.data import validation_split
from training.number_data import SPACINGS, compose_number

SUITE_SEED = 2025  # apart from the training seeds: the suite's numbers are not the checkpoint-choosing lines
TEST_SEED = 7  # numbers from MNIST test digits: the final figure, never chosen on
PER_SPACING = 300
PAPER_SCALE = 2  # composed digits are about 40 pixels tall; written at 80
MARGIN = 40


@dataclass(frozen=True)
class SuiteNumber:
    data: bytes  # a PNG, dark ink on white
    truth: str
    digits: np.ndarray  # uint8 (n, 28, 28): the MNIST digits it was composed from
    spacing: str


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
                  lengths=(2, 3, 4, 5, 6)) -> list[SuiteNumber]:
    numbers = []
    for index, spacing in enumerate(SPACINGS):
        rng = np.random.default_rng([seed, index])
        for _ in range(per_spacing):
            chosen = rng.choice(len(x), int(rng.choice(lengths)), replace=False)
            composed = compose_number(x[chosen], y[chosen], rng, spacing)
            numbers.append(SuiteNumber(on_paper(composed.ink, rng), "".join(map(str, composed.labels)), x[chosen],
                                       spacing))
    return numbers


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
    figures["ms_per_number"] = (time.perf_counter() - started) * 1000 / len(numbers)
    return figures


def evaluate_numbers(engine, mnist, model: str = "cnn", per_spacing: int = PER_SPACING, confirm: str = "apart",
                     read=None, split: str = "validation") -> dict:
    """The suite on numbers composed from `split`'s digits: "validation" (choose on these) or "test" (the final
    figure, other seed). `read(engine, data, model) -> str`: another reader to score (for comparison)."""
    from digits.numbers import read_number

    def alone(digits):
        return engine.predict_probabilities(model, digits).argmax(axis=1)

    read = read or (lambda engine, data, model: read_number(engine, data, model, confirm=confirm).number)
    numbers, seed = ((suite_numbers(mnist.x_test, mnist.y_test, per_spacing, TEST_SEED), TEST_SEED) if split == "test"
                     else (validation_numbers(mnist, per_spacing), SUITE_SEED))
    figures = score(numbers, lambda data: read(engine, data, model), alone)
    return {"suite": "numbers", "model": model if confirm != "none" else "reader alone", "confirm": confirm,
            "split": split, "seed": seed, **figures}


def format_figures(figures: dict) -> str:
    lines = [f"Whole numbers composed from MNIST {figures.get('split', 'validation')} digits, read by {figures['model']} "
             f"(seed {figures['seed']}, {figures['ms_per_number']:.1f} ms a number):",
             f"  {'spacing':<12} {'numbers':>7} {'whole':>7} {'count':>7} {'digits':>7} {'ceiling':>8}"]
    for spacing in (*SPACINGS, "all"):
        f = figures[spacing]
        lines.append(f"  {spacing:<12} {f['numbers']:>7} {f['whole']:>7.1%} {f['count']:>7.1%} {f['digits']:>7.1%} "
                     f"{f['ceiling']:>8.1%}")
    return "\n".join(lines)
