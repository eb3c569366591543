"""Ink to the digits of a whole number, left to right.

The marks are the connected pieces of ink. Marks that lie over one another (a 5's flag above its
body, a 4 drawn in two strokes, a stroke with a gap) are one digit. A mark wider than a digit may be
digits that touch, or one wide digit: it gets several readings, itself whole and cut into 2, 3, ...
digits, each cut at the column where the ink is thinnest near where a digit would end; the reader
keeps the reading the model is surest of. Specks are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.filters import fill_holes
from digits.preprocessing.ink import MIN_INK_LEVEL, clear_ink, is_blank, noise_level
from digits.preprocessing.locate.marks import (
    FAR_GAP,
    FLAT,
    MARK_FRACTION,
    SPECK_FRACTION,
    is_a_bar,
    joined_pieces,
    joining_reach,
)

_OVERLAP = 0.5  # marks one digit when they share this much of the narrower one's width
_PIECE = 0.6  # a mark less tall than this share of the line's height is a piece of its nearest neighbour
_WIDE = 1.1  # a mark wider than this many times the line's height may be touching digits ...
_NARROWEST_PITCH = 0.4  # ... at most one per this many heights of width
_MOST_TOUCHING = 4
_CUT_WINDOW = 0.25  # a cut may move this share of a digit's width to find the thinnest ink
MAX_MARKS = 64  # marks read, the most ink first: a long number with its stray strokes is a few dozen;
# thousands (dots, grain) are a texture, and grouping them pairwise would take seconds


class TooManyMarks(Exception):
    """More than MAX_MARKS marks: a pattern or a texture, not a number."""


@dataclass(frozen=True, eq=False)
class DigitSegment:
    """One digit's place in the ink: its box (bottom and right exclusive) and which pixels in it are its own."""

    top: int
    left: int
    bottom: int
    right: int
    mask: np.ndarray  # bool (bottom - top, right - left)

    def crop(self, ink: np.ndarray) -> np.ndarray:
        """float32 (h, w): this digit's ink cropped to its box, other digits' ink cleared."""
        box = ink[self.top : self.bottom, self.left : self.right]
        return np.where(self.mask, np.maximum(box, 0), 0).astype(np.float32)


@dataclass(frozen=True)
class Mark:
    """One mark or group of marks, and the ways to read it: whole, or cut into 2, 3, ... digits."""

    readings: tuple[tuple[DigitSegment, ...], ...]  # the first is the mark whole


def segment_digits(ink: np.ndarray, marks: tuple[np.ndarray, list[int]] | None = None) -> tuple[Mark, ...]:
    """The marks in a picture's ink signal (from `find_ink`) that may be digits, left to right.
    `marks`: `find_marks(ink)`, where the caller has it already. Raises TooManyMarks past MAX_MARKS."""
    labels, keep = find_marks(ink) if marks is None else marks
    groups = _grouped(ndimage.find_objects(labels), keep)
    if not groups:
        return ()
    line_height = float(np.median([rows.stop - rows.start for _, (rows, _) in groups]))
    groups = _pieces_joined(groups, _PIECE * line_height)
    marks = []
    for members, (rows, cols) in groups:
        mask = np.isin(labels[rows, cols], members)
        width = cols.stop - cols.start
        wide = width > _WIDE * line_height
        most = max(2, min(_MOST_TOUCHING, round(width / (_NARROWEST_PITCH * line_height)))) if wide else 1
        cuts = [_cuts(ink[rows, cols] * mask, count) for count in range(1, most + 1)]
        readings = [tuple(_segment(mask[:, start:stop], rows.start, cols.start + start) for start, stop in parts)
                    for parts in cuts]
        marks.append(Mark(tuple(reading for reading in readings if all(reading))))
    return tuple(sorted(marks, key=lambda mark: mark.readings[0][0].left))


