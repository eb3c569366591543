"""Every core and photos at decode speed, checked for what a user would notice: the same answers, the
same pixels as the slower way of computing them, folder runs that print the same lines on one core or
many, and a progress bar only where a person watches a terminal. (The speed itself is `digits bench`'s.)"""

import io
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import digits.cli
from digits.cli import folder_run, main
from digits.engine import WORKERS_ENV
from digits.preprocessing import prepare_upload
from digits.preprocessing.decode import decode
from digits.preprocessing.filters import binary_erode_square, fill_holes, median_3x3
from digits.preprocessing.working import working_image
from training import scenes


def photo(digit: np.ndarray, size: tuple[int, int], seed: int = 0) -> bytes:
    """A page on a table (training/scenes.py), enlarged to a phone photo's size and saved as JPEG."""
    rng = np.random.default_rng(seed)
    page = Image.open(io.BytesIO(scenes.page_on_table(digit, rng))).resize(size, Image.Resampling.BICUBIC)
    return scenes.photo_jpeg(np.asarray(page, np.float32) + rng.normal(0, 2, (size[1], size[0], 3)))


def test_the_fast_filters_give_scipys_values_on_a_photo(mnist_test):
    pixels = decode(photo(mnist_test[0][0], (1200, 900))).pixels
    assert np.array_equal(median_3x3(pixels), ndimage.median_filter(pixels, size=(3, 3, 1)))
    grey = pixels[..., 1]
    for shape in ((1, 1), (2, 5), (64, 1)):  # the borders SciPy mirrors
        assert np.array_equal(median_3x3(grey[:shape[0], :shape[1]]), ndimage.median_filter(grey[:shape[0], :shape[1]], 3))
    mask = grey > np.percentile(grey, 30)
    for times in (1, 4, 11):
        assert np.array_equal(binary_erode_square(mask, times),
                              ndimage.binary_erosion(mask, np.ones((3, 3), bool), iterations=times))


def test_holes_are_filled_as_scipy_fills_them(mnist_test):
    """The ink of MNIST digits (their loops), a photo's levels cut at several heights (pages, their
    specks and rings), random masks, and the edge cases (empty, all set, a line, a ring on the edge)."""
    pixels = decode(photo(mnist_test[0][0], (1200, 900))).pixels[..., 1]
    rng = np.random.default_rng(1)
    masks = [image > level for image in mnist_test[0][:60] for level in (0, 64, 200)]
    masks += [pixels > np.percentile(pixels, share) for share in (5, 30, 60, 95)]
    masks += [rng.random(shape) < share for shape in ((28, 28), (75, 100), (1, 9), (9, 1)) for share in (0.3, 0.6, 0.9)]
    ring = np.ones((6, 6), bool)
    ring[1:5, 1:5] = False
    masks += [np.zeros((5, 5), bool), np.ones((5, 5), bool), np.ones((1, 1), bool), ring, ring[:, 1:]]
    filled = [fill_holes(mask) for mask in masks]
    assert all(np.array_equal(mine, ndimage.binary_fill_holes(mask)) for mine, mask in zip(filled, masks))
    assert sum(int(np.count_nonzero(mine & ~mask)) for mine, mask in zip(filled, masks)) > 1000  # holes were there to fill


