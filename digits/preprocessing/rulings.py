"""The lines of ruled and squared paper (a ruled page's margin line too), removed from the ink signal; the
strokes that cross them stay."""

import numpy as np
from scipy import ndimage

from digits.preprocessing.ink_side import TINY
from digits.preprocessing.polarity import MIN_INK_LEVEL

_RULING_WIDTH = 5  # the lines of ruled and squared paper are thinner than this (pixels, at up to 512 wide) ...
_RULING_SPAN = 0.8  # ... and run across at least this share of the picture


def remove_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """The ink less the lines of ruled or squared paper, a ruled page's margin line with them. Strokes
    keep their ink where they cross one (a thick one as it is thicker than the line, a thin one or a
    printed box's line as it goes on beyond it); a single long thin stroke (a 7's bar drawn with a fine
    pen) stays.
    """
    if min(ink.shape) < TINY:  # too small to hold a ruled page
        return ink
    # A cheap test first: the thin ink below is nowhere stronger than the ink less its lowest level (the
    # opening takes values of the ink), so where no row or column of that ink can make a line across,
    # there is none to remove (most pictures: a digit or a number on plain paper).
    inked = ink - min(float(ink.min()), 0.0) > MIN_INK_LEVEL
    across_rows, down_columns = _may_hold_line(inked.any(axis=0)), _may_hold_line(inked.any(axis=1))
    if not (across_rows or down_columns):
        return ink
    thin = ink - ndimage.grey_opening(ink, size=(_RULING_WIDTH, _RULING_WIDTH))  # what a small square cannot fit in
    # Lines across the rows (ruled paper) and down the columns (squared paper).
    # On a ruled page, a lone line down the columns from edge to edge is its margin line.
    none = np.zeros(thin.shape, bool)
    along_rows, _ = _rulings_along_rows(thin) if across_rows else (none, False)
    along_columns, margin_line = _rulings_along_rows(thin.T, along_rows.any()) if down_columns else (none.T, False)
    along_columns = along_columns.T
    if not (along_rows.any() or along_columns.any()):
        return ink
    # Where a thin stroke or a printed box's line crosses a ruling, it keeps its ink there; elsewhere on a
    # ruling's band the ruling's own ink goes, and ink at least twice as dark as the ruling there (a stroke
    # along it, a foot on it) keeps what is darker than the line. Less is the line itself: its own grain, a
    # margin line or a shadow where it meets another (kept, such a line no longer passes for a layout's).
    crossings = (_crossed(thin, along_rows) & ~along_columns) | (_crossed(thin.T, along_columns.T).T & ~along_rows)
    own = np.maximum(_line_profile(thin, along_rows), _line_profile(thin.T, along_columns.T).T)
    ruling = np.where(thin < 2 * own, thin, own)
    if margin_line:  # nothing is written along a margin line: its band goes whole, where nothing crosses it
        ruling = np.where(along_columns, thin, ruling)
    return ink - np.where((along_rows | along_columns) & ~crossings, ruling, 0.0)


