"""Which side of a picture's light/dark split is the ink, where the share of each cannot tell: the
picture's own layout decides. Two layouts, both with a border that is mostly ink:

- a 1 cropped to its ink, tall and narrow: the ink is the side that is a stroke (`stroke_side`);
- a bold digit stretched to fill a tiny 1-bit box (`box_filling_side`), where the ink can outweigh the
  paper: the ink is one piece across the picture, the paper the corners and notches it leaves.
"""

import numpy as np
from scipy import ndimage

from digits.preprocessing.shapes import solidity

_NARROW = 0.4  # a picture narrower than this share of its height is narrow
TINY = 64  # a picture this small (px) is one digit's crop, not a page: it may be a digit stretched to fill
# its box (here), and holds no ruled lines (rulings.py)
_CONVEX = 0.5  # the corners and notches a box-filling stroke leaves fill this share of their convex hull


def stroke_side(light: np.ndarray) -> bool | None:
    """In a tall, narrow picture (a 1 cropped to its ink), which side of the light/dark split is the ink.

    The ink is a stroke: it runs from the top to the bottom in one piece and crosses each row once,
    the paper being left in slivers beside it. True: the light side; None: the picture is not tall and
    narrow (a wide crop is a row of digits), or neither side looks like that (noise, say).
    """
    if light.shape[1] > _NARROW * light.shape[0] or light.all() or not light.any():
        return None  # a wide crop, or no split at all: no stroke with paper beside it
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


def box_filling_side(light: np.ndarray) -> bool | None:
    """In a tiny picture of a digit stretched to fill its box (some digit databases store their scans that
    way), a bold stroke can cover more of it than the paper does. The ink is then one piece running into
    three edges or all four, and the paper only the corners, notches and strips the stroke leaves (and
    its holes). True: the light side is that ink; None: the picture is not like that (where the ink is
    the smaller share, the other rules hold)."""
    for ink_is_light in (True, False):
        ink = light if ink_is_light else ~light
        if ink.mean() > 0.5 and _one_piece_across(ink) and _corners_and_notches(~ink):
            return ink_is_light
    return None


_EDGES = 4
_TOP, _RIGHT, _BOTTOM, _LEFT = range(_EDGES)
_CORNERS = {frozenset({_TOP, _RIGHT}): (0, -1), frozenset({_RIGHT, _BOTTOM}): (-1, -1),
            frozenset({_BOTTOM, _LEFT}): (-1, 0), frozenset({_LEFT, _TOP}): (0, 0)}  # (row, column) of each corner


def _edge_lines(piece: np.ndarray) -> tuple[np.ndarray, ...]:
    """The piece's pixels along the top, right, bottom and left edge, in that order."""
    return piece[0], piece[:, -1], piece[-1], piece[:, 0]


def _edges_touched(piece: np.ndarray) -> set[int]:
    """The edges (_TOP, _RIGHT, _BOTTOM, _LEFT) the piece runs into."""
    return {edge for edge, line in enumerate(_edge_lines(piece)) if line.any()}


def _one_piece_across(side: np.ndarray) -> bool:
    """One piece, side by side rather than corner to corner (a bold stroke, not a thin one's gaps), that runs
    into three edges or all four."""
    labels, count = ndimage.label(side)
    return count == 1 and len(_edges_touched(labels == 1)) >= 3


def _corners_and_notches(side: np.ndarray) -> bool:
    """Whether every piece of `side` at the picture's edge is what a bold stroke filling its box leaves of
    the paper, not a stroke of its own: nearly convex, and a corner (it holds a corner of the picture and
    runs into the two edges that meet there), a notch (it runs into one edge, along it at least as far as
    it goes in) or a strip (along one edge from corner to corner, less than half the picture deep).
    Pieces away from the edge are the stroke's holes."""
    labels, count = ndimage.label(side, structure=np.ones((3, 3), bool))
    at_the_edge = 0
    for piece in (labels == label for label in range(1, count + 1)):
        touched = _edges_touched(piece)
        if not touched:
            continue  # a hole in the stroke (an 8's loops)
        at_the_edge += 1
        depth_across_rows = np.count_nonzero(piece.any(axis=1))  # how far it goes in from the top or bottom
        depth_across_columns = np.count_nonzero(piece.any(axis=0))  # ... from the left or right
        if len(touched) == 1:
            edge = next(iter(touched))
            contact = np.count_nonzero(_edge_lines(piece)[edge])
            shaped = contact >= (depth_across_rows if edge in (_TOP, _BOTTOM) else depth_across_columns)
        elif len(touched) == 2:
            corner = _CORNERS.get(frozenset(touched))
            shaped = corner is not None and bool(piece[corner])
        elif len(touched) == 3:
            along = next(edge for edge in touched if {(edge - 1) % _EDGES, (edge + 1) % _EDGES} <= touched)
            ends = [corner for edges, corner in _CORNERS.items() if along in edges]
            depth, side_length = ((depth_across_rows, piece.shape[0]) if along in (_TOP, _BOTTOM)
                                  else (depth_across_columns, piece.shape[1]))
            shaped = all(piece[end] for end in ends) and depth <= side_length // 2
        else:
            shaped = False
        if not shaped or solidity(piece) < _CONVEX:
            return False
    return at_the_edge > 0
