"""Bytes to pixels: the file checked and decoded, or a one-digit CSV parsed (csv_digits.py).

Everything wrong with the file itself raises InputError, with a message that names the file.
The result is float32 (H, W, C) on the 0-255 scale (C = 1 grey, 3 colour), transparency resolved,
at most WORK_MAX_SIDE long: plenty for a 20-pixel digit, and fast. A number written smaller than that in a
shrunk picture has its region decoded again, finer (`decode_region`), under the same budget.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageOps

from digits.preprocessing.budget import PixelBudget
from digits.preprocessing.csv_digits import looks_like_text, read_digit_table
from digits.preprocessing.errors import MB, InputError, in_megabytes
from digits.preprocessing.errors import describe_file as _describe
from digits.preprocessing.errors import not_readable as _not_readable
from digits.preprocessing.normalise import IMAGE_SIZE  # a CSV holds one 28x28 digit
from digits.preprocessing.working import WORK_MAX_SIDE, UnconvertibleMode, working_image

MAX_FILE_BYTES = 10 * MB
MAX_PIXELS = 40_000_000
MAX_FILES_PER_CALL = 64
MAX_BYTES_PER_CALL = 32 * MB  # a call's files are all in memory while it runs: 64 x 10 MB would be 640 MB
# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; `_open_image` turns both into InputError.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def per_call(items: list) -> list[list]:
    """Files (or uploads) in order, in groups of MAX_FILES_PER_CALL: how a folder run hands them on, a
    group at a time, so memory stays bounded."""
    return [items[start:start + MAX_FILES_PER_CALL] for start in range(0, len(items), MAX_FILES_PER_CALL)]

pillow_heif.register_heif_opener(thumbnails=False)  # Pillow itself reads AVIF

BYTES_PER_PIXEL = 4  # Pillow holds RGB and RGBA pictures in 4 bytes a pixel (grey in 1: 4 is the bound)
# ... and a pointer for each row: a picture 1 pixel wide and 39 million tall holds 300 MB of them
BYTES_PER_ROW = struct.calcsize("P")
# Pillow stores a picture in blocks, 16 MB by default, that glibc serves from per-thread heaps which
# keep them once freed: each thread that ever decoded a large upload would hold on to its memory.
# Blocks over 32 MB are mapped from the system and handed back when freed, so one block per picture:
# as large as the largest picture, in whole megabytes (Pillow's blocks are whole pages of memory).
Image.core.set_block_size(math.ceil(BYTES_PER_PIXEL * MAX_PIXELS / MB) * MB)
# The memory decodes may take at once, across threads: two of the largest PNGs (2 x 160 MB as RGBA).
DECODE_BUDGET_BYTES = 2 * BYTES_PER_PIXEL * MAX_PIXELS
# Pictures of up to 4 MB decoded (a 1,000 x 1,000 photo) take a lane of their own, 64 MB in all, so
# they never wait behind large ones.
SMALL_DECODE_BYTES, SMALL_LANE_BYTES = 4 * MB, 64 * MB
DECODE_BUDGET = PixelBudget(DECODE_BUDGET_BYTES, SMALL_DECODE_BYTES, SMALL_LANE_BYTES)
# Full-size copies a format's decoder holds at once (measured: deploy/measure_memory.py --formats);
# a PNG, GIF, BMP or TIFF is decoded straight into the picture, a JPEG at its draft size. A lossless
# WebP of 40 Mpx took 788-854 MiB: five RGBA copies.
DECODER_COPIES = {"WEBP": 5, "AVIF": 2, "HEIF": 2}
_JPEG_SCALES = (8, 4, 2, 1)  # the shrinks a JPEG decoder makes itself
QUARTER_TURNS = range(5, 9)  # EXIF orientations 5-8 turn the picture a quarter: its width and height swap
LOSSY_FORMATS = ("JPEG", "WEBP", "HEIF", "AVIF")  # their compression rings: faint grey spreads around strokes

# Pillow opens multi-picture JPEGs as "MPO"; iPhones' HEIC photos are "HEIF", read by pillow-heif.
_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "HEIF", "AVIF")
READABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif",
                     ".csv")


@dataclass(frozen=True, eq=False)
class Decoded:
    pixels: np.ndarray  # float32 (H, W, C), 0-255
    source_format: str  # "PNG", "JPEG", ..., "CSV"
    source_size: tuple[int, int]  # (width, height) of the upload, after its EXIF orientation

    @property
    def lossy(self) -> bool:
        return self.source_format in LOSSY_FORMATS


def check_file_count(count: int) -> None:
    """Refuses a call with no files or with more than MAX_FILES_PER_CALL."""
    if count < 1:
        raise InputError("No files were given.")
    if count > MAX_FILES_PER_CALL:
        raise InputError(
            f"Too many files: {count} at once; the limit is {MAX_FILES_PER_CALL}. Send them in smaller batches."
        )


def check_call_size(sizes: list[int]) -> None:
    """Refuses a call whose files come to more than MAX_BYTES_PER_CALL bytes in all."""
    total = sum(sizes)
    if total > MAX_BYTES_PER_CALL:
        raise InputError(
            f"Too much at once: these {len(sizes)} files come to {in_megabytes(total)}; the limit is "
            f"{MAX_BYTES_PER_CALL // MB} MB per call. Send them in smaller batches."
        )


def decode(data: bytes, filename: str | None = None) -> Decoded:
    """An uploaded file (image or 28x28 CSV) as pixels."""
    label = _describe(filename)
    _check_byte_size(data, label)
    data = bytes(data)
    if looks_like_text(data):
        return Decoded(_read_csv(data, label)[..., np.newaxis], "CSV", (IMAGE_SIZE, IMAGE_SIZE))
    return _decode_image(data, label)


def _check_byte_size(data: bytes, label: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"{label} did not arrive as file contents.")
    if len(data) == 0:
        raise InputError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{label} is {in_megabytes(len(data))}; the limit is {MAX_FILE_BYTES // MB} MB per file.")


def _decode_image(data: bytes, label: str) -> Decoded:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="PIL")  # complaints about damaged metadata: we read it or refuse it
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image, source_format = _open_image(data, label)
        stored_size = image.size
        _draft(image, source_format)
        # The full-size picture exists only inside this reservation, and only until it is shrunk.
        with DECODE_BUDGET.reserve(_decode_cost(image, source_format, label)):
            try:
                _load(image, label, source_format)
                orientation = _exif_orientation(image)
                working = _working_image(image, label)
            finally:
                image.close()  # frees the full-size pixels now, not when the garbage collector gets round to it
    width, height = stored_size
    source_size = (width, height)
    if orientation != 1:  # turned once small: the same picture, without a full-size copy
        working = _upright(working, orientation)
        if orientation in QUARTER_TURNS:
            source_size = (height, width)
    pixels = np.asarray(working, dtype=np.float32)
    return Decoded(pixels if pixels.ndim == 3 else pixels[..., np.newaxis], source_format, source_size)


@dataclass(frozen=True, eq=False)
class Region:
    """Part of an upload decoded again, finer than its working picture (`decode_region`)."""

    pixels: np.ndarray  # float32 (h, w, C), 0-255, as `Decoded.pixels`
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the upload's pixels, after its EXIF orientation
    scale: tuple[float, float]  # upload pixels per region pixel, across and down


def decode_region(data: bytes, box: tuple[int, int, int, int], height: float, smallest_height: int,
                  filename: str | None = None) -> Region:
    """The upload's pixels inside `box` (upload pixels, upright), decoded again at full size, or, for a
    JPEG, at the coarsest of its decoder's own shrinks that keeps `height` (upload pixels: what is to be
    read in the box) at least `smallest_height` pixels tall. The whole picture is decoded (a JPEG cannot
    decode a part alone) under the decode budget, as `decode` does, and only the box kept."""
    label = _describe(filename)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="PIL")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image, source_format = _open_image(bytes(data), label)
        stored_width, stored_height = image.size
        if source_format == "JPEG":
            shrink = max((scale for scale in _JPEG_SCALES if height / scale >= smallest_height), default=1)
            if shrink > 1:
                try:
                    image.draft(None, (math.ceil(stored_width / shrink), math.ceil(stored_height / shrink)))
                except Exception:  # as in `_draft`: read at full size
                    pass
        with DECODE_BUDGET.reserve(_decode_cost(image, source_format, label)):
            try:
                _load(image, label, source_format)
                orientation = _exif_orientation(image)
                left, top, right, bottom = _stored_box(box, orientation, (stored_width, stored_height))
                across, down = stored_width / image.width, stored_height / image.height
                cut = image.crop((math.floor(left / across), math.floor(top / down),
                                  math.ceil(right / across), math.ceil(bottom / down)))
                part = _working_image(cut, label)
            finally:
                image.close()
    if orientation != 1:
        part = _upright(part, orientation)
    pixels = np.asarray(part, dtype=np.float32)
    pixels = pixels if pixels.ndim == 3 else pixels[..., np.newaxis]
    return Region(pixels, box, ((box[2] - box[0]) / pixels.shape[1], (box[3] - box[1]) / pixels.shape[0]))


def _stored_box(box: tuple[int, int, int, int], orientation: int,
                stored_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box in the upright picture's pixels -> the same box in the picture as stored, before the EXIF
    orientation's turn: learnt from a 2x2 picture of its four corners turned by `_upright` itself, so the
    two never disagree."""
    width, height = stored_size
    upright_width, upright_height = (height, width) if orientation in QUARTER_TURNS else (width, height)
    corners = Image.fromarray(np.uint8([[0, 1], [2, 3]]))  # stored corner k at (k % 2, k // 2)
    turned = np.asarray(_upright(corners, orientation)) if orientation != 1 else np.asarray(corners)

    def stored(across: int, down: int) -> np.ndarray:  # an upright corner -> the stored one (0 or 1 each way)
        return np.array(divmod(int(turned[down, across]), 2)[::-1], dtype=np.float64)

    start, along_x, along_y = stored(0, 0), stored(1, 0) - stored(0, 0), stored(0, 1) - stored(0, 0)
    points = [(start + x / upright_width * along_x + y / upright_height * along_y) * (width, height)
              for x in (box[0], box[2]) for y in (box[1], box[3])]
    xs, ys = zip(*points)
    return round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))


