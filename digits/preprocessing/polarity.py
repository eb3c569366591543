"""The ink's polarity and strength: dark on light or light on dark, measured from the background colour.

The background is the border's colour, unless ink runs into the edges all round (a tight crop), when
the picture's own layout decides; on a mid-grey ground the side the picture goes further to is the ink.
"""

import functools

import numpy as np

from digits.preprocessing.arrays import a_tenth_in, border, kth_smallest, median, median_is_below, otsu_threshold, subsampled
from digits.preprocessing.ink_side import TINY, box_filling_side, stroke_side

MIN_INK_LEVEL = 12.0  # ink must differ from the background by this much (0-255) to count at all
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
DARK_LEVEL = 80  # a background darker than this (0-255) has light ink on it; one this far from white, dark ink
INK_SHARE = 0.4  # a side of the picture's light/dark split holding less than this share of it is the ink
CLEAR_INK = 4 * MIN_INK_LEVEL  # this far from the background is ink, not shading: a border with more than
# INK_SHARE / 2 of it is not mostly background (here and in lighting.py)
_BRIGHTNESS_BAND = 8.0  # brightness (0-255) is binned this finely to find the paper's commonest level


def signal_from_colour(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) colour or grey on the 0-255 scale -> ink signal, deciding dark-on-light or light-on-dark.

    The background colour is the median of the border; a pixel's ink is how far its most changed channel
    moved from it, in the ink's direction, so that blue or red ink counts as fully as black ink.
    """
    return signal_and_side(pixels)[0]


def signal_and_side(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """`signal_from_colour`'s signal, and whether the ink is dark (on a light ground)."""
    background = _background_colour(pixels)
    differences = [pixels[..., channel] - background[channel] for channel in range(pixels.shape[-1])]
    darkest, lightest = functools.reduce(np.minimum, differences), functools.reduce(np.maximum, differences)
    dark = _ink_is_dark(darkest, lightest, background, pixels)
    return (-darkest if dark else lightest), dark


def _background_colour(pixels: np.ndarray) -> np.ndarray:
    """The background's colour: the median of the border, leaving out the ink that touches it, unless
    the border is mostly ink.

    Ink that runs into the edges all round (a tight crop: a 0 or an 8 filling its box) makes the
    border look like the ink. The background is then the other side of the picture's light/dark
    split: in a picture of a digit the ink is the smaller share, except in a 1 cropped to its ink,
    which the picture's layout tells (`stroke_side`), and a bold digit stretched to fill a tiny box
    (`box_filling_side`).
    """
    edge = border(pixels)
    colour = median(edge)
    if max(pixels.shape[:2]) <= TINY and _is_two_level(grey := _grey(pixels)):  # a 1-bit scan, whose border may
        # be mostly ink
        light = grey > otsu_threshold(grey)
        ink_is_light = box_filling_side(light)
        if ink_is_light is not None:
            return _paper_colour(pixels, grey, light, ink_is_light)
    off = np.abs(edge - colour).max(axis=-1) > CLEAR_INK
    inked = np.count_nonzero(off)
    if inked / off.size < INK_SHARE / 2:  # the border is mostly of one colour: the background ...
        return median(edge[~off]) if inked else colour  # ... without the ink that runs into it
    grey = _grey(pixels)  # (made only where needed: a photo's costs 0.16 ms, and most pictures return above)
    threshold = otsu_threshold(grey)
    light = grey > threshold
    if np.ptp(grey) < 2 * MIN_INK_LEVEL:  # nothing to split: the picture is one colour
        return colour
    border_is_light = float(colour @ LUMINANCE if colour.size == 3 else colour[0]) > threshold
    ink_is_light = stroke_side(light)
    if ink_is_light is not None:
        return _paper_colour(pixels, grey, light, ink_is_light)
    light_share = float(light.mean())
    if border_is_light and light_share < INK_SHARE:
        return median(pixels[~light])
    if not border_is_light and light_share > 1 - INK_SHARE:
        return median(pixels[light])
    return _commonest(pixels[light] if border_is_light else pixels[~light])  # the border's side