def lstsq_background_surface(signal: np.ndarray, grid: int = 32) -> np.ndarray:
    """The lighting's background surface as it was fitted before: lstsq (an SVD), evaluated term by term."""
    height, width = signal.shape
    block = max(1, max(height, width) // grid)
    rows, cols = height // block, width // block
    blocks = signal[: rows * block, : cols * block].reshape(rows, block, cols, block).mean(axis=(1, 3))
    y = (np.arange(rows) + 0.5) * block / height * 2 - 1
    x = (np.arange(cols) + 0.5) * block / width * 2 - 1
    yy, xx = np.meshgrid(y, x, indexing="ij")
    terms = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    values = blocks.ravel()
    background = values <= np.partition(values, len(values) // 4)[len(values) // 4]
    for _ in range(4):
        c = np.linalg.lstsq(terms[background], values[background], rcond=None)[0]
        residual = values - terms @ c
        spread = 1.4826 * np.partition(np.abs(residual[background]), background.sum() // 2)[background.sum() // 2] + 0.5
        background = residual < 2.5 * spread
        if np.count_nonzero(background) < 12:
            break
    y = (np.arange(height) + 0.5) / height * 2 - 1
    x = (np.arange(width) + 0.5) / width * 2 - 1
    return (c[0] + c[1] * x[None, :] + c[2] * y[:, None] + c[3] * (x * x)[None, :] + c[4] * y[:, None] * x[None, :]
            + c[5] * (y * y)[:, None]).astype(np.float32)


def test_the_lightings_background_surface_is_the_one_lstsq_fits(mnist_test):
    from digits.preprocessing.lighting import _background_surface

    rng = np.random.default_rng(5)
    for _ in range(40):  # uneven light (a slope, a bow, a twist) under noise and blocks of ink
        height, width = rng.integers(32, 520, 2)
        yy, xx = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
        signal = (rng.normal(0, 3, (height, width)) + rng.uniform(-30, 30) * xx + rng.uniform(-30, 30) * yy ** 2
                  + rng.uniform(-20, 20) * xx * yy).astype(np.float32)
        for _ in range(rng.integers(0, 8)):
            top, left = rng.integers(0, height - 10), rng.integers(0, width - 10)
            signal[top:top + rng.integers(3, 60), left:left + rng.integers(3, 60)] += rng.uniform(50, 200)
        np.testing.assert_allclose(_background_surface(signal), lstsq_background_surface(signal), atol=1e-4)
    page = decode(photo(mnist_test[0][0], (1200, 900))).pixels[..., 1]
    np.testing.assert_allclose(_background_surface(page), lstsq_background_surface(page), atol=1e-4)


def test_a_large_picture_shrinks_to_the_pixels_of_converting_it_whole_then_reducing_it():
    rng = np.random.default_rng(3)
    colour = Image.fromarray(rng.integers(0, 256, (1537, 2049, 3), np.uint8))
    for picture, mode in ((colour, "RGB"), (colour.convert("L"), "L"), (colour.convert("1"), "L")):
        assert np.array_equal(np.asarray(working_image(picture)), np.asarray(picture.convert(mode).reduce(5)))


def test_a_12_megapixel_phone_photo_gives_the_answer_its_small_copy_gives(mnist_test):
    images, labels = mnist_test
    for index in (0, 1):
        large = prepare_upload(photo(images[index], (4032, 3024), seed=index))
        small = prepare_upload(photo(images[index], (1200, 900), seed=index))
        assert large.source_size == (4032, 3024) and large.has_digit and small.has_digit
        assert abs(large.pixels.astype(int) - small.pixels.astype(int)).mean() < 12  # the same digit seen
    assert large.pixels.shape == (28, 28)


def test_a_phone_photo_is_decoded_straight_at_its_working_size_and_read_as_when_halved_after(mnist_test):
    images, labels = mnist_test
    for size, scale in (((1200, 900), 4), ((4032, 3024), 8), ((3000, 2250), 8)):
        data = photo(images[2], size, seed=2)
        halved = Image.open(io.BytesIO(data))
        halved.draft(None, (size[0] * 2 // scale, size[1] * 2 // scale))  # the decoder at twice the size ...
        halved = np.asarray(working_image(halved), np.float32)  # ... then halved, as the reading did before
        decoded = decode(data, "photo.jpg").pixels
        assert decoded.shape == halved.shape == (-(-size[1] // scale), -(-size[0] // scale), 3)
        assert np.abs(decoded - halved).mean() < 2  # the same picture, averaged by the decoder instead
        reading = prepare_upload(data, "photo.jpg")
        assert reading.has_digit and reading.source_size == size


def test_the_turned_rectangle_fitted_to_a_regions_rows_ends_is_the_one_fitted_to_all_its_pixels():
    from scipy.spatial import ConvexHull

    from digits.preprocessing import shapes

    rng = np.random.default_rng(4)
    for _ in range(200):
        region = ndimage.binary_dilation(rng.random(tuple(rng.integers(2, 40, 2))) < 0.05, iterations=2)
        if not region.any():
            continue
        rows, cols = np.nonzero(region)
        every_corner = np.concatenate([np.stack([rows + dy, cols + dx], axis=1) for dy in (0, 1) for dx in (0, 1)])
        hull = ConvexHull(every_corner)
        assert set(map(tuple, every_corner[hull.vertices])) == set(map(tuple, shapes._pixel_corners(region)[
            ConvexHull(shapes._pixel_corners(region)).vertices]))
        assert shapes.solidity(region) == np.count_nonzero(region) / hull.volume
        assert shapes.solidity_and_rectangle_fit(region) == (shapes.solidity(region), *shapes.rectangle_fit(region))


def test_the_surfaces_outside_is_painted_with_scipys_nearest_pixel_of_it(mnist_test):
    from digits.preprocessing.locate.surface import _NEAREST_FIRST, _painted_outside

    pixels = decode(photo(mnist_test[0][0], (1200, 900))).pixels
    rng = np.random.default_rng(7)
    looked_round = 0
    for case in range(300):  # a few holes and corners (looked at round each) or many (SciPy's transform)
        height, width = rng.integers(8, 225, 2)
        mask = np.ones((height, width), bool) if case % 3 else rng.random((height, width)) < 0.9
        for _ in range(rng.integers(1, 8)):
            top, left = rng.integers(-4, height), rng.integers(-4, width)
            mask[max(top, 0):max(top + rng.integers(1, 9), 0), max(left, 0):max(left + rng.integers(1, 9), 0)] = False
        if mask.all() or not mask.any():
            continue
        picture = pixels[:height, :width]
        nearest = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
        assert np.array_equal(_painted_outside(picture, mask), picture[nearest[0], nearest[1]])
        looked_round += np.count_nonzero(~mask) * len(_NEAREST_FIRST) <= mask.size
    assert looked_round > 60


def layout_lines_on_the_whole_picture(mask: np.ndarray, shorter_side: int) -> np.ndarray:
    """locate/layout.py's `layout_lines` as it was: every filter over the whole picture, the lines' runs as a
    mean of 1, the pieces' neighbours shift by shift, the stroke widths of a padded copy."""
    from digits.preprocessing.locate import layout

    def all_along(values, length, axis):
        return ndimage.uniform_filter1d(values.astype(np.float32), length, axis=axis) > 0.999

    def stroke_widths(labels, count):
        padded, outline = np.pad(labels, 1), np.zeros(count + 1)
        for one, next_one in ((padded[1:], padded[:-1]), (padded[:, 1:], padded[:, :-1])):
            differ = one != next_one
            outline += np.bincount(one[differ], minlength=count + 1) + np.bincount(next_one[differ], minlength=count + 1)
        return 2.0 * np.bincount(labels.ravel(), minlength=count + 1) / np.maximum(outline, 1)

    lines = np.zeros(mask.shape, bool)
    length = round(layout._LAYOUT_LINE * shorter_side) | 1
    for along in (0, 1):
        run = ndimage.maximum_filter1d(all_along(mask, length, along), length, axis=along)
        deep = all_along(mask, layout._LINE_WIDTH + 1, 1 - along)
        lines |= run & ~ndimage.maximum_filter1d(deep, layout._LINE_WIDTH + 1, axis=1 - along)
    if not lines.any():
        return lines
    rest, rest_count = ndimage.label(mask & ~lines, structure=np.ones((3, 3), bool), output=np.intp)
    pieces, count = ndimage.label(lines, structure=np.ones((3, 3), bool), output=np.intp)
    long_widths = np.where(layout._extents(rest, rest_count) >= length, stroke_widths(rest, rest_count), np.inf)
    long_widths[0] = np.inf
    thinnest_beside, around = np.full(count + 1, np.inf), np.pad(pieces, 1)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            beside = around[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
            both = (beside > 0) & (rest > 0)
            np.minimum.at(thinnest_beside, beside[both], long_widths[rest[both]])
    strokes = thinnest_beside <= 2 * stroke_widths(pieces, count) + 1
    strokes[0] = False
    return lines & ~strokes[pieces]


def test_the_locate_stages_faster_filters_find_the_same_lines_marks_and_edges():
    from digits.preprocessing.filters import binary_erode_square
    from digits.preprocessing.locate.layout import layout_lines
    from digits.preprocessing.locate.marks import _within
    from digits.preprocessing.locate.surface import _eroded_at_full_size

    rng = np.random.default_rng(11)
    found = 0
    for case in range(120):  # strokes and specks with straight lines, in part of a picture or all over it
        height, width = rng.integers(128, 260, 2)
        mask = np.zeros((height, width), bool)
        part_height, part_width = (height, width) if case % 4 == 0 else rng.integers(24, 120, 2)
        top, left = rng.integers(0, height - part_height + 1), rng.integers(0, width - part_width + 1)
        part = ndimage.binary_dilation(rng.random((part_height, part_width)) < 0.02, iterations=int(rng.integers(0, 3)))
        for _ in range(rng.integers(1, 6)):
            row, col = rng.integers(0, part_height), rng.integers(0, part_width)
            if rng.random() < 0.5:
                part[row:row + rng.integers(1, 4), col // 2:] = True
            else:
                part[row // 2:, col:col + rng.integers(1, 3)] = True
        mask[top:top + part_height, left:left + part_width] = part
        expected = layout_lines_on_the_whole_picture(mask, min(height, width))
        assert np.array_equal(layout_lines(mask, min(height, width)).pixels, expected)
        found += expected.any()
        reach = int(rng.integers(0, 30))
        assert np.array_equal(_within(part, reach), ndimage.distance_transform_cdt(~part, metric="chessboard") <= reach)
        step, margin = int(rng.integers(1, 5)), int(rng.integers(1, 15))
        small = ndimage.binary_opening(rng.random((part_height // step + 1, part_width // step + 1)) < 0.9)
        enlarged = np.repeat(np.repeat(small, step, axis=0), step, axis=1)[:part_height, :part_width]
        assert np.array_equal(_eroded_at_full_size(small, step, (part_height, part_width), margin),
                              binary_erode_square(enlarged, margin))
    assert found > 60  # most cases held lines to tell from strokes


JPEG_START = b"\xff\xd8"


def _folder(tmp_path, mnist_test, count: int):
    images, _ = mnist_test
    folder = tmp_path / "uploads"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for index in range(count):  # 28x28 PNGs, scenes as PNG or JPEG, and a broken file
        if index % 3 == 0:
            Image.fromarray(images[index]).save(folder / f"{index:02d}.png")
        else:
            data = list(scenes.SCENES.values())[index % len(scenes.SCENES)](images[index], rng)
            suffix = "jpg" if data.startswith(JPEG_START) else "png"
            (folder / f"{index:02d}.{suffix}").write_bytes(data)
    (folder / "99-broken.jpg").write_bytes(JPEG_START + b" not a photo")
    return folder


def _without_timing(out: str) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "latency_ms"} for line in out.splitlines()]


PARALLEL_FROM_FILES = 8


def test_a_folder_run_prints_the_same_lines_on_one_core_as_on_several(tmp_path, mnist_test, capsys, monkeypatch):
    monkeypatch.setattr(digits.cli, "PARALLEL_FROM_FILES", PARALLEL_FROM_FILES)  # a pool for a small folder too
    folder = _folder(tmp_path, mnist_test, PARALLEL_FROM_FILES + 4)
    outputs, numbers = [], []
    for workers in ("1", "2"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        assert main(["classify", "--json", str(folder)]) == 1  # the broken file
        captured = capsys.readouterr()
        outputs.append(_without_timing(captured.out))
        assert captured.err == ""  # no progress bar: standard error is not a terminal here
        assert main(["read", "--json", str(folder)]) == 1
        numbers.append(capsys.readouterr().out.splitlines())
    assert outputs[0] == outputs[1] and len(outputs[0]) == PARALLEL_FROM_FILES + 5
    assert sum(line.get("digit") is not None for line in outputs[0]) >= PARALLEL_FROM_FILES
    assert numbers[0] == numbers[1] and len(numbers[0]) == PARALLEL_FROM_FILES + 5


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("as_json, shown", [(False, True), (True, False)])
def test_the_progress_bar_shows_on_a_terminal_and_never_with_json(as_json, shown, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "1")
    terminal = Terminal()
    with folder_run(40, as_json, stream=terminal) as (pool, bar):
        assert pool is None  # one worker: the files are prepared here
        bar.update(40)
    assert ("/40 [" in terminal.getvalue()) is shown


@pytest.mark.slow  # photos of 12 megapixels made and read, and a pool of processes started
def test_the_photo_benchmark_reports_each_size_beside_its_decode_and_the_folder_throughput(mnist_test):
    from digits.bench import PHOTO_SIZES, photo_table, run_photo_benchmark

    images, labels = mnist_test
    figures = run_photo_benchmark(images, labels, folder=64, repeat=1)
    table = photo_table(figures["photos"])
    for width, height in PHOTO_SIZES:
        size = figures["photos"][f"{width}x{height}"]
        assert 0 < size["draft_decode_p50_ms"] < size["answer_p50_ms"] and size["right"] >= 2 / 3
        assert size["target_ms"] == round(2 * size["draft_decode_p50_ms"] + 8, 3)
        assert size["target_met"] == (size["answer_p50_ms"] <= size["target_ms"])
        assert 0 < size["draft_decode_cpu_p50_ms"] < size["answer_cpu_p50_ms"]
        line = next(line for line in table.splitlines() if line.startswith(f"{width}x{height}"))
        assert f"{size['target_ms']:.1f} ms" in line and ("yes" if size["target_met"] else "NO") in line
    folder = figures["folder"]
    assert folder["uploads"] == 64 and folder.get("same_answers", folder["workers"] == 1) and folder["serial_per_s"] > 0
    json.dumps(figures)


def test_the_fast_order_statistics_answer_as_numpy_does_ties_included():
    """A photo's polarity and lighting ask only for a tail value and for which side of a level the median
    lies (digits/preprocessing/arrays.py); those shortcuts must give exactly numpy's answers."""
    from digits.preprocessing.arrays import kth_smallest, median, median_is_below

    rng = np.random.default_rng(7)
    for trial in range(2000):
        size = int(rng.integers(1, 70_000 if trial % 100 == 0 else 3_000))
        values = rng.integers(0, 12, size).astype(np.float64) if trial % 2 else rng.normal(size=size)
        k = min(int(rng.integers(0, size // 40 + 1)), size - 1)
        assert kth_smallest(values, k) == np.partition(values, k)[k]
        level = float(rng.integers(0, 12)) if trial % 2 else float(rng.normal())
        assert median_is_below(values, level) == (float(median(values)) < level)


def test_stroke_widths_and_zero_frames_without_np_pad_are_np_pads_to_the_bit():
    """A photo's reading measures a dozen masks' stroke widths and pads a few: counted and framed without
    `np.pad` (normalise.stroke_width, arrays.zero_padded), they must be exactly what it gave."""
    from digits.preprocessing.arrays import zero_padded
    from digits.preprocessing.normalise import stroke_width

    def stroke_width_on_a_padded_copy(mask):
        padded = np.pad(mask, 1)
        outline = np.count_nonzero(padded[1:] != padded[:-1]) + np.count_nonzero(padded[:, 1:] != padded[:, :-1])
        return 2.0 * np.count_nonzero(mask) / max(outline, 1)

    rng = np.random.default_rng(3)
    for trial in range(600):
        shape = tuple(int(n) for n in rng.integers(0 if trial % 50 == 0 else 1, 40 if trial % 3 else 300, 2))
        mask = ndimage.binary_dilation(rng.random(shape) < rng.uniform(0.01, 0.6), iterations=trial % 3)
        assert stroke_width(mask) == stroke_width_on_a_padded_copy(mask)
        width = int(rng.integers(0, 4))
        for array in (mask, rng.random(shape).astype(np.float32)):
            framed = zero_padded(array, width)
            assert framed.dtype == array.dtype and np.array_equal(framed, np.pad(array, width))


def test_a_small_pictures_border_mnist_form_and_stretch_are_the_general_ways_to_the_bit(mnist_test):
    """A 28x28 upload's reading takes its border as four rows and columns (arrays.border), tells its MNIST
    form from its rows' and columns' mass (normalise.is_in_mnist_form) and stretches it in place
    (normalise.stretch): each must give exactly what the general way gave."""
    from digits.preprocessing.arrays import border, border_regions
    from digits.preprocessing.normalise import DIGIT_BOX, IMAGE_SIZE, is_in_mnist_form, stretch

    def border_of_the_regions(array):
        return np.concatenate([array[rows, cols].reshape(-1, *array.shape[2:])
                               for rows, cols in border_regions(*array.shape[:2])])

    def in_mnist_form_by_its_ink(ink):
        inked = ink > 0
        rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
        if ink.shape != (IMAGE_SIZE, IMAGE_SIZE) or not len(rows):
            return False
        if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 != DIGIT_BOX:
            return False
        weights = np.maximum(ink, 0)
        total = float(weights.sum())
        centre_y = float(weights.sum(axis=1) @ np.arange(IMAGE_SIZE) / total)
        centre_x = float(weights.sum(axis=0) @ np.arange(IMAGE_SIZE) / total)
        return abs(centre_y - IMAGE_SIZE / 2) <= 0.5 and abs(centre_x - IMAGE_SIZE / 2) <= 0.5

    def stretched_with_clip(frame):
        frame = np.maximum(frame, 0)
        peak = float(frame.max())
        return np.zeros(frame.shape, np.uint8) if peak <= 0 else \
            np.clip(np.rint(frame * (255.0 / peak)), 0, 255).astype(np.uint8)

    rng = np.random.default_rng(11)
    for trial in range(400):
        shape = tuple(int(n) for n in rng.integers(1, 90 if trial % 4 else 700, 2)) + ((), (1,), (3,))[trial % 3]
        array = rng.random(shape).astype(np.float32)
        assert np.array_equal(border(array), border_of_the_regions(array))
    digits = mnist_test[0][:300].astype(np.float32)
    in_form = 0
    for number, digit in enumerate(digits):
        for ink in (digit, np.roll(digit, number % 3 - 1, axis=number % 2), digit - rng.uniform(0, 20),
                    digit * np.float32(0.01), np.where(digit > 200, digit, 0), np.zeros_like(digit)):
            ink = np.ascontiguousarray(ink, dtype=np.float32)
            assert is_in_mnist_form(ink) == in_mnist_form_by_its_ink(ink)
            in_form += is_in_mnist_form(ink)
            assert np.array_equal(stretch(ink), stretched_with_clip(ink))
    assert 300 < in_form < 6 * 300  # both answers were asked for
    for frame in (rng.normal(0, 50, (40, 31)), rng.random((28, 28)).astype(np.float32) * 1e-30):
        assert np.array_equal(stretch(frame), stretched_with_clip(frame))


def test_a_csv_is_read_with_the_dialect_the_sniffer_chooses(mnist_test):
    """A CSV with no quotes and one kind of delimiter is split without csv.Sniffer (its character tables
    were 0.6 ms of a 28x28 CSV's 1 ms): every file must be split into exactly the rows the sniffer's
    dialect gives, and refused where it refused."""
    import csv

    from digits.preprocessing.csv_digits import _HEAD_BYTES, _dialect

    def sniffed(text):  # how the dialect was chosen before: the sniffer first, for every file
        sample = text[:_HEAD_BYTES]
        sample = sample[: sample.rfind("\n") + 1] or sample
        try:
            return {"dialect": csv.Sniffer().sniff(sample, delimiters=",;\t")}
        except csv.Error:
            counts = {delimiter: sample.count(delimiter) for delimiter in ",;\t"}
            return {"delimiter": max(counts, key=counts.get) if any(counts.values()) else " "}

    def rows(text, dialect):
        try:
            return list(csv.reader(io.StringIO(text, newline=""), **dialect, skipinitialspace=True))
        except csv.Error as error:
            return str(error)

    digit = mnist_test[0][0]
    grid = "\n".join(",".join(map(str, row)) for row in digit)
    texts = [grid, grid.replace(",", ";"), grid.replace(",", "\t"), grid.replace(",", " "), grid.replace(",", ", "),
             grid.replace("\n", "\r\n") + "\r\n", grid + "\n,,,,\n", "label," + ",".join(f"pixel{n}" for n in range(784))
             + "\n7," + ",".join(map(str, digit.ravel())), "5\n3\n", "hello world\n", "0,5;0,25\n1,0;0,75\n",
             '"1","2"\n"3","4"\n', "'a',b\n", grid.replace("0", "0.0", 5)]
    rng = np.random.default_rng(5)
    texts += ["".join(rng.choice(list("0123456789.,;\t \n\"'x"), int(rng.integers(1, 200)),
                                 p=[.05] * 10 + [.06, .1, .06, .06, .06, .08, .04, .02, .02])) for _ in range(3000)]
    for text in texts:
        assert rows(text, _dialect(text)) == rows(text, sniffed(text)), text


def test_a_28x28_csv_reads_as_its_png_and_a_wrong_value_still_names_its_row(mnist_test):
    """A 28x28 CSV is split without the sniffer and its values checked all at once (docs/speed.md, *the 28x28
    upload's preparation*): it must give the PNG's pixels, and a wrong value must still name its row. (Its
    time is the benchmark's to print: python -m benchmarks.time_prepare.)"""
    from digits.preprocessing import InputError

    digits = mnist_test[0][:60]
    csvs = ["\n".join(",".join(map(str, row)) for row in digit).encode() for digit in digits]
    for digit, csv_data in zip(digits, csvs):
        assert np.array_equal(prepare_upload(csv_data, "digit.csv").pixels, prepare_upload(png_bytes(digit)).pixels)
    rows = [line.split(",") for line in csvs[0].decode().split("\n")]
    for row, column, value, message in ((5, 3, "dark", "row 5, column 3 holds 'dark'"), (7, 1, "300", "row 7 has values "
                                                                                                      "outside 0-255")):
        bad = [list(values) for values in rows]
        bad[row - 1][column - 1] = value
        with pytest.raises(InputError, match=message):
            prepare_upload("\n".join(",".join(values) for values in bad).encode(), "digit.csv")


def png_bytes(digit: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_grey_grounds_ink_side_is_told_without_the_median_as_with_it():
    """`polarity.falls_further_than_it_rises` (the lighting stage's question of a mid-grey ground, without
    partitioning the whole-picture sample for its median: 0.5 ms of a phone photo) must answer as
    `goes_further(grey - paper, grey - median)` does, on grounds of every level and noise, whole grey levels
    and luminance sums, with light and dark marks on them."""
    from digits.preprocessing.arrays import median, subsampled
    from digits.preprocessing.polarity import falls_further_than_it_rises, goes_further

    rng = np.random.default_rng(48)
    answers = set()
    for trial in range(600):
        height, width = (int(n) for n in rng.integers(20, 900, 2))
        grey = (rng.uniform(40, 220) + rng.normal(0, rng.uniform(1, 30), (height, width))).astype(np.float32)
        if trial % 2:
            grey = np.round(grey)
        for _ in range(int(rng.integers(0, 5))):
            top, left = int(rng.integers(0, height - 5)), int(rng.integers(0, width - 5))
            grey[top:top + 5, left:left + 5] += rng.uniform(-150, 150)
        paper = float(np.percentile(grey, rng.uniform(50, 99)))
        answer = falls_further_than_it_rises(grey, paper)
        assert answer == goes_further(grey - paper, grey - median(subsampled(grey).ravel()))
        answers.add(answer)
    assert answers == {True, False}
