"""Exact, faster stand-ins for the SciPy filters the photo stages run on every picture.

SciPy's median filter is a general rank filter: for a 3x3 window it sorts nine values per pixel. The
median of a 3x3 window is also the median of three numbers: the largest of its columns' smallest
values, the median of their middle values and the smallest of their largest (each column sorted once
and shared by the three windows that hold it), a handful of whole-array minimum and maximum operations.
SciPy's hole filling grows the background in from the picture's edge one pixel a pass, in Python-driven
passes; the same background is the pieces of the mask's complement (4-connected, as its cross) that touch
the edge, one labelling.
The results are the same values, not approximations; tests/test_speed.py checks them against SciPy.
"""

import numpy as np
from scipy import ndimage


def median_3x3(image: np.ndarray) -> np.ndarray:
    """= scipy.ndimage.median_filter(image, size=3) for a 2-D image, or size=(3, 3, 1) for (H, W, C):
    each channel alone, the border mirrored as SciPy's default "reflect" mode does (d c b a | a b c d)."""
    # (H, W, C): every channel at once, as the operations below work along the first two axes only.
    # Mirrored by one pixel, each edge's pixels repeated (np.pad's "symmetric", without its overhead).
    padded = np.empty((image.shape[0] + 2, image.shape[1] + 2) + image.shape[2:], image.dtype)
    padded[1:-1, 1:-1] = image
    padded[0, 1:-1], padded[-1, 1:-1] = image[0], image[-1]
    padded[:, 0], padded[:, -1] = padded[:, 1], padded[:, image.shape[1]]
    above, middle, below = padded[:-2], padded[1:-1], padded[2:]
    low, high = np.minimum(above, middle), np.maximum(above, middle)  # each column's three values, sorted
    mid = np.maximum(low, np.minimum(high, below))
    low, high = np.minimum(low, below), np.maximum(high, below)
    width = image.shape[1]
    lows = np.maximum(np.maximum(low[:, :width], low[:, 1:width + 1]), low[:, 2:])
    highs = np.minimum(np.minimum(high[:, :width], high[:, 1:width + 1]), high[:, 2:])
    mids = _median_of_three(mid[:, :width], mid[:, 1:width + 1], mid[:, 2:])
    return _median_of_three(lows, mids, highs)


def _median_of_three(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def binary_erode_square(mask: np.ndarray, iterations: int) -> np.ndarray:
    """= scipy.ndimage.binary_erosion(mask, np.ones((3, 3)), iterations=iterations): a 3x3 square applied
    n times is one (2n+1)-square, and a square's minimum is taken along the rows, then the columns
    (outside the picture counts as background, as in SciPy)."""
    if iterations < 1:
        return mask.astype(bool)
    side = 2 * iterations + 1
    eroded = ndimage.minimum_filter1d(mask.astype(np.uint8), side, axis=0, mode="constant", cval=0)
    return ndimage.minimum_filter1d(eroded, side, axis=1, mode="constant", cval=0).astype(bool)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """= scipy.ndimage.binary_fill_holes(mask) for a 2-D mask: the mask and every piece of the background
    (4-connected, SciPy's default cross) that does not reach the picture's edge."""
    mask = np.asarray(mask, bool)
    background, count = ndimage.label(~mask)
    if count == 0:
        return mask.copy()
    outside = np.zeros(count + 1, bool)
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        outside[edge] = True
    outside[0] = False  # the mask's own pixels
    return ~outside[background]
