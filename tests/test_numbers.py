"""Whole numbers: pictures of several real MNIST test digits, read left to right by the number reader.

Two kinds of numbers: those composed as people write them (training/number_data.py: apart, touching,
overlapping by up to a third of a digit, slanted, sizes and strokes varied) from MNIST *test* digits and
written on paper (training/number_suite.py), and the earlier ones (tests/number_images.py: gaps, sizes
and tilt, on paper, in a phone photo or drawn). `digits evaluate reader --suite numbers` measures the
same on validation digits.
"""

import json

import numpy as np
import pytest
from scipy import ndimage
from number_images import RENDERINGS, build_number, rendered
from PIL import Image, ImageDraw
from upload_files import encode, photo_jpeg

from digits.cli import main
from digits.numbers import CROWDED, UNSURE_DIGIT_WARNING, DigitReading, read_number, weigh_crowded_digits
from digits.preprocessing import NO_DIGIT_WARNING, InputError, NumberDigit, prepare_number
from digits.preprocessing.locate.marks import LOOP, ink_pieces, loop_round_the_writing, with_soft_edge
from digits.preprocessing.pipeline import Ink, layout_set_aside
from training.number_data import SPACINGS
from training import proxy_numbers
from training.number_suite import TEST_SEED, score, suite_numbers


def numbers(mnist_test, count: int, seed: int, touch: bool = False, most: int = 8, **options):
    images, labels = mnist_test
    rng = np.random.default_rng(seed)
    built = []
    while len(built) < count:
        chosen = rng.choice(len(images), int(rng.integers(2, most + 1)), replace=False)
        number = build_number(images[chosen], labels[chosen], rng, touch=touch, **options)
        if number.touching == touch:
            built.append(number)
    return built


def overlap(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0) * max(height, 0)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.fixture(scope="module")
def composed_figures(engine, mnist_test):
    """The suite's figures on 100 numbers per spacing composed from MNIST test digits."""
    images, labels = mnist_test
    return score(suite_numbers(images, labels, per_spacing=100, seed=7),
                 lambda data: read_number(engine, data).number,
                 lambda digits: engine.predict_probabilities("cnn", digits).argmax(axis=1))


# How far below the ceiling (every digit read right alone) whole numbers may fall, and the least share
# counted right. The target is 2 points at every spacing; the shipped reader meets it apart and
# touching on the 300-per-spacing test figures and falls short overlapping (docs/numbers.md). On these 100
# per spacing it reads 0, 2 and 3 points below the ceiling and counts 100%, 99% and 100% right. With the CNN
# offered since issue 26's seventh round (it confirms the reader's digits and sets the ceiling) touching reads
# 5 points below (93% against 98%); on the 900 validation numbers the two CNNs tie (`digits evaluate reader
# --suite numbers`: whole 97.0% both; touching 97.67% -> 98.33%, apart 98.67% -> 98.0%, overlapping 94.67% both).
BARS_APART = {"ruled notebook": 2, "page on a desk": 2}  # of 4: one under the test reading (3 and 3), at stop 43
ALLOWED = {"apart": (0.02, 0.98), "touching": (0.05, 0.97), "overlapping": (0.05, 0.97)}


@pytest.mark.slow  # 300 numbers composed and read (composed_figures)
@pytest.mark.parametrize("spacing", SPACINGS)
def test_numbers_as_people_write_them_read_near_their_digits_alone(composed_figures, spacing):
    figures = composed_figures[spacing]
    below, counted = ALLOWED[spacing]
    assert figures["whole"] >= figures["ceiling"] - below, figures
    assert figures["count"] >= counted, figures


@pytest.mark.parametrize("how", RENDERINGS)
def test_separate_digits_are_counted_and_read_as_well_as_alone(engine, mnist_test, how):
    built = numbers(mnist_test, 30, seed=RENDERINGS.index(how))
    readings = [read_number(engine, rendered(number, how, seed=i)) for i, number in enumerate(built)]
    counted = [(n, r) for n, r in zip(built, readings) if len(r.digits) == len(n.labels)]
    assert len(counted) >= 29
    in_numbers = np.mean([d.digit == label for n, r in counted for d, label in zip(r.digits, n.labels)])
    alone = np.mean(np.concatenate([engine.predict_probabilities("cnn", np.stack(n.digits)).argmax(axis=1)
                                    == n.labels for n, _ in counted]))
    assert in_numbers >= alone - 0.01
    for number, reading in counted:
        assert reading.number == "".join(str(d.digit) for d in reading.digits)
        assert 0 < reading.confidence <= min(d.confidence for d in reading.digits)
        assert reading.reader == "number_reader" and reading.model == "cnn"
        assert {d.read_by for d in reading.digits} <= {"number_reader", "cnn"}


