"""Uneven light on a photographed page: evened out before the ink is found, and what is left of it
subtracted from the ink signal after."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import morphology

from digits.preprocessing.arrays import ROBUST_SIGMA, border, border_band, low_percentile, median
from digits.preprocessing.filters import median_3x3
from digits.preprocessing.normalise import stroke_width
from digits.preprocessing.polarity import (CLEAR_INK, DARK_LEVEL, INK_SHARE, LUMINANCE, falls_further_than_it_rises,
                                           is_dark_ground)


@dataclass(frozen=True)
class LightingSettings:
    """When the light on a page is evened out, and how (brightness on the 0-255 scale). The values were set
    when the stage was built on the scenes suite's shadowed and lamp-lit pages (the choice is not
    recorded); "(N)" is what one still decides on the uploads of scripts/record_readings.py (issue #27)."""

    grid: int = 32  # the light is fitted as a smooth surface to about this many blocks along the picture's
    # long side; a picture shorter than that on a side is too small to show uneven light (a digit's crop)
    paper: float = 90  # the paper's brightness is this percentile of the border's (ink and shadows lie below it)
    window_fraction: int = 3  # the paper is seen past strokes up to the picture's short side / this wide
    smooth_tolerance: float = 6.0  # a smooth surface follows the light on the border where it is this close ...
    smooth_share: float = 80  # ... along this percentage of the border
    deepest_shadow: float = 0.3  # a shadow leaves the paper at least this share of its brightness; darker is ink
    # (26 of the 346 pictures that reach it are left as they are)
    flat_stretches: int = 4  # a border is evenly lit when the background level of each of this many stretches of
    flat_tolerance: float = 4.0  # each side is within this of the others'
    ground_strokes: float = 3  # light ink: light wider than this many of its strokes is the ground (a board's dust,
    # glare; `subtract_broad_light`). Chosen of 2, 3, 4, 6 on the proxy's chalkboards (training/proxy_scenes.py, 80 MNIST
    # validation and 80 held-out typeface digits each, before the pieces of a line were joined in marks.py; chalkboard /
    # worn chalkboard): 2: 96.25 / 50.0% and 91.25 / 43.75%; 3: 98.75 / 51.25% and 95.0 / 48.75%; 4: 97.5 / 53.75% and
    # 92.5 / 45.0%; 6: 97.5 / 56.25% and 90.0 / 50.0%
    # Checked again at stop 45, the width measured on the chalk (closed; docs/reading-pipeline.md, "Worn boards"): 2:
    # 98.75 / 87.5% and 91.25 / 87.5%; 3: 98.75 / 87.5% and 95.0 / 82.5%
    fit_rounds: int = 4  # the surface is refitted this many times to the blocks that are background (808 of
    # 1,307 fits have settled by then) ...
    outlier: float = 2.5  # ... those less than this many (robust) standard deviations above the last fit


SETTINGS = LightingSettings()


def even_out_lighting(pixels: np.ndarray, settings: LightingSettings = SETTINGS) -> np.ndarray:
    """A light page under uneven light (shadows, even hard-edged ones) as if evenly lit.

    Light falls on the paper and the ink alike, so dividing each pixel by the paper's brightness there
    leaves only what is on the page. That brightness is a grey closing by reconstruction: a max filter
    wider than the strokes fills them with the paper around them, then the darker areas the filter
    could not fill (shadows) are grown back to their exact outline, so a shadow's edge stays sharp.
    Where a smooth surface follows the light all along the border (a lamp's pool of light fading to
    dark corners), that surface is the brightness instead: the max filter cannot see past a corner.
    Left as they are: dark backgrounds (and grey ones with light ink, which rises further from most of the
    picture's level than the dark falls below the paper: a board lit in its middle in a light frame), pages
    whose border is evenly lit,
    and ink too wide for the filter (dark that survives it is ink, not shadow). A smooth gradient on
    those is removed later (`subtract_uneven_background`).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < settings.grid:
        return pixels
    grey = pixels @ LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    paper = float(np.percentile(border(grey), settings.paper))
    if paper < DARK_LEVEL or _border_is_flat(-grey, settings):  # (negated, as the paper is the light side here)
        return pixels
    if is_dark_ground(grey):
        return pixels
    if paper <= 255 - DARK_LEVEL:  # a mid-grey ground, as the ink's polarity has it (polarity._ink_is_dark)
        # light ink rises from most of the picture, not from its border's lightest tenth: a board lit in its
        # middle, a light frame along its edge, is no grey page of dark ink (a lit gradient's light end is no
        # light ink above the paper)
        if not falls_further_than_it_rises(grey, paper):  # with light ink on it
            return pixels
    grey = median_3x3(grey)  # noise would lift the estimate above the paper's mean
    lighting = _smooth_lighting(grey, paper, settings)
    if lighting is None:
        filled = ndimage.maximum_filter(grey, size=min(height, width) // settings.window_fraction | 1)
        if float(filled.min()) < settings.deepest_shadow * paper:
            return pixels
        lighting = morphology.reconstruction(filled, grey, method="erosion")
    evened = np.multiply(pixels, (paper / np.maximum(lighting, 1.0))[..., np.newaxis])
    return np.clip(evened, 0.0, 255.0, out=evened)


def subtract_broad_light(signal: np.ndarray, stands_out: Callable[[np.ndarray, float], np.ndarray], reach: int,
                         settings: LightingSettings = SETTINGS) -> np.ndarray:
    """Light ink on a dark ground (chalk on a board): the signal less what is light over an area wider
    than the strokes, chalk dust an eraser or a hand smeared beside them, glare, a light frame: the
    ground under the ink, as the paper's brightness is on a light page (`even_out_lighting`). The
    strokes' width is measured where the ink is strongest (above half its peak: the stick's line, not
    the fainter dust beside it), on one piece: away from the picture's edges (a board's frame, its tray,
    a lit edge run into them; a digit lies inside), the one with the most ink that stands out sharply
    there (`stands_out(signal, level)`: ink.py's test of clear ink, at half the peak: a glare or a patch
    of dust as bright as the chalk rises slowly, a stroke falls off within its soft edge), which is a
    digit's body, not a screen's thin print; where no piece inside stands out (a digit cropped close
    runs into the edges, and what lies inside is its own fragment, which would make the window narrower
    than its strokes), the biggest piece of all. The piece is measured with its pits and pinholes a pixel
    across filled (a closing): chalk's grain breaks the outline of its strongest ink, and every break
    counts as outline, so a grainy stroke measured as half its width, and a window that narrow took a
    digit's own filled loop for the ground (a 9's loop hollowed, "no digit"). With it are measured
    the pieces inside that stand out and lie within `reach` of it (ink.py's soft edge, gaps and all):
    on a worn board the strongest ink of a thin line is a scatter of dots and dashes, and the one chosen
    can be a dash a few pixels long whose outline runs all round it (a width of 1 where the line's is
    2-3): a window that narrow took the line itself for the ground (a thin 6 "no digit", an 8 read 3).
    Within reach of it, not all of them: a screen's thin print stands out too, in rows of letters away
    from the writing, and narrowed the window past a bold digit's strokes (docs/reading-pipeline.md,
    "Worn boards: the chalk's width measured on its line"). What a window
    `ground_strokes` strokes wide cannot fit inside (a grey opening: the lowest light round each pixel,
    then the highest of those) is the ground, and goes: a stroke keeps what rises above it, a smear a
    few strokes wide falls to it. As the window follows the measured strokes, a bold digit cropped
    close (a white digit on black) keeps its strokes whole, and a thin line of chalk loses the smears
    beside it."""
    if min(signal.shape) < settings.grid or float(signal.max()) <= 0:
        return signal
    strongest = 0.5 * float(signal.max())
    pieces, _ = ndimage.label(signal > strongest, structure=np.ones((3, 3), bool))
    sizes = np.bincount(pieces.ravel())
    sizes[0] = 0
    inside = sizes.copy()
    for edge in (pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]):
        inside[edge] = 0  # a frame or a tray: on a worn board, wider than the chalk and the biggest piece
    sharp = np.bincount(pieces[stands_out(signal, strongest)], minlength=len(sizes)) if inside.any() else inside
    sharp[inside == 0] = 0
    biggest = int(next(counts for counts in (sharp, sizes) if counts.any()).argmax())
    chosen = pieces == biggest
    if sharp.any():  # with the pieces inside that stand out within reach of it: the rest of its line
        chosen = _within_reach((sharp > 0)[pieces], chosen, reach)
    window = math.ceil(settings.ground_strokes * _closed_width(chosen)) | 1
    ground = np.maximum(ndimage.grey_opening(signal, size=(window, window)), 0)
    return signal - ground


def _within_reach(mask: np.ndarray, piece: np.ndarray, reach: int) -> np.ndarray:
    """The pieces of `mask` joined to `piece` (one of them) by gaps no wider than `reach` (a square
    window's side). A maximum filter, not a binary dilation: that wide, a dilation ran out of memory on a
    broad shape (docs/reading-pipeline.md, stop 45)."""
    groups, _ = ndimage.label(ndimage.maximum_filter(mask.view(np.uint8), size=reach) > 0, structure=np.ones((3, 3), bool))
    return mask & (groups == groups[piece].max())


def _closed_width(piece: np.ndarray) -> float:
    """The strokes' width (`stroke_width`) of a piece with its pits and pinholes a pixel across filled."""
    padded = np.pad(piece, 1)
    return stroke_width(ndimage.binary_closing(padded, structure=np.ones((3, 3), bool))[1:-1, 1:-1])


def _smooth_lighting(grey: np.ndarray, paper: float, settings: LightingSettings) -> np.ndarray | None:
    """The light on the page as a smooth surface (a lamp's pool of light, darker corners), or None
    where the page's border shows light that no smooth surface follows (a hard-edged shadow)."""
    lighting = paper - _background_surface(paper - grey, settings)
    residual = np.abs(border(grey) - border(lighting))
    return lighting if float(np.percentile(residual, settings.smooth_share)) <= settings.smooth_tolerance else None


def subtract_uneven_background(signal: np.ndarray, settings: LightingSettings = SETTINGS) -> np.ndarray:
    """The signal less a smooth background (uneven lighting), when its border shows one. Not when ink
    covers much of the border (a tight crop): the fit would follow the ink, not the light."""
    if min(signal.shape) < settings.grid or _border_is_flat(signal, settings):
        return signal
    if np.mean(border(signal) > CLEAR_INK) > INK_SHARE / 2:
        return signal
    return signal - _background_surface(signal, settings)


def _border_is_flat(signal: np.ndarray, settings: LightingSettings) -> bool:
    """Whether the background level (the 10th percentile: ink lies above it) is the same all round."""
    band = border_band(*signal.shape)
    sides = [signal[:band], signal[-band:], signal[:, :band].T, signal[:, -band:].T]
    levels = [low_percentile(_stretches(side, settings.flat_stretches)) for side in sides]  # one per stretch
    return float(np.ptp(np.concatenate(levels))) <= settings.flat_tolerance


def _stretches(side: np.ndarray, count: int) -> np.ndarray:
    """A (band, length) side cut into `count` equal stretches along its length: (pixels per stretch, count)."""
    length = side.shape[1] // count * count
    return side[:, :length].reshape(side.shape[0], count, -1).transpose(0, 2, 1).reshape(-1, count)


def _background_surface(signal: np.ndarray, settings: LightingSettings = SETTINGS) -> np.ndarray:
    """A quadratic surface fitted to the background, ignoring the ink (which lies above it)."""
    height, width = signal.shape
    block = max(1, max(height, width) // settings.grid)
    rows, cols = height // block, width // block
    blocks = signal[: rows * block, : cols * block].reshape(rows, block, cols, block).mean(axis=(1, 3))
    y = (np.arange(rows) + 0.5) * block / height * 2 - 1
    x = (np.arange(cols) + 0.5) * block / width * 2 - 1
    yy, xx = np.meshgrid(y, x, indexing="ij")
    terms = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1)
    terms = terms.reshape(-1, terms.shape[-1])
    values = blocks.ravel()
    quarter = len(values) // 4
    background = values <= np.partition(values, quarter)[quarter]  # start from the quarter of the blocks least like ink
    for _ in range(settings.fit_rounds):
        coefficients = _least_squares(terms[background], values[background])
        residual = values - terms @ coefficients
        spread = ROBUST_SIGMA * median(np.abs(residual[background])) + 0.5
        background = residual < settings.outlier * spread
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
