"""The reading pipeline (digits/preprocessing/pipeline.py) as a person meets it: the stages in order with a
trace of what each decided (`digits classify --trace`, the server's DEBUG log), a loop or a line drawn
round a digit set aside, chalk on a board, ruled paper, and pictures of many kinds with no digit judged
by the learned scorer whatever their file format.

Scenes are rendered from MNIST test digits by training/scenes.py; test_locate.py measures every scene's
reading and every kind of picture without a digit; here is what those figures do not show.
"""

import io
import json
import logging

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.morphology import skeletonize

from digits.cli import main
from digits.preprocessing import prepare_upload
from training import scenes
from upload_files import best_shift_correlation, enlarged, on_canvas, photo_jpeg

STAGES = ["decode", "lighting", "surface", "ink", "locate", "normalise", "judge"]


@pytest.fixture(scope="module")
def test_digits(mnist_test):
    return mnist_test.first(40)


def test_the_trace_lists_the_stages_in_order_and_what_each_decided(test_digits):
    steps = []
    prepared = prepare_upload(scenes.page_on_table(test_digits[0][0], np.random.default_rng(1)), "page.jpg", trace=steps)
    assert prepared.has_digit
    assert [step.stage for step in steps if step.stage != "locate" or not step.decided.startswith("set aside")] == STAGES
    assert steps[0].decided.startswith("JPEG 640x480") and "photo" in steps[0].decided
    assert "handwritten digit" in steps[-1].decided and all(step.to_dict()["decided"] for step in steps)


def test_an_upload_in_mnist_form_is_read_as_it_is_and_says_so(test_digits):
    digit = test_digits[0][1]
    steps = []
    prepared = prepare_upload(scenes.encode(Image.fromarray(digit)), "digit.png", trace=steps)
    assert np.array_equal(prepared.pixels, digit)
    assert steps[-1].stage == "locate" and "MNIST's form" in steps[-1].decided


def test_a_loop_drawn_round_a_digit_is_set_aside_and_the_digit_alone_is_read(test_digits):
    """A loop touching the digit or apart from it: only the loop's band goes, the digit's crop is the digit."""
    rng = np.random.default_rng(7)
    set_aside = 0
    for digit in test_digits[0][:12]:
        steps = []
        prepared = prepare_upload(scenes.circled(digit, rng), "circled.jpg", trace=steps)
        looped = any(step.decided == "set aside: a loop drawn round the digit" for step in steps)
        set_aside += looped
        if looped and prepared.has_digit:  # the loop is gone from what the model sees: nothing in the frame's outer ring
            assert prepared.pixels[[0, 1, -2, -1]].max() == 0
    assert set_aside >= 6, f"{set_aside} of 12 loops set aside"  # the others: boxes and underlines, drawn too


def test_a_digit_alone_is_never_taken_for_a_loop(test_digits):
    """A 0 is a loop with nothing inside; an 8 or a 6 is pinched: their ink is never set aside. A bold
    digit's outer edge may pass for a loop drawn close round other ink: the judge then keeps the digit
    whole, or with that edge's pen-wide skin set aside (2 of these 40 since a close loop loses only its
    own stroke), which is still the digit."""
    rng = np.random.default_rng(3)
    for digit in test_digits[0]:
        steps = []
        prepared = prepare_upload(scenes.plain_paper(digit, rng), "paper.jpg", trace=steps)
        assert not any(step.decided.startswith("set aside") for step in steps), [step.decided for step in steps]
        if any("drawn round the digit set aside" in step.decided for step in steps):
            assert best_shift_correlation(prepared.pixels, digit) > 0.8