def test_each_digit_has_its_box_in_the_uploads_own_pixels(engine, mnist_test):
    built = numbers(mnist_test, 10, seed=7, most=6, height=160)  # wider than the working size: boxes scaled back
    assert all(number.ink.shape[1] > 512 for number in built)
    readings = [read_number(engine, rendered(number, "paper")) for number in built]
    counted = [(n, r) for n, r in zip(built, readings) if len(r.digits) == len(n.boxes)]
    assert len(counted) >= 9
    for number, reading in counted:
        for digit, truth in zip(reading.digits, number.boxes):
            assert overlap(digit.box, truth) > 0.6, (digit.box, truth)  # (MNIST's specks are left out)


def test_touching_digits_are_read_and_boxed_where_they_are(engine, mnist_test):
    built = numbers(mnist_test, 30, seed=9, touch=True)
    readings = [read_number(engine, rendered(number, "paper")) for number in built]
    right = [(n, r) for n, r in zip(built, readings) if r.number == "".join(map(str, n.labels))]
    assert len(right) >= 27
    boxes = [overlap(d.box, truth) for n, r in right for d, truth in zip(r.digits, n.boxes)]
    assert np.mean(boxes) > 0.6 and np.percentile(boxes, 10) > 0.4  # touching digits' boxes follow the reader's columns


def test_a_number_on_a_sheet_on_a_desk_is_read_and_boxed_in_the_photos_pixels(engine, mnist_test):
    """The sheet is cut out of the photo (the surface stage a single digit has) and each digit's box is
    given in the photo's own pixels. Before stop 43 the desk's grain and the sheet's edges were read as
    digits (the proxy's page on a desk, validation: 7-20% whole)."""
    built = numbers(mnist_test, 6, seed=11, most=5)
    right = 0
    for index, number in enumerate(built):
        sheet = 250 - number.ink * (220 / 255)
        left, top = 90 + 17 * index, 70 + 9 * index
        desk = np.empty((sheet.shape[0] + 2 * top, sheet.shape[1] + 2 * left, 3), np.float32)
        desk[:] = (120, 80, 50)
        desk[:, :, 0] += np.sin(np.arange(desk.shape[1]) / 4.0) * 12  # the wood's grain across
        desk[top : top + sheet.shape[0], left : left + sheet.shape[1]] = sheet[..., np.newaxis]
        reading = read_number(engine, photo_jpeg(desk))
        if reading.number != "".join(map(str, number.labels)):
            continue
        right += 1
        for digit, (x0, y0, x1, y1) in zip(reading.digits, number.boxes):
            assert overlap(digit.box, (x0 + left, y0 + top, x1 + left, y1 + top)) > 0.6, (digit.box, index)
    assert right >= 5


@pytest.mark.parametrize("surface", list(BARS_APART))
def test_what_the_page_puts_round_a_number_is_not_read(engine, mnist_test, surface):
    """A ruled page's margin line and the desk round a sheet are set aside as for a single digit
    (training/proxy_numbers.py's surfaces, numbers written apart; tests/test_proxy_numbers.py reads every
    surface). Before stop 43, on validation numbers: ruled 3%, desk 3% read whole (0 of these 4)."""
    images, labels = mnist_test
    apart = suite_numbers(images, labels, per_spacing=4, seed=TEST_SEED)[:4]
    readings = [read_number(engine, upload).number for upload in proxy_numbers.render(surface, apart)]
    assert sum(read == number.truth for read, number in zip(readings, apart)) >= BARS_APART[surface], readings


def test_a_loop_round_touching_digits_is_set_aside_and_the_reader_chooses(engine, mnist_test):
    """A hand's loop round a number whose digits touch it and one another: one piece of ink. Before stop 44
    no loop was looked for in it, and it was read as a 6 at the start and a 3 at the end (these 12 numbers
    read right: 0, on main); now it is found there and, drawn close round the number, the number is read
    with it and without it and the reader keeps the surer reading, which the trace says (5 of 12 now;
    the bar two under, as tests/test_proxy_numbers.py's)."""
    images, labels = mnist_test
    crowded = [n for n in suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED) if n.spacing != "apart"]
    traces = [[] for _ in crowded]
    readings = [read_number(engine, upload, trace=trace).number
                for upload, trace in zip(proxy_numbers.render("circled", crowded), traces)]
    assert sum(read == number.truth for read, number in zip(readings, crowded)) >= 3, readings
    assert any(step.stage == "read" and "surer" in step.decided for trace in traces for step in trace)