def _open_image(data: bytes, label: str) -> tuple[Image.Image, str]:
    """The image with its header read and checked, nothing decoded yet, and its format's name."""
    too_many_pixels = InputError(
        f"{label} has too many pixels (over {MAX_PIXELS // 1_000_000} million); please send a smaller image."
    )
    try:
        image = Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except Exception:  # Pillow raises many kinds of error on data it cannot identify
        raise _not_readable(label) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise too_many_pixels
    if width < 1 or height < 1:
        raise InputError(f"{label} has no pixels.")
    return image, "JPEG" if image.format == "MPO" else image.format


def decode_cost(width: int, height: int, source_format: str) -> int:
    """The bytes that decoding a picture of this size and format takes at its peak."""
    copies = DECODER_COPIES.get(source_format, 1)
    return copies * (width * height * BYTES_PER_PIXEL + height * BYTES_PER_ROW)


def _decode_cost(image: Image.Image, source_format: str, label: str) -> int:
    """decode_cost at the size the decoder will produce (a JPEG's draft); over the whole budget, refused."""
    cost = decode_cost(image.width, image.height, source_format)
    if cost > DECODE_BUDGET_BYTES:
        width, height = image.size
        other = " (or as a PNG or JPEG)" if source_format in DECODER_COPIES else ""
        raise InputError(f"{label} is too large to read as {source_format}: {width:,} x {height:,} pixels "
                         f"take more memory to decode than the server gives one picture; please send it "
                         f"smaller{other}.")
    return cost


