"""The second, independent scene renderers (training/proxy_scenes.py) read as a user would: MNIST test
digits circled by hand in seven ways, in chalk on a board (and on a worn board: thin broken chalk,
smeared), on a ruled notebook page, beside the same digits on plain paper; and photo-like pictures
without a digit. Nothing was tuned on these renderers: they stand in for the maintainers' hidden scenes,
drawn by renderers we do not have.

The design was chosen on MNIST *validation* digits and the held-out typefaces (docs/reading-pipeline.md,
"A second, independent set of scenes"); these 35 test digits gave the final figure once, and the bars
sit a digit or two under it: circled 80.0% read right, 2.9% "no digit" (65.7% and 17.1% before a
close loop's marks judged "no digit" were read again without it, 48.6% before the judge chose among
close loops: the circled bars fail on the code before), plain paper 100%; at stop 42, once, after the
rulings' own ink and the board's broad light: chalkboard 100% (88.6% before), ruled notebook 97.1%
(91.4% before), worn chalkboard 42.9% (not read on the code before). At stop 43 a loop drawn close round
the digit or across it loses only its own stroke, and the judge chooses between every lap set aside and
the outermost alone: chosen on validation digits (circled 85.8% -> 95.8% of 120) and the held-out
typefaces (90.0% -> 92.5%); these 35 test digits, once after: 80.0% -> 82.9%, so the circled bar rises
to a digit under that (0.74 -> 0.80), and the circle drawn across the digit below is the test that
fails on the code before (28 of 40 there). Also at stop 43, after the board's ground became light wider
than three strokes, a line of chalk in pieces one mark and chalk in a photo read at full strength (chosen
on validation and typeface digits: worn boards 42.5 -> 75.0% on both): worn chalkboard 68.6% (the worn
bar fails on the code before), chalkboard 100%, the others as before. At stop 45 the board's ground is
measured on the chalk's strokes (not on the board's frame or a glare) and a half-wiped stretch of chalk
with no clear ink near is read as strong as the line beside it (chosen on validation and typeface
digits: worn boards 75.0 -> 87.5% and 73.75 -> 82.5%): worn chalkboard 82.9% (the worn bar, 0.77, fails
on the code before), the others as before.
"""

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import skeletonize

from digits.reader import Reader
from training import proxy_scenes

pytestmark = pytest.mark.slow

COUNT = 35  # digits a kind: every mark of the circled kind five times
BARS = {"plain paper": 0.94, "circled": 0.80, "chalkboard": 0.94, "ruled notebook": 0.91, "worn chalkboard": 0.77}
PHOTOS = 8  # pictures a kind without a digit


@pytest.fixture(scope="module")
def reader():
    with Reader() as opened:
        yield opened


@pytest.fixture(scope="module")
def figures(reader, mnist_test):
    images, labels = mnist_test.first(COUNT)
    inks = proxy_scenes.mnist_inks(images)
    read = {}
    for kind in proxy_scenes.SCENES:
        answers = [reader.classify(upload).digit for upload in proxy_scenes.render(kind, inks)]
        read[kind] = np.array([answer == label for answer, label in zip(answers, labels)]), \
            np.array([answer is None for answer in answers])
    return read


@pytest.mark.parametrize("kind", list(BARS))
def test_each_kind_of_scene_reads_the_digits_nearly_as_plain_paper_does(figures, kind):
    right, no_digit = figures[kind]
    assert right.mean() >= BARS[kind], f"{kind}: {right.mean():.1%} read right, {no_digit.mean():.1%} 'no digit'"


def test_every_mark_drawn_round_a_digit_leaves_the_digit_readable(figures):
    """Each of the seven marks (a gap, an overshoot, a double loop, a box, a cloud, a circle crossing the
    digit, a circle and an underline) leaves at least two of its five digits readable."""
    right, _ = figures["circled"]
    by_mark = {mark: int(right[index::len(proxy_scenes.MARKS)].sum()) for index, mark in enumerate(proxy_scenes.MARKS)}
    assert min(by_mark.values()) >= 2 and sum(by_mark.values()) >= BARS["circled"] * COUNT, by_mark


def _read(reader, uploads, labels) -> tuple[int, int]:
    """How many of the uploads are read as their label, and how many are answered "no digit"."""
    answers = [reader.classify(upload).digit for upload in uploads]
    return sum(answer == label for answer, label in zip(answers, labels)), answers.count(None)