def _on_photographed_paper(ink: np.ndarray, loop, seed: int) -> bytes:
    """A composed number (0-1, light on dark) twice its size in pen on paper, photographed, with the loop
    that `loop(draw, box)` draws round it, `box` the number's box on the page."""
    line = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(
        (ink.shape[1] * 2, ink.shape[0] * 2), Image.Resampling.BILINEAR), np.float32) / 255
    rows, cols = np.flatnonzero(line.max(axis=1) > 0.5), np.flatnonzero(line.max(axis=0) > 0.5)
    margin = rows[-1] - rows[0]
    layer = np.pad(line, margin)
    drawn = Image.new("L", (layer.shape[1], layer.shape[0]), 0)
    loop(ImageDraw.Draw(drawn), (margin + cols[0], margin + rows[0], margin + cols[-1], margin + rows[-1]))
    layer = np.maximum(layer, np.asarray(drawn, np.float32) / 255)
    paper = 232 - 190 * layer + np.random.default_rng(seed).normal(0, 4, layer.shape)
    return photo_jpeg(np.repeat(paper[..., np.newaxis], 3, axis=2))


def _circled_tight(ink: np.ndarray, seed: int) -> bytes:
    """The number with a loop drawn as wide as it round it: it runs into the end digits and they touch it."""
    def loop(draw, box):
        height = box[3] - box[1]
        draw.ellipse((box[0] + 1, box[1] - 0.4 * height, box[2] - 1, box[3] + 0.4 * height), outline=255, width=3)
    return _on_photographed_paper(ink, loop, seed)


def _circled_with_a_gap(ink: np.ndarray, seed: int) -> bytes:
    """The number with a loop round it whose pen skipped twice near its left end: a short piece of it lies
    apart, beside the first digit."""
    def loop(draw, box):
        height = box[3] - box[1]
        around = (box[0] - 0.3 * height, box[1] - 0.45 * height, box[2] + 0.3 * height, box[3] + 0.45 * height)
        draw.arc(around, 200, 500, fill=255, width=3)
        draw.arc(around, 160, 190, fill=255, width=3)
    return _on_photographed_paper(ink, loop, seed)


@pytest.mark.slow
def test_a_loop_round_a_number_leaves_the_end_digits_that_touch_it(engine, mnist_test):
    """A loop drawn tight round a number runs into its end digits. Its band (emphasis.py) took their
    strokes where they touch it, and the first or last digit was misread or lost: 9 of these 18 read
    right before stop 46. Now the digits' strokes are left out of the band: 18 (the bar two under)."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    readings = [read_number(engine, _circled_tight(number.ink, seed)).number for seed, number in enumerate(suite)]
    assert sum(read == number.truth for read, number in zip(readings, suite)) >= 16, readings


@pytest.mark.slow
def test_a_piece_of_a_loop_left_apart_where_the_pen_skipped_is_not_read_as_a_digit(engine, mnist_test):
    """A loop round a number whose pen skipped near its end leaves a short piece of it apart, beside the
    first digit. It was read as a digit of the number (`1` before it): 3 of these 18 read right before
    stop 46. A clear loop takes with it the pieces that reach no deeper into it than it does (marks.py,
    `_along_the_loop`): 18 (the bar two under)."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    readings = [read_number(engine, _circled_with_a_gap(number.ink, seed)).number for seed, number in enumerate(suite)]
    assert sum(read == number.truth for read, number in zip(readings, suite)) >= 16, readings


def _circled_in_two_strokes(ink: np.ndarray, seed: int) -> bytes:
    """The number with a loop round it drawn in two strokes, a left arc and a right one, whose ends nearly
    meet (a gap of 1 or 1.5 degrees, 3-5 pixels) or overlap, passing each other (the second arc 5 pixels
    wider, 8 degrees past the first's ends), by seed: two pieces of ink either way."""
    gap = (1, 1.5, -8)[seed % 3]

    def loop(draw, box):
        height = box[3] - box[1]
        around = (box[0] - 0.3 * height, box[1] - 0.45 * height, box[2] + 0.3 * height, box[3] + 0.45 * height)
        wider = (around[0] - 5, around[1] - 5, around[2] + 5, around[3] + 5) if gap < 0 else around
        draw.arc(around, 100, 280 - gap, fill=255, width=3)
        draw.arc(wider, 280, 460 - gap, fill=255, width=3)
    return _on_photographed_paper(ink, loop, seed)


