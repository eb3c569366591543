"""Pixels to ink: how much ink each pixel holds, 0 on the background, whatever the colours.

In order: the light evened out on a photographed page (shadows), the ink's polarity decided (dark on
light or light on dark) and its strength measured from the background colour, what is left of uneven
lighting subtracted, and the lines of ruled or squared paper removed.
"""

import functools
import math

import numpy as np
from scipy import ndimage
from skimage import morphology

from digits.preprocessing.arrays import border, low_percentile, median, otsu_threshold

MIN_INK_LEVEL = 12.0  # ink must differ from the background by this much (0-255) to count at all

_LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_DARK_LEVEL = 80  # a background darker than this (0-255) has light ink on it
_MIN_LIGHTING_SIDE = 32  # smaller pictures are too small to show uneven light
_LIGHTING_WINDOW_FRACTION = 3  # the paper is seen past strokes up to the picture's short side / this wide
_SMOOTH_LIGHT_TOLERANCE = 6.0  # a smooth surface follows the light on a border when most of it is this close
_DEEPEST_SHADOW = 0.3  # a shadow leaves the paper at least this share of its brightness; darker is ink
_RULING_WIDTH = 5  # the lines of ruled and squared paper are thinner than this (pixels, at up to 512 wide) ...
_RULING_SPAN = 0.8  # ... and run across at least this share of the picture
_MIN_RULED_SIDE = 64  # smaller pictures are too small to hold a ruled page
_BRIGHTNESS_BAND = 8.0  # brightness (0-255) is binned this finely to find the paper's commonest level
_NARROW = 0.4  # a picture narrower than this share of its height is narrow
_INK_SHARE = 0.4  # a side of the picture's light/dark split holding less than this share of it is the ink


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


