"""Pixels to ink: how much ink each pixel holds, 0 on the background, whatever the colours.

In order, a module each: the light evened out on a photographed page (`lighting.py`: shadows, a lamp's
pool of light), the ink's polarity decided (dark on light or light on dark) and its strength measured
from the background colour (`polarity.py`), what is left of uneven lighting subtracted (`lighting.py`),
and the lines of ruled or squared paper removed (`rulings.py`).
"""

import math

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import ROBUST_SIGMA, median, otsu_threshold, subsampled
from digits.preprocessing.lighting import even_out_lighting, subtract_broad_light, subtract_uneven_background
from digits.preprocessing.polarity import MIN_INK_LEVEL, signal_and_side
from digits.preprocessing.rulings import remove_ruled_lines

__all__ = ["MIN_INK_LEVEL", "SOFT_EDGE", "clear_ink", "find_ink", "find_ink_and_side", "is_blank", "noise_level"]

_BLANK_NOISE = 6  # a picture whose strongest ink is within this many times its noise of the background is blank
_CLEAR_NOISE = 4  # clear ink stands this many times the noise above the background (and above the Otsu split)
SOFT_EDGE = 0.03  # a stroke's soft edge reaches at most this share of the picture's shorter side from its clear ink


def find_ink(pixels: np.ndarray, evenly_lit: bool = False) -> np.ndarray:
    """float32 (H, W, C) on 0-255 -> float32 (H, W): about 0 on the background, up to 255 on the ink.

    `evenly_lit`: the light has been evened out already (`even_out_lighting`).
    """
    return find_ink_and_side(pixels, evenly_lit)[0]


def find_ink_and_side(pixels: np.ndarray, evenly_lit: bool = False) -> tuple[np.ndarray, bool]:
    """`find_ink`'s signal, and whether the ink is dark on a light ground (False: light on dark, chalk)."""
    signal, ink_is_dark = signal_and_side(pixels if evenly_lit else even_out_lighting(pixels))
    if not ink_is_dark:  # chalk on a board: its dust, glare and frame are the ground, not ink
        signal = subtract_broad_light(signal, stands_out, soft_edge_window(signal.shape))
    return remove_ruled_lines(subtract_uneven_background(signal)), ink_is_dark


def noise_level(ink: np.ndarray) -> float:
    """The background's noise: a robust standard deviation of the dips below the background level (0).

    Only noise dips below the background (ink lies above it), so this holds however much of the
    picture the ink covers. A background that hardly ever dips (clean, or white clipped at 255) has none.
    """
    sample = subsampled(ink)
    dips = -sample[sample < 0]
    if dips.size < 0.05 * sample.size:
        return 0.0
    return float(ROBUST_SIGMA * median(dips))


def is_blank(ink: np.ndarray, noise: float) -> bool:
    """No ink worth reading: nothing stands out from the background by MIN_INK_LEVEL, or above its noise."""
    return float(ink.max()) < max(MIN_INK_LEVEL, _BLANK_NOISE * noise)


def stands_out(ink: np.ndarray, level: float) -> np.ndarray:
    """bool (H, W): where the ink rises more than `level` above the lowest ink within a soft edge's reach
    (SOFT_EDGE): a stroke falls to its ground that near on one side; a broad haze, a glare hardly falls."""
    window = soft_edge_window(ink.shape)
    return ink - np.maximum(ndimage.minimum_filter(ink, size=window), 0) > level


def soft_edge_window(shape: tuple[int, ...]) -> int:
    """The side of a square window that reaches a soft edge's width (SOFT_EDGE) either way of its centre."""
    # the reach on the picture's longer side here (marks.py measures it on the shorter): on the shorter, a wide
    # photo's bold strokes lost clear ink and readings changed; on the longer none of 1,480 did
    return 2 * math.ceil(SOFT_EDGE * max(shape)) + 1


def clear_ink(ink: np.ndarray, noise: float) -> np.ndarray:
    """bool (H, W): the ink that is clearly ink, not its soft edges or grain (the marks of the digits
    and of a number are the pieces of ink with some of this in them).

    Clear ink rises clearly above the background and lies within a soft edge's reach (SOFT_EDGE) of
    ink that stands out as clearly from the lowest ink that near it: a stroke falls to the background
    (or to what it is written over) within that reach on one side, where a soft, broad haze (chalk dust
    wiped over a board, glare, a shadow's rim) hardly falls at all, however far above the background its
    level is. On a board smeared with dust, Otsu's split falls between the board and the dust (5-13% of
    the picture above it where the digit is 1-3%). The reach twice over keeps a bold stroke whole."""
    level = max(otsu_threshold(ink), _CLEAR_NOISE * noise, MIN_INK_LEVEL)
    pieces, count = ndimage.label(ink > level, structure=np.ones((3, 3), bool))
    kept = np.zeros(count + 1, bool)
    kept[pieces[stands_out(ink, level)]] = True
    kept[0] = False
    return kept[pieces]