@pytest.mark.slow
def test_a_loop_drawn_in_two_strokes_is_set_aside_as_one_loop(engine, mnist_test):
    """People draw a loop round a number in two strokes: two arcs whose ends nearly meet or pass each
    other. In the ink they are two pieces, neither a loop round the number, so no clear loop was found and
    the arcs were read with the digits (proxy circled validation: `7334`): 7 of these 18 MNIST test
    numbers read right before stop 48 (third helper). Where no clear loop is found, the pieces less than a
    stroke's width apart are looked at as one for it (marks.py, `_joined`): 17 (the bar two under; the
    one left, `527489`, reads nothing either way: its digits touch the loop and go with it)."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    readings = [read_number(engine, _circled_in_two_strokes(number.ink, seed)).number for seed, number in enumerate(suite)]
    assert sum(read == number.truth for read, number in zip(readings, suite)) >= 15, readings


def _ink_circled_on_grainy_paper(ink: np.ndarray, seed: int, loop: bool = True,
                                 beside: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A composed number (0-1) twice its size as the ink found on a page (0-255, noise 1), with a loop
    round it clear of its digits (`loop`; `beside`: how far beyond the end digits it runs, in the number's
    heights: at 0 they lie against it), and the paper's grain: half the pixels a little darkened (12),
    above the noise and far below the pen, which joins the loop to the digits among the faint ink. And
    where the digits' own ink lies (a mask)."""
    line = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(
        (ink.shape[1] * 2, ink.shape[0] * 2), Image.Resampling.BILINEAR), np.float32) / 255
    rows, cols = np.flatnonzero(line.max(axis=1) > 0.5), np.flatnonzero(line.max(axis=0) > 0.5)
    margin = rows[-1] - rows[0]
    layer = np.pad(line, margin)
    top, bottom, left, right = margin + rows[0], margin + rows[-1], margin + cols[0], margin + cols[-1]
    height = bottom - top
    drawn = Image.new("L", (layer.shape[1], layer.shape[0]), 0)
    if loop:
        ImageDraw.Draw(drawn).ellipse((left - beside * height, top - 0.35 * height, right + beside * height,
                                       bottom + 0.35 * height), outline=255, width=3)
    rng = np.random.default_rng(seed)
    grain = (rng.random(layer.shape) < 0.5) * 12.0
    found = np.maximum(200 * np.maximum(layer, np.asarray(drawn, np.float32) / 255), grain) + rng.normal(0, 1, layer.shape)
    return np.clip(found, 0, 255).astype(np.float32), layer > 0.5