def test_the_edge_of_a_solid_shape_is_never_taken_for_a_loop():
    """A bar, a phone, a cup photographed: its outline is the outermost ink all round a centre, oval
    enough, with ink inside, but no paper: no loop to set aside, so no bar inside it to read as a 1
    (before, 7 of these 16 bars passed for a loop drawn close round the digit)."""
    rng = np.random.default_rng(5)
    for _ in range(16):
        ground = np.clip(rng.normal(0, 1, (20, 20, 3)).cumsum(axis=0) * 6 + rng.integers(60, 200, 3), 0, 255)
        image = Image.fromarray(ground.astype(np.uint8)).resize((320, 320), Image.Resampling.BICUBIC)
        width, height = int(rng.integers(20, 50)), int(rng.integers(80, 180))
        left, top = int(rng.integers(20, 300 - width)), int(rng.integers(20, 300 - height))
        ImageDraw.Draw(image).rounded_rectangle([left, top, left + width, top + height], radius=int(rng.integers(0, width // 2)),
                                                fill=tuple(int(value) for value in rng.integers(0, 255, 3)))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        steps = []
        prepare_upload(buffer.getvalue(), "bar.jpg", trace=steps)
        assert not any("loop" in step.decided for step in steps), [step.decided for step in steps]


def test_chalk_on_a_board_is_light_ink_and_its_smears_and_frame_stay_out(test_digits):
    """The board's frame along an edge and eraser smears touching the digit do not join it."""
    rng = np.random.default_rng(11)
    tall = 0
    for digit in test_digits[0][:10]:
        prepared = prepare_upload(scenes.chalkboard(digit, rng), "board.jpg")
        assert prepared.has_digit
        rows = np.flatnonzero(prepared.pixels.max(axis=1) > 64)
        tall += rows[-1] - rows[0] >= 17  # the digit fills the 20-pixel box's height (a frame would squash it)
    assert tall >= 8


def test_chalk_over_broad_dust_or_glare_on_a_board_keeps_only_the_chalk(test_digits):
    """Chalk dust an eraser left, or a lamp's glare, lies broad and light across part of the digit: it is
    the board there, not ink, so the digit comes out as it is, without a blob of haze beside it."""
    y, x = np.mgrid[:420, :560].astype(np.float32)
    for index, digit in enumerate(test_digits[0][:8]):
        chalk = on_canvas(enlarged(digit, 200), (560, 420), (200, 110))
        side = 300 + 90 * (index % 2 * 2 - 1)  # the haze's middle beside the digit, left or right
        haze = 80 * np.exp(-((x - side) ** 2 + (y - 210) ** 2) / (2 * 60.0**2))
        board = np.asarray((40, 75, 55), np.float32) + haze[..., None]
        image = board + (chalk / 255.0)[..., None] * (np.asarray((235, 235, 228), np.float32) - board)
        prepared = prepare_upload(photo_jpeg(image), "board.jpg")
        assert prepared.has_digit and best_shift_correlation(prepared.pixels, digit) > 0.8, index


def _thin_chalk(digit: np.ndarray) -> np.ndarray:
    """The digit as a thin stick of chalk draws it on a 560x420 board: its skeleton, about 5 pixels wide
    on a digit 200 tall (MNIST's strokes are about 20), 0-1."""
    line = ndimage.binary_dilation(skeletonize(enlarged(digit, 200) > 100), iterations=2)
    return ndimage.gaussian_filter(on_canvas(line.astype(np.float32), (560, 420), (200, 110)), 0.8)


def _on_a_board(chalk: np.ndarray, frame: int = 0) -> bytes:
    """The chalk (0-1: its share of the way to white) on a green board, photographed; `frame`: the board's
    light grey frame that many pixels wide along the left edge."""
    board = np.asarray((40, 75, 55), np.float32)
    image = board + np.clip(chalk, 0, 1)[..., None] * (np.asarray((235, 235, 228), np.float32) - board)
    image[:, :frame] = (170, 170, 175)
    return photo_jpeg(image)


def test_a_line_of_chalk_in_pieces_is_read_as_one_digit(test_digits):
    """A light hand's chalk skips where the board's grain dips: the stroke is in pieces a pixel or a few
    apart. Pieces less than a stroke's width apart are one stroke, so the digit comes out whole, as the
    unbroken line does (the code before found a fragment, or "no digit", for 7 of these 8). Not 1s: a
    line of chalk this thin and straight is a bar (a pen, an edge) whole or in pieces."""
    rng = np.random.default_rng(43)
    digits, labels = test_digits
    for index, digit in enumerate(digits[labels != 1][:8]):
        chalk = _thin_chalk(digit)
        bumps = ndimage.gaussian_filter(rng.normal(0, 1, chalk.shape), 1.5)
        broken = chalk * (bumps > -0.2 * bumps.std())  # about 40% of the line skipped, in gaps of a few pixels
        whole = prepare_upload(_on_a_board(0.6 * chalk), "board.jpg")
        pieces = prepare_upload(_on_a_board(0.6 * broken), "board.jpg")
        assert pieces.has_digit and best_shift_correlation(pieces.pixels, whole.pixels) > 0.7, index


def test_a_frame_or_a_patch_of_dust_brighter_than_thin_chalk_does_not_hide_it(test_digits):
    """A light hand's thin chalk beside a patch of dust (or a glare) brighter than the chalk, on a board
    whose light frame shows along an edge: the board's ground is measured on the chalk's own strokes,
    not on the frame (which runs into the edge) nor on the patch (whose light rises slowly), so the patch
    is the ground and the digit comes out as it does on a clean board (the code before measured the
    frame or the patch: 0 of these 8)."""
    y, x = np.mgrid[:420, :560].astype(np.float32)
    digits, labels = test_digits
    for index, digit in enumerate(digits[labels != 1][:8]):
        chalk = _thin_chalk(digit)
        side = 300 + 90 * (index % 2 * 2 - 1)  # the patch's middle beside the digit, left or right
        dust = 0.7 * np.exp(-((x - side) ** 2 + (y - 210) ** 2) / (2 * 25.0**2))
        clean = prepare_upload(_on_a_board(0.6 * chalk), "board.jpg")
        dusty = prepare_upload(_on_a_board(0.6 * chalk + dust, frame=60), "board.jpg")
        assert dusty.has_digit and best_shift_correlation(dusty.pixels, clean.pixels) > 0.9, index


def test_a_stretch_of_chalk_half_wiped_away_is_read_as_the_line(test_digits):
    """An eraser's pass across the digit left a band of its line at a third of its strength: that
    stretch is the line there, as the rest is, so the digit comes out as the line whole does (the code
    before read the dim stretch as a soft edge, and lost it or the digit: 5 of these 8 read so)."""
    rows = np.arange(420)[:, None]
    wiped = np.where(np.abs(rows - 210) < 30, 0.3, 1.0)  # a band 60 pixels high across the middle of the digit
    digits, labels = test_digits
    read = 0
    for digit in digits[labels != 1][:8]:
        chalk = _thin_chalk(digit)
        whole = prepare_upload(_on_a_board(0.6 * chalk), "board.jpg")
        worn = prepare_upload(_on_a_board(0.6 * chalk * wiped), "board.jpg")
        read += worn.has_digit and best_shift_correlation(worn.pixels, whole.pixels) > 0.8
    assert read >= 7, read


def test_pictures_saved_without_loss_are_judged_too():
    """A PNG of shapes or icons is judged by the digit scorer like a photo (it once never was)."""
    rng = np.random.default_rng(5)
    judged = 0
    for _ in range(20):
        steps = []
        image = Image.open(io.BytesIO(scenes.shapes_picture(rng))).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        prepare_upload(buffer.getvalue(), "shapes.png", trace=steps)
        judged += any(step.stage == "judge" for step in steps)
        assert not steps[0].decided.endswith("(lossy)")
    assert judged >= 1


def test_the_trace_is_logged_at_debug_one_line_per_reading(test_digits, caplog):
    with caplog.at_level(logging.DEBUG, logger="digits.preprocessing.pipeline"):
        prepare_upload(scenes.chalkboard(test_digits[0][2], np.random.default_rng(2)), "board.jpg")
    records = [record for record in caplog.records if record.name == "digits.preprocessing.pipeline"]
    assert len(records) == 1 and records[0].getMessage() == "trace"
    assert [stage["stage"] for stage in records[0].fields["stages"]][:4] == STAGES[1:5]


def test_classify_trace_prints_what_each_stage_decided(tmp_path, test_digits, capsys):
    path = tmp_path / "circled.jpg"
    path.write_bytes(scenes.circled(test_digits[0][3], np.random.default_rng(4)))
    assert main(["classify", "--trace", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]][:3] == ["decode", "lighting", "surface"]
    assert any(line.split()[0] == "judge" for line in lines[1:])


def test_the_scenes_suite_measures_every_scene_and_picture_without_a_digit(mnist_path, capsys):
    """`digits evaluate cnn --suite scenes`: each scene read and each kind of picture judged, as JSON."""
    # one picture of each kind: the command's wiring is the point here (test_locate.py reads 40 of each)
    assert main(["evaluate", "cnn", "--suite", "scenes", "--count", "1", "--data", str(mnist_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["suite"], figures["model"], figures["count"]) == ("scenes", "cnn", 1)
    assert set(figures["scenes"]) == set(scenes.SCENES) and set(figures["no_digit"]) == set(scenes.BLANKS)
    assert figures["scenes"]["plain paper"]["right"] == 1.0  # the first test digit, a 7, on paper
    assert figures["no_digit"]["blank page"] == 1.0
    assert all(0 <= share <= 1 for share in figures["no_digit"].values())


def test_a_whole_number_shares_the_stages_up_to_locate_and_read_trace_prints_them(tmp_path, mnist_test, capsys):
    """`digits read --trace`: the number's picture through decode, lighting, surface and ink as a single
    digit's, then what a layout puts round it set aside (where there is any) and the line located."""
    from number_images import build_number, rendered

    digits, labels = mnist_test.first(3)
    path = tmp_path / "number.jpg"
    path.write_bytes(rendered(build_number(digits, labels, np.random.default_rng(0)), "photo"))
    assert main(["read", "--trace", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    stages = [line.split()[0] for line in lines[1:]]
    assert stages[:5] == ["decode", "lighting", "surface", "ink", "locate"] and set(stages[5:]) <= {"locate"}
    assert "a photo (lossy)" in lines[1] and "marks left to right" in lines[-1]
