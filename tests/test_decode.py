"""The decode stage: every format and mode people send, EXIF turns, bad files, limits, memory, fuzzing."""

import io
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageOps

from digits.preprocessing import (
    IMAGE_SIZE,
    MAX_BYTES_PER_CALL,
    MAX_FILE_BYTES,
    MAX_FILES_PER_CALL,
    MAX_PIXELS,
    InputError,
    check_call_size,
    check_file_count,
    prepare_upload,
)
from digits.preprocessing.budget import PixelBudget
from digits.preprocessing.decode import WORK_MAX_SIDE, decode, decode_region
from upload_files import (
    assert_reads_as,
    best_shift_correlation,
    dark_on_white,
    encode,
    enlarged,
    ink_photo,
    on_canvas,
    transparent_drawing,
)

FIVE, ZERO, FOUR, ONE, NINE, TWO = range(6)  # indices of the first MNIST training digits
LOSSY_OPTIONS = {"HEIF": {"quality": 90}, "AVIF": {"quality": 90}, "WEBP": {"lossless": True}}


@pytest.fixture(scope="module")
def digits(mnist_train_digits):
    return mnist_train_digits[0]


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
    ("HEIF", "L"), ("HEIF", "RGB"), ("HEIF", "RGBA"), ("HEIF", "I;16"),  # iPhones' HEIC photos
    ("AVIF", "L"), ("AVIF", "RGB"), ("AVIF", "RGBA"),
]


@pytest.mark.parametrize("image_format, mode", FORMATS_AND_MODES, ids=[f"{f}-{m}" for f, m in FORMATS_AND_MODES])
def test_every_format_and_mode(digits, image_format, mode):
    image = _as_mode(digits[TWO], mode)
    data = encode(image, image_format, **LOSSY_OPTIONS.get(image_format, {}))
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


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF"])
@pytest.mark.parametrize("orientation, stored_turn", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)],
                         ids=["orientation-6", "orientation-8"])
def test_a_photo_is_turned_upright_by_its_exif_orientation(digits, image_format, orientation, stored_turn):
    """A phone held sideways stores the picture turned and says so in its EXIF (HEIC and AVIF also
    in their own rotation box, which their writers add from the EXIF tag)."""
    upright = dark_on_white(digits[FIVE], size=(300, 200), length=150, at=(100, 20)).convert("RGB")
    stored = upright.transpose(stored_turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = LOSSY_OPTIONS.get(image_format, {}) if image_format != "WEBP" else {}
    with_tag = encode(stored, image_format, exif=exif.tobytes(), **options)
    without_tag = encode(stored, image_format, **options)
    prepared = assert_reads_as(with_tag, digits[FIVE])
    assert prepared.source_size == (300, 200)  # as shown, not as stored
    assert best_shift_correlation(prepare_upload(without_tag).pixels, digits[FIVE]) < 0.6


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8, 0, 9])
def test_every_exif_orientation_turns_the_picture_as_pillow_does(orientation):
    """Flips and turns included, an out-of-range orientation read as stored; the size as shown."""
    stored = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "PNG", exif=exif.tobytes())
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    decoded = decode(data, "turned.png")
    assert decoded.source_size == shown.size
    np.testing.assert_array_equal(decoded.pixels, np.asarray(shown, dtype=np.float32))



@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_region_decoded_again_is_the_same_part_of_the_picture_as_shown(orientation):
    """`decode_region` (a small number's region read again at full size) finds the box, given as the
    picture is shown, in the picture as stored, whatever its EXIF turn."""
    stored = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (90, 130, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "PNG", exif=exif.tobytes())
    shown = decode(data, "turned.png").pixels
    region = decode_region(data, (10, 20, 50, 60), 40, 20, "turned.png")
    np.testing.assert_array_equal(region.pixels, shown[20:60, 10:50])
    assert region.scale == (1.0, 1.0)

def test_a_large_phone_photo_is_read_at_the_working_size(digits):
    photo = Image.open(io.BytesIO(ink_photo(digits[NINE]))).resize((2400, 1800), Image.Resampling.BILINEAR)
    data = encode(photo, "JPEG", quality=90)
    decoded = decode(data, "photo.jpg")
    assert decoded.source_size == (2400, 1800) and max(decoded.pixels.shape[:2]) <= WORK_MAX_SIDE
    prepared = assert_reads_as(data, digits[NINE])
    assert prepared.source_size == (2400, 1800)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "I;16", "RGB"])
def test_a_large_picture_of_any_mode_is_shrunk_to_the_working_size(digits, mode):
    """Large pictures are converted a band at a time: the digit comes out whole, bands leave no seams."""
    ink = on_canvas(enlarged(digits[FIVE], 1500), (2300, 1900), (500, 200))
    if mode in ("RGBA", "LA"):
        picture = transparent_drawing(ink).convert(mode)
    elif mode == "I;16":
        picture = Image.fromarray(((255 - ink) * 257).astype(np.uint16))
    else:
        picture = Image.fromarray((255 - ink).astype(np.uint8)).convert(mode)
    decoded = decode(encode(picture), "big.png")
    assert decoded.source_size == (2300, 1900) and decoded.pixels.shape[:2] == (380, 460)
    assert_reads_as(encode(picture), digits[FIVE])