def test_a_loop_joined_to_the_digits_by_the_papers_grain_is_set_aside_clear_of_them(mnist_test):
    """The paper's grain joins a loop round a number to its digits among the faint ink, so the loop was
    found close round the number (its stroke alone peeled, the number read with it and without it:
    `9745` read `6393`): a clear loop round 1 of these 18 before stop 47. Looked for again in the clear
    ink, where it is a piece of its own (marks.py, `_apart_in_the_clear_ink`), it is clear round 8 (the
    bar two under), and the digits' ink is all kept. The same numbers with no loop drawn: no clear loop
    round any (their own outline passes for a close one, as before: 4)."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    clear = 0
    for seed, number in enumerate(suite):
        found, digits = _ink_circled_on_grainy_paper(number.ink, seed)
        pieces = ink_pieces(found, noise=1.0)
        loop = loop_round_the_writing(pieces)
        assert loop is not None
        clear += loop.clear
        kept = pieces.mask & ~with_soft_edge(loop.pixels)
        assert np.count_nonzero(kept & digits) >= 0.98 * np.count_nonzero(digits)
        found, _ = _ink_circled_on_grainy_paper(number.ink, seed, loop=False)
        outline = loop_round_the_writing(ink_pieces(found, noise=1.0))
        assert outline is None or not outline.clear, number.truth
    assert clear >= 6, clear


def _ink_circled_tight_at_mnists_size(ink: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A composed number (0-1) at MNIST's own size (its digits about 20 pixels tall, as small as a photo
    of a page makes them) as the ink found on a page (0-255, noise 1), with a loop drawn as wide as the
    number round it (3 pixels wide): its end digits lie against it. And where the digits' own ink lies,
    and the loop's (masks)."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.5), np.flatnonzero(ink.max(axis=0) > 0.5)
    margin = rows[-1] - rows[0]
    layer = np.pad(ink.astype(np.float32), margin)
    top, bottom, left, right = margin + rows[0], margin + rows[-1], margin + cols[0], margin + cols[-1]
    height = bottom - top
    drawn = Image.new("L", (layer.shape[1], layer.shape[0]), 0)
    ImageDraw.Draw(drawn).ellipse((left, top - 0.4 * height, right, bottom + 0.4 * height), outline=255, width=3)
    loop = np.asarray(drawn, np.float32) / 255
    found = 200 * np.maximum(layer, loop) + np.random.default_rng(seed).normal(0, 1, layer.shape)
    return np.clip(found, 0, 255).astype(np.float32), layer > 0.5, (loop > 0.5) & (layer <= 0.1)


def test_the_end_digits_strokes_a_clear_loops_soft_edge_took_are_given_back_for_a_second_reading(mnist_test):
    """A clear loop round a number is cleared with its soft edge (2 pixels round its band), and an end
    digit lying against it lost the end of its stroke there: at MNIST's size a 3's lower bowl or a 4's
    foot (proxy circled validation numbers: `29173` read `29172`, `13744` read `13740`). Its strokes are now
    given back across the soft edge (marks.py, `without_the_loop`) for a second reading, the reader keeping
    the surer, as for a close loop. Of these 18 numbers, where the loop is found clear (15; the bar 13), the
    ink as kept holds 90.3% of the digits' ink (every number under 96%), the second reading 95.3% (the bars
    93% and 3 points more), with 1.1% of the loop's own ink (the bar 2%). Before stop 48 there was no
    second reading for a clear loop."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    shares, clear = [], 0
    for seed, number in enumerate(suite):
        found, digits, loop = _ink_circled_tight_at_mnists_size(number.ink, seed)
        steps = []
        kept, others = layout_set_aside(Ink(found, 1.0), True, steps)
        if not any(step.decided == f"set aside: {LOOP.replace('digit', 'number')}" for step in steps):
            continue  # found close round the number (its end digits and the loop one stroke): read with it and without
        clear += 1
        assert len(others) == 1, number.truth
        second = others[0]
        kept, second = kept.signal > 0, second.signal > 0
        shares.append((np.count_nonzero(kept & digits), np.count_nonzero(second & digits), np.count_nonzero(digits),
                       np.count_nonzero(second & loop & ~kept), np.count_nonzero(loop)))
    as_kept, given_back, whole, loop_given, loop_whole = np.sum(shares, axis=0)
    assert clear >= 13, clear
    assert given_back >= 0.93 * whole and given_back - as_kept >= 0.03 * whole, (as_kept / whole, given_back / whole)
    assert loop_given <= 0.02 * loop_whole, loop_given / loop_whole


