"""What a layout or a form puts round a digit, found among the ink's marks so that it can be set aside:
printed boxes and frames, the thin straight lines of a layout or a form, areas of another shade (the
panels and bars of a user interface), boxes with ruler-straight outlines, blocks along an edge (the
edge of a laptop or a book), lines right across the picture (a fold, a crease), solid shapes lying
along the picture's edge (the table beyond a page that crosses the frame, a corner a tilt uncovers).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import median, zero_padded
from digits.preprocessing.filters import fill_holes
from digits.preprocessing.shapes import solidity
from digits.preprocessing.normalise import stroke_width

ENCLOSING = 0.75  # an outline round a digit (a printed frame's lines, a hand's loop) goes this share of the way round
_FRAME_MIN_SIDE = 0.2  # frames and boxes are at least this share of the picture's shorter side ...
_FRAME_THINNESS = 0.05  # ... and their lines at most this share of the frame's shorter side
_MIN_LAYOUT_SIDE = 128  # smaller pictures are too small to hold a layout or a form
_LAYOUT_LINE = 0.15  # a line of a layout runs straight along a row or a column for this share of the picture ...
_LINE_WIDTH = 5  # ... and is at most this many pixels wide
_TINTED_SHARE = 0.02  # a mark this large (share of the picture) ...
WRITING_CLEAR = 0.2  # writing is clear ink in at least this share of its pixels; a mark with less is an area of
# another shade (a panel), a soft patch or a smudge (locate: in photos, a knot in wood)
_BOX_SIDE = 0.7  # ... and for this share of each of three or four sides of its own box
_LINE_THINNESS = 0.02  # a mark from edge to edge this thin for its length is a line, not a stroke
_BLOCK_FILL = 0.85  # a mark filling this share of its box ...
_BLOCK_CONTACT = 0.8  # ... along this share of a side of the picture is a block: a surface, not ink
_HOLLOW = 0.5  # a mark along two sides of the picture filling less than this share of its box surrounds it


def frames(strong: np.ndarray, shorter_side: int) -> np.ndarray:
    """The straight lines of printed boxes and frames: marks of clear ink whose lines run along three or
    four sides of their own box. Returns those lines' pixels (a band along each covered side)."""
    labels, count = ndimage.label(strong, structure=np.ones((3, 3), bool), output=np.intp)
    lines = np.zeros(labels.shape, bool)
    top, bottom, left, right = _boxes(labels, count)  # all at once: a pattern makes tens of thousands of marks
    large = np.flatnonzero(np.minimum(bottom - top, right - left) >= _FRAME_MIN_SIDE * shorter_side)
    for mark in large[large > 0]:
        box = np.s_[top[mark] : bottom[mark], left[mark] : right[mark]]
        own = labels[box] == mark
        line = stroke_width(own)
        if line > _FRAME_THINNESS * min(own.shape):
            continue
        band = math.ceil(1.5 * line) + 1
        sides = [own[:band], own[-band:], own[:, :band].T, own[:, -band:].T]
        covered = [side.any(axis=0).mean() >= ENCLOSING for side in sides]
        if sum(covered) < 3:
            continue
        in_band = np.zeros(own.shape, bool)
        for side, is_covered in zip((np.s_[:band], np.s_[-band:], np.s_[:, :band], np.s_[:, -band:]), covered):
            if is_covered:
                in_band[side] = True
        lines[box] |= own & in_band
    return lines


@dataclass(frozen=True, eq=False)
class LayoutLines:
    pixels: np.ndarray  # (H, W) bool: the lines
    closing: np.ndarray  # (H, W) bool: those of them that close round paper with other ink (`_closing_round_paper`):
    # perhaps the flat arcs of a hand's loop round the writing (marks.py looks for the loop)


