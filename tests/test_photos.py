"""Phone photos of a page as people take them indoors: under a desk lamp, the light pooling in the middle
and fading to dark corners, a dim exposure that leaves the paper grey, a small digit in pen or pencil.
Read with the shipped CNN as well as the same digits on plain paper."""

import numpy as np
import pytest

from training.styles import lamp_photo

COUNT = 100


@pytest.fixture(scope="module")
def photos(mnist_test):
    images, labels = mnist_test
    rng = np.random.default_rng(2026)
    return [lamp_photo(digit, rng).data for digit in images[:COUNT]], labels[:COUNT]


@pytest.mark.slow  # renders and reads a photo per digit
def test_a_small_digit_photographed_under_a_lamp_is_read(engine, photos):
    uploads, labels = photos
    results = [engine.classify(data, "cnn") for data in uploads]
    right = np.mean([result.digit == label for result, label in zip(results, labels)])
    called_blank = sum(result.digit is None for result in results)
    assert right >= 0.97, f"{right:.1%} read right, {called_blank} called 'no digit'"
    assert called_blank == 0


@pytest.mark.slow  # renders and reads a photo per digit
def test_the_dark_corners_of_a_lamp_lit_photo_are_not_taken_for_ink(photos):
    from digits.preprocessing import prepare_upload

    uploads, _ = photos
    for data in uploads[:10]:
        prepared = prepare_upload(data, "photo.jpg")
        rows, columns = np.nonzero(prepared.pixels > 128)
        # the digit, centred the MNIST way, not a corner's wedge pushed into one side of the frame
        assert prepared.has_digit and abs(rows.mean() - 14) < 4 and abs(columns.mean() - 14) < 4