def test_a_loop_an_end_digit_touches_is_offered_peeled_in_the_clear_ink(mnist_test):
    """The paper's grain joins a loop round a number to its digits, and where it is drawn as wide as the
    number its end digits touch it in the clear ink too: the loop and those digits one piece there, so
    it was taken for a loop close round the number, its peel only the grain along its outer side, and
    both readings held the loop (proxy circled validation: `99461` read `99460`, `871` read `81`). The
    clear loop that an end digit touches is now peeled for a further reading (marks.py,
    `clear_loop_against_the_digits`; the reader keeps the surest that reads no fewer digits). Of these 18
    MNIST test numbers, a reading holding at least 90% of the digits' ink and at most 6% of the loop's is
    offered for 13 (the bar 11); before stop 48 (second helper), for none: each held 24-100% of the loop."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=6, seed=TEST_SEED)
    peeled = 0
    for seed, number in enumerate(suite):
        found, digits = _ink_circled_on_grainy_paper(number.ink, seed, beside=0)
        loop = (found > 100) & ~ndimage.binary_dilation(digits, iterations=2)  # the pen's, not the grain's (12)
        kept, others = layout_set_aside(Ink(found, 1.0), True, [])
        shares = [(np.count_nonzero((reading.signal > 0) & digits) / np.count_nonzero(digits),
                   np.count_nonzero((reading.signal > 0) & loop) / np.count_nonzero(loop)) for reading in (kept, *others)]
        peeled += any(digits_kept >= 0.9 and loop_kept <= 0.06 for digits_kept, loop_kept in shares)
    assert peeled >= 11, peeled


@pytest.mark.slow
def test_a_long_loops_flat_top_and_bottom_are_not_taken_for_a_forms_lines(mnist_test):
    """A loop round a number is long and flat: its top and bottom run straight along a row as far as a
    form's lines do, and were set aside as such (`layout_lines`), leaving two halves joined to the end
    digits and no loop found (14 of the 90 circled validation numbers; of these 30, the loop was found
    round 25 on main). Lines that close round paper with other ink into a loop round the writing are
    the loop's (marks.py, `_form_lines`): it is found round 27 (the other 3 still lose it to lines: with
    no lines set aside, it is found round all 30)."""
    images, labels = mnist_test
    suite = suite_numbers(images, labels, per_spacing=10, seed=TEST_SEED)
    found = 0
    for upload in proxy_numbers.render("circled", suite):
        steps = []
        prepare_number(upload, trace=steps)
        found += any(step.stage == "locate" and "loop" in step.decided for step in steps)
    assert found >= 27, found


def test_gaps_sizes_and_tilt_at_their_extremes(engine, mnist_test):
    hard = numbers(mnist_test, 10, seed=8, gap=(0.05, 0.1), sizes=0.3, tilt=0.15)
    right = sum(len(read_number(engine, rendered(n, "paper")).digits) == len(n.labels) for n in hard)
    assert right >= 9


def test_the_classifier_settles_a_crowded_digit_the_reader_is_unsure_of(engine, mnist_test):
    images, labels = mnist_test
    crops = [NumberDigit(images[i].astype(np.float32) / 255, (28 * i, 0, 28 * i + 28, 28)) for i in range(2)]
    other = [(int(label) + 1) % 10 for label in labels[:2]]
    torn = [tuple(0.55 if d == o else 0.45 if d == label else 0.0 for d in range(10))
            for label, o in zip(labels[:2], other)]  # the reader leans to the wrong digit, the right one close
    readings = [DigitReading(o, confidence, p, crop.box, crop)
                for o, p, crop, confidence in zip(other, torn, crops, (CROWDED.below - 0.2, CROWDED.below + 0.2))]
    weighed = weigh_crowded_digits(engine, "cnn", readings)
    assert (weighed[0].digit, weighed[0].read_by) == (labels[0], "cnn")  # unsure: the classifier's crop settles it
    assert weighed[0].confidence == readings[0].confidence  # still named in the unsure warning
    assert max(weighed[0].probabilities) == weighed[0].probabilities[labels[0]] and abs(sum(weighed[0].probabilities) - 1) < 1e-6
    assert weighed[1] == readings[1]  # sure enough: the reader's digit stands


def _strokes(lines, size=(200, 200), width=12) -> bytes:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.line(line, fill=0, width=width, joint="curve")
    return encode(image)


def test_a_digit_drawn_in_two_strokes_is_one_digit(engine):
    four = _strokes([[(110, 30), (40, 120), (150, 120)], [(120, 70), (120, 180)]])  # the upright apart
    five = _strokes([[(70, 40), (65, 95), (100, 85), (130, 110), (125, 150), (95, 165), (60, 150)],
                     [(80, 35), (140, 35)]])  # the flag apart
    for data, digit in ((four, 4), (five, 5)):
        reading = read_number(engine, data)
        assert [d.digit for d in reading.digits] == [digit]


def test_a_blank_page_has_no_number_and_says_so(engine):
    reading = read_number(engine, encode(Image.new("RGB", (400, 200), (240, 238, 230))))
    assert reading.number == "" and reading.digits == () and reading.warnings == (NO_DIGIT_WARNING.format("the picture looks blank"),)
    assert reading.confidence == 0.0
    assert reading.to_dict()["digits"] == [] and reading.to_dict()["number"] == ""


def test_an_unsure_digit_is_named_in_a_warning(engine, mnist_test):
    built = numbers(mnist_test, 40, seed=11)
    readings = [read_number(engine, rendered(n, "photo", seed=i)) for i, n in enumerate(built)]
    for reading in readings:
        unsure = [i for i, d in enumerate(reading.digits) if d.confidence < 0.6]
        assert any(w.startswith(UNSURE_DIGIT_WARNING.split("{")[0]) for w in reading.warnings) == bool(unsure)


def test_a_single_digit_reads_as_a_one_digit_number(engine, mnist_test):
    images, labels = mnist_test
    from upload_files import dark_on_white

    for index in range(5):
        prepared = prepare_number(encode(dark_on_white(images[index])))
        assert len(prepared.marks) == 1 and prepared.line is not None
        reading = read_number(engine, encode(dark_on_white(images[index])))
        assert reading.number == str(labels[index])


def test_a_broken_file_raises_an_input_error():
    with pytest.raises(InputError, match="'n.png' looks truncated or damaged"):
        prepare_number(encode(Image.new("L", (300, 100), 255))[:60], "n.png")


def test_digits_read_prints_one_json_line_per_file(tmp_path, mnist_test, capsys):
    number = numbers(mnist_test, 1, seed=10)[0]
    good, broken = tmp_path / "number.png", tmp_path / "broken.png"
    good.write_bytes(rendered(number, "paper"))
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["read", "--json", str(good), str(broken)]) == 1
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(first) - {"warnings"} == {"file", "model", "reader", "number", "confidence", "digits"}
    assert first["number"] == "".join(map(str, number.labels)) and first["model"] == "cnn"
    assert first["reader"] == "number_reader"
    assert [set(d) for d in first["digits"]] == [{"digit", "confidence", "box"}] * len(number.labels)
    assert set(second) == {"file", "error"} and "broken.png" in second["error"]
    assert main(["read", str(good)]) == 0
    assert capsys.readouterr().out.startswith(f"{good}: {first['number']} ")


def test_the_number_suite_is_the_readers(capsys):
    assert main(["evaluate", "cnn", "--suite", "numbers"]) == 2
    assert "digits evaluate reader --suite numbers" in capsys.readouterr().err


def _overlapping_inks(mnist_test, count: int, height: int) -> list[tuple[np.ndarray, str]]:
    """Overlapping numbers of the suite's composition (MNIST test digits), their line `height` pixels tall:
    (ink 0-255 float, truth)."""
    images, labels = mnist_test
    crowded = [n for n in suite_numbers(images, labels, per_spacing=count, seed=TEST_SEED) if n.spacing == "overlapping"]
    return [(proxy_numbers._line_sized(n.ink, height).astype(np.float32), n.truth) for n in crowded]


def test_small_digits_sitting_on_a_ruling_keep_their_ink(mnist_test):
    """A ruled page photographed large is halved to be worked on, and a number sitting on a ruling is
    then about 16 pixels tall, its digits close together: their ink joins the ruling's band for rows above
    the line. Before stop 49 the ruling's own ink at those rows was taken as the median along them, which
    only the digits reach: the digits' lower halves went with the line (`109` read `139`, `35281` read
    `35221`). Now a distance from the line that only a short stretch of the band reaches is not the
    line's: the digits' ink off the ruling stays (12 MNIST test numbers: under 80% kept before, all of
    it now), and the ruling under them still goes."""
    from digits.preprocessing.rulings import remove_ruled_lines

    kept_shares, ruling_left = [], []
    for ink, _ in _overlapping_inks(mnist_test, 12, 16):
        page = np.zeros((230, max(200, ink.shape[1] + 80)), np.float32)
        rulings = np.zeros(page.shape, bool)
        for y in range(20, page.shape[0], 14):
            rulings[y : y + 2] = True
        page[rulings] = 60.0  # a blue ruling's ink beside a ballpoint's (about 200)
        top = 118 - ink.shape[0] + 1  # sitting on the ruling at rows 118-119
        digits = np.zeros(page.shape, np.float32)
        digits[top : top + ink.shape[0], 40 : 40 + ink.shape[1]] = ink * (200 / 255)
        cleaned = remove_ruled_lines(np.maximum(page, digits))
        off_the_line = (digits > 64) & ~ndimage.binary_dilation(rulings, np.ones((3, 1), bool))
        kept_shares.append(float(np.mean(cleaned[off_the_line] >= 0.5 * digits[off_the_line])))
        beside = rulings.copy()
        beside[:, 30 : 50 + ink.shape[1]] = False  # the ruling away from the number
        ruling_left.append(float(cleaned[beside].max()))
    assert min(kept_shares) >= 0.95, kept_shares
    assert max(ruling_left) < 10, ruling_left


def _margin_line_in_pieces(shape: tuple[int, int], x: int) -> np.ndarray:
    """A ruled page's margin line as the ink stage may leave it on a photo: broken into upright pieces."""
    line = np.zeros(shape, np.float32)
    for y in range(6, shape[0] - 6, 34):
        line[y : y + 28, x : x + 4] = 120.0
    return line