# --- memory -----------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak memory from /proc")
def test_the_largest_picture_is_decoded_without_full_size_copies():
    """40 million RGBA pixels are 153 MiB once decoded; reading them used to take 650 MB (copies in RGBA,
    composited, RGB), and now takes about the decoded picture alone."""
    side = int(MAX_PIXELS ** 0.5)
    page = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    ImageDraw.Draw(page).ellipse((side // 3, side // 4, 2 * side // 3, 3 * side // 4), outline="black",
                                 width=side // 40)
    data = encode(page)
    del page
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from what is resident now
    before = _peak_rss_mib()
    prepared = prepare_upload(data, "huge.png")
    assert prepared.source_size == (side, side) and prepared.pixels.max() == 255
    assert _peak_rss_mib() - before < 4 * MAX_PIXELS * 1.4 / 2**20  # the decoded picture and a little more


def test_large_decodes_wait_for_each_other_within_the_pixel_budget():
    budget = PixelBudget(100)
    in_use, lock = [], threading.Lock()

    def decode_like(pixels: int) -> None:
        with budget.reserve(pixels):
            with lock:
                in_use.append(budget.in_use)
            time.sleep(0.01)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(decode_like, [60] * 8 + [1] * 8 + [500] * 2))
    assert max(in_use) <= 100 and len(in_use) == 18  # every one ran; never more than the budget at once
    assert budget.in_use == 0


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


NOT_READABLE = "is not an image or CSV file we can read (PNG, JPEG, GIF, BMP, WebP, TIFF, HEIC, AVIF or a 28x28 CSV)"
BAD_FILES = {  # what arrives, and what the person is told
    "empty": (lambda d: b"", "'bad.png' is empty"),
    "too big": (lambda d: b"\0" * (MAX_FILE_BYTES + 1), "'bad.png' is 10.1 MB; the limit is 10 MB per file"),
    "prose": (lambda d: "Dear diary, today I wrote a 7.\n".encode(), "'bad.png' " + NOT_READABLE),
    "random bytes": (lambda d: bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), NOT_READABLE),
    "PDF": (lambda d: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", NOT_READABLE),
    "truncated PNG": (lambda d: _half(encode(_noisy_page(d))), "'bad.png' looks truncated or damaged"),
    "truncated JPEG": (lambda d: _half(encode(_noisy_page(d), "JPEG")), "looks truncated or damaged"),
    "truncated HEIC": (lambda d: _half(encode(_noisy_page(d), "HEIF")), "'bad.png' looks truncated or damaged"),
    "truncated AVIF": (lambda d: _half(encode(_noisy_page(d), "AVIF")), NOT_READABLE),  # libavif reads it all at once
    "decompression bomb": (lambda d: _png_claiming_size(7000, 7000), "has too many pixels (over 40 million)"),
    "huge decompression bomb": (lambda d: _png_claiming_size(10**5, 10**5), "has too many pixels (over 40 million)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_get_a_clear_error_naming_the_file(digits, case):
    make, message = BAD_FILES[case]
    with pytest.raises(InputError) as raised:
        decode(make(digits[TWO]), "bad.png")
    assert message in str(raised.value)
    assert "bad.png" in str(raised.value)


def test_errors_without_a_filename_say_this_file():
    with pytest.raises(InputError, match="^This file is empty"):
        decode(b"")
    with pytest.raises(InputError, match="did not arrive as file contents"):
        decode("not bytes")  # type: ignore[arg-type]


def test_too_many_files_in_one_call():
    check_file_count(1)
    check_file_count(MAX_FILES_PER_CALL)
    with pytest.raises(InputError, match=f"Too many files: 65 at once; the limit is {MAX_FILES_PER_CALL}"):
        check_file_count(MAX_FILES_PER_CALL + 1)
    with pytest.raises(InputError, match="No files"):
        check_file_count(0)


def test_too_many_bytes_in_one_call():
    check_call_size([MAX_FILE_BYTES - 1] * (MAX_BYTES_PER_CALL // MAX_FILE_BYTES))
    check_call_size([MAX_BYTES_PER_CALL])
    with pytest.raises(InputError) as raised:
        check_call_size([MAX_FILE_BYTES - 2**17] * MAX_FILES_PER_CALL)  # 64 files of 9.9 MB
    assert str(raised.value) == (f"Too much at once: these 64 files come to 632.0 MB; the limit is "
                                 f"{MAX_BYTES_PER_CALL // 2**20} MB per call. Send them in smaller batches.")


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
    return encode(Image.fromarray(pixels), image_format, exif=exif.tobytes())


SMALL_FILES = [_small_file(image_format) for image_format in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "HEIF", "AVIF")]
MAGIC_NUMBERS = [  # how each format's files begin
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBPVP8 ", b"II*\0", b"MM\0*",
    b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf",
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