def layout_lines(mask: np.ndarray, shorter_side: int) -> LayoutLines:
    """Thin lines exactly along the rows or the columns, longer than a digit's strokes are straight:
    the separators, frames and rulings of a user interface or a printed form. A stroke that crosses
    such a line keeps its ink there (the line is thin; the stroke is not, along the line's width),
    and a line that is a stroke of a digit drawn with a fine pen (a 7's bar) is kept: it joins a mark
    of strokes as thin as itself."""
    lines = np.zeros(mask.shape, bool)
    if shorter_side < _MIN_LAYOUT_SIDE:
        return LayoutLines(lines, lines)
    straight = np.zeros(mask.shape, bool)  # the lines whole, where strokes cross them too
    length = round(_LAYOUT_LINE * shorter_side) | 1
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return LayoutLines(lines, lines)
    # Looked for in the mask's box and as far round it as any window below reaches and more: beyond
    # that, every window sees only background, as it does past the edge of that margin.
    margin = length + _LINE_WIDTH + 1
    near = np.s_[max(rows[0] - margin, 0) : rows[-1] + margin + 1, max(cols[0] - margin, 0) : cols[-1] + margin + 1]
    for along in (0, 1):
        full = _all_along(mask[near], length, along)
        if not full.any():  # no run that long along this axis: no line along it
            continue
        run = ndimage.maximum_filter1d(full, length, axis=along)
        straight[near] |= run
        deep = _all_along(mask[near], _LINE_WIDTH + 1, 1 - along)
        lines[near] |= run & ~ndimage.maximum_filter1d(deep, _LINE_WIDTH + 1, axis=1 - along)
    if not lines.any():
        return LayoutLines(lines, lines)
    # What follows looks only inside the box of the mask and the lines: the same marks, numbered alike.
    rows, cols = np.flatnonzero((mask | lines).any(axis=1)), np.flatnonzero((mask | lines).any(axis=0))
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    lines[box] &= ~_strokes_among(mask[box], lines[box], length)
    closing = np.zeros(mask.shape, bool)
    closing[box] = _closing_round_paper(mask[box], lines[box], straight[box])
    return LayoutLines(lines, closing)


def _strokes_among(mask: np.ndarray, lines: np.ndarray, length: int) -> np.ndarray:
    """The pixels of `lines` that are a digit's own strokes (`layout_lines`)."""
    rest, rest_count = ndimage.label(mask & ~lines, structure=np.ones((3, 3), bool), output=np.intp)
    pieces, count = ndimage.label(lines, structure=np.ones((3, 3), bool), output=np.intp)
    # All at once rather than piece by piece (a grid or a pattern makes thousands of pieces): a piece is
    # one of the digit's own strokes when a long mark beside it is about as thin as the piece itself.
    long_widths = np.where(_extents(rest, rest_count) >= length, stroke_widths(rest, rest_count), np.inf)
    long_widths[0] = np.inf
    # Per piece, the thinnest long mark among the pixels next to it (its 3x3 neighbours): the thinnest
    # within reach of each pixel, one minimum filter, then the least of those over each piece's pixels.
    reach = ndimage.minimum_filter(long_widths[rest], size=3, mode="constant", cval=np.inf)
    thinnest_beside = np.full(count + 1, np.inf)
    on_piece = pieces > 0
    np.minimum.at(thinnest_beside, pieces[on_piece], reach[on_piece])
    strokes = thinnest_beside <= 2 * stroke_widths(pieces, count) + 1
    strokes[0] = False
    return strokes[pieces]


def _closing_round_paper(mask: np.ndarray, lines: np.ndarray, straight: np.ndarray) -> np.ndarray:
    """The pixels of `lines` that close round paper with the other ink, paper wider than a line that
    neither they alone nor the other ink alone close round, along most of their length (most of their
    pixels, `straight`: the lines whole, crossings included, within a line's width of it): the flat
    arcs of a hand's loop (a loop round a number is long, and its top and bottom run straight along a
    row for a long way), or two rulings with the digits between them. A form's lines mostly run on
    past the ink that crosses them, and a grid's lines close round paper of their own."""
    closed = _paper_closed_round(mask)
    if not closed.any():  # (most photos: what follows would find nothing, at a few tenths of a millisecond)
        return np.zeros(mask.shape, bool)
    closed &= ~_paper_closed_round(mask & ~lines) & ~_paper_closed_round(lines)
    if not closed.any():
        return np.zeros(mask.shape, bool)
    areas, area_count = ndimage.label(closed, output=np.intp)
    widest = ndimage.maximum(ndimage.distance_transform_edt(closed), areas, np.arange(area_count + 1))
    closed &= (np.asarray(widest) > _LINE_WIDTH / 2)[areas]  # paper wider than a line: a line's pinholes left out
    if not closed.any():
        return np.zeros(mask.shape, bool)
    pieces, count = ndimage.label(straight, structure=np.ones((3, 3), bool), output=np.intp)
    near = ndimage.maximum_filter(closed, size=2 * _LINE_WIDTH + 1)
    along = np.bincount(pieces[near], minlength=count + 1) > 0.5 * np.bincount(pieces.ravel(), minlength=count + 1)
    along[0] = False
    return along[pieces] & lines