def test_a_number_written_as_one_flat_mark_is_read_not_the_margin_line_beside_it(mnist_test):
    """Overlapping digits are often one mark, flat (wider than it is tall): the number's marks were
    found from the heaviest upright mark, so a piece of a ruled page's margin line (left by the layout in
    pieces, upright) was taken instead and the number, further than a digit's reach from it, was left out
    (`60699` and `178936` read `1`). Now the heaviest mark that can be written is taken first: upright, or
    flat and no straight line. 10 MNIST test numbers of one flat mark (in a felt pen), 40 pixels tall, beside a margin line
    in pieces: the number's whole box is what the reader is handed (before: 6 of them)."""
    from digits.preprocessing.number_line import locate_line

    bold = [ndimage.grey_dilation(ink, size=(3, 3)) for ink, _ in _overlapping_inks(mnist_test, 90, 40)]  # a felt pen
    flat = [ink for ink in bold if ndimage.label(ink > 64, structure=np.ones((3, 3), bool))[1] == 1
            and ink.shape[0] < 0.4 * ink.shape[1]]
    assert len(flat) >= 10
    handed = 0
    for ink in flat[:10]:
        page = _margin_line_in_pieces((300, ink.shape[1] + 200), 30)
        page[130 : 130 + ink.shape[0], 120 : 120 + ink.shape[1]] = np.maximum(page[130 : 130 + ink.shape[0], 120 : 120 + ink.shape[1]], ink)
        located = locate_line(page)
        handed += located is not None and (located.top, located.left) == (130, 120) and located.ink.shape == ink.shape
    assert handed == 10, handed


