"""Locating the digit in real pictures: a page on a table, tilted, boxed, in a dark border, a sticky
note, a screenshot, a small digit in a big photo, a digit circled by hand, chalk on a board, ruled paper
with a margin; and "no digit" for pictures that hold none (tables, empty pages and boards, textures,
gradients, shapes, printed words, icons, rendered photos of things).

The scenes are rendered from MNIST test digits by training/scenes.py; the real CNN reads them.
"""

import numpy as np
import pytest
from PIL import Image, ImageDraw

import digits.preprocessing
import digits.preprocessing.ink
import digits.preprocessing.pipeline
from training import scenes
from digits.preprocessing import prepare_upload
from digits.preprocessing.locate import ONLY_TEXTURE, STRAIGHT_BAR, find_surface
from upload_files import best_shift_correlation, encode, photo_jpeg

COUNT = 40  # digits (or pictures without one) per scene, as the maintainers measure
# The target is "no digit" for 95% of each kind of picture without a digit; these kinds are held where the
# locate stage and the digit judge have them so far (docs/reading-pipeline.md). Shapes, icons, printed text,
# textures and photos of things are families the judge was chosen on and never trained on
# (training/digit_scorer.py HELD_OUT): these are its figures on pictures of a kind it never saw.
NO_DIGIT_SHARE = {"table with things on it": 0.9, "empty board": 0.9, "empty page close up": 0.9, "texture": 0.9,
                  "shapes": 0.75, "icon": 0.85, "photo of things": 0.95}


@pytest.fixture(scope="module")
def test_digits(mnist_test):
    return mnist_test.first(COUNT)


@pytest.fixture(scope="module")
def scene_results(engine, test_digits):
    """Per scene, the CNN's results for the 40 digits drawn into it."""
    results = {}
    for index, (scene, make) in enumerate(scenes.SCENES.items()):
        rng = np.random.default_rng(index)
        results[scene] = [engine.classify(make(digit, rng), "cnn") for digit in test_digits[0]]
    return results


@pytest.mark.slow  # every scene generator on COUNT digits (scene_results)
@pytest.mark.parametrize("scene", list(scenes.SCENES))
def test_each_kind_of_picture_is_read_about_as_well_as_plain_paper(scene_results, test_digits, scene):
    right = sum(result.digit == label for result, label in zip(scene_results[scene], test_digits[1]))
    assert right >= COUNT - 4, f"{scene}: {right} of {COUNT} read right"


@pytest.mark.slow  # every scene generator on COUNT digits (scene_results)
def test_a_real_digit_is_hardly_ever_called_no_digit(scene_results):
    said = [result.digit is None for results in scene_results.values() for result in results]
    assert sum(said) <= 0.01 * len(said), f"{sum(said)} of {len(said)} digits said no digit"


# Photographs of tables, pages and boards take a second or two each to render and read: the slow tier.
PHOTOGRAPHED_BLANKS = {"empty page close up", "table with things on it", "photo of things", "empty ruled page",
                       "texture", "empty page on a table", "table", "empty screenshot", "empty board"}


@pytest.mark.parametrize("blank", [pytest.param(blank, marks=[pytest.mark.slow] if blank in PHOTOGRAPHED_BLANKS else [])
                                   for blank in scenes.BLANKS])
def test_pictures_without_a_digit_say_so(engine, blank):
    rng = np.random.default_rng(100 + list(scenes.BLANKS).index(blank))
    results = [engine.classify(scenes.BLANKS[blank](rng), "cnn") for _ in range(COUNT)]
    said = [result for result in results if result.digit is None]
    assert len(said) >= NO_DIGIT_SHARE.get(blank, 0.95) * COUNT, f"{blank}: {len(said)} of {COUNT} said no digit"
    for result in said:
        assert result.confidence is None and result.probabilities is None
        assert result.warnings[0].startswith("No digit found: ")
        assert result.to_dict()["digit"] is None


@pytest.mark.slow  # renders and reads every style (once per version of the pipeline: then cached)
def test_digits_in_the_style_shift_styles_are_not_called_no_digit(mnist_path):
    from training.style_shift import load_suite

    suite = load_suite(mnist_path, per_style=40)  # the files read back as the page reads them; test_evaluate_report too
    said = suite.images.reshape(suite.n, -1).max(axis=1) == 0  # all 0: "no digit"
    assert said.sum() <= 0.01 * suite.n, f"{said.sum()} of {suite.n} digits said no digit"


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
    monkeypatch.setattr(digits.preprocessing.pipeline, "even_out_lighting", counted)
    for seed in range(6):  # tables of several colours, some grained, some light
        evened.clear()
        prepared = prepare_upload(scenes.page_on_table(test_digits[0][seed], np.random.default_rng(seed)))
        assert prepared.has_digit and sum(evened) <= 1


def test_a_bold_digit_is_not_taken_for_the_page_it_is_on(test_digits):
    from training.styles import bold

    rng = np.random.default_rng(0)
    prepared = [prepare_upload(bold(digit, rng).data) for digit in test_digits[0][:20]]
    assert all(result.has_digit for result in prepared)


def test_a_bold_light_zero_on_a_dark_ground_is_not_taken_for_a_page():
    """A squarish 0 is a smooth light region, close to a rectangle once its hole is filled: only its
    hole (more than a page's writing would leave: SurfaceSettings.solidity) says it is not a page."""
    picture = Image.new("RGB", (300, 300), (30, 30, 30))
    ImageDraw.Draw(picture).rounded_rectangle((70, 40, 230, 260), radius=40, outline=(230, 230, 230), width=30)
    pixels = np.asarray(picture, dtype=np.float32)
    assert find_surface(pixels).shape == pixels.shape