def even_out_lighting(pixels: np.ndarray) -> np.ndarray:
    """A light page under uneven light (shadows, even hard-edged ones) as if evenly lit.

    Light falls on the paper and the ink alike, so dividing each pixel by the paper's brightness there
    leaves only what is on the page. That brightness is a grey closing by reconstruction: a max filter
    wider than the strokes fills them with the paper around them, then the darker areas the filter
    could not fill (shadows) are grown back to their exact outline, so a shadow's edge stays sharp.
    Left as they are: dark backgrounds, pages whose border is evenly lit, and ink too wide for the
    filter (dark that survives it is ink, not shadow). A smooth gradient on those is removed later.
    """
    height, width = pixels.shape[:2]
    if min(height, width) < _MIN_LIGHTING_SIDE:
        return pixels
    grey = pixels @ _LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    paper = float(np.percentile(border(grey), 90))
    if paper < _DARK_LEVEL or _border_is_flat(-grey):  # (negated, as the paper is the light side here)
        return pixels
    if paper < 128 and not _goes_further(grey - paper, grey - paper):  # a grey ground with light ink on it
        return pixels
    grey = ndimage.median_filter(grey, size=3)  # noise would lift the estimate above the paper's mean
    lighting = _smooth_lighting(grey, paper)
    if lighting is None:
        filled = ndimage.maximum_filter(grey, size=min(height, width) // _LIGHTING_WINDOW_FRACTION | 1)
        if float(filled.min()) < _DEEPEST_SHADOW * paper:
            return pixels
        lighting = morphology.reconstruction(filled, grey, method="erosion")
    return np.clip(pixels * (paper / np.maximum(lighting, 1.0))[..., np.newaxis], 0.0, 255.0)


def _smooth_lighting(grey: np.ndarray, paper: float) -> np.ndarray | None:
    """The light on the page as a smooth surface (a lamp's pool of light, darker corners), or None
    where the page's border shows light that no smooth surface follows (a hard-edged shadow)."""
    lighting = paper - _background_surface(paper - grey)
    residual = np.abs(border(grey) - border(lighting))
    return lighting if float(np.percentile(residual, 80)) <= _SMOOTH_LIGHT_TOLERANCE else None


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
    if off.mean() < _INK_SHARE / 2:  # the border is mostly of one colour: the background ...
        return median(edge[~off]) if off.any() else colour  # ... without the ink that runs into it
    grey = pixels @ _LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    threshold = otsu_threshold(grey)
    light = grey > threshold
    if np.ptp(grey) < 2 * MIN_INK_LEVEL:  # nothing to split: the picture is one colour
        return colour
    border_is_light = float(colour @ _LUMINANCE if colour.size == 3 else colour[0]) > threshold
    ink_is_light = _stroke_side(light)
    if ink_is_light is not None:  # the slivers of paper are mostly the strokes' soft edges: take their far end
        paper = ~light if ink_is_light else light
        order = np.argsort(grey[paper])
        return pixels[paper][order[len(order) // 10 if ink_is_light else len(order) - 1 - len(order) // 10]]
    light_share = float(light.mean())
    if border_is_light and light_share < _INK_SHARE:
        return median(pixels[~light])
    if not border_is_light and light_share > 1 - _INK_SHARE:
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
    grey = pixels @ _LUMINANCE if pixels.shape[-1] == 3 else pixels[:, 0]
    band = np.floor(grey / _BRIGHTNESS_BAND)
    fullest = np.bincount(band.astype(int)).argmax()
    return median(pixels[np.abs(band - fullest) <= 1])


def _ink_is_dark(darkest: np.ndarray, lightest: np.ndarray, background: np.ndarray) -> bool:
    level = float(background @ _LUMINANCE) if background.size == 3 else float(background[0])
    if level < _DARK_LEVEL:
        return False
    if level > 176:
        return True
    return _goes_further(darkest, lightest)  # a mid-grey background: a dim photo of a page, a grey canvas


def _goes_further(darkest: np.ndarray, lightest: np.ndarray) -> bool:
    """Whether the picture goes further below its background (`darkest`, negative there) than above
    it (`lightest`): the side the ink is on. A small digit in a photo covers a few hundredths of the
    picture, so only its strongest few pixels in ten thousand (and at least ten) are compared."""
    step = max(1, round(math.sqrt(darkest.size / 65536)))
    darker, lighter = darkest[::step, ::step].ravel(), lightest[::step, ::step].ravel()
    tail = min(max(10, darker.size // 5000), darker.size // 200)
    return -float(np.partition(darker, tail)[tail]) > float(np.partition(lighter, lighter.size - 1 - tail)[-1 - tail])


def subtract_uneven_background(signal: np.ndarray) -> np.ndarray:
    """The signal less a smooth background (uneven lighting), when its border shows one. Not when ink
    covers much of the border (a tight crop): the fit would follow the ink, not the light."""
    if min(signal.shape) < _MIN_LIGHTING_SIDE or _border_is_flat(signal):
        return signal
    if np.mean(border(signal) > 4 * MIN_INK_LEVEL) > _INK_SHARE / 2:
        return signal
    return signal - _background_surface(signal)


def remove_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """The ink less the lines of ruled or squared paper. Strokes keep their ink where they cross one
    (a thick one as it is thicker than the line, a thin one or a printed box's line as it goes on
    beyond it); a single long thin stroke (a 7's bar drawn with a fine pen) stays.
    """
    if min(ink.shape) < _MIN_RULED_SIDE:
        return ink
    thin = ink - ndimage.grey_opening(ink, size=(_RULING_WIDTH, _RULING_WIDTH))  # what a small square cannot fit in
    # Lines across the rows (ruled paper) and down the columns (squared paper).
    along_rows, along_columns = _rulings_along_rows(thin), _rulings_along_rows(thin.T).T
    # Where a thin stroke or a printed box's line crosses a ruling, it keeps its ink there.
    crossings = (_crossed(thin, along_rows) & ~along_columns) | (_crossed(thin.T, along_columns.T).T & ~along_rows)
    return ink - np.where((along_rows | along_columns) & ~crossings, thin, 0.0)


def _crossed(thin: np.ndarray, rulings: np.ndarray, reach: int = 10) -> np.ndarray:
    """The pixels of row-wise rulings with thin ink just above and just below them, off the rulings:
    where something crosses the line."""
    outside = (thin > MIN_INK_LEVEL) & ~rulings
    above, below = np.zeros_like(outside), np.zeros_like(outside)
    for step in range(1, reach + 1):
        above[step:] |= outside[:-step]
        below[:-step] |= outside[step:]
    return rulings & above & below


def _rulings_along_rows(thin: np.ndarray) -> np.ndarray:
    """Where the thin ink forms ruled lines along the rows: at least two lines across nearly the whole
    width (plus, then, those a tilted frame cuts short at its edge), with their soft edges."""
    length = thin.shape[1]
    tolerant = ndimage.maximum_filter(thin, size=(5, 1))  # a page photographed slightly askew
    on_line = ndimage.grey_opening(tolerant, size=(1, max(3, length // 12))) > MIN_INK_LEVEL
    # A line is cut where the digit crosses it: pieces in line with each other make one line.
    labels, count = ndimage.label(ndimage.maximum_filter1d(on_line, length // 3 | 1, axis=1))
    pieces = labels * on_line  # each line's own pixels, labelled by the line they belong to
    boxes = [box[1] if box else slice(0, 0) for box in ndimage.find_objects(pieces, count)]
    spans = np.array([box.stop - box.start for box in boxes], dtype=int).reshape(-1)
    across = spans >= _RULING_SPAN * length
    if np.count_nonzero(across) < 2:
        return np.zeros(thin.shape, bool)
    off_the_edge = np.array([box.start == 0 or box.stop == length for box in boxes]) & (spans >= length // 4)
    rulings = np.isin(pieces, np.flatnonzero(across | off_the_edge) + 1)
    return ndimage.binary_dilation(rulings, np.ones((3, 3), bool))


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
        coefficients = np.linalg.lstsq(terms[background], values[background], rcond=None)[0]
        residual = values - terms @ coefficients
        spread = 1.4826 * median(np.abs(residual[background])) + 0.5
        background = residual < 2.5 * spread
        if np.count_nonzero(background) < 2 * terms.shape[1]:
            break
    y = (np.arange(height) + 0.5) / height * 2 - 1
    x = (np.arange(width) + 0.5) / width * 2 - 1
    c = coefficients
    return (
        c[0] + c[1] * x[None, :] + c[2] * y[:, None] + c[3] * (x * x)[None, :]
        + c[4] * y[:, None] * x[None, :] + c[5] * (y * y)[:, None]
    ).astype(np.float32)