def _line_profile(thin: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """On the bands of row-wise rulings, each ruling's own thin ink: at each distance from its middle
    row (column by column), the median along the whole ruling, so a stroke on a short stretch of it is
    not. Where small digits sit close together on a ruling, their ink joins its band for rows above
    it: those columns' middle row is the ruling's, drawn on from the columns where the band is no taller
    than usual, and a distance from it that only they reach is ink along a short stretch, not the line's
    (along the rest of the ruling it is the paper: the median counts those columns as blank)."""
    own = np.zeros(thin.shape, np.float32)
    if not bands.any():
        return own
    labels, _ = ndimage.label(bands, structure=np.ones((3, 3), bool))
    ys, xs = np.nonzero(bands)
    line = labels[ys, xs]
    column = line * thin.shape[1] + xs  # a ruling's column
    rows_in_column = np.bincount(column)
    middle = np.bincount(column, weights=ys) / np.maximum(rows_in_column, 1)
    for ruling in np.unique(line):
        columns = np.unique(column[line == ruling])
        tall = rows_in_column[columns]
        usual = tall <= np.median(tall)
        if usual.any() and not usual.all():
            middle[columns[~usual]] = np.interp(columns[~usual] % thin.shape[1], columns[usual] % thin.shape[1],
                                                middle[columns[usual]])
    offset = ys - np.rint(middle[column]).astype(np.intp)
    group = line * (2 * thin.shape[0] + 1) + offset + thin.shape[0]  # a ruling's row at a distance from its middle
    values = thin[ys, xs]
    order = np.lexsort((values, group))
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    counts = np.diff(np.r_[starts, len(order)])
    # along the whole ruling: the columns where the band does not reach this distance count as blank
    length = np.bincount(line, weights=(rows_in_column[column] > 0) / np.maximum(rows_in_column[column], 1))
    blank = np.rint(length[line[order][starts]]).astype(np.intp) - counts
    rank = (counts + blank) // 2 - blank
    medians = np.where(rank >= 0, values[order][starts + np.clip(rank, 0, None)], 0.0)
    own[ys, xs] = medians[np.searchsorted(group[order][starts], group)]
    return own


def _crossed(thin: np.ndarray, rulings: np.ndarray, reach: int = 10) -> np.ndarray:
    """The pixels of row-wise rulings with thin ink just above and just below them, off the rulings:
    where something crosses the line."""
    outside = (thin > MIN_INK_LEVEL) & ~rulings
    above, below = np.zeros_like(outside), np.zeros_like(outside)
    for step in range(1, reach + 1):
        above[step:] |= outside[:-step]
        below[:-step] |= outside[step:]
    return rulings & above & below


def _rulings_along_rows(thin: np.ndarray, lone_line: bool = False) -> tuple[np.ndarray, bool]:
    """Where the thin ink forms ruled lines along the rows: at least two lines across nearly the whole
    width (plus, then, those a tilted frame cuts short at its edge), with their soft edges; and whether
    it is a lone line instead. `lone_line`: one line from edge to edge counts too (the margin line down
    a ruled page: ruled paper has one, squared paper's lines come at least two, and a digit's stroke,
    a 1 on a tight crop, stops short of the picture's edges)."""
    length = thin.shape[1]
    # On the ink's mask (the same pixels as on its levels, and faster): a page photographed slightly askew.
    tolerant = ndimage.maximum_filter((thin > MIN_INK_LEVEL).view(np.uint8), size=(5, 1))
    on_line = ndimage.grey_opening(tolerant, size=(1, max(3, length // 12))).view(bool)
    if not _may_hold_line(on_line.any(axis=0)):
        return np.zeros(thin.shape, bool), False
    # A line is cut where the digit crosses it: pieces in line with each other make one line.
    labels, count = ndimage.label(ndimage.maximum_filter1d(on_line, _joining(length), axis=1))
    pieces = labels * on_line  # each line's own pixels, labelled by the line they belong to
    boxes = [box[1] if box else slice(0, 0) for box in ndimage.find_objects(pieces, count)]
    spans = np.array([box.stop - box.start for box in boxes], dtype=int).reshape(-1)
    across = spans >= _RULING_SPAN * length
    lone = np.count_nonzero(across) < 2
    if lone:
        across &= lone_line & np.array([box.start == 0 and box.stop == length for box in boxes], bool)
        if not across.any():
            return np.zeros(thin.shape, bool), False
    else:  # and those off the edge
        across |= np.array([box.start == 0 or box.stop == length for box in boxes]) & (spans >= length // 4)
    rulings = np.isin(pieces, np.flatnonzero(across) + 1)
    return ndimage.binary_dilation(rulings, np.ones((3, 3), bool)), lone


def _joining(length: int) -> int:
    """How far apart (a window, in pixels) pieces of a line along `length` pixels may lie and still be one line."""
    return length // 3 | 1


def _may_hold_line(inked: np.ndarray) -> bool:
    """Whether the columns that hold ink (bool, along the lines' length) could hold a line across
    `_RULING_SPAN` of them, its pieces joined as `_rulings_along_rows` joins them. A necessary test, not a
    sufficient one: the pieces joined into one line lie in one run of the joined columns, and span at
    most from the first to the last inked column in it."""
    length = len(inked)
    columns = np.flatnonzero(inked)
    if not columns.size:
        return False
    runs, _ = ndimage.label(ndimage.maximum_filter1d(inked, _joining(length)))
    run = runs[columns]
    starts = columns[np.r_[True, run[1:] != run[:-1]]]
    stops = columns[np.r_[run[1:] != run[:-1], True]] + 1
    return bool(np.any(stops - starts >= _RULING_SPAN * length))