def test_a_digit_drawn_with_straight_strokes_is_not_taken_for_a_box_of_a_layout():
    one = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(one)
    draw.line([(150, 40), (150, 250)], fill=0, width=4)  # the stem
    draw.line([(100, 80), (150, 40)], fill=0, width=4)  # the flag
    draw.line([(90, 250), (210, 250)], fill=0, width=4)  # the base
    prepared = prepare_upload(encode(one))
    assert prepared.has_digit and not prepared.warnings


def _photo_of(picture: np.ndarray) -> bytes:
    return photo_jpeg(picture + np.random.default_rng(0).normal(0, 3, picture.shape))


def test_a_page_lying_against_a_laptop_is_cut_from_it(test_digits):
    digit = test_digits[0][0]  # a 7
    picture = scenes._wood(np.random.default_rng(1), 480, 640, scenes.TABLES[0])
    picture[:, 470:] = (200, 200, 205)  # a silver laptop's edge, lighter than the table too
    picture[60:420, 150:470] = scenes.PAPER  # the page lies against it
    picture = scenes._ink_on(picture, digit, 200, (310, 240))
    surface = find_surface(picture)
    assert surface.shape[1] < 320 and surface.max(axis=-1).min() < 100  # the page alone, the digit on it
    prepared = prepare_upload(_photo_of(picture))
    assert prepared.has_digit and best_shift_correlation(prepared.pixels, digit) > 0.75


def test_an_empty_page_lying_against_a_laptop_has_no_digit():
    picture = scenes._wood(np.random.default_rng(2), 480, 640, scenes.TABLES[1])
    picture[:60] = (150, 40, 40)  # a red book along the top
    picture[40:400, 160:480] = scenes.PAPER  # an empty page touching it
    assert not prepare_upload(_photo_of(picture)).has_digit


def test_the_table_beyond_a_page_that_crosses_the_frame_is_set_aside(test_digits):
    for seed in (6, 11, 43):  # close photos of empty pages, the table in a strip down one side
        assert not prepare_upload(scenes.empty_page_close_up(np.random.default_rng(seed))).has_digit
    digit = test_digits[0][2]  # a 1
    picture = np.full((480, 640, 3), scenes.PAPER, np.float32)
    picture[:, 520:] = scenes.TABLES[4]
    picture[:, 480:520] = np.linspace(scenes.PAPER, scenes.TABLES[4], 40)  # a page's soft edge
    picture = scenes._ink_on(picture, digit, 260, (260, 240))
    prepared = prepare_upload(_photo_of(picture))
    assert prepared.has_digit and best_shift_correlation(prepared.pixels, digit) > 0.75


def test_a_corner_of_the_table_that_a_turned_page_uncovers_is_not_a_digit():
    page = Image.fromarray(np.full((480, 640, 3), scenes.PAPER, np.uint8))
    turned = page.resize((700, 520)).rotate(4, Image.Resampling.BILINEAR, fillcolor=(40, 42, 46)).crop((0, 0, 640, 480))
    prepared = prepare_upload(_photo_of(np.asarray(turned, np.float32)))
    assert not prepared.has_digit


def test_a_soft_dark_patch_on_a_table_is_not_a_digit():
    # Tables with a pen (set aside as a bar) and a knot in the wood. (The knot of seed 38 has more clear
    # ink, 20-25% of it, and passes: a higher bar also threw out 2% of blurred phone photos of real digits.)
    for seed in (16, 46):
        prepared = prepare_upload(scenes.table_photo(np.random.default_rng(seed)))
        assert prepared.warnings == (f"No digit found: {ONLY_TEXTURE}.",)


def test_faint_specks_beside_the_table_on_a_close_photo_of_a_page_are_not_a_digit():
    rng = np.random.default_rng(100 + list(scenes.BLANKS).index("empty page close up"))
    pictures = [scenes.empty_page_close_up(rng) for _ in range(39)]  # as the blanks test makes them
    prepared = prepare_upload(pictures[38])  # small faint specks: the digit scorer says they are no digit
    assert not prepared.has_digit and prepared.warnings[0].startswith("No digit found")


# 1-bit 16x16 scans of held-out typeface digits stretched to their box (training/styles.py's binary_box_16,
# light ink '.' on a dark ground): the 1-bit threshold broke a thin stroke, and every piece runs into the edge
_BROKEN_SIX = """##############.. ############..## ##########..#### #########..##### ########..###### #######..#######
######..######## ####...###.....# ###...######...# ##...#######...# #...#######...## #...#######..###
...#######..#### ...#####...##### ...####..####### #.....##########"""
_BROKEN_EIGHT = """############...# #############... ##############.. ####.#########.. ###...#######..# ####...#####.###
#####......##### #######......### ##########....## ####..#####....# ###..#######...# ##...########.##
#...########..## ....########.### ....############ ##....##########"""


@pytest.mark.parametrize("scan", [_BROKEN_SIX, _BROKEN_EIGHT], ids=["six", "eight"])
def test_a_tiny_one_bit_scan_whose_stroke_the_threshold_broke_is_read_whole(scan):
    """Each piece of the digit runs into the picture's edge; the pieces a stroke's breadth from the one
    found away from the edges are the digit's, not a table's edge: the digit is read whole (it was one
    piece of it, 8x8 and 13x14 of the 16x16, the rest dropped without a word)."""
    pixels = np.array([[255 if cell == "." else 0 for cell in row] for row in scan.split()], np.uint8)
    trace = []
    prepared = prepare_upload(encode(Image.fromarray(pixels)), trace=trace)
    assert prepared.has_digit
    assert any(step.decided == "the digit's marks: 16x16 pixels" for step in trace), [step.decided for step in trace]
