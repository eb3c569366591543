"""Uploads -> the 28x28 MNIST-style digit the models see: every format, every kind of drawing, every bad file."""

import io
import json
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digits.preprocessing import (
    EDGES_NOT_BACKGROUND_WARNING,
    IMAGE_SIZE,
    LOW_CONTRAST_WARNING,
    MAX_FILE_BYTES,
    MAX_FILES_PER_CALL,
    NO_INK_WARNING,
    SEVERAL_MARKS_WARNING,
    InputError,
    PreparedImage,
    check_file_count,
    prepare_upload,
    preview_png,
)
from upload_files import (
    best_shift_correlation,
    correlation,
    dark_on_white,
    encode,
    enlarged,
    ink_photo,
    on_canvas,
    painted,
    png,
    notebook_photo,
    polyline_seven,
    shadowed_photo,
    transparent_drawing,
)

FIVE, ZERO, FOUR, ONE, NINE, TWO = range(6)  # indices of the first MNIST training digits


@pytest.fixture(scope="module")
def digits(mnist_train_digits):
    return mnist_train_digits[0]


def assert_reads_as(upload: bytes, digit: np.ndarray, minimum: float = 0.9, filename=None) -> PreparedImage:
    prepared = prepare_upload(upload, filename)
    assert prepared.pixels.shape == (IMAGE_SIZE, IMAGE_SIZE) and prepared.pixels.dtype == np.uint8
    assert prepared.pixels.max() == 255
    assert best_shift_correlation(prepared.pixels, digit) > minimum
    return prepared


# --- images already in MNIST form stay as they are -----------------------------------------------


def test_mnist_digits_saved_as_png_come_back_unchanged(digits):
    originals = digits[:300]
    outputs = np.stack([prepare_upload(png(digit)).pixels for digit in originals])
    difference = np.abs(outputs.astype(int) - originals.astype(int))
    assert difference.mean() < 0.1  # in 0-255 units
    full_contrast = originals.max(axis=(1, 2)) == 255  # the others are only stretched from 254 to 255
    unchanged = [np.array_equal(a, b) for a, b in zip(outputs[full_contrast], originals[full_contrast])]
    assert np.mean(unchanged) > 0.99
    assert all(not prepare_upload(png(digit)).warnings for digit in originals[:50])


# --- what people draw and photograph ------------------------------------------------------------


def test_a_dark_digit_on_white_paper_off_centre(digits):
    for index in range(10):
        assert_reads_as(encode(dark_on_white(digits[index])), digits[index])


def test_a_digit_cropped_right_to_its_edges(digits):
    for index in range(10):  # a bold "1" cropped this tight is more ink than paper
        tight = 255 - enlarged(digits[index], 100)
        assert_reads_as(png(tight), digits[index])


def test_a_white_digit_small_and_off_centre_on_a_large_black_canvas(digits):
    ink = on_canvas(enlarged(digits[TWO], 300), (1000, 800), (650, 40))
    prepared = assert_reads_as(png(ink), digits[TWO])
    assert prepared.source_size == (1000, 800) and prepared.source_format == "PNG"


@pytest.mark.parametrize("stroke_colour", [(0, 0, 0), (255, 255, 255), (200, 30, 30)], ids=["black", "white", "red"])
def test_a_drawing_on_a_transparent_canvas_reads_by_its_strokes_whatever_their_colour(digits, stroke_colour):
    for index in range(5):
        drawing = transparent_drawing(on_canvas(enlarged(digits[index], 200), (256, 256), (40, 30)), stroke_colour)
        assert_reads_as(encode(drawing), digits[index])


def test_an_opaque_rgba_image_reads_by_its_colours(digits):
    opaque = Image.fromarray(np.asarray(dark_on_white(digits[FOUR]).convert("RGBA")))
    assert_reads_as(encode(opaque), digits[FOUR])


