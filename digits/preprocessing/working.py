"""A decoded picture at its working size: grey or RGB, transparency resolved, at most WORK_MAX_SIDE long.

A large picture is converted and shrunk a band of rows at a time, so that the decoded picture is its only
full-size copy in memory. Each band is a whole number of `factor` rows tall, so the result is exactly
that of converting the whole picture and then shrinking it.
"""

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from digits.preprocessing.arrays import border_regions, median

WORK_MAX_SIDE = 512  # larger pictures are box-shrunk to this: plenty for a 20-pixel digit, and fast
BAND_PIXELS = 1_000_000  # a large picture is converted this many pixels at a time
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


class UnconvertibleMode(ValueError):
    """A colour mode Pillow cannot convert to RGB, such as LAB."""


def working_image(image: Image.Image) -> Image.Image:
    """The image as "L", "RGB" or "F" (0-255 grey), transparency resolved, at most WORK_MAX_SIDE long.
    Raises UnconvertibleMode for a mode Pillow cannot convert."""
    convert = _converter(image)
    factor = math.ceil(max(image.size) / WORK_MAX_SIDE)
    if factor == 1:
        return convert(image)
    if convert is _as_it_is:  # already grey or RGB (most photos): shrunk in one pass, no converted copy
        return image.reduce(factor)
    rows = factor * max(1, BAND_PIXELS // (image.width * factor))
    bands = [convert(image.crop((0, top, image.width, min(top + rows, image.height)))).reduce(factor)
             for top in range(0, image.height, rows)]
    working = Image.new(bands[0].mode, (bands[0].width, sum(band.height for band in bands)))
    top = 0
    for band in bands:
        working.paste(band, (0, top))
        top += band.height
    return working


def _converter(image: Image.Image) -> Callable[[Image.Image], Image.Image]:
    """What turns (a band of) the image into its working mode, decided once for the whole picture."""
    if image.mode in _HIGH_DEPTH_MODES:
        scale = _high_depth_scale(image)
        return lambda part: Image.fromarray(_high_depth_grey(part, scale))
    if _has_alpha(image):
        if _background_is_transparent(image):
            # a drawing on a transparent canvas: whatever is opaque is ink, whatever its colour
            return lambda part: part.convert("RGBA").getchannel("A")
        return _onto_white
    if image.mode in ("L", "RGB"):
        return _as_it_is
    if image.mode == "1":
        return lambda part: part.convert("L")
    try:
        image.crop((0, 0, 1, 1)).convert("RGB")
    except Exception as error:  # rare modes such as LAB that Pillow cannot convert
        raise UnconvertibleMode(image.mode) from error
    return lambda part: part.convert("RGB")


def _as_it_is(part: Image.Image) -> Image.Image:
    """A picture already in its working mode ("L" or "RGB"), copied as converting it would."""
    return part.copy()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _onto_white(part: Image.Image) -> Image.Image:
    rgba = part.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")


def _high_depth_scale(image: Image.Image) -> float:
    """What brings 16-bit, 32-bit and float greyscale to the 0-255 scale: 16-bit greys (and 32-bit ones
    beyond 255) are taken as 16-bit, floats up to 1 as 0-1."""
    if image.mode.startswith("I;16") or (image.mode == "I" and image.getextrema()[1] > 255):
        return 255.0 / np.iinfo(np.uint16).max
    if image.mode == "F" and image.getextrema()[1] <= 1.0:
        return 255.0
    return 1.0


def _high_depth_grey(image: Image.Image, scale: float) -> np.ndarray:
    grey = np.asarray(image, dtype=np.float32) * np.float32(scale)
    return np.ascontiguousarray(np.clip(np.nan_to_num(grey), 0.0, 255.0))


def _background_is_transparent(image: Image.Image) -> bool:
    """Whether the picture's border is mostly transparent, read from crops of the border alone."""
    alpha = []
    for rows, cols in border_regions(image.height, image.width):
        region = image.crop((cols.start, rows.start, cols.stop, rows.stop)).convert("RGBA").getchannel("A")
        alpha.append(np.asarray(region)[::rows.step, ::cols.step].ravel())
    return float(median(np.concatenate(alpha))) < 255 / 2  # under half opaque
