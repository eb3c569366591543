"""Locating the digit in real pictures: a page on a table, tilted, boxed, in a dark border, a sticky
note, a screenshot, a small digit in a big photo; and "no digit" for pictures that hold none.

The scenes are rendered from MNIST test digits by tests/scenes.py; the real CNN reads them.
"""

import numpy as np
import pytest

import scenes
from digits.engine import Engine
from digits.preprocessing import prepare_upload
from digits.preprocessing.locate import find_surface
from upload_files import best_shift_correlation

COUNT = 40  # digits per scene, as the maintainers measure


@pytest.fixture(scope="module")
def engine():
    with Engine(model_ids=("cnn",)) as engine:
        yield engine


@pytest.fixture(scope="module")
def test_digits(mnist_path):
    with np.load(mnist_path) as mnist:
        return mnist["x_test"][:COUNT].copy(), mnist["y_test"][:COUNT].copy()


@pytest.mark.parametrize("scene", list(scenes.SCENES))
def test_each_kind_of_picture_is_read_about_as_well_as_plain_paper(engine, test_digits, scene):
    rng = np.random.default_rng(list(scenes.SCENES).index(scene))
    results = [engine.classify(scenes.SCENES[scene](digit, rng), "cnn") for digit in test_digits[0]]
    right = sum(result.digit == label for result, label in zip(results, test_digits[1]))
    assert right >= COUNT - 4, f"{scene}: {right} of {COUNT} read right"
    assert sum(result.digit is None for result in results) <= 1  # a clear digit is not "no digit"


@pytest.mark.parametrize("blank", list(scenes.BLANKS))
def test_pictures_without_a_digit_say_so(engine, blank):
    rng = np.random.default_rng(100 + list(scenes.BLANKS).index(blank))
    results = [engine.classify(scenes.BLANKS[blank](rng), "cnn") for _ in range(20)]
    said = [result for result in results if result.digit is None]
    assert len(said) >= (10 if blank == "empty screenshot" else 18), f"{blank}: {len(said)} of 20 said no digit"
    for result in said:
        assert result.confidence is None and result.probabilities is None
        assert result.warnings[0].startswith("No digit found: ")
        assert result.to_dict()["digit"] is None


def test_the_page_is_cropped_out_of_the_table(test_digits):
    data = scenes.page_on_table(test_digits[0][0], np.random.default_rng(3))
    prepared = prepare_upload(data)
    assert prepared.has_digit and best_shift_correlation(prepared.pixels, test_digits[0][0]) > 0.75


def test_a_picture_that_is_all_page_is_left_whole():
    page = np.full((200, 300, 3), 235.0, np.float32)
    page[80:120, 100:200] = 30.0  # something written on it
    assert find_surface(page).shape == page.shape


def test_a_page_inside_a_dark_border_is_cut_out_and_the_border_painted_over():
    picture = np.full((300, 400, 3), 20.0, np.float32)
    picture[30:270, 40:360] = 240.0
    picture[120:180, 150:250] = 30.0  # a mark on the page
    surface = find_surface(picture)
    assert surface.shape[0] < 240 and surface.shape[1] < 320  # inside the page, its edge left out
    assert surface.min() == 30.0 and np.count_nonzero(surface < 100) == 60 * 100 * 3  # only the mark is dark