def test_a_transparent_picture_of_a_page_is_flattened_onto_white(digits):
    page = dark_on_white(digits[FIVE]).convert("RGBA")
    alpha = np.full((300, 300), 255, np.uint8)
    alpha[120:140, 10:30] = 0  # a hole punched in the page, away from the border
    page.putalpha(Image.fromarray(alpha))
    assert_reads_as(encode(page), digits[FIVE])


def test_a_phone_photo_of_blue_ink_on_unevenly_lit_noisy_paper(digits):
    for index in range(10):
        prepared = assert_reads_as(ink_photo(digits[index], seed=index), digits[index])
        assert prepared.source_format == "JPEG" and not prepared.warnings


def test_a_photo_with_a_hard_edged_shadow_across_the_digit(digits):
    """A hand or a phone casts a sharp shadow over part of the page: the digit still comes out whole,
    with no trace of the shadow's edge (tests/test_engine.py checks the models then read it right)."""
    for index, angle in enumerate(range(0, 360, 36)):
        prepared = assert_reads_as(shadowed_photo(digits[index], angle), digits[index], minimum=0.6)
        assert not prepared.warnings


@pytest.mark.parametrize("squared, tilt", [(False, 0.0), (True, 0.0), (False, 2.0), (True, -1.5)],
                         ids=["ruled", "squared", "ruled-askew", "squared-askew"])
def test_a_digit_on_notebook_paper_comes_out_without_the_lines(digits, squared, tilt):
    """(tests/test_engine.py checks that the models then read these right.)"""
    for index in range(6):
        prepared = assert_reads_as(notebook_photo(digits[index], squared, tilt), digits[index], minimum=0.6)
        assert not prepared.warnings


def test_a_long_thin_stroke_is_not_taken_for_a_ruled_line():
    """A 7 whose bar crosses nearly the whole canvas, drawn with a fine pen, keeps its bar."""
    thin = prepare_upload(encode(polyline_seven(width=3, size=600, bar=(30, 970)))).pixels
    bold = prepare_upload(encode(polyline_seven(width=30, size=600, bar=(30, 970)))).pixels
    assert best_shift_correlation(thin, bold) > 0.8


def test_a_bold_digit_cropped_close_under_uneven_light_keeps_its_strokes(digits):
    """Strokes too wide to see past are ink, not shadow: they stay, however uneven the light."""
    for index in range(6):
        ink = enlarged(digits[index], 120)
        light = np.linspace(1.0, 0.6, ink.shape[1])[np.newaxis, :, np.newaxis]  # darker towards the right
        photo = painted(ink, (20, 20, 20), (240, 238, 230)).astype(np.float32) * light
        assert_reads_as(encode(Image.fromarray(photo.astype(np.uint8)), "JPEG", quality=90), digits[index])


@pytest.mark.parametrize(
    "ink, paper",
    [((200, 20, 20), (250, 240, 120)), ((255, 255, 255), (30, 80, 40)), ((0, 0, 0), (128, 128, 128)),
     ((255, 255, 255), (128, 128, 128)), ((250, 210, 0), (255, 255, 255))],
    ids=["red-on-yellow", "chalk-on-green-board", "black-on-grey", "white-on-grey", "yellow-on-white"],
)
def test_coloured_ink_on_coloured_backgrounds(digits, ink, paper):
    picture = painted(on_canvas(enlarged(digits[NINE], 150), (200, 200), (30, 20)), ink, paper)
    assert_reads_as(png(picture), digits[NINE])


def test_a_one_pixel_pen_line_on_a_big_canvas_looks_like_the_same_digit_drawn_thick():
    thin = prepare_upload(encode(polyline_seven(width=1))).pixels
    thick = prepare_upload(encode(polyline_seven(width=40))).pixels
    assert correlation(thin, thick) > 0.8
    assert 0.5 < thin.sum() / thick.sum() < 2  # MNIST-like strokes, neither vanished nor a blob


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP"])
def test_compression_ringing_does_not_shrink_a_small_digit(digits, image_format):
    uploads = [encode(Image.fromarray(digit), image_format, quality=75) for digit in digits[:20]]
    similarity = [correlation(prepare_upload(data).pixels, digit) for data, digit in zip(uploads, digits[:20])]
    assert np.mean(similarity) > 0.93


