"""The surface a digit is written on: a page on a table, a page inside a dark border, a sticky note on a
desk, the canvas of a drawing app. It is a large, smooth region of one colour, lighter than what
surrounds it (a darker one is the ink: a bold digit) and close to a rectangle, even turned (a bold
light digit on a dark ground is not). The picture is cropped to it and what lies outside it (the
table, the corners a tilt uncovers) is painted over with the surface's own edge, so the later stages
see only the page.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import border, median
from digits.preprocessing.filters import fill_holes, median_3x3
from digits.preprocessing.ink_side import TINY
from digits.preprocessing.shapes import rectangle_fit


@dataclass(frozen=True)
class SurfaceSettings:
    """What a surface is. The values were set when the stage was built for the scenes suite's pages on a
    table, notes and canvases (the choice is not recorded). What each still decides was measured (issue
    #27) on the 3,273 surface searches of the uploads scripts/record_readings.py and
    record_more_readings.py make, 195 of which find a surface: "(N)" is how many of them decide otherwise
    without it."""

    work_side: int = 128  # the surface is looked for at about this size
    contrast: float = 40.0  # it differs from its surroundings by this much (0-255, any channel) ...
    share: float = 0.12  # ... covers at least this share of the picture (2) ...
    solidity: float = 0.75  # ... is of one colour over this share of its area, the rest being what is written
    # on it (0; but without it a bold light 0 on a dark ground, squarish, is taken for a page and cut into) ...
    roughness: float = 12.0  # ... is smooth: its colour changes by at most this much from pixel to pixel on
    # average (5) ...
    fill: float = 0.85  # ... fills this share of its tightest turned rectangle (117: a page is a
    # quadrilateral, even turned or seen at a slant; a bold digit, a blob or a ring is not) ...
    aspect: float = 0.4  # ... that rectangle's short side at least this share of its long side, not a bar (8) ...
    sides: float = 0.3  # ... and spans at least this share of the picture's width and of its height (8)
    hue_spread: float = 0.15  # colours whose channels' ratios spread by more than this are of another hue
    # (the second look, in the picture as lit: 1 of its 746 searches at 0.1 or 0.2, 20 at 0)
    edge_step: float = 16.0  # a change of colour this sharp (0-255 from one pixel to the next, any channel) is
    # an edge (without the cut along edges, 15 surfaces are lost; at 12 or 40, 10 or 11 change)
    edge_margin: float = 0.03  # the surface's own edge (shadow, blur) is left out: this share of its size


SETTINGS = SurfaceSettings()


@dataclass(frozen=True, eq=False)
class Cut:
    pixels: np.ndarray  # float32 (h, w, C): the picture cut to the surface, painted outside it
    top: int  # where the cut lies in the picture
    left: int


def find_surface(pixels: np.ndarray, of_another_colour: bool = False,
                 settings: SurfaceSettings = SETTINGS) -> np.ndarray:
    """float32 (H, W, C): the picture cropped to the page, note or canvas the digit is on, if it lies on one."""
    cut = cut_surface(pixels, of_another_colour, settings)
    return pixels if cut is None else cut.pixels


def cut_surface(pixels: np.ndarray, of_another_colour: bool = False,
                settings: SurfaceSettings = SETTINGS) -> Cut | None:
    """The picture cut to the page, note or canvas the writing is on, and where the cut lies; None where
    it lies on none.

    `of_another_colour`: only a surface whose colour is not its surroundings' in other light (a shadow
    darkens every channel alike; a note on a desk differs in hue).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < TINY:  # one digit's crop, not a page
        return None
    step = math.ceil(max(height, width) / settings.work_side)
    small = median_3x3(pixels[::step, ::step])
    surroundings = median(border(small))
    labels, count = ndimage.label(_largest_channel(np.abs(small - surroundings)) > settings.contrast)
    if count == 0:
        return None
    region = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    surface = _as_surface(small, region, surroundings, of_another_colour, settings)
    if surface is None:  # the page may touch something else that differs from the table: a laptop, a book
        region = _cut_at_edges(small, region, settings.edge_step)
        surface = _as_surface(small, region, surroundings, of_another_colour, settings)
    if surface is None:
        return None
    rows, cols = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    margin = step + round(settings.edge_margin * min(rows[-1] - rows[0], cols[-1] - cols[0]) * step)
    mask = _eroded_at_full_size(surface, step, (height, width), margin)
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    pixels, mask = pixels[crop], mask[crop]
    if mask.all():  # a surface square to the picture fills its box: nothing outside it to paint over
        return Cut(pixels.copy(), int(rows[0]), int(cols[0]))
    return Cut(_painted_outside(pixels, mask), int(rows[0]), int(cols[0]))  # outside: the surface edge's nearest pixel


