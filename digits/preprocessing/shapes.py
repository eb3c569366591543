"""Shape measures the stages share: how convex a region is and how well a turned rectangle fits it."""

import numpy as np
from scipy.spatial import ConvexHull, QhullError


def _pixel_corners(region: np.ndarray) -> np.ndarray:
    """(N, 2): the corners of the region's pixels, so that a hull encloses the pixels whole. Only each
    row's first and last pixel: those between lie inside their hull, which is then the same, found faster."""
    rows, cols = np.nonzero(region)
    new_row = rows[1:] != rows[:-1]  # between a row's last pixel and the next row's first
    ends = np.ones(len(rows), bool)
    ends[1:-1] = new_row[:-1] | new_row[1:]
    rows, cols = rows[ends], cols[ends]
    return np.concatenate([np.stack([rows + dy, cols + dx], axis=1) for dy in (0, 1) for dx in (0, 1)])


def solidity(own: np.ndarray) -> float:
    """The share of its convex hull that a mark fills."""
    try:
        hull = ConvexHull(_pixel_corners(own))
    except QhullError:  # a straight line of pixels
        return 1.0
    return float(np.count_nonzero(own) / hull.volume)


def solidity_and_rectangle_fit(region: np.ndarray) -> tuple[float, float, float]:
    """(solidity(region), *rectangle_fit(region)) from one convex hull."""
    corners = _pixel_corners(region)
    try:
        hull = ConvexHull(corners)
    except QhullError:  # a straight line of pixels: as the two apart
        return (1.0, *rectangle_fit(region))
    return (float(np.count_nonzero(region) / hull.volume), *_rectangle_fit(region, corners[hull.vertices]))


def rectangle_fit(region: np.ndarray) -> tuple[float, float]:
    """How much of its smallest enclosing rectangle (at any angle) a region fills, and that rectangle's
    short side over its long side. The rectangle lies along one edge of the region's convex hull."""
    corners = _pixel_corners(region)
    return _rectangle_fit(region, corners[ConvexHull(corners).vertices])


def _rectangle_fit(region: np.ndarray, hull: np.ndarray) -> tuple[float, float]:
    hull = hull.astype(np.float64)
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 0], edges[:, 1]), np.pi / 2))
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    along, across = hull[:, 1] * cos + hull[:, 0] * sin, hull[:, 0] * cos - hull[:, 1] * sin
    sides = np.stack([np.ptp(along, axis=1), np.ptp(across, axis=1)], axis=1)
    best = int(np.argmin(sides.prod(axis=1)))
    return float(np.count_nonzero(region) / sides[best].prod()), float(sides[best].min() / sides[best].max())