def test_a_tiny_image_is_enlarged(digits):
    tiny = Image.fromarray(digits[ZERO]).resize((16, 16), Image.Resampling.BOX)  # a digit 11 pixels tall
    assert_reads_as(encode(tiny), digits[ZERO], minimum=0.85)


def test_a_stray_dot_far_from_the_digit_is_ignored(digits):
    ink = on_canvas(enlarged(digits[FIVE], 200), (400, 400), (20, 150))
    ink[20:40, 360:380] = 255  # a pen touching the page by accident
    prepared = assert_reads_as(png(ink), digits[FIVE])
    assert not prepared.warnings


# --- formats and modes ----------------------------------------------------------------------------


def _as_mode(digit: np.ndarray, mode: str) -> Image.Image:
    """The digit as dark ink on white (or strokes on transparency for modes with alpha), in `mode`."""
    ink = on_canvas(enlarged(digit, 96), (128, 112), (20, 8))
    if mode in ("RGBA", "LA"):
        return transparent_drawing(ink).convert(mode)
    paper = Image.fromarray((255 - ink).astype(np.uint8))
    if mode == "I;16":
        return Image.fromarray(((255 - ink) * 257).astype(np.uint16))
    if mode == "P":
        return paper.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    if mode == "1":
        return paper.convert("1", dither=Image.Dither.NONE)  # a black-and-white scan
    return paper.convert(mode)


FORMATS_AND_MODES = [
    ("PNG", mode) for mode in ("1", "L", "LA", "RGB", "RGBA", "P", "I;16")
] + [
    ("JPEG", "L"), ("JPEG", "RGB"), ("JPEG", "CMYK"),
    ("GIF", "P"), ("GIF", "L"),
    ("BMP", "1"), ("BMP", "L"), ("BMP", "P"), ("BMP", "RGB"),
    ("WEBP", "RGB"), ("WEBP", "RGBA"),
    ("TIFF", "L"), ("TIFF", "RGB"), ("TIFF", "RGBA"), ("TIFF", "CMYK"), ("TIFF", "I;16"),
]


@pytest.mark.parametrize("image_format, mode", FORMATS_AND_MODES, ids=[f"{f}-{m}" for f, m in FORMATS_AND_MODES])
def test_every_format_and_mode(digits, image_format, mode):
    image = _as_mode(digits[TWO], mode)
    data = encode(image, image_format, **({"lossless": True} if image_format == "WEBP" else {}))
    assert Image.open(io.BytesIO(data)).mode == mode  # a real file of that mode
    prepared = assert_reads_as(data, digits[TWO], filename=f"two.{image_format.lower()}")
    assert prepared.source_format == image_format and prepared.source_size == (128, 112)


@pytest.mark.parametrize("image_format", ["PNG", "GIF"])
def test_a_palette_image_with_a_transparent_colour(digits, image_format):
    ink = on_canvas(enlarged(digits[FOUR], 100), (128, 128), (10, 10))
    drawing = Image.fromarray((ink > 127).astype(np.uint8), "P")  # index 0: background, 1: ink
    drawing.putpalette([0, 0, 0, 20, 20, 20])  # the transparent background's colour is as dark as the ink
    data = encode(drawing, image_format, transparency=0)
    assert Image.open(io.BytesIO(data)).info["transparency"] == 0
    assert_reads_as(data, digits[FOUR])


