"""Digits drawn on a sketch pad: MNIST test digits' skeletons replayed as pen strokes on a square canvas,
exported as the browser's canvas does (PNG, transparent or white), read as well as the originals."""

import numpy as np
import pytest
from PIL import Image, ImageDraw
from digit_strokes import drawn_on_pad, skeleton_strokes
from skimage.morphology import skeletonize
from upload_files import encode


CANVAS = 280  # pixels a side, as the page's drawing area exports it
PEN_WIDTHS = (10, 16, 20, 24)  # thin, medium, the page's pen (1/14 of its side), thick


@pytest.fixture(scope="module")
def engine(cnn_engine):
    return cnn_engine


@pytest.fixture(scope="module")
def mnist_test(mnist_test_digits):
    images, labels = mnist_test_digits
    return images[:300], labels[:300]


def drawn(digit: np.ndarray, pen: int, transparent: bool) -> bytes:
    """The digit's skeleton replayed as round-capped strokes `pen` pixels wide on the canvas."""
    scale = CANVAS / digit.shape[0]
    skeleton = skeletonize(digit > 96)
    image = Image.new("RGBA" if transparent else "RGB", (CANVAS, CANVAS), (0, 0, 0, 0) if transparent else "white")
    draw = ImageDraw.Draw(image)
    ink = (20, 20, 20, 255)
    points = set(zip(*np.nonzero(skeleton)))
    for y, x in points:
        centre = ((x + 0.5) * scale, (y + 0.5) * scale)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each stroke segment to a neighbour, once
            if (y + dy, x + dx) in points:
                draw.line([centre, ((x + dx + 0.5) * scale, (y + dy + 0.5) * scale)], fill=ink, width=pen)
        draw.ellipse([centre[0] - pen / 2, centre[1] - pen / 2, centre[0] + pen / 2, centre[1] + pen / 2], fill=ink)
    return encode(image)


@pytest.mark.parametrize("pen", PEN_WIDTHS)
def test_drawn_digits_read_as_well_as_the_originals(engine, mnist_test, pen):
    images, labels = mnist_test
    originals = engine.predict_probabilities("cnn", images).argmax(axis=1)
    uploads = [(f"drawing-{i}.png", drawn(image, pen, transparent=i % 2 == 0)) for i, image in enumerate(images)]
    results = engine.classify_batch(uploads)
    drawn_right = np.mean([result.digit == label for result, label in zip(results, labels)])
    assert drawn_right >= np.mean(originals == labels) - 0.03, drawn_right


def test_strokes_traced_as_the_browser_tests_draw_them_read_as_well_as_the_originals(engine, mnist_test):
    """The strokes the sketch pad's browser tests replay, drawn as the page's canvas draws them (280 px,
    a 20 px round pen, dark on white): the preprocessing reads them as well as the MNIST originals."""
    images, labels = mnist_test
    originals = engine.predict_probabilities("cnn", images).argmax(axis=1)
    uploads = [(f"Drawing {i}", encode(drawn_on_pad(skeleton_strokes(image)))) for i, image in enumerate(images)]
    drawn_right = np.mean([result.digit == label for result, label in zip(engine.classify_batch(uploads), labels)])
    assert drawn_right >= np.mean(originals == labels) - 0.03, drawn_right
