"""Whole numbers in other hands: training lines written partly by typeface families, and the held-out
families' number suite (training/number_data.py, training/number_suite.py).

The composer is checked on real renders of DejaVu's digits (the fonts matplotlib ships), read back
through the upload pipeline as the typeface digits are; the held-out suite only where the font
packages are already installed (training fetches them), as tests/test_typefaces.py does.
"""

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from digits.preprocessing import prepare_upload
from training import typefaces
from training.number_data import by_family, chosen_digits, line_batch
from training.number_suite import score, typeface_numbers

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def rendered_digits(font_file: Path, per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        for _ in range(per_digit):
            upload = typefaces.render_digit(font_file, digit, rng)
            images.append(prepare_upload(upload.data, upload.filename).pixels)
            labels.append(digit)
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="module")
def two_hands():
    """Two 'families' of real renders (DejaVu Sans and DejaVu Serif), 2 of each digit, and a blank render."""
    sans, sans_labels = rendered_digits(FONTS / "DejaVuSans.ttf", 2, 0)
    serif, serif_labels = rendered_digits(FONTS / "DejaVuSerif.ttf", 2, 1)
    images = np.concatenate([sans, serif, np.zeros((1, 28, 28), np.uint8)])
    labels = np.concatenate([sans_labels, serif_labels, [3]])
    styles = np.array(["sans"] * 20 + ["serif"] * 20 + ["serif"])
    return images, labels, styles


def test_a_blank_render_gives_no_digit_to_compose(two_hands):
    hands = by_family(*two_hands)
    assert [len(images) for images, _ in hands] == [20, 20]
    assert all(images.reshape(len(images), -1).max(axis=1).min() > 30 for images, _ in hands)


def test_a_line_in_another_hand_is_mostly_one_family_and_partly_mnist(two_hands, mnist_path):
    from training.data import load_mnist

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:500], mnist.y_train[:500]
    hands = by_family(*two_hands)
    rng = np.random.default_rng(3)
    sources = {"sans": {image.tobytes() for image in hands[0][0]}, "serif": {image.tobytes() for image in hands[1][0]}}
    label_of = {image.tobytes(): label
                for pool, pool_labels in [(x, y), *hands] for image, label in zip(pool, pool_labels)}
    in_hand, lines_in_hand = [], 0
    for _ in range(200):
        images, labels = chosen_digits(x, y, 5, rng, hands, typeface_lines=0.5, typeface_digits=0.8)
        families = [{name for name, seen in sources.items() if image.tobytes() in seen} for image in images]
        assert len(set().union(*families)) <= 1  # one writer's hand in a line
        lines_in_hand += bool(set().union(*families))
        if set().union(*families):
            in_hand.append(np.mean([bool(f) for f in families]))
        assert [label_of[image.tobytes()] for image in images] == list(labels)  # each digit keeps its label
    assert 0.4 < lines_in_hand / 200 < 0.6
    assert 0.7 < np.mean(in_hand) < 0.9

    batch, targets, lengths, _ = line_batch(x, y, 8, rng, "touching", typefaces=hands)
    assert batch.shape[0] == 8 and batch.max() > 0.5 and (targets[np.arange(8), lengths - 1] >= 0).all()


@pytest.mark.slow  # renders 3 families (a spawned pool) and reads 12 numbers
def test_the_held_out_families_write_the_typeface_suite(tmp_path, monkeypatch, engine):
    folder = typefaces.fonts_dir()
    if not (folder / "node_modules" / "@fontsource").is_dir():
        pytest.skip(f"the typeface packages are not installed in {folder} (training fetches them)")
    from digits.numbers import read_number

    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))  # a small fresh render, not the cached suite
    chosen = typefaces.held_out_families()[:3]
    rendered = typefaces.load_typeface_suite(per_digit=2, chosen=chosen)
    numbers = typeface_numbers(per_spacing=4, rendered=rendered)
    assert [n.spacing for n in numbers].count("overlapping") == 4
    assert {n.hand for n in numbers} == {family.name for family in chosen}
    assert [n.data for n in typeface_numbers(per_spacing=4, rendered=rendered)] == [n.data for n in numbers]  # seeded
    figures = score(numbers, lambda data: read_number(engine, data, "cnn").number,
                    lambda digits: engine.predict_probabilities("cnn", digits).argmax(axis=1))
    assert set(figures["per_hand"]) == {family.name for family in chosen}
    assert figures["all"]["digits"] >= 0.75  # other hands, yet most digits read


def heavy_digits(font_file: Path, per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    uploads = [(typefaces.render_heavy_digit(font_file, digit, rng), digit) for digit in range(10) for _ in range(per_digit)]
    return (np.stack([prepare_upload(upload.data, upload.filename).pixels for upload, _ in uploads]),
            np.array([digit for _, digit in uploads]))


def test_a_share_of_the_typeface_lines_is_written_in_a_heavy_hand(two_hands, mnist_path):
    """The stop-53 option: heavy renders (a bold face made bolder) write `heavy_lines` of the typeface lines,
    one hand a line; their digits carry more ink than the plain renders'; off, the lines are drawn as before."""
    from training.data import load_mnist

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:500], mnist.y_train[:500]
    hands = by_family(*two_hands)
    heavy = by_family(*heavy_digits(FONTS / "DejaVuSans-Bold.ttf", 2, 2), np.array(["sans-bold"] * 20))
    heavy_seen = {image.tobytes() for image in heavy[0][0]}
    plain_seen = {image.tobytes() for pool, _ in hands for image in pool}
    rng = np.random.default_rng(4)
    heavy_lines = plain_lines = 0
    for _ in range(300):
        images, labels = chosen_digits(x, y, 5, rng, hands, typeface_lines=0.5, typeface_digits=1.0,
                                       heavy_typefaces=heavy, heavy_lines=0.4)
        in_heavy = [image.tobytes() in heavy_seen for image in images]
        in_plain = [image.tobytes() in plain_seen for image in images]
        assert not (any(in_heavy) and any(in_plain))  # one hand a line
        heavy_lines += all(in_heavy)
        plain_lines += all(in_plain)
    assert 0.14 < heavy_lines / 300 < 0.26  # 0.5 of the lines in a typeface's hand, 0.4 of those heavy
    assert 0.24 < plain_lines / 300 < 0.36
    ink = lambda images: float(np.mean([(image > 127).mean() for image in images]))  # noqa: E731
    assert ink(heavy[0][0]) > 1.2 * ink(hands[0][0])  # bolder strokes in the same 28x28 frame

    def lines(**heavy_option):
        return line_batch(x, y, 6, np.random.default_rng(7), typefaces=hands, **heavy_option)[0]

    assert np.array_equal(lines(heavy_typefaces=heavy, heavy_lines=0.0), lines())  # off: the lines as before
    assert not np.array_equal(lines(heavy_typefaces=heavy, heavy_lines=1.0), lines())