def test_only_the_first_frame_of_an_animated_gif_is_read(digits):
    first, second = dark_on_white(digits[FIVE]), dark_on_white(digits[ONE])
    data = encode(first.convert("P"), "GIF", save_all=True, append_images=[second.convert("P")], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert_reads_as(data, digits[FIVE])


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation, stored_turn", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)],
                         ids=["orientation-6", "orientation-8"])
def test_a_photo_is_turned_upright_by_its_exif_orientation(digits, image_format, orientation, stored_turn):
    upright = dark_on_white(digits[FIVE], size=(300, 200), length=150, at=(100, 20)).convert("RGB")
    stored = upright.transpose(stored_turn)  # how a phone held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = orientation
    with_tag, without_tag = encode(stored, image_format, exif=exif), encode(stored, image_format)
    prepared = assert_reads_as(with_tag, digits[FIVE])
    assert prepared.source_size == (300, 200)  # as shown, not as stored
    assert best_shift_correlation(prepare_upload(without_tag).pixels, digits[FIVE]) < 0.6


def test_a_large_phone_photo_is_read(digits):
    photo = Image.open(io.BytesIO(ink_photo(digits[NINE]))).resize((2400, 1800), Image.Resampling.BILINEAR)
    prepared = assert_reads_as(encode(photo, "JPEG", quality=90), digits[NINE])
    assert prepared.source_size == (2400, 1800)


# --- the original project's CSV --------------------------------------------------------------------


def _csv_variants(digit: np.ndarray) -> dict[str, str]:
    values = [str(v) for v in digit.ravel()]
    fractions = [f"{v / 255:.6f}" for v in digit.ravel()]
    header = ",".join(f"pixel{i}" for i in range(IMAGE_SIZE * IMAGE_SIZE))
    rows = [",".join(values[r * IMAGE_SIZE : (r + 1) * IMAGE_SIZE]) for r in range(IMAGE_SIZE)]
    return {
        "one row": ",".join(values) + "\n",
        "one row with header": header + "\n" + ",".join(values),
        "28 rows": "\n".join(rows),
        "28 rows, CRLF and BOM": "\ufeff" + "\r\n".join(rows) + "\r\n",
        "28 rows with header": ",".join(f"c{i}" for i in range(IMAGE_SIZE)) + "\n" + "\n".join(rows),
        "values 0-1": ",".join(fractions),
        "semicolons, as some spreadsheets write": ";".join(values),
        "values 0-1 with spaces and trailing commas": "\n".join(
            ", ".join(fractions[r * IMAGE_SIZE : (r + 1) * IMAGE_SIZE]) + "," for r in range(IMAGE_SIZE)),
    }


@pytest.mark.parametrize("variant", list(_csv_variants(np.zeros((28, 28), np.uint8))))
def test_csv_files_give_back_the_digit_they_hold(digits, variant):
    digit = digits[ZERO]
    assert digit.max() == 255
    prepared = prepare_upload(_csv_variants(digit)[variant].encode("utf-8"), "zero.csv")
    assert np.array_equal(prepared.pixels, digit)
    assert prepared.source_format == "CSV" and prepared.source_size == (28, 28) and not prepared.warnings


# --- what a person is warned about ----------------------------------------------------------------


def test_a_blank_page_is_read_but_flagged():
    for blank in (Image.new("RGB", (300, 200), (240, 238, 230)), Image.new("RGBA", (64, 64), (0, 0, 0, 0))):
        prepared = prepare_upload(encode(blank))
        assert prepared.warnings == (NO_INK_WARNING,) and not prepared.pixels.any()
    noise = np.clip(np.random.default_rng(0).normal(200, 8, (300, 300)), 0, 255).astype(np.uint8)
    assert prepare_upload(encode(Image.fromarray(noise), "JPEG")).warnings == (NO_INK_WARNING,)


