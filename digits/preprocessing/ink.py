"""Pixels to ink: how much ink each pixel holds, 0 on the background, whatever the colours.

In order, a module each: the light evened out on a photographed page (`lighting.py`: shadows, a lamp's
pool of light), the ink's polarity decided (dark on light or light on dark) and its strength measured
from the background colour (`polarity.py`), what is left of uneven lighting subtracted (`lighting.py`),
and the lines of ruled or squared paper removed (`rulings.py`).
"""

import math

import numpy as np

from digits.preprocessing.arrays import median
from digits.preprocessing.lighting import even_out_lighting, subtract_uneven_background
from digits.preprocessing.polarity import MIN_INK_LEVEL, signal_from_colour
from digits.preprocessing.rulings import remove_ruled_lines

__all__ = ["MIN_INK_LEVEL", "find_ink", "noise_level"]


def find_ink(pixels: np.ndarray, evenly_lit: bool = False) -> np.ndarray:
    """float32 (H, W, C) on 0-255 -> float32 (H, W): about 0 on the background, up to 255 on the ink.

    `evenly_lit`: the light has been evened out already (`even_out_lighting`).
    """
    signal = signal_from_colour(pixels if evenly_lit else even_out_lighting(pixels))
    return remove_ruled_lines(subtract_uneven_background(signal))


def noise_level(ink: np.ndarray) -> float:
    """The background's noise: a robust standard deviation of the dips below the background level (0).

    Only noise dips below the background (ink lies above it), so this holds however much of the
    picture the ink covers. A background that hardly ever dips (clean, or white clipped at 255) has none.
    """
    step = max(1, round(math.sqrt(ink.size / 65536)))
    sample = ink[::step, ::step]
    dips = -sample[sample < 0]
    if dips.size < 0.05 * sample.size:
        return 0.0
    return float(1.4826 * median(dips))