def test_a_circle_drawn_across_the_digit_takes_only_its_own_stroke(reader, mnist_test):
    """A circle too small or off the centre touches or crosses the digit's strokes: set aside, it takes
    its own pen's width and not the strokes beside it (a 7's bar along it, a 2's tail across it), so the
    digit inside is read, not a ring read 0 nor a digit cut short. Chosen on 40 MNIST validation digits
    (77.5% -> 90.0% read right with this renderer and seed) and 40 held-out typeface digits (90.0% ->
    92.5%); the bar, 34 of 40, fails on the code before (31 of 40 validation digits, 28 of these)."""
    images, labels = mnist_test.first(40)
    rng = np.random.default_rng(2743)
    uploads = [proxy_scenes.circled(ink, rng, "touching circle") for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 34, f"{right} of 40 read right; {no_digit} 'no digit'"


def _circled_in_turn(mnist_test, count: int, seed: int) -> tuple[list, np.ndarray]:
    """The first `count` MNIST test digits circled in the proxy's marks in turn, and their labels."""
    images, labels = mnist_test.first(count)
    rng = np.random.default_rng(seed)
    marks = proxy_scenes.MARKS
    return [proxy_scenes.circled(ink, rng, marks[index % len(marks)])
            for index, ink in enumerate(proxy_scenes.mnist_inks(images))], labels


def test_a_circled_digit_the_two_readings_disagree_on_is_decided_by_their_average(reader, mnist_test):
    """The marks as found (the loop with them) judged a digit, those inside the loop nearer MNIST's digits
    but judged no digit: "no digit" was answered, whatever the two said together. Their log-odds' average
    against the judge's threshold now decides whether the marks inside are read (close_loops_or_not).
    Chosen on 160 MNIST validation digits circled in the proxy's seven marks (91.25% -> 92.5% read right,
    "no digit" 7 -> 5; at the scene seed + 1000: 91.875% both, "no digit" 6 -> 5), held-out typefaces
    unchanged (91.875%); these 280 test digits, once after: 260 -> 262 read right ("no digit" 9 -> 7), so
    the bars, 261 and 8, fail on the code before."""
    right, no_digit = _read(reader, *_circled_in_turn(mnist_test, 280, seed=2751))
    assert right >= 261 and no_digit <= 8, f"{right} of 280 read right; {no_digit} 'no digit'"


def test_a_circled_digit_the_judge_passes_as_found_is_not_answered_no_digit(reader, mnist_test):
    """The marks as found (the loop with them) judged a digit, those inside the loop nearer MNIST's digits
    but judged no digit, and the two readings' log-odds on average short of the judge's threshold: "no
    digit" was answered, though the judge passed the marks as found. They are now read (close_loops_or_not:
    whether there is a digit is the judge's verdict on the marks as found). Chosen on 320 MNIST validation
    digits circled in the proxy's seven marks (at the scene seed and + 1000: 301 -> 303 read right, a
    rough box's 3 and an overshooting loop's 0; an underlined 8 went from "no digit" to 6) and 320
    held-out typeface digits (unchanged). These 280 test digits, once after: 261 read right before and
    after, "no digit" 3 -> 2 (the one changed reading, an underlined 3, is read 0, the ring kept: wrong
    either way), so the "no digit" bar fails on the code before."""
    right, no_digit = _read(reader, *_circled_in_turn(mnist_test, 280, seed=2752))
    assert right >= 261 and no_digit <= 2, f"{right} of 280 read right; {no_digit} 'no digit'"


def test_a_rough_box_drawn_round_a_digit_is_set_aside(reader, mnist_test):
    """A box drawn by hand round a digit, each side its own stroke overshooting the corners, is no smooth
    oval (its distance from the centre spreads by 0.15-0.19 of its half-sides, over the loop test's 0.15),
    so it was left in and the digit read with it or the whole judged no digit. It is now told by its own
    shape: its outermost ink along its box's sides all round, clear of the digit. Chosen on 160 MNIST
    validation digits in the proxy's circled scenes (box 18 -> 22 of 23; at the scene seed + 1000, 20 ->
    22) and 160 held-out typeface digits (17 -> 19 of 23); these 40 test digits, once after: 33 -> 35 read
    right, so the bar, 34, fails on the code before."""
    images, labels = mnist_test.first(40)
    rng = np.random.default_rng(2750)
    uploads = [proxy_scenes.circled(ink, rng, "box") for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 34, f"{right} of 40 read right; {no_digit} 'no digit'"


def test_chalk_on_a_board_lit_in_its_middle_with_a_light_frame_is_read_as_chalk(reader, mnist_test):
    """A board under a lamp (its middle lit to a mid-grey, its corners dark) in a light frame: the frame is
    the lightest tenth of the picture's border, and from it the dark corners went further than the chalk
    rose, so the board was evened out as a grey page of dark ink and the digit lost ("no digit"). The
    lighting stage now looks from most of the picture's level. Chosen on validation digits (25 -> 28 of
    30 read right with this renderer and seed) and held-out typefaces (33 -> 36 of 40); these 40 test
    digits, once after: 34 -> 38, so the bar, 37, fails on the code before."""
    images, labels = mnist_test.first(40)
    rng = np.random.default_rng(2760)
    uploads = [proxy_scenes.lamp_lit_chalkboard(ink, rng) for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 37, f"{right} of 40 read right; {no_digit} 'no digit'"


def _thin_line_of_chalk(ink: np.ndarray, rng, length_share: float | None = None):
    """A board and the chalk (0-1) of a thin line of it broken by the board's grain, as the worn board
    draws it, the digit `length_share` of the board's height tall (drawn from 0.3-0.55 where not given);
    with the digit's left and right edges and its height in pixels."""
    height, width = 480, 640
    board = proxy_scenes._board_surface(rng, height, width)
    length = int(height * (rng.uniform(0.3, 0.55) if length_share is None else length_share))
    scaled = proxy_scenes._scaled(ink, length)
    line = ndimage.binary_dilation(skeletonize(scaled > 100), iterations=max(1, int(0.015 * length)))
    layer = np.zeros((height, width), np.float32)
    x0, _, x1, _ = proxy_scenes._laid(layer, ndimage.gaussian_filter(line.astype(np.float32), 0.8) * 255.0,
                                      (width // 2, height // 2))
    solid = layer / 255.0
    chalk = np.clip((proxy_scenes._smooth_field(rng, height, width, 0.9) + 2.0 * solid - 1.3) / 0.6, 0, 1) * solid
    return board, chalk, x0, x1, length


def _chalk_photo(board: np.ndarray, chalk: np.ndarray, rng) -> bytes:
    return proxy_scenes._as_photo(proxy_scenes._paint(board, np.clip(chalk * 0.55, 0, 1), (235, 235, 228), 1.0), rng)


def test_a_one_in_a_thin_line_of_chalk_is_no_bar(reader, mnist_test):
    """The thin stick's clear stroke is 1.3 pixels at the working size, so a chalk 1's clear ink is more
    than 12 times longer than wide and was set aside as "a straight bar, like a pen". Chalk whose clear
    stroke is narrower than its soft edge is held to the bar test on the whole mark with its faint edge
    (`Marks.body_is_a_bar`). Chosen on the proxy's worn boards (validation 80-239 at another seed: 86.25
    -> 87.5%) and 30 validation 1s in this line (23 -> 30); these 30 test 1s, once after: 21 -> 29 read
    right, so the bar, 27, fails on the code before."""
    ones = mnist_test.images[mnist_test.labels == 1][:30]
    rng = np.random.default_rng(2752)
    uploads = []
    for ink in proxy_scenes.mnist_inks(ones):
        board, chalk, *_ = _thin_line_of_chalk(ink, rng)
        uploads.append(_chalk_photo(board, chalk, rng))
    right, no_digit = _read(reader, uploads, np.ones(len(ones), int))
    assert right >= 27, f"{right} of 30 read right; {no_digit} 'no digit'"


def _chalk_half_wiped_on_the_left(ink: np.ndarray, rng) -> bytes:
    """A thin line of chalk broken by the board's grain, as the worn board draws it, with an upright band
    across the left of the digit wiped to a quarter of the chalk: the line there is a run of grain dots."""
    board, chalk, x0, x1, length = _thin_line_of_chalk(ink, rng, 0.45)
    columns = np.arange(chalk.shape[1], dtype=np.float32)[None, :]
    band = np.abs(columns - (x0 + x1) / 2 + 0.25 * (x1 - x0)) < 0.12 * length
    return _chalk_photo(board, chalk * np.where(band, 0.25, 1.0), rng)


def test_a_stretch_of_chalk_an_eraser_half_wiped_is_read_as_the_line(reader, mnist_test):
    """Where an eraser half wiped a line of chalk, the line is the board's grain, dots of 7-20 of 255
    beyond a soft edge's reach of the clear ink, each dropped alone as a smear: a 9's loop read 7, a 6's
    loop read 5 or 9. The dots that run on from a loose end of the line along its heading and come back to
    it are the line (`marks._wiped_stretches`). Chosen on the proxy's worn boards (validation 91.25 ->
    92.5%, held-out typefaces 87.5 -> 90.0%); these 40 test digits, once after: 29 -> 35 read right (a
    2, a 5, two 6s and two 9s gained, none lost), so the bar, 34, fails on the code before."""
    images, labels = mnist_test.first(40)
    rng = np.random.default_rng(2751)
    uploads = [_chalk_half_wiped_on_the_left(ink, rng) for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 34, f"{right} of 40 read right; {no_digit} 'no digit'"


def test_a_half_wiped_stretch_whose_dots_scatter_wider_than_the_stick_is_read_as_the_line(reader, mnist_test):
    """The thin stick's clear stroke is 1.3 pixels at the working size, and the grain's dots of its
    wiped stretch scatter wider about the line's heading than that, so the chain of dots
    (`marks._wiped_stretches`) steps within half a soft edge's reach of its heading. Chosen on the
    proxy's worn boards (validation 80-239 at another seed: 84.4 -> 86.25%; validation 0-79 and held-out
    typefaces the same); the next 80 test digits on the half-wiped board, once after: 72 -> 74 read
    right (two 9s read 7 gained, none lost), so the bar, 73, fails on the code before."""
    images, labels = mnist_test.images[40:120], mnist_test.labels[40:120]
    rng = np.random.default_rng(2753)
    uploads = [_chalk_half_wiped_on_the_left(ink, rng) for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 73, f"{right} of 80 read right; {no_digit} 'no digit'"


def test_a_faint_worn_board_whose_clear_chalk_is_only_the_grains_dots_is_read(reader, mnist_test):
    """On a worn board the thin stick's clear ink is the grain's dots along its line (its stroke under
    2 px, 3-19% of the mark on the boards traced), so a faint board's digit was answered "only faint
    marks all over it" (`WRITING_CLEAR`). Thin chalk (`Marks.body_is_thin_chalk`) is not held to that
    test. Chosen on the proxy's worn boards (validation 80-239 at another seed: 87.5 -> 88.1%; no digit
    pictures, proxy scenes and everyday photos the same); these 160 test digits, once after: 132 -> 136
    read right, so the bar, 134, fails on the code before."""
    images, labels = mnist_test.images[120:280], mnist_test.labels[120:280]
    rng = np.random.default_rng(2754)
    uploads = [proxy_scenes.SCENES["worn chalkboard"](ink, rng) for ink in proxy_scenes.mnist_inks(images)]
    right, no_digit = _read(reader, uploads, labels)
    assert right >= 134, f"{right} of 160 read right; {no_digit} 'no digit'"


def test_a_circled_digit_is_seldom_called_no_digit(figures):
    """A ring round a digit is no digit to the judge; the marks inside it are (1 of 35 "no digit"; 6 of
    35 when the reading without the loop was tried only for marks judged a digit with it)."""
    _, no_digit = figures["circled"]
    assert no_digit.sum() <= 2, f"{no_digit.sum()} of {COUNT} circled digits called 'no digit'"


def test_photo_like_pictures_without_a_digit_are_answered_no_digit(reader):
    answers = {kind: [reader.classify(upload).digit for upload in proxy_scenes.render_photos(kind, PHOTOS)]
               for kind in proxy_scenes.PHOTOS}
    said = {kind: sum(answer is None for answer in found) for kind, found in answers.items()}
    assert sum(said.values()) >= 0.9 * PHOTOS * len(proxy_scenes.PHOTOS), said


def test_the_renderers_are_seeded_and_make_photos(mnist_test):
    """The same digits give the same pictures (the figures are repeatable), JPEG photos of a few hundred pixels."""
    images, _ = mnist_test.first(3)
    inks = proxy_scenes.mnist_inks(images)
    for kind in proxy_scenes.SCENES:
        first, again = proxy_scenes.render(kind, inks), proxy_scenes.render(kind, inks)
        assert first == again and all(upload[:2] == b"\xff\xd8" for upload in first)