def test_a_page_photographed_on_a_table_asks_for_cropping(digits):
    page = np.asarray(dark_on_white(digits[FIVE]).convert("RGB"))
    photo = np.full((400, 400, 3), (60, 45, 30), np.uint8)  # a wooden table around the page
    photo[50:350, 50:350] = page
    prepared = prepare_upload(encode(Image.fromarray(photo)))
    assert prepared.warnings == (EDGES_NOT_BACKGROUND_WARNING,) and not prepared.pixels.any()
    assert_reads_as(encode(Image.fromarray(photo[50:350, 50:350])), digits[FIVE])  # cropped, it reads


def test_a_faint_digit_is_read_but_flagged(digits):
    faint = 250 - on_canvas(enlarged(digits[TWO], 150), (200, 200), (25, 25)) * 0.1
    prepared = assert_reads_as(png(faint), digits[TWO])
    assert prepared.warnings == (LOW_CONTRAST_WARNING,)


def test_two_digits_side_by_side_are_flagged(digits):
    page = on_canvas(enlarged(digits[FIVE], 150), (420, 200), (20, 20)) + on_canvas(
        enlarged(digits[ZERO], 150), (420, 200), (240, 20))
    assert prepare_upload(png(255 - page)).warnings == (SEVERAL_MARKS_WARNING,)


# --- bad files: each gets its own readable error -----------------------------------------------------


def _png_claiming_size(width: int, height: int) -> bytes:
    """A small real PNG whose header claims another size: how decompression bombs arrive."""
    data = bytearray(encode(Image.new("L", (8, 8), 255)))
    header = data[16:29]
    header[0:8] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[16:29] = header
    data[29:33] = zlib.crc32(b"IHDR" + bytes(header)).to_bytes(4, "big")
    return bytes(data)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _noisy_page(digit: np.ndarray) -> Image.Image:
    """A scan with grain: its PNG or JPEG data is big enough that half of it stops mid-picture."""
    page = np.asarray(dark_on_white(digit, (128, 112), 90, (20, 10)).convert("RGB"), dtype=int)
    grain = np.random.default_rng(1).integers(0, 40, page.shape)
    return Image.fromarray((page - grain).clip(0, 255).astype(np.uint8))