def _painted_outside(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pixels outside the mask painted with the nearest pixel inside it, exactly as
    `pixels[ndimage.distance_transform_edt(~mask, return_indices=True)]` paints them. SciPy's transform
    (Maurer's: nearest along each column, then along each row) picks, of the nearest pixels, the one in
    the leftmost column, then the topmost: here the first pixel inside the mask met in `_NEAREST_FIRST`'s
    order. Most surfaces leave a few dozen pixels outside (corners): looked at in a disc round each
    instead of transforming the whole picture. More (a turned page's corners), or any further off than
    the disc: SciPy's transform."""
    outside_rows, outside_cols = np.nonzero(~mask)
    height, width = mask.shape
    if len(outside_rows) * len(_NEAREST_FIRST) <= mask.size:  # fewer looks than the transform's pixels
        rows = outside_rows[:, None] + _NEAREST_FIRST[:, 0]
        cols = outside_cols[:, None] + _NEAREST_FIRST[:, 1]
        within = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        inside = within & mask[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)]
        first = inside.argmax(axis=1)
        found = inside[np.arange(len(first)), first]
        if found.all():
            painted = pixels.copy()
            painted[outside_rows, outside_cols] = pixels[rows[np.arange(len(first)), first],
                                                         cols[np.arange(len(first)), first]]
            return painted
    nearest = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
    return pixels[nearest[0], nearest[1]]


def _nearest_first(radius: int) -> np.ndarray:
    """(N, 2) (row, column) offsets within `radius` of a pixel, nearest first, then leftmost, then topmost."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    near = dy * dy + dx * dx <= radius * radius
    dy, dx = dy[near], dx[near]
    order = np.lexsort((dy, dx, dy * dy + dx * dx))
    return np.stack([dy[order], dx[order]], axis=1)


_NEAREST_FIRST = _nearest_first(8)  # the disc looked in (201 offsets): from the few pixels that a surface
# square to the picture leaves outside (its corners), the surface lies within it


def _eroded_at_full_size(surface: np.ndarray, step: int, shape: tuple[int, int], margin: int) -> np.ndarray:
    """= filters.binary_erode_square(the surface enlarged `step` times to `shape`, margin): the square's minimum
    along the rows taken before the rows are repeated (each repeated row would give the same), then
    along the columns."""
    height, width = shape
    side = 2 * margin + 1
    wide = np.repeat(surface.view(np.uint8), step, axis=1)[:, :width]
    wide = ndimage.minimum_filter1d(wide, side, axis=1, mode="constant", cval=0)
    tall = np.repeat(wide, step, axis=0)[:height]
    return ndimage.minimum_filter1d(tall, side, axis=0, mode="constant", cval=0).view(bool)


def _as_surface(small: np.ndarray, region: np.ndarray, surroundings: np.ndarray,
                of_another_colour: bool, settings: SurfaceSettings) -> np.ndarray | None:
    """The region with its holes (what is written on it) filled, if it is a page, a note or a canvas."""
    surface = fill_holes(region)
    rows, cols = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    area = np.count_nonzero(surface)
    if not area or area < settings.share * region.size or np.count_nonzero(region) < settings.solidity * area:
        return None
    colour = median(small[region])
    if (colour.mean() < surroundings.mean()  # darker than round it: the ink
            or (of_another_colour and not _differs_in_hue(colour, surroundings, settings.hue_spread))
            or rows[-1] - rows[0] < settings.sides * region.shape[0]
            or cols[-1] - cols[0] < settings.sides * region.shape[1]):
        return None  # (the cheap tests first: the rectangle's fit is the costly one)
    rectangle_fill, rectangle_aspect = rectangle_fit(surface)
    if (rectangle_fill < settings.fill or rectangle_aspect < settings.aspect
            or _roughness(small, region) > settings.roughness):
        return None
    return surface


def _cut_at_edges(small: np.ndarray, region: np.ndarray, edge_step: float) -> np.ndarray:
    """The largest part of the region left when it is cut along its sharp changes of colour: a page
    lying against the edge of a laptop or a book, lighter than the table too, is one region with it;
    between them runs an edge that no page has inside it (a shadow's edge is soft, writing is small)."""
    step_down = _largest_channel(np.abs(np.diff(small, axis=0))) > edge_step
    step_across = _largest_channel(np.abs(np.diff(small, axis=1))) > edge_step
    edges = np.zeros(region.shape, bool)
    edges[1:] |= step_down
    edges[:-1] |= step_down
    edges[:, 1:] |= step_across
    edges[:, :-1] |= step_across
    labels, count = ndimage.label(region & ~edges)
    if count < 2:
        return region
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return ndimage.binary_dilation(largest, mask=region)  # its own edge pixels back


def _differs_in_hue(colour: np.ndarray, surroundings: np.ndarray, spread: float) -> bool:
    """Whether two colours differ by more than a change of light: their channels' ratios spread apart."""
    if colour.size < 3:
        return False
    ratios = (colour + 1.0) / (surroundings + 1.0)
    return float(ratios.max() / ratios.min()) > 1 + spread


def _roughness(small: np.ndarray, region: np.ndarray) -> float:
    """How much the colour changes from one pixel to the next inside the region (0-255, any channel):
    small on a page, even under a shadow's slow change; large on grained wood or a textured cloth."""
    step_down = _largest_channel(np.abs(np.diff(small, axis=0)))[region[1:] & region[:-1]]
    step_across = _largest_channel(np.abs(np.diff(small, axis=1)))[region[:, 1:] & region[:, :-1]]
    return float(np.concatenate([step_down, step_across]).mean())


def _largest_channel(values: np.ndarray) -> np.ndarray:
    """= values.max(axis=-1): one whole-array maximum per channel, as NumPy reduces a short last axis
    (a picture's 3 channels) one pixel at a time, several times slower."""
    largest = values[..., 0]
    for channel in range(1, values.shape[-1]):
        largest = np.maximum(largest, values[..., channel])
    return largest
