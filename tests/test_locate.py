"""Locating the digit in real pictures: a page on a table, tilted, boxed, in a dark border, a sticky
note, a screenshot, a small digit in a big photo; and "no digit" for pictures that hold none.

The scenes are rendered from MNIST test digits by tests/scenes.py; the real CNN reads them.
"""

import numpy as np
import pytest
from PIL import Image, ImageDraw

import digits.preprocessing
import digits.preprocessing.ink
import scenes
from digits.engine import Engine
from digits.preprocessing import prepare_upload
from digits.preprocessing.locate import STRAIGHT_BAR, find_surface
from upload_files import best_shift_correlation, encode, photo_jpeg

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
    assert len(said) >= 18, f"{blank}: {len(said)} of 20 said no digit"
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


def test_a_digit_written_across_the_lines_of_a_printed_box_keeps_its_strokes(test_digits):
    digit = test_digits[0][1]  # a 2
    form = Image.new("RGB", (300, 300), scenes.PAPER)
    ImageDraw.Draw(form).rectangle([70, 70, 230, 230], outline=(30, 30, 30), width=2)
    picture = scenes._ink_on(np.asarray(form, np.float32), digit, 210, (150, 150))  # runs across the box's lines
    prepared = prepare_upload(encode(Image.fromarray(picture.astype(np.uint8))))
    assert prepared.has_digit and best_shift_correlation(prepared.pixels, digit) > 0.8


def test_a_pen_lying_on_a_table_is_not_a_digit():
    table = scenes._wood(np.random.default_rng(0), 480, 640, scenes.TABLES[1])
    photo = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8))
    ImageDraw.Draw(photo).line([(200, 300), (460, 150)], fill=(20, 40, 140), width=10)
    prepared = prepare_upload(photo_jpeg(np.asarray(photo, np.float32)))
    assert not prepared.has_digit and prepared.warnings == (f"No digit found: {STRAIGHT_BAR}.",)


def test_the_light_is_evened_out_once_when_a_page_is_cut_out_of_a_photo(test_digits, monkeypatch):
    evened = []
    real = digits.preprocessing.ink.even_out_lighting

    def counted(pixels):
        result = real(pixels)
        evened.append(result is not pixels)
        return result

    monkeypatch.setattr(digits.preprocessing.ink, "even_out_lighting", counted)
    monkeypatch.setattr(digits.preprocessing, "even_out_lighting", counted)
    for seed in range(6):  # tables of several colours, some grained, some light
        evened.clear()
        prepared = prepare_upload(scenes.page_on_table(test_digits[0][seed], np.random.default_rng(seed)))
        assert prepared.has_digit and sum(evened) <= 1


def test_a_bold_digit_is_not_taken_for_the_page_it_is_on(test_digits):
    from training.styles import bold

    rng = np.random.default_rng(0)
    prepared = [prepare_upload(bold(digit, rng).data) for digit in test_digits[0][:20]]
    assert all(result.has_digit for result in prepared)


def test_a_digit_drawn_with_straight_strokes_is_not_taken_for_a_box_of_a_layout():
    one = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(one)
    draw.line([(150, 40), (150, 250)], fill=0, width=4)  # the stem
    draw.line([(100, 80), (150, 40)], fill=0, width=4)  # the flag
    draw.line([(90, 250), (210, 250)], fill=0, width=4)  # the base
    prepared = prepare_upload(encode(one))
    assert prepared.has_digit and not prepared.warnings
