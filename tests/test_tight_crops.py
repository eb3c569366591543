"""Digits cropped right to their ink (a scanned form's box, a thumbnail), small or large, dark on
light or light on dark: read about as well as the same digits uncropped. The picture's own layout,
not its border (which is mostly ink here), has to decide the background and the polarity."""

import numpy as np
import pytest

from digits.preprocessing import prepare_upload
from upload_files import enlarged, png


def cropped_to_ink(digit: np.ndarray, side: int, light_on_dark: bool) -> bytes:
    pixels = np.clip(enlarged(digit, side), 0, 255)
    return png(pixels if light_on_dark else 255 - pixels)


def accuracy(engine, uploads, labels) -> float:
    return float(np.mean([engine.classify(data, "cnn").digit == label for data, label in zip(uploads, labels)]))


@pytest.fixture(scope="module")
def test_digits(mnist_test_digits):
    images, labels = mnist_test_digits
    return images[:500], labels[:500]


@pytest.fixture(scope="module")
def uncropped(cnn_engine, test_digits):
    images, labels = test_digits
    return accuracy(cnn_engine, [png(255 - digit) for digit in images], labels)


# A "1" cropped to its ink is mostly ink, with paper only in slivers beside it (at 16 px, 3 to 5 columns
# wide): the picture's layout, not the share of ink, tells which side is the paper.
@pytest.mark.parametrize("side", [16, 28, 100, 400])
@pytest.mark.parametrize("light_on_dark", [False, True], ids=["dark on light", "light on dark"])
def test_digits_cropped_to_their_ink_read_as_well_as_uncropped(cnn_engine, test_digits, uncropped, side, light_on_dark):
    images, labels = test_digits
    cropped = accuracy(cnn_engine, [cropped_to_ink(digit, side, light_on_dark) for digit in images], labels)
    assert cropped >= uncropped - 0.01, f"{cropped:.3f} cropped vs {uncropped:.3f} uncropped"


@pytest.mark.parametrize("side", [16, 28])
@pytest.mark.parametrize("light_on_dark", [False, True], ids=["dark on light", "light on dark"])
def test_a_one_cropped_to_its_ink_is_seen_as_its_stroke_not_its_slivers_of_paper(test_digits, side, light_on_dark):
    images, labels = test_digits
    ones = images[labels == 1][:40]

    def looks_like_the_stroke(digit) -> bool:
        seen = prepare_upload(cropped_to_ink(digit, side, light_on_dark))
        expected = prepare_upload(png(255 - digit)).pixels.ravel().astype(float)
        return seen.has_digit and np.corrcoef(seen.pixels.ravel().astype(float), expected)[0, 1] > 0.5

    share = np.mean([looks_like_the_stroke(digit) for digit in ones])
    assert share >= 0.95, f"{share:.0%} of the 1s seen as their stroke"