NOT_READABLE = "is not an image or CSV file we can read (PNG, JPEG, GIF, BMP, WebP, TIFF or a 28x28 CSV)"
BAD_FILES = {  # what arrives, and what the person is told
    "empty": (lambda d: b"", "'bad.png' is empty"),
    "too big": (lambda d: b"\0" * (MAX_FILE_BYTES + 1), "'bad.png' is 10.1 MB; the limit is 10 MB per file"),
    "prose": (lambda d: "Dear diary, today I wrote a 7.\n".encode(), "'bad.png' " + NOT_READABLE),
    "random bytes": (lambda d: bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), NOT_READABLE),
    "PDF": (lambda d: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", NOT_READABLE),
    "truncated PNG": (lambda d: _half(encode(_noisy_page(d))), "'bad.png' looks truncated or damaged"),
    "truncated JPEG": (lambda d: _half(encode(_noisy_page(d), "JPEG")), "looks truncated or damaged"),
    "decompression bomb": (lambda d: _png_claiming_size(7000, 7000), "has too many pixels (over 40 million)"),
    "huge decompression bomb": (lambda d: _png_claiming_size(10**5, 10**5), "has too many pixels (over 40 million)"),
    "CSV with 780 numbers": (lambda d: ",".join(["0"] * 780).encode(), "holds 780 numbers; a digit CSV needs 784"),
    "CSV with values over 255": (lambda d: ",".join(["300"] * 784).encode(), "has values outside 0-255"),
    "CSV with negative values": (lambda d: ",".join(["-1"] * 784).encode(), "has values outside 0-255"),
    "CSV with several digits": (lambda d: "\n".join([",".join(["0"] * 784)] * 3).encode(), "holds 3 digits"),
    "CSV with words": (lambda d: ("pixel0,pixel1\n" + "1,two\n").encode(), "row 1, column 2 holds 'two', not a number"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_get_a_clear_error_naming_the_file(digits, case):
    make, message = BAD_FILES[case]
    with pytest.raises(InputError) as raised:
        prepare_upload(make(digits[TWO]), "bad.png")
    assert message in str(raised.value)
    assert "bad.png" in str(raised.value)


def test_errors_without_a_filename_say_this_file():
    with pytest.raises(InputError, match="^This file is empty"):
        prepare_upload(b"")
    with pytest.raises(InputError, match="did not arrive as file contents"):
        prepare_upload("not bytes")  # type: ignore[arg-type]


def test_too_many_files_in_one_call():
    check_file_count(1)
    check_file_count(MAX_FILES_PER_CALL)
    with pytest.raises(InputError, match=f"Too many files: 65 at once; the limit is {MAX_FILES_PER_CALL}"):
        check_file_count(MAX_FILES_PER_CALL + 1)
    with pytest.raises(InputError, match="No files"):
        check_file_count(0)


# --- results ----------------------------------------------------------------------------------------


def test_the_result_is_read_only_and_goes_on_the_wire(digits):
    prepared = prepare_upload(png(digits[FIVE]), "five.png")
    with pytest.raises(ValueError):
        prepared.pixels[0, 0] = 1
    wire = json.loads(json.dumps(prepared.to_dict()))
    assert wire == {"pixels": digits[FIVE].tolist(), "warnings": [], "source_format": "PNG", "source_size": [28, 28]}


def test_the_preview_is_the_input_enlarged_with_square_pixels(digits):
    preview = Image.open(io.BytesIO(preview_png(digits[FIVE], scale=8)))
    assert preview.format == "PNG" and preview.size == (224, 224)
    blocks = np.asarray(preview).reshape(28, 8, 28, 8)
    assert np.array_equal(blocks[:, 0, :, 0], digits[FIVE])
    assert (blocks == blocks[:, :1, :, :1]).all()


# --- nothing a stranger sends raises anything but InputError ------------------------------------------


def _prepare_or_refuse(data: bytes) -> None:
    try:
        prepared = prepare_upload(data, "upload")
    except InputError as error:
        assert str(error)
        return
    assert prepared.pixels.shape == (IMAGE_SIZE, IMAGE_SIZE)


def _small_file(image_format: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # so that damage can also land in the EXIF block
    pixels = np.random.default_rng(2).integers(0, 255, (24, 20, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), image_format, exif=exif)


SMALL_FILES = [_small_file(image_format) for image_format in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")]
MAGIC_NUMBERS = [  # how each format's files begin
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBPVP8 ", b"II*\0", b"MM\0*",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_refused_with_an_input_error(data):
    _prepare_or_refuse(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAGIC_NUMBERS), st.binary(max_size=2048))
def test_bytes_that_start_like_an_image_are_read_or_refused_with_an_input_error(magic, tail):
    _prepare_or_refuse(magic + tail)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SMALL_FILES), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       st.integers(1, 10**6))
def test_damaged_real_files_are_read_or_refused_with_an_input_error(data, changes, keep):
    damaged = bytearray(data[:keep])
    for position, value in changes:
        damaged[position % len(damaged)] = value
    _prepare_or_refuse(bytes(damaged))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 783), st.one_of(st.floats(), st.integers(-5, 300), st.text(max_size=4))),
                max_size=8),
       st.integers(-3, 3), st.sampled_from([",", "\n", ";"]))
def test_damaged_csv_files_are_read_or_refused_with_an_input_error(changes, extra_values, row_end):
    values: list = ["0"] * (IMAGE_SIZE * IMAGE_SIZE + extra_values)
    for position, value in changes:
        values[position % len(values)] = str(value)
    rows = [",".join(values[start : start + IMAGE_SIZE]) for start in range(0, len(values), IMAGE_SIZE)]
    _prepare_or_refuse(row_end.join(rows).encode())