def _paper_closed_round(mask: np.ndarray) -> np.ndarray:
    """The paper that `mask`'s ink closes round (its holes)."""
    return fill_holes(mask) & ~mask


def _all_along(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Where the window of `length` pixels along `axis` centred on each pixel is all set (its minimum:
    the same pixels as its mean's being 1, and faster)."""
    return ndimage.minimum_filter1d(mask.astype(np.uint8, copy=False), length, axis=axis).view(bool)


def stroke_widths(labels: np.ndarray, count: int) -> np.ndarray:
    """`stroke_width` of every labelled mark at once: (count + 1,), the background's first."""
    area = np.bincount(labels.ravel(), minlength=count + 1)
    outline = np.zeros(count + 1)
    for one, next_one in ((labels[1:], labels[:-1]), (labels[:, 1:], labels[:, :-1])):
        differ = one != next_one
        outline += np.bincount(one[differ], minlength=count + 1) + np.bincount(next_one[differ], minlength=count + 1)
    # the picture's edge: the outline of what touches it, and the background's, as if padded with it
    edges = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    edges = edges[edges > 0]
    outline += np.bincount(edges, minlength=count + 1)
    outline[0] += len(edges)
    return 2.0 * area / np.maximum(outline, 1)


def _extents(labels: np.ndarray, count: int) -> np.ndarray:
    """The longer side of every labelled mark's box: (count + 1,), the background's 0."""
    top, bottom, left, right = _boxes(labels, count)
    extents = np.maximum(bottom - top, right - left)
    extents[0] = 0
    return extents


def _boxes(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every labelled mark's box (top, bottom, left, right; bottom and right exclusive), (count + 1,) each;
    a label with no pixels (and the background) gets an empty box. Like ndimage.find_objects, without a
    Python object per mark."""
    inked = labels > 0
    own = labels[inked]
    coordinates = np.nonzero(inked)
    sides = []
    for axis in (0, 1):
        coordinate = coordinates[axis]
        low, high = np.full(count + 1, labels.shape[axis]), np.zeros(count + 1, np.intp)
        np.minimum.at(low, own, coordinate)
        np.maximum.at(high, own, coordinate + 1)
        low[0], high[0] = labels.shape[axis], 0
        sides += [low, np.maximum(high, low)]
    return sides[0], sides[1], sides[2], sides[3]


def tinted_areas(labels: np.ndarray, count: int, ink: np.ndarray, strong: np.ndarray, margin: float) -> np.ndarray:
    """Large marks made mostly of weak ink: areas of a slightly different shade (the panels and bars of
    a user interface, a shaded part of a page), perhaps with marks on them. Returns the pixels of
    those areas at about their own level, so that what stands above it is looked at alone."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    clear = np.bincount(labels[strong], minlength=count + 1)
    areas = np.flatnonzero((sizes >= _TINTED_SHARE * labels.size) & (clear < WRITING_CLEAR * sizes))
    tinted = np.zeros(labels.shape, bool)
    areas = areas[areas > 0]
    if not len(areas):
        return tinted
    boxes = ndimage.find_objects(labels, max_label=int(areas.max()))
    for area in areas:
        box = boxes[area - 1]
        own = labels[box] == area
        level = float(median(ink[box][own]))
        tinted[box] |= own & (ink[box] <= level + margin)
    return tinted


def set_aside_boxes(labels: np.ndarray, masses: np.ndarray, boxes: list | None = None) -> None:
    """Dropped: marks whose outline runs exactly straight for a long way along three or four sides of
    their own box: the panels, buttons and frames of a user interface. A hand draws no such outline,
    even with a mouse; a digit of straight strokes (a 1 with a flag and a base) has its straight
    edges inside its box, not round it."""
    kept = np.flatnonzero(masses)
    if not len(kept) or min(labels.shape) < _MIN_LAYOUT_SIDE:
        return
    length = round(_FRAME_MIN_SIDE * min(labels.shape))  # and their outline is straight for as long
    if boxes is None:  # each mark's box (`ink_marks` finds them once for all its steps)
        boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    for mark in kept:
        own = zero_padded(labels[boxes[mark - 1]] == mark, 1)
        if min(own.shape) < length:
            continue
        sides = 0  # of its box's top, bottom, left and right sides, how many its outline runs straight along
        for axis in (0, 1):
            for shift, side in ((1, np.s_[: _LINE_WIDTH + 2]), (-1, np.s_[-_LINE_WIDTH - 2 :])):
                edge = (own & ~np.roll(own, shift, axis=axis)).astype(np.float32)
                edge = edge[side] if axis == 0 else edge[:, side]
                run = max(length, round(_BOX_SIDE * own.shape[1 - axis])) | 1  # nearly the whole side
                sides += bool(_all_along(edge, run, 1 - axis).any())
        if sides >= 3:
            masses[mark] = 0


def set_aside_lines_and_blocks(labels: np.ndarray, masses: np.ndarray, boxes: list | None = None) -> None:
    """Dropped (masses set to 0), wherever they are: thin lines right across the picture (a fold, a
    crease, a separator, a ruler's edge), solid blocks along one side that do not reach the other
    (the edge of a laptop or a book, a bar of a user interface), and shapes lying along the edge
    (`_lies_along_an_edge`: the table beyond a page, a corner). Handwriting is none of these."""
    kept = np.flatnonzero(masses)
    if not len(kept):
        return
    height, width = labels.shape
    if boxes is None:  # each mark's box (`ink_marks` finds them once for all its steps)
        boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    for mark in kept:
        rows, cols = boxes[mark - 1]
        own = labels[rows, cols] == mark
        tall, wide = rows.stop - rows.start, cols.stop - cols.start
        across = (rows.start == 0 and rows.stop == height) or (cols.start == 0 and cols.stop == width)
        if across and stroke_width(own) <= _LINE_THINNESS * max(tall, wide):
            masses[mark] = 0
            continue
        contacts = (own[0].sum() / width if rows.start == 0 else 0, own[-1].sum() / width if rows.stop == height else 0,
                    own[:, 0].sum() / height if cols.start == 0 else 0, own[:, -1].sum() / height if cols.stop == width else 0)
        if (min(height, width) >= _MIN_LAYOUT_SIDE and own.mean() < _HOLLOW
                and sum(contact >= _BLOCK_CONTACT for contact in contacts) >= 2):
            masses[mark] = 0  # what surrounds the picture: the window's bars and panels, a frame
            continue
        if _lies_along_an_edge(own, (rows.start == 0, rows.stop == height, cols.start == 0, cols.stop == width)):
            masses[mark] = 0
            continue
        if own.mean() < _BLOCK_FILL:
            continue
        sides = ((rows.start == 0, own[0].sum() / width, rows.stop == height),
                 (rows.stop == height, own[-1].sum() / width, rows.start == 0),
                 (cols.start == 0, own[:, 0].sum() / height, cols.stop == width),
                 (cols.stop == width, own[:, -1].sum() / height, cols.start == 0))
        if any(touches and contact >= _BLOCK_CONTACT and not opposite for touches, contact, opposite in sides):
            masses[mark] = 0


def _lies_along_an_edge(own: np.ndarray, touches: tuple[bool, bool, bool, bool]) -> bool:
    """Whether a mark (its box's pixels) lies along the picture's edge, its contact there nearly as long
    as the mark itself and away from the opposite side: a solid shape along one side (what lies beyond
    a page's edge: the table), or any shape along two sides that meet (a corner a tilt uncovers). A
    stroke meets the edge only across its width; a digit cropped tight reaches the opposite side too;
    a solid shape is nearly its own convex hull."""
    top, bottom, left, right = touches
    along = [alone and line.mean() >= _BLOCK_CONTACT for alone, line in
             ((top and not bottom, own[0]), (bottom and not top, own[-1]), (left and not right, own[:, 0]),
              (right and not left, own[:, -1]))]
    if (along[0] or along[1]) and (along[2] or along[3]):
        return True  # along two sides that meet: a corner of the picture, filled (a table's corner, a tilt's)
    return any(along) and solidity(own) >= _BLOCK_FILL

