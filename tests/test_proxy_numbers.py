"""Whole numbers where people write them (training/proxy_numbers.py): the whole-number suite's numbers,
composed from MNIST *test* digits, on the independent proxy's surfaces (a photographed sheet, a sheet on
a desk, a ruled notebook page, a chalkboard, circled), read as a user would with `digits read`.

Before stop 43 the number path kept every clear mark in the whole picture: the desk round a sheet, a
ruled page's margin line, a board's frame and dust, a loop round the number were read as digits
(validation, 30 a spacing: page on a desk 3-10% whole, ruled notebook 0-7%, chalkboard 17-37%, circled
0-3%). The design was chosen on validation digits and the held-out typefaces (docs/numbers.md, "Numbers
where people write them"); these test numbers gave the final figure once, and the bars sit two numbers
under it.
"""

import dataclasses

import numpy as np
import pytest

from digits.numbers import read_number
from digits.preprocessing import prepare_number
from digits.preprocessing.normalise import stroke_width
from digits.reader import Reader
from training import proxy_numbers
from training.number_data import SPACINGS

pytestmark = pytest.mark.slow

PER_SPACING = 10
BARS = {"paper photo": 0.93, "page on a desk": 0.86, "ruled notebook": 0.93, "chalkboard": 0.89, "circled": 0.83}
# surface -> least share of the 30 read whole, two numbers under the one test reading (stop 43): paper photo
# 100%, page on a desk 90%, ruled notebook 90%, chalkboard 73.3%, circled 20%; circled at stop 44 (the loop
# found where it and the number are one piece, measured in pixels all round, a close one read both ways):
# 43.3% (validation 23.3 / 20.0 / 10.0 -> 50.0 / 63.3 / 43.3%, held-out typefaces 23.3 / 6.7 / 3.3 -> 36.7 /
# 46.7 / 60.0%, 30 a spacing; the other surfaces' test readings unchanged); circled at stop 45 (a long loop's
# flat arcs no longer taken for a form's lines, a close loop peeled as wide as its pen): 66.7% (validation 50.0
# / 63.3 / 43.3 -> 70.0 / 83.3 / 66.7%; the other surfaces' test readings unchanged); circled at stop 46 (a clear
# loop's band less the end digits' strokes that touch it): 76.7% (validation 70.0 / 83.3 / 66.7 -> 76.7 / 93.3 /
# 86.7%, held-out typefaces 43.3 / 63.3 / 70.0 -> 66.7 / 76.7 / 73.3%; the other surfaces' readings unchanged);
# circled at stop 47 (a loop joined to the digits by the grain): 80.0%; at stop 48 (a clear loop's soft edge
# given back to the end digits for a second reading): 83.3% (validation 80.0 / 96.7 / 93.3 -> 86.7 / 96.7 /
# 93.3%, held-out typefaces the same; the other surfaces' readings unchanged); at stop 48 (second helper: a
# clear loop an end digit touches peeled for a further reading): 90.0% (validation 86.7 / 96.7 / 93.3 -> 90.0 /
# 96.7 / 96.7%, held-out typefaces 70.0 / 83.3 / 83.3 -> 76.7 / 90.0 / 86.7%; the other surfaces' figures unchanged)
# page on a desk and ruled notebook at stop 49 (small digits on a ruling kept whole, a number of one flat mark
# read rather than the margin line, a page's edge round the number set aside): 86.7 -> 93.3% and 90.0 -> 96.7%
# (validation 96.7 / 93.3 / 86.7 -> 100 / 96.7 / 90.0% and 96.7 / 96.7 / 80.0 -> 96.7 / 100 / 83.3%; the other
# surfaces' test figures as before: paper photo 100, chalkboard 90.0, circled 90.0%); chalkboard at stop 50 (chalk's
# line drawn at full strength and at least MNIST's median pen, its pieces a stroke apart one mark): 90.0 -> 96.7%
# (validation 86.7 / 80.0 / 63.3 -> 93.3 / 96.7 / 80.0%, held-out typefaces 73.3 / 53.3 / 53.3 -> 83.3 / 73.3 /
# 63.3%; the other surfaces' figures unchanged)
# ruled notebook at stop 50 (a ruled page's margin line removed with its rulings): 96.7 -> 100% (validation 96.7 /
# 100 / 83.3 -> 100 / 100 / 83.3%, held-out typefaces 90.0 / 86.7 / 76.7 -> 93.3 / 90.0 / 80.0%; the other
# surfaces' readings unchanged)