def _grey(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) colour or grey -> (H, W) grey."""
    return pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]


def _paper_colour(pixels: np.ndarray, grey: np.ndarray, light: np.ndarray, ink_is_light: bool) -> np.ndarray:
    """The paper's colour where the ink is one side of the light/dark split: the slivers of paper are
    mostly the strokes' soft edges, so their far end."""
    paper = ~light if ink_is_light else light
    order = np.argsort(grey[paper])
    tenth = a_tenth_in(len(order))  # a tenth of the way in from that end
    return pixels[paper][order[tenth if ink_is_light else len(order) - 1 - tenth]]


def is_dark_ground(grey: np.ndarray) -> bool:
    """Whether most of the picture is dark (a board with something light along an edge, its frame), and
    not a 1-bit scan of bold dark ink, which covers most of the picture too."""
    return median_is_below(subsampled(grey).ravel(), DARK_LEVEL) and not _is_two_level(grey)


def _is_two_level(grey: np.ndarray) -> bool:
    """Whether nearly every pixel is near the darkest or the lightest level: a 1-bit scan, no soft edges."""
    low, high = float(grey.min()), float(grey.max())
    if high - low < 2 * MIN_INK_LEVEL:
        return False
    margin = 0.1 * (high - low)  # of the range
    near = (grey - low < margin) | (high - grey < margin)
    return np.count_nonzero(near) / near.size >= 0.95  # (the share, as near.mean() gives it, without its float sum)


def _commonest(pixels: np.ndarray) -> np.ndarray:
    """The commonest colour of (N, C) pixels: the median of those in the fullest band of brightness.
    Paper is one brightness; the soft edges of strokes spread over many."""
    grey = pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[:, 0]
    band = np.floor(grey / _BRIGHTNESS_BAND)
    fullest = np.bincount(band.astype(int)).argmax()
    return median(pixels[np.abs(band - fullest) <= 1])


def _ink_is_dark(darkest: np.ndarray, lightest: np.ndarray, background: np.ndarray, pixels: np.ndarray) -> bool:
    """Whether the ink is dark: on a light background, yes; on a dark one, no; on a mid-grey one, where
    the picture goes further from it, unless most of the picture is dark: ink is the smaller share, so a
    dark ground whose border is a grey frame (a board in its frame) has light ink on it, however faint
    the chalk and however far its dark green lies below the frame's grey (the side `goes_further` picks)."""
    level = float(background @ LUMINANCE) if background.size == 3 else float(background[0])
    if level < DARK_LEVEL:
        return False
    if level > 255 - DARK_LEVEL:  # as far from white as DARK_LEVEL is from black: light ink is not on it
        return True
    if is_dark_ground(_grey(pixels)):
        return False
    return goes_further(darkest, lightest)  # a mid-grey background: a dim photo of a page, a grey canvas


def goes_further(darkest: np.ndarray, lightest: np.ndarray) -> bool:
    """Whether the picture goes further below its background (`darkest`, negative there) than above
    it (`lightest`): the side the ink is on. A small digit in a photo covers a few hundredths of the
    picture, so only its strongest two pixels in ten thousand (of the picture's whole-picture sample,
    `subsampled`) are compared."""
    darker, lighter = subsampled(darkest).ravel(), subsampled(lightest).ravel()
    tail = _strongest_tail(darker.size)
    return -kth_smallest(darker, tail) > -kth_smallest(-lighter, tail)


def falls_further_than_it_rises(grey: np.ndarray, paper: float) -> bool:
    """`goes_further(grey - paper, grey - median)`, the median the (upper) one of the whole-picture sample:
    whether the picture falls further below `paper` than it rises above most of its level. Without the
    median's partition of the sample (0.5 ms of a phone photo): the median lies above a level exactly where
    at most half of the sample lies at or below it."""
    sample = subsampled(grey).ravel()
    tail = _strongest_tail(sample.size)
    falls, highest = paper - kth_smallest(sample, tail), -kth_smallest(-sample, tail)
    return int(np.count_nonzero(sample <= highest - falls)) <= sample.size // 2


def _strongest_tail(size: int) -> int:
    return min(size // 5000, size - 1)