def _draft(image: Image.Image, source_format: str) -> None:
    """A large JPEG is decoded straight at 1/2, 1/4 or 1/8 of its size, never at full size: at the largest
    of those that still holds the working size, or at the working size itself where that is one of them
    (a 1200x900 photo at 1/4, a 12-megapixel one at 1/8, rather than at 1/2 or 1/4 then halved by
    `working_image`): the decoder averages each block as the halving would, in a fraction of the time."""
    width, height = image.size
    if source_format != "JPEG" or max(width, height) <= 2 * WORK_MAX_SIDE:
        return
    shrink = max(width, height) / WORK_MAX_SIDE
    request = (int(width / shrink), int(height / shrink))
    try:
        held = min(width // request[0], height // request[1])
        scale = next(scale for scale in _JPEG_SCALES if scale <= held)  # the decoder's for this request ...
        working = scale * math.ceil(math.ceil(max(width, height) / scale) / WORK_MAX_SIDE)  # ... then working_image's
        if scale < working <= _JPEG_SCALES[0] and working in _JPEG_SCALES:
            request = (width // working, height // working)
        image.draft(None, request)
    except Exception:  # damaged, or too thin to shrink: load() says so, or it is read at full size
        pass


def _load(image: Image.Image, label: str, source_format: str) -> None:
    try:
        image.load()
    except Exception:
        raise InputError(
            f"{label} looks truncated or damaged: its {source_format} data could not be decoded."
        ) from None


def _exif_orientation(image: Image.Image) -> int:
    """The picture's EXIF orientation; 1, upright, if it has none (Pillow turns TIFFs while loading them)."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF: the pixels are still fine, as stored
        return 1
    return orientation if isinstance(orientation, int) else 1


def _upright(picture: Image.Image, orientation: int) -> Image.Image:
    """Our working copy of the picture turned as an EXIF orientation says, by Pillow's own table of turns.
    The copy's metadata (the upload's EXIF, carried over by Pillow) is of no further use: dropped first."""
    picture.info.clear()
    picture.getexif()[ExifTags.Base.Orientation] = orientation
    return ImageOps.exif_transpose(picture)


def _working_image(image: Image.Image, label: str) -> Image.Image:
    try:
        return working_image(image)
    except UnconvertibleMode:
        raise InputError(f"{label} uses a colour mode ({image.mode}) we cannot read.") from None


def _read_csv(data: bytes, label: str) -> np.ndarray:
    """The one digit of a CSV as a (28, 28) float32 grey image on the 0-255 scale."""
    table = read_digit_table(data, label)
    if len(table.images) > 1:
        raise InputError(f"{label} holds {len(table.images)} digits, one per row; send one digit per file here, "
                         "or read every row with classify_digits or `digits classify`.")
    return table.images[0]

