"""Uneven light on a photographed page: evened out before the ink is found, and what is left of it
subtracted from the ink signal after."""

import numpy as np
from scipy import ndimage
from skimage import morphology

from digits.preprocessing.arrays import border, low_percentile, median
from digits.preprocessing.filters import median_3x3
from digits.preprocessing.polarity import DARK_LEVEL, INK_SHARE, LUMINANCE, MIN_INK_LEVEL, _is_two_level, goes_further

_MIN_LIGHTING_SIDE = 32  # smaller pictures are too small to show uneven light
_LIGHTING_WINDOW_FRACTION = 3  # the paper is seen past strokes up to the picture's short side / this wide
_SMOOTH_LIGHT_TOLERANCE = 6.0  # a smooth surface follows the light on a border when most of it is this close
_DEEPEST_SHADOW = 0.3  # a shadow leaves the paper at least this share of its brightness; darker is ink


def even_out_lighting(pixels: np.ndarray) -> np.ndarray:
    """A light page under uneven light (shadows, even hard-edged ones) as if evenly lit.

    Light falls on the paper and the ink alike, so dividing each pixel by the paper's brightness there
    leaves only what is on the page. That brightness is a grey closing by reconstruction: a max filter
    wider than the strokes fills them with the paper around them, then the darker areas the filter
    could not fill (shadows) are grown back to their exact outline, so a shadow's edge stays sharp.
    Where a smooth surface follows the light all along the border (a lamp's pool of light fading to
    dark corners), that surface is the brightness instead: the max filter cannot see past a corner.
    Left as they are: dark backgrounds (and grey ones with light ink), pages whose border is evenly lit,
    and ink too wide for the filter (dark that survives it is ink, not shadow). A smooth gradient on
    those is removed later (`subtract_uneven_background`).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < _MIN_LIGHTING_SIDE:
        return pixels
    grey = pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    paper = float(np.percentile(border(grey), 90))
    if paper < DARK_LEVEL or _border_is_flat(-grey):  # (negated, as the paper is the light side here)
        return pixels
    if float(np.median(grey[::4, ::4])) < DARK_LEVEL and not _is_two_level(grey):  # mostly a dark ground (a board)
        return pixels  # with something light along an edge (its frame); not a 1-bit scan, mostly its own bold ink
    if paper < 128:
        from_paper = grey - paper
        if not goes_further(from_paper, from_paper):  # a grey ground with light ink on it
            return pixels
    grey = median_3x3(grey)  # noise would lift the estimate above the paper's mean
    lighting = _smooth_lighting(grey, paper)
    if lighting is None:
        filled = ndimage.maximum_filter(grey, size=min(height, width) // _LIGHTING_WINDOW_FRACTION | 1)
        if float(filled.min()) < _DEEPEST_SHADOW * paper:
            return pixels
        lighting = morphology.reconstruction(filled, grey, method="erosion")
    evened = np.multiply(pixels, (paper / np.maximum(lighting, 1.0))[..., np.newaxis])
    return np.clip(evened, 0.0, 255.0, out=evened)


def _smooth_lighting(grey: np.ndarray, paper: float) -> np.ndarray | None:
    """The light on the page as a smooth surface (a lamp's pool of light, darker corners), or None
    where the page's border shows light that no smooth surface follows (a hard-edged shadow)."""
    lighting = paper - _background_surface(paper - grey)
    residual = np.abs(border(grey) - border(lighting))
    return lighting if float(np.percentile(residual, 80)) <= _SMOOTH_LIGHT_TOLERANCE else None


def subtract_uneven_background(signal: np.ndarray) -> np.ndarray:
    """The signal less a smooth background (uneven lighting), when its border shows one. Not when ink
    covers much of the border (a tight crop): the fit would follow the ink, not the light."""
    if min(signal.shape) < _MIN_LIGHTING_SIDE or _border_is_flat(signal):
        return signal
    if np.mean(border(signal) > 4 * MIN_INK_LEVEL) > INK_SHARE / 2:
        return signal
    return signal - _background_surface(signal)


def _border_is_flat(signal: np.ndarray, segments: int = 4, tolerance: float = 4.0) -> bool:
    """Whether the background level (the 10th percentile: ink lies above it) is the same all round."""
    height, width = signal.shape
    band = 1 + min(height, width) // 64
    sides = [signal[:band], signal[-band:], signal[:, :band].T, signal[:, -band:].T]
    levels = [low_percentile(_stretches(side, segments)) for side in sides]  # one per stretch of a side
    return float(np.ptp(np.concatenate(levels))) <= tolerance


def _stretches(side: np.ndarray, count: int) -> np.ndarray:
    """A (band, length) side cut into `count` equal stretches along its length: (pixels per stretch, count)."""
    length = side.shape[1] // count * count
    return side[:, :length].reshape(side.shape[0], count, -1).transpose(0, 2, 1).reshape(-1, count)


def _background_surface(signal: np.ndarray, grid: int = 32) -> np.ndarray:
    """A quadratic surface fitted to the background, ignoring the ink (which lies above it)."""
    height, width = signal.shape
    block = max(1, max(height, width) // grid)
    rows, cols = height // block, width // block
    blocks = signal[: rows * block, : cols * block].reshape(rows, block, cols, block).mean(axis=(1, 3))
    y = (np.arange(rows) + 0.5) * block / height * 2 - 1
    x = (np.arange(cols) + 0.5) * block / width * 2 - 1
    yy, xx = np.meshgrid(y, x, indexing="ij")
    terms = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    values = blocks.ravel()
    quarter = np.partition(values, len(values) // 4)[len(values) // 4]
    background = values <= quarter  # start from the quarter of the blocks least like ink
    for _ in range(4):
        coefficients = _least_squares(terms[background], values[background])
        residual = values - terms @ coefficients
        spread = 1.4826 * median(np.abs(residual[background])) + 0.5
        background = residual < 2.5 * spread
        if np.count_nonzero(background) < 2 * terms.shape[1]:
            break
    y = (np.arange(height) + 0.5) / height * 2 - 1
    x = (np.arange(width) + 0.5) / width * 2 - 1
    constant, by_x, by_y, by_xx, by_xy, by_yy = coefficients
    along_rows = constant + by_x * x + by_xx * (x * x)  # the surface is these plus a column's terms plus by_xy * x * y
    down_columns = by_y * y + by_yy * (y * y)
    surface = np.multiply.outer(by_xy * y, x)
    surface += along_rows[None, :]
    surface += down_columns[:, None]
    return surface.astype(np.float32)


def _least_squares(terms: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The coefficients that fit `terms` (n, 6) to `values` (n,) best: the normal equations, solved by
    Cholesky (six unknowns: a fraction of lstsq's SVD; as exact where the fit is well determined).
    lstsq where they are not (a handful of blocks, or blocks on one line)."""
    gram = terms.T @ terms
    try:
        factor = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(terms, values, rcond=None)[0]
    if np.diag(factor).min() < 1e-6 * np.diag(factor).max():  # near-singular: let lstsq choose
        return np.linalg.lstsq(terms, values, rcond=None)[0]
    return np.linalg.solve(gram, terms.T @ values)