@pytest.fixture(scope="module")
def suite(mnist_path):
    return proxy_numbers.numbers("test", PER_SPACING, mnist_path)


@pytest.fixture(scope="module")
def reader():
    with Reader() as opened:
        yield opened


@pytest.mark.parametrize("surface", list(BARS))
def test_numbers_on_each_surface_read_whole(reader, suite, surface):
    figures = proxy_numbers.measure(lambda data: reader.read_number(data).number, suite, (surface,))[surface]
    whole = sum(figures[spacing]["whole"] * figures[spacing]["n"] for spacing in SPACINGS) / len(suite)
    assert whole >= BARS[surface], figures["misses"]


def _beside_the_margin_line(ink, rng) -> tuple[bytes, int]:
    """A number on the proxy's ruled notebook page (its rulings, margin line, pens, light and photo) written
    as close to the margin line as that page lets one be, its left edge 15 pixels right of the line: the
    photo, and the column the margin line is drawn down."""
    scenes = proxy_numbers.scenes
    spacing = int(rng.integers(24, 36))
    line = proxy_numbers._line_sized(ink, spacing * rng.uniform(0.8, 1.3))
    height, width = int(rng.integers(420, 480)), int(rng.integers(360, 460))
    image, rulings_at, margin_x = proxy_numbers.ruled_page(rng, height, width, spacing)
    on = rulings_at[len(rulings_at) // 2]
    layer = np.zeros((height, width), np.float32)
    scenes._laid(layer, line, (margin_x + line.shape[1] // 2 + 15, int(on - line.shape[0] / 2)))
    image = scenes._paint(image, layer / 255.0, *scenes.PENS[list(scenes.PENS)[int(rng.integers(2))]])
    return scenes._as_photo(image * scenes._light(rng, height, width, rng.uniform(0.05, 0.3)), rng), margin_x


def test_a_number_beside_a_ruled_pages_margin_line_is_read_without_it(reader, suite):
    """The rulings stage removed a ruled page's rulings but left its margin line (one line down the page,
    where squared paper's lines come at least two): the ink stage leaves it in upright pieces, and those
    beside a number lie within a digit's reach of it, so the reader was handed them with the number (`55`
    read `95`). Now, on a page whose rulings were found, a lone line running down the whole picture is
    removed with them. 20 MNIST test numbers, digits apart or touching, written as close to the margin
    line as the proxy's ruled page writes one: the line handed to the reader starts right of the margin
    line, and the numbers read right (before: 13 of 20 handed without the margin line, 15 read right;
    now 19 and 20)."""
    from digits.preprocessing import prepare_number

    rng = np.random.default_rng(2550)
    handed_alone = read_right = 0
    written = [number for number in suite if number.spacing != "overlapping"]
    for number in written:
        upload, margin_x = _beside_the_margin_line(number.ink, rng)
        line = prepare_number(upload).line
        handed_alone += line is not None and (line.offset[0] + line.located.left) * line.scale[0] > margin_x + 5
        read_right += reader.read_number(upload).number == number.truth
    assert handed_alone >= len(written) - 1 and read_right >= len(written) - 1, (handed_alone, read_right)


def test_a_chalk_number_is_handed_to_the_reader_at_the_paper_s_pen(suite):
    """Chalk's line is the stick's and the board's grain's, not the hand's pen: drawn as it came, the line
    handed to the reader was grained and thin (its stroke in the reader's frame 1.95 pixels at the median
    against 2.59 for the same validation numbers photographed on paper; these test numbers: 0.77 of the
    paper's before, 0.93 after), and the reader read grain as strokes and lost thin ones (stop 50). Now
    its clear ink is at full strength and its line at least at MNIST's median pen, as one digit's chalk is."""
    def median_stroke(surface: str) -> float:
        lines = [prepare_number(upload).line for upload in proxy_numbers.render(surface, suite)]
        return float(np.median([stroke_width(line.fitted.pixels > 0.35) for line in lines if line is not None]))

    assert median_stroke("chalkboard") >= 0.85 * median_stroke("paper photo")


def _small_on_a_halved_page(ink, rng) -> bytes:
    """A number written small on the proxy's ruled page (its rulings, margin line, pens, light and photo),
    its digits 24-30 pixels tall, the photo just over the working size (520-600 pixels tall), so that the
    picture worked on is halved and the number in it 12-15 pixels tall."""
    scenes = proxy_numbers.scenes
    spacing = int(rng.integers(24, 31))
    line = proxy_numbers._line_sized(ink, spacing * rng.uniform(0.9, 1.0))
    height, width = int(rng.integers(520, 600)), max(int(rng.integers(360, 480)), line.shape[1] + 160)
    image, rulings_at, margin_x = proxy_numbers.ruled_page(rng, height, width, spacing)
    on = rulings_at[len(rulings_at) // 2]
    layer = np.zeros((height, width), np.float32)
    scenes._laid(layer, line, (margin_x + 15 + line.shape[1] // 2 + int(rng.integers(0, 40)), int(on - line.shape[0])))
    image = scenes._paint(image, layer / 255.0, *scenes.PENS[list(scenes.PENS)[int(rng.integers(2))]])
    return scenes._as_photo(image * scenes._light(rng, height, width, rng.uniform(0.05, 0.3)), rng)


def test_a_small_number_on_a_halved_photo_is_read_from_its_region_at_full_size(reader, suite):
    """A photo just over the working size is halved to be worked on, and a number written small on it is
    then 12-15 pixels tall: its digits' shapes were lost (`5125` read `5105`). Now, where the picture was
    shrunk and the number's line is smaller than MNIST's digit box, its region is decoded again at full
    size and read as one more reading (`finer_reading`). The 30 MNIST test numbers written small on the
    proxy's ruled page, halved: before, 26 read right (`436158` read `936158`, `910409` read `910403`); 28
    with the reader keeping the surest reading (stop 50); 29 with the region's reading standing over the
    halved one (stop 51: `20559`, read `2559` halved), the bar one under."""
    rng = np.random.default_rng(2551)
    uploads = [_small_on_a_halved_page(number.ink, rng) for number in suite]
    traces = [[] for _ in uploads]
    read = [reader.read_number(upload, trace=trace).number for upload, trace in zip(uploads, traces)]
    decoded_again = sum(any("decoded again" in step.decided for step in trace) for trace in traces)
    read_right = sum(answer == number.truth for answer, number in zip(read, suite))
    assert decoded_again == len(suite), decoded_again
    assert read_right >= len(suite) - 2, [(number.truth, answer) for answer, number in zip(read, suite)
                                          if answer != number.truth]


def test_a_small_number_s_region_at_full_size_stands_over_the_halved_reading(engine, suite):
    """The region decoded again at full size is the better-resolved view of the same ink, but the reader was
    often surer of the halved picture's misreading (validation `87973`: `87773` at 0.88 against the
    region's `87973` at 0.66; these test numbers: `20559` read `2559`). Now where the region is read with at
    least as many digits as the halved picture, the number read is the region's, however sure the reader is
    of the halved reading (a region read with fewer digits lost one: validation `35281` read `5281` there)."""
    rng = np.random.default_rng(2551)
    stood_over = []
    for number in suite:
        upload = _small_on_a_halved_page(number.ink, rng)
        prepared = prepare_number(upload)
        halved = read_number(engine, upload, prepared=dataclasses.replace(prepared, other_readings=())).number
        finer = [other for other in prepared.other_readings if other.at_full_size]
        region = read_number(engine, upload, prepared=dataclasses.replace(finer[0], other_readings=())).number
        if len(region) >= len(halved) and region != halved and len(finer) == 1:
            stood_over.append((number.truth, region, read_number(engine, upload, prepared=prepared).number))
    assert stood_over, "no halved reading that the region's disagrees with"
    assert all(region == answer for _, region, answer in stood_over), stood_over


def test_the_second_held_out_set_writes_its_own_proxy_numbers():
    """`--source typefaces-2` (stop 53's choosing rule): numbers by the second held-out set's families, none
    by a family training uses or by the first set's."""
    from training import typefaces

    if not (typefaces.fonts_dir() / "node_modules" / "@fontsource").is_dir():
        pytest.skip("the typeface packages are not installed (training fetches them)")
    second = {family.name for family in typefaces.held_out_families(split=typefaces.SECOND_SPLIT)}
    first = {family.name for family in typefaces.held_out_families()}
    numbers = proxy_numbers.numbers("typefaces-2", 5)
    assert {number.hand for number in numbers} <= second and len({number.hand for number in numbers}) == 5
    assert not second & ({family.name for family in typefaces.training_families()} | first)
    assert {number.hand for number in proxy_numbers.numbers("typefaces", 5)} <= first