def test_the_edge_of_a_page_round_a_number_is_not_read_with_it(mnist_test):
    """A page on a pale desk that the surface stage does not cut out: its edge, with the shadow along
    two sides, is one mark round the number (an L), heavier than it and upright, so the number's marks
    were found from it and the line handed to the reader was the whole page (`211`, `80` read `1`). Now a
    mark whose box holds the number's and reaches well beyond it, not closing round it, is not the
    number's. 10 MNIST test numbers, 30 pixels tall, an L 220 pixels long round them: the reader is handed
    the number alone (before: none)."""
    from digits.preprocessing.number_line import locate_line

    handed = 0
    for ink, _ in _overlapping_inks(mnist_test, 10, 30)[:10]:
        page = np.zeros((320, max(320, ink.shape[1] + 200)), np.float32)
        right, bottom = ink.shape[1] + 160, 280
        page[60:bottom, right - 8 : right] = 150.0  # the page's edge down its right side, in shadow ...
        page[bottom - 8 : bottom, 40:right] = 150.0  # ... and along its bottom
        page[150 : 150 + ink.shape[0], 80 : 80 + ink.shape[1]] = ink
        located = locate_line(page)
        handed += located is not None and located.ink.shape[0] <= ink.shape[0] and located.ink.shape[1] <= ink.shape[1]
    assert handed == 10, handed


def test_a_pages_edge_beside_a_number_reaching_far_below_it_is_not_read_with_it(mnist_test):
    """A page on a desk, its edge (or its shadow's corner) beside the number, upright and near enough to
    be taken with the number's marks, but reaching far below the number's line: the line handed to the
    reader was the number and the edge, several digits tall, the digits shrunk to a few pixels of the
    reader's frame (typefaces on a desk: `5084` read `8`, `1472` read `49`). Now a mark that reaches
    further above or below the other marks' rows than a digit's reach is not the line's. 10 MNIST test
    numbers, 30 pixels tall, an edge 8 pixels wide from the number's middle to 4 line heights below it:
    the reader is handed the number alone (before: none of them)."""
    from digits.preprocessing.number_line import locate_line

    handed = 0
    for ink, _ in _overlapping_inks(mnist_test, 10, 30)[:10]:
        page = np.zeros((320, ink.shape[1] + 120), np.float32)
        page[60 : 60 + ink.shape[0], 40 : 40 + ink.shape[1]] = ink
        edge = 40 + ink.shape[1] + 14
        page[60 + ink.shape[0] // 2 : 60 + 5 * ink.shape[0], edge : edge + 8] = 150.0
        located = locate_line(page)
        handed += located is not None and (located.top, located.left) == (60, 40) and located.ink.shape == ink.shape
    assert handed == 10, handed