def find_marks(ink: np.ndarray, noise: float | None = None, chalk: bool = False) -> tuple[np.ndarray, list[int]]:
    """Connected marks (numbered from 1) and the numbers of those worth keeping: clear ink, not specks.
    `noise`: the background's, where the caller measured it before clearing what is not writing. `chalk`
    (light ink in a photo, `locate.is_chalk`): pieces less than a stroke's width apart are one mark, as a
    single digit's are (`ink_pieces`): the board's grain breaks a line of chalk, and a half-wiped stretch
    of it is pieces with no clear ink of their own, dropped as faint until joined to the stroke.
    Raises TooManyMarks past MAX_MARKS."""
    noise = noise_level(ink) if noise is None else noise
    if is_blank(ink, noise):
        return np.zeros(ink.shape, np.intp), []
    strong = clear_ink(ink, noise)
    faint = ink > max(3 * noise, MIN_INK_LEVEL)
    labels, count = joined_pieces(faint, joining_reach(strong) if chalk else 0)
    masses = np.bincount(labels[faint], weights=ink[faint], minlength=count + 1)
    masses[np.bincount(labels[strong], minlength=count + 1) == 0] = 0
    masses[0] = 0
    keep = np.flatnonzero((masses > 0) & (masses >= SPECK_FRACTION * masses.max()))
    if len(keep) > MAX_MARKS:
        raise TooManyMarks(len(keep))
    return labels, _along_the_writing(labels, ndimage.find_objects(labels), masses, keep.tolist())


def _along_the_writing(labels: np.ndarray, boxes: list, masses: np.ndarray, keep: list[int]) -> list[int]:
    """The marks of the number: the heaviest that can be written (a digit, upright, or digits written
    together, touching or overlapping, which may be flat but are not a straight line: `is_a_bar`; and
    away from the picture's edges where one is: what runs into the edge is often the surface's own, a
    board's frame, a table), the large marks (MARK_FRACTION of its ink) within FAR_GAP of its height
    from a mark already taken, in turn, and the smaller marks within that reach of one taken. What lies
    further off is not written with the number (a margin line's pieces left by the rulings, a board's
    dust): the reach a single digit's marks are read together within (marks.py). (Were only an upright
    mark taken first, a number written as one flat mark would give way to an upright piece of the
    margin line beside it.)"""
    if not keep:
        return keep
    keep = [mark for mark in keep if not _lies_round(labels, boxes, masses, keep, mark)] or keep

    def written(mark: int) -> bool:
        box = boxes[mark - 1]
        return _height(box) >= FLAT * _width(box) or not is_a_bar(labels[box] == mark)

    upright = [mark for mark in keep if written(mark)] or keep
    inside = [mark for mark in upright if not _at_the_edge(boxes[mark - 1], labels.shape)] or upright
    heaviest = max(inside, key=lambda mark: masses[mark])
    reach = FAR_GAP * _height(boxes[heaviest - 1])
    large = {mark for mark in keep if masses[mark] >= MARK_FRACTION * masses[heaviest]}
    taken, frontier = {heaviest}, [heaviest]
    while frontier:
        mark = frontier.pop()
        near = [other for other in large - taken if _box_gap(boxes[mark - 1], boxes[other - 1]) <= reach]
        taken.update(near)
        frontier.extend(near)
    return [mark for mark in keep if mark in taken
            or any(_box_gap(boxes[mark - 1], boxes[other - 1]) <= reach for other in taken)]


def _lies_round(labels: np.ndarray, boxes: list, masses: np.ndarray, keep: list[int], mark: int) -> bool:
    """Whether a mark lies round the writing without closing round it: its box holds a large mark's
    (MARK_FRACTION of its ink) with more than FAR_GAP of that mark's height to spare on every side, that
    mark not in the paper it closes round. The edge of a page on a desk the surface stage did not cut
    out, its shadow along two sides (an L round the number, heavier than it): not written with the
    number. (A loop round the number closes round it; a digit's box holds its own pieces, a 3's top
    stroke, against one of its sides.)"""
    outer = boxes[mark - 1]
    held = [other for other in keep if other != mark and masses[other] >= MARK_FRACTION * masses[mark]
            and _holds(outer, boxes[other - 1], FAR_GAP * _height(boxes[other - 1]))]
    if not held:
        return False
    closed_round = fill_holes(labels[outer] == mark)
    return any(not closed_round[_centre(boxes[other - 1], outer)] for other in held)


