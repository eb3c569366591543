"""Bytes to pixels: the file checked and decoded, or a one-digit CSV parsed (csv_digits.py).

Everything wrong with the file itself raises InputError, with a message that names the file.
The result is float32 (H, W, C) on the 0-255 scale (C = 1 grey, 3 colour), transparency resolved,
at most WORK_MAX_SIDE long: plenty for a 20-pixel digit, and fast.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from digits.preprocessing.arrays import border, median
from digits.preprocessing.csv_digits import looks_like_text, read_digit_table
from digits.preprocessing.errors import InputError
from digits.preprocessing.errors import describe_file as _describe
from digits.preprocessing.errors import not_readable as _not_readable

IMAGE_SIZE = 28  # a CSV holds one 28x28 digit

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_FILES_PER_CALL = 64
# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; `_open_image` turns both into InputError.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

WORK_MAX_SIDE = 512  # larger images are box-shrunk to this first
LOSSY_FORMATS = ("JPEG", "WEBP")  # their compression rings: faint grey spreads around strokes

_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")  # Pillow opens multi-picture JPEGs as "MPO"
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


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


def decode(data: bytes, filename: str | None = None) -> Decoded:
    """An uploaded file (image or 28x28 CSV) as pixels."""
    label = _describe(filename)
    _check_byte_size(data, label)
    data = bytes(data)
    if looks_like_text(data):
        return Decoded(_read_csv(data, label)[..., np.newaxis], "CSV", (IMAGE_SIZE, IMAGE_SIZE))
    image, source_format, source_size = _open_image(data, label)
    pixels = np.asarray(_working_image(image, label), dtype=np.float32)
    return Decoded(pixels if pixels.ndim == 3 else pixels[..., np.newaxis], source_format, source_size)


def _check_byte_size(data: bytes, label: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"{label} did not arrive as file contents.")
    if len(data) == 0:
        raise InputError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        megabytes = math.ceil(len(data) / 2**20 * 10) / 10
        raise InputError(f"{label} is {megabytes:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB per file.")


def _open_image(data: bytes, label: str) -> tuple[Image.Image, str, tuple[int, int]]:
    """The decoded image (EXIF orientation applied), its format name and its (width, height) as shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="PIL")  # complaints about damaged metadata: we read it or refuse it
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _decode_image(data, label)


def _decode_image(data: bytes, label: str) -> tuple[Image.Image, str, tuple[int, int]]:
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
    source_format = "JPEG" if image.format == "MPO" else image.format
    try:
        if source_format == "JPEG" and max(width, height) > 2 * WORK_MAX_SIDE:
            shrink = max(width, height) / WORK_MAX_SIDE
            image.draft(None, (int(width / shrink), int(height / shrink)))  # decodes at 1/2, 1/4 or 1/8 size
        image.load()
    except Exception:
        raise InputError(
            f"{label} looks truncated or damaged: its {source_format} data could not be decoded."
        ) from None
    try:
        image = ImageOps.exif_transpose(image)  # (Pillow turns TIFFs while loading them)
    except Exception:  # broken EXIF: the pixels are still fine, as stored
        pass
    turned = (image.width > image.height) != (width > height)
    return image, source_format, (height, width) if turned else (width, height)


def _read_csv(data: bytes, label: str) -> np.ndarray:
    """The one digit of a CSV as a (28, 28) float32 grey image on the 0-255 scale."""
    table = read_digit_table(data, label)
    if len(table.images) > 1:
        raise InputError(f"{label} holds {len(table.images)} digits, one per row; send one digit per file here, "
                         "or read every row with classify_digits or `digits classify`.")
    return table.images[0]


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _working_image(image: Image.Image, label: str) -> Image.Image:
    """The image as "L", "RGB" or "F" (0-255 grey), transparency resolved, at most WORK_MAX_SIDE long."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = Image.fromarray(_high_depth_grey(image))
    elif _has_alpha(image):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if _background_is_transparent(np.asarray(alpha)):
            image = alpha  # a drawing on a transparent canvas: whatever is opaque is ink, whatever its colour
        else:
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    elif image.mode in ("1", "L"):
        image = image.convert("L")
    else:
        try:
            image = image.convert("RGB")
        except Exception:  # rare modes such as LAB that Pillow cannot convert
            raise InputError(f"{label} uses a colour mode ({image.mode}) we cannot read.") from None
    factor = math.ceil(max(image.size) / WORK_MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def _high_depth_grey(image: Image.Image) -> np.ndarray:
    """16-bit, 32-bit and float greyscale on the 0-255 scale."""
    grey = np.asarray(image, dtype=np.float32)
    if image.mode.startswith("I;16") or (image.mode == "I" and grey.max() > 255):
        grey = grey * (255.0 / 65535.0)
    elif image.mode == "F" and grey.max() <= 1.0:
        grey = grey * 255.0
    return np.ascontiguousarray(np.clip(np.nan_to_num(grey), 0.0, 255.0))


def _background_is_transparent(alpha: np.ndarray) -> bool:
    return float(median(border(alpha))) < 128
