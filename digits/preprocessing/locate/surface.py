"""The surface a digit is written on: a page on a table, a page inside a dark border, a sticky note on a
desk, the canvas of a drawing app. It is a large, smooth region of one colour, lighter than what
surrounds it (a darker one is the ink: a bold digit) and close to a rectangle, even turned (a bold
light digit on a dark ground is not). The picture is cropped to it and what lies outside it (the
table, the corners a tilt uncovers) is painted over with the surface's own edge, so the later stages
see only the page.
"""

import math

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import border, median
from digits.preprocessing.filters import binary_erode_square, median_3x3
from digits.preprocessing.ink_side import TINY
from digits.preprocessing.shapes import rectangle_fit

_SURFACE_WORK_SIDE = 128  # the surface is looked for at about this size
_SURFACE_CONTRAST = 40.0  # a surface differs from its surroundings by this much (0-255, any channel) ...
_SURFACE_SHARE = 0.12  # ... covers at least this share of the picture ...
_SURFACE_SOLIDITY = 0.75  # ... is of one colour over this share of its area (the rest: what is written on it) ...
_SURFACE_ROUGHNESS = 12.0  # ... is smooth: its colour changes by at most this much from pixel to pixel on average ...
_HUE_SPREAD = 0.15  # colours whose channels' ratios spread by more than this are of another hue
_SURFACE_FILL = 0.85  # ... fills this share of its tightest turned rectangle (a page is a quadrilateral,
# even turned or seen at a slant; a bold digit, a blob or a ring is not) ...
_SURFACE_ASPECT = 0.4  # ... that rectangle's short side at least this share of its long side (not a bar) ...
_SURFACE_SIDES = 0.3  # ... and spans at least this share of the picture's width and of its height
_EDGE_STEP = 16.0  # a change of colour this sharp (0-255 from one pixel to the next, any channel) is an edge
_SURFACE_EDGE_MARGIN = 0.03  # the surface's own edge (shadow, blur) is left out: this share of its size


def find_surface(pixels: np.ndarray, of_another_colour: bool = False) -> np.ndarray:
    """float32 (H, W, C): the picture cropped to the page, note or canvas the digit is on, if it lies on one.

    `of_another_colour`: only a surface whose colour is not its surroundings' in other light (a shadow
    darkens every channel alike; a note on a desk differs in hue).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < TINY:  # one digit's crop, not a page
        return pixels
    step = math.ceil(max(height, width) / _SURFACE_WORK_SIDE)
    small = median_3x3(pixels[::step, ::step])
    surroundings = median(border(small))
    labels, count = ndimage.label(_largest_channel(np.abs(small - surroundings)) > _SURFACE_CONTRAST)
    if count == 0:
        return pixels
    region = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    surface = _as_surface(small, region, surroundings, of_another_colour)
    if surface is None:  # the page may touch something else that differs from the table: a laptop, a book
        region = _cut_at_edges(small, region)
        surface = _as_surface(small, region, surroundings, of_another_colour)
    if surface is None:
        return pixels
    rows, cols = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    mask = np.repeat(np.repeat(surface, step, axis=0), step, axis=1)[:height, :width]
    margin = step + round(_SURFACE_EDGE_MARGIN * min(rows[-1] - rows[0], cols[-1] - cols[0]) * step)
    mask = binary_erode_square(mask, margin)
    if not mask.any():
        return pixels
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    pixels, mask = pixels[crop], mask[crop]
    if mask.all():  # a surface square to the picture fills its box: nothing outside it to paint over
        return pixels.copy()
    nearest = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
    return pixels[nearest[0], nearest[1]]  # outside the surface: the nearest pixel of the surface's edge


def _as_surface(small: np.ndarray, region: np.ndarray, surroundings: np.ndarray,
                of_another_colour: bool) -> np.ndarray | None:
    """The region with its holes (what is written on it) filled, if it is a page, a note or a canvas."""
    surface = ndimage.binary_fill_holes(region)
    rows, cols = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    area = np.count_nonzero(surface)
    if not area or area < _SURFACE_SHARE * region.size or np.count_nonzero(region) < _SURFACE_SOLIDITY * area:
        return None
    colour = median(small[region])
    if (colour.mean() < surroundings.mean()  # darker than round it: the ink
            or (of_another_colour and not _differs_in_hue(colour, surroundings))
            or rows[-1] - rows[0] < _SURFACE_SIDES * region.shape[0] or cols[-1] - cols[0] < _SURFACE_SIDES * region.shape[1]):
        return None  # (the cheap tests first: the rectangle's fit is the costly one)
    rectangle_fill, rectangle_aspect = rectangle_fit(surface)
    if (rectangle_fill < _SURFACE_FILL or rectangle_aspect < _SURFACE_ASPECT
            or _roughness(small, region) > _SURFACE_ROUGHNESS):
        return None
    return surface


def _cut_at_edges(small: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The largest part of the region left when it is cut along its sharp changes of colour: a page
    lying against the edge of a laptop or a book, lighter than the table too, is one region with it;
    between them runs an edge that no page has inside it (a shadow's edge is soft, writing is small)."""
    step_down = _largest_channel(np.abs(np.diff(small, axis=0))) > _EDGE_STEP
    step_across = _largest_channel(np.abs(np.diff(small, axis=1))) > _EDGE_STEP
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


def _differs_in_hue(colour: np.ndarray, surroundings: np.ndarray) -> bool:
    """Whether two colours differ by more than a change of light: their channels' ratios spread apart."""
    if colour.size < 3:
        return False
    ratios = (colour + 1.0) / (surroundings + 1.0)
    return float(ratios.max() / ratios.min()) > 1 + _HUE_SPREAD


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