def _holds(outer: tuple[slice, slice], inner: tuple[slice, slice], spare: float) -> bool:
    """Whether `inner` lies in `outer` with more than `spare` pixels of it to spare on every side."""
    sides = (inner[0].start - outer[0].start, outer[0].stop - inner[0].stop,
             inner[1].start - outer[1].start, outer[1].stop - inner[1].stop)
    return min(sides) > spare


def _centre(box: tuple[slice, slice], within: tuple[slice, slice]) -> tuple[int, int]:
    """A box's centre, in the pixels of the box `within` that holds it."""
    return ((box[0].start + box[0].stop) // 2 - within[0].start, (box[1].start + box[1].stop) // 2 - within[1].start)


def _height(box: tuple[slice, slice]) -> int:
    return box[0].stop - box[0].start


def _width(box: tuple[slice, slice]) -> int:
    return box[1].stop - box[1].start


def _at_the_edge(box: tuple[slice, slice], shape: tuple[int, int]) -> bool:
    return box[0].start == 0 or box[1].start == 0 or box[0].stop == shape[0] or box[1].stop == shape[1]


def _box_gap(a: tuple[slice, slice], b: tuple[slice, slice]) -> int:
    """Pixels between two boxes, along the rows or the columns, whichever is more (0 where they overlap)."""
    return max(0, b[0].start - a[0].stop, a[0].start - b[0].stop, b[1].start - a[1].stop, a[1].start - b[1].stop)


def _grouped(boxes: list[tuple[slice, slice]], keep: list[int]) -> list[tuple[list[int], tuple[slice, slice]]]:
    """Marks that lie over one another, as (their numbers, the box around them all), left to right."""
    groups: list[tuple[list[int], tuple[slice, slice]]] = []
    for mark in sorted(keep, key=lambda m: boxes[m - 1][1].start):
        box = boxes[mark - 1]
        for index, (members, group_box) in enumerate(groups):
            if _shared_width(box, group_box) >= _OVERLAP:
                groups[index] = (members + [mark], _union(box, group_box))
                break
        else:
            groups.append(([mark], box))
    return groups


def _pieces_joined(groups: list, shortest: float) -> list:
    """Marks too short to be a digit (a stroke written apart) joined to their nearest neighbour."""
    groups = list(groups)
    while len(groups) > 1:
        short = [i for i, (_, (rows, _)) in enumerate(groups) if rows.stop - rows.start < shortest]
        if not short:
            break
        piece = short[0]
        neighbours = [i for i in (piece - 1, piece + 1) if 0 <= i < len(groups)]
        nearest = min(neighbours, key=lambda i: _gap(groups[i][1], groups[piece][1]))
        members, box = groups[piece]
        groups[nearest] = (groups[nearest][0] + members, _union(groups[nearest][1], box))
        del groups[piece]
    return groups


def _gap(a: tuple[slice, slice], b: tuple[slice, slice]) -> int:
    return max(a[1].start - b[1].stop, b[1].start - a[1].stop, 0)


def _shared_width(a: tuple[slice, slice], b: tuple[slice, slice]) -> float:
    shared = min(a[1].stop, b[1].stop) - max(a[1].start, b[1].start)
    return shared / min(a[1].stop - a[1].start, b[1].stop - b[1].start)


def _union(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[slice, slice]:
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b))


def _cuts(ink: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Column ranges for `count` digits, each cut where the ink is thinnest near where a digit would end."""
    width = ink.shape[1]
    thickness = ink.sum(axis=0)
    pitch = width / count
    edges = [0]
    for k in range(1, count):
        low = max(edges[-1] + 1, int(k * pitch - _CUT_WINDOW * pitch))
        high = min(width - 1, int(k * pitch + _CUT_WINDOW * pitch) + 1)
        if low < high:
            distance = np.abs(np.arange(low, high) - k * pitch)  # ties go to the cut nearest a digit's end
            edges.append(low + int(np.lexsort((distance, thickness[low:high]))[0]))
    return list(zip(edges, edges[1:] + [width]))


def _segment(mask: np.ndarray, top: int, left: int) -> DigitSegment | None:
    """The part's pixels tightened to their own box; None if the part holds no ink."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return DigitSegment(int(top + rows[0]), int(left + cols[0]), int(top + rows[-1] + 1), int(left + cols[-1] + 1),
                        mask)
