"""The ink's polarity and strength: dark on light or light on dark, measured from the background colour.

The background is the border's colour, unless ink runs into the edges all round (a tight crop), when
the picture's own layout decides; on a mid-grey ground the side the picture goes further to is the ink.
"""

import functools
import math

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import border, median, otsu_threshold

MIN_INK_LEVEL = 12.0  # ink must differ from the background by this much (0-255) to count at all
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
DARK_LEVEL = 80  # a background darker than this (0-255) has light ink on it
INK_SHARE = 0.4  # a side of the picture's light/dark split holding less than this share of it is the ink
_BRIGHTNESS_BAND = 8.0  # brightness (0-255) is binned this finely to find the paper's commonest level
_NARROW = 0.4  # a picture narrower than this share of its height is narrow


def signal_from_colour(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) colour or grey on the 0-255 scale -> ink signal, deciding dark-on-light or light-on-dark.

    The background colour is the median of the border; a pixel's ink is how far its most changed channel
    moved from it, in the ink's direction, so that blue or red ink counts as fully as black ink.
    """
    background = _background_colour(pixels)
    differences = [pixels[..., channel] - background[channel] for channel in range(pixels.shape[-1])]
    darkest, lightest = functools.reduce(np.minimum, differences), functools.reduce(np.maximum, differences)
    return -darkest if _ink_is_dark(darkest, lightest, background) else lightest


def _background_colour(pixels: np.ndarray) -> np.ndarray:
    """The background's colour: the median of the border, leaving out the ink that touches it, unless
    the border is mostly ink.

    Ink that runs into the edges all round (a tight crop: a 0 or an 8 filling its box) makes the
    border look like the ink. The background is then the other side of the picture's light/dark
    split: in a picture of a digit the ink is the smaller share, except in a 1 cropped to its ink,
    which the picture's layout tells (`_stroke_side`).
    """
    edge = border(pixels)
    colour = median(edge)
    off = np.abs(edge - colour).max(axis=-1) > 4 * MIN_INK_LEVEL
    if off.mean() < INK_SHARE / 2:  # the border is mostly of one colour: the background ...
        return median(edge[~off]) if off.any() else colour  # ... without the ink that runs into it
    grey = pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    threshold = otsu_threshold(grey)
    light = grey > threshold
    if np.ptp(grey) < 2 * MIN_INK_LEVEL:  # nothing to split: the picture is one colour
        return colour
    border_is_light = float(colour @ LUMINANCE if colour.size == 3 else colour[0]) > threshold
    ink_is_light = _stroke_side(light)
    if ink_is_light is not None:  # the slivers of paper are mostly the strokes' soft edges: take their far end
        paper = ~light if ink_is_light else light
        order = np.argsort(grey[paper])
        return pixels[paper][order[len(order) // 10 if ink_is_light else len(order) - 1 - len(order) // 10]]
    light_share = float(light.mean())
    if border_is_light and light_share < INK_SHARE:
        return median(pixels[~light])
    if not border_is_light and light_share > 1 - INK_SHARE:
        return median(pixels[light])
    return _commonest(pixels[light] if border_is_light else pixels[~light])  # the border's side


def _stroke_side(light: np.ndarray) -> bool | None:
    """In a tall, narrow picture (a 1 cropped to its ink), which side of the light/dark split is the ink.

    The ink is a stroke: it runs from the top to the bottom in one piece and crosses each row once,
    the paper being left in slivers beside it. True: the light side; None: the picture is not tall and
    narrow (a wide crop is a row of digits), or neither side looks like that (noise, say).
    """
    if light.shape[1] > _NARROW * light.shape[0]:
        return None
    end = max(2, len(light) // 8)  # the soft tip of a stroke may stop short of the picture's end

    def is_a_stroke(side: np.ndarray) -> bool:
        labels, _ = ndimage.label(side, structure=np.ones((3, 3), bool))
        top, bottom = labels[:end], labels[-end:]
        if not np.intersect1d(top[top > 0], bottom[bottom > 0]).size:
            return False
        runs = np.count_nonzero(np.diff(side.astype(np.int8), axis=1) == 1, axis=1) + side[:, 0]
        return np.mean(runs[runs > 0] == 1) >= 0.8

    light_is_stroke, dark_is_stroke = is_a_stroke(light), is_a_stroke(~light)
    if light_is_stroke != dark_is_stroke:
        return light_is_stroke
    if light_is_stroke:  # both, in a picture a few pixels wide: the slivers lie at the sides, the 1 in the middle
        return bool(np.mean(light[:, light.shape[1] // 2]) > 0.5)
    return None


def _commonest(pixels: np.ndarray) -> np.ndarray:
    """The commonest colour of (N, C) pixels: the median of those in the fullest band of brightness.
    Paper is one brightness; the soft edges of strokes spread over many."""
    grey = pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[:, 0]
    band = np.floor(grey / _BRIGHTNESS_BAND)
    fullest = np.bincount(band.astype(int)).argmax()
    return median(pixels[np.abs(band - fullest) <= 1])


def _ink_is_dark(darkest: np.ndarray, lightest: np.ndarray, background: np.ndarray) -> bool:
    level = float(background @ LUMINANCE) if background.size == 3 else float(background[0])
    if level < DARK_LEVEL:
        return False
    if level > 176:
        return True
    return goes_further(darkest, lightest)  # a mid-grey background: a dim photo of a page, a grey canvas


def goes_further(darkest: np.ndarray, lightest: np.ndarray) -> bool:
    """Whether the picture goes further below its background (`darkest`, negative there) than above
    it (`lightest`): the side the ink is on. A small digit in a photo covers a few hundredths of the
    picture, so only its strongest few pixels in ten thousand (and at least ten) are compared."""
    step = max(1, round(math.sqrt(darkest.size / 65536)))
    darker, lighter = darkest[::step, ::step].ravel(), lightest[::step, ::step].ravel()
    tail = min(max(10, darker.size // 5000), darker.size // 200)
    return -float(np.partition(darker, tail)[tail]) > float(np.partition(lighter, lighter.size - 1 - tail)[-1 - tail])
