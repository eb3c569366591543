"""The marks of the ink: its connected pieces, with what the layout puts round them set aside, and the
one that holds the digit's body chosen; specks, stray dots and what lies far from the body dropped,
large separate marks kept (and warned about).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import morphology

from digits.preprocessing.arrays import zero_padded
from digits.preprocessing.ink import SOFT_EDGE, clear_ink
from digits.preprocessing.locate.emphasis import Loop, loop_round_the_digit, underlines
from digits.preprocessing.locate.layout import frames, layout_lines, set_aside_boxes, set_aside_lines_and_blocks, tinted_areas
from digits.preprocessing.normalise import stroke_width

MIN_DIGIT_SIDE = 6  # pixels (at the working size) ...
MIN_DIGIT_SHARE = 0.025  # ... or this share of the picture's shorter side: smaller is a speck
FLAT = 0.4  # a mark less tall than this share of its width is flat: text, a dash, a line
SOLID_STROKES = 0.4  # strokes wider than this share of the mark's longer side make a blob, not a digit
_FAINTEST_INK = 4.0  # the soft edge of a mark reaches down to this (0-255); below it, a clean background
# ... and at most SOFT_EDGE (ink.py) of the picture's shorter side (or a stroke's width) from its clear ink
SPECK_FRACTION = 0.02  # marks with less ink than this share of the biggest mark are specks
MARK_FRACTION = 0.15  # marks with at least this share of the biggest mark's ink count as marks
_MARK_GAP = 0.2  # ... and are separate when this far from the biggest (share of its size); smaller marks
# that far away are stray dots. In MNIST, 1 in 10,000 digits has a part that far off.
_TEXT_MARKS = 5  # this many marks, none with half the ink, are text
FAR_GAP = 1.0  # marks further than this are not read with the digit, however large (text, other things)
_EDGE_WIDER = 2.0  # an edge mark this many times thicker than the digit's strokes is a surface, not ink
_LOW = 0.3  # a flat mark apart from the body and less tall than this share of it is text or a dash
_ALIKE = 0.3  # marks with this share of the body's ink and size are like it ...
_BAR_ASPECT = 12.0  # a mark this many times longer than wide is a straight bar (MNIST's 1s: under 10 long)
LOOP = "a loop drawn round the digit"
_SOFT_EDGE_STEPS = 2  # pixels: a drawn mark's soft, anti-aliased edge beyond its clear stroke
MAX_MARKS = 400  # marks looked at one by one, the most ink first: a digit with its stray strokes, specks, a
# label or a frame round it is a few dozen; thousands (dots, grain, a halftone) are texture, and looking
# at each in turn would cost seconds (65,000 dots: 3.4 s). The rest are dropped like specks.


@dataclass(frozen=True)
class Marks:
    labels: np.ndarray  # (H, W) int: connected marks numbered from 1, 0 = background
    masses: np.ndarray  # (number of marks + 1,) float: ink per mark, 0 for marks dropped and for the background
    gaps: np.ndarray  # (number of marks + 1,) float: each mark's distance from the body, in the body's sizes
    others: int = 0  # how many large marks lay apart from the body (those further than FAR_GAP were dropped)
    body: int = 0  # the mark that holds the digit's body
    alike: int = 0  # how many other marks, anywhere, are about as large as the body (text, icons)
    clear: np.ndarray | None = None  # (H, W) bool: the clear ink (its soft edges and faint grain left out)
    crowded: bool = False  # more than MAX_MARKS marks: only the heaviest were looked at (a texture, a pattern)
    set_aside: tuple[str, ...] = ()  # what a hand drew round the digit and was set aside (for the trace)
    close_loop: bool = False  # a loop drawn close round the digit (or the digit's own outline) was left in
    pieces_ink: float = 0.0  # the ink of every piece `ink_pieces` kept (the layout's set aside), the digit's among them

    @property
    def looks_like_text(self) -> bool:
        """Many small marks, none holding most of the ink: rows of writing or print, not one digit."""
        kept = self.masses[self.masses > 0]
        return (len(kept) >= _TEXT_MARKS and self.masses[self.body] < 0.5 * kept.sum()) or self.alike >= _TEXT_MARKS - 1

    def body_is_a_bar(self, chalk: bool = False) -> bool:
        """Longer for its width than a handwritten 1 ever is: a pen, a pencil, the edge of something.
        Measured on the clear ink; for `chalk` whose clear stroke is narrower than a drawn mark's soft edge
        (`_SOFT_EDGE_STEPS`; the thin stick's clear stroke is 1.3 pixels at the working size), on the whole
        mark with its faint edge, the line the stick drew: a thin chalk 1 is more than 12 times longer than
        its clear stroke, not than its line (stop 52: 30 validation 1s in the thin line, their whole marks
        4.8-10.1 times longer than wide). A light streak on a table or a board's edge stays a bar: its clear
        ink is wider than that (2.7 pixels and more), or it has no faint edge of its own."""
        whole = self.labels == self.body
        if chalk and self.body_is_thin_chalk:
            return is_a_bar(whole)
        return is_a_bar(whole & self.clear)

    @property
    def body_is_thin_chalk(self) -> bool:
        """(Of chalk.) The body's clear stroke is narrower than a drawn mark's soft edge (`_SOFT_EDGE_STEPS`):
        its clear ink is the stick's dots along the line, the board's grain showing through, not the stroke."""
        return stroke_width((self.labels == self.body) & self.clear) < _SOFT_EDGE_STEPS

    @property
    def body_is_solid(self) -> bool:
        box = ndimage.find_objects(self.labels == self.body, max_label=1)[0]
        own = self.labels[box] == self.body
        return stroke_width(own) > SOLID_STROKES * max(own.shape) + 2

    @property
    def mask(self) -> np.ndarray:
        return (self.masses > 0).take(self.labels)

    @property
    def has_separate_marks(self) -> bool:
        large = self.masses >= MARK_FRACTION * self.masses.max(initial=0)
        return bool(np.any(large & (self.gaps > _MARK_GAP)))


def is_a_bar(mask: np.ndarray) -> bool:
    """Whether a mark's pixels (bool) lie longer for their width, along their own axis, than a handwritten
    1 ever is: a pen, a pencil, the edge of something, a line."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 2:
        return False
    points = np.stack([ys, xs], axis=1).astype(np.float32)
    points -= points.mean(axis=0)
    along, across = (points @ np.linalg.svd(points, full_matrices=False)[2].T).T
    length, width = np.ptp(along) + 1, np.ptp(across) + 1
    return bool(length >= _BAR_ASPECT * width)


@dataclass(frozen=True, eq=False)
class Pieces:
    """The ink's connected pieces, with what a layout puts round writing set aside (its mass 0)."""

    labels: np.ndarray  # (H, W) int: connected pieces numbered from 1, 0 = background
    masses: np.ndarray  # (number of pieces + 1,) float: ink per piece, 0 for those set aside and the background
    boxes: list  # each piece's box (slices), by number - 1
    clear: np.ndarray  # (H, W) bool: the clear ink (its soft edges and faint grain left out)
    crowded: bool  # more than MAX_MARKS pieces: only the heaviest were kept (a texture, a pattern)
    set_aside: np.ndarray  # (number of pieces + 1,) bool: pieces of clear ink the layout set aside

    @property
    def mask(self) -> np.ndarray:
        return (self.masses > 0).take(self.labels)


def ink_pieces(ink: np.ndarray, noise: float, drawn: bool = False, chalk: bool = False) -> Pieces:
    """The ink worth looking at: connected pieces that rise clearly above the background, kept whole,
    faint anti-aliased edges included, if part of each is clearly ink (above the Otsu threshold and
    the noise); what a layout puts round writing set aside: frames (what they hold looked at alone), a
    form's lines, tinted panels, lines right across and blocks along a side, and (`drawn`: a lossless
    picture) a user interface's boxes. Shared by one digit's marks (`ink_marks`) and a whole number's.
    `chalk` (light ink in a photo): a stick of chalk skips where the board's grain dips, so its line is
    in pieces; pieces less than a stroke's width apart (the clear ink's) are one, as they are one stroke.
    (Not in a lossless picture: a dark screen's lines of print a bold stroke's width apart would become
    one block.) And where an eraser half wiped the line, its faint dots that continue a loose end of it
    back to the line are the line there (`_wiped_stretches`)."""
    strong = clear_ink(ink, noise)
    faint = ink > max(3 * noise, _FAINTEST_INK)
    every_faint, reach = faint, 0
    if strong.any():  # a stroke's soft edge is narrower than the stroke: fainter ink further off is a smear (chalk dust, a shadow)
        reach = max(math.ceil(SOFT_EDGE * min(ink.shape)), math.ceil(stroke_width(strong)))
        faint = faint & _within(strong, reach)
    framing = frames(strong, min(ink.shape))
    if framing.any():  # the frames' lines (with their soft edges) removed, what they held is looked at alone
        framed = ndimage.binary_dilation(framing, np.ones((3, 3), bool), iterations=2)
        faint, every_faint = faint & ~framed, every_faint & ~framed
    lines = _form_lines(faint, ink)  # the lines of a layout or a form, where no stroke crosses them
    strong, faint, every_faint = strong & ~lines, faint & ~lines, every_faint & ~lines
    joined = joining_reach(strong) if chalk else 0
    labels, count = joined_pieces(faint, joined)
    tinted = tinted_areas(labels, count, ink, strong, max(3 * noise, _FAINTEST_INK))
    if tinted.any():  # a panel or a bar of another shade: its own colour is the background of what is on it
        strong, faint, every_faint = strong & ~tinted, faint & ~tinted, every_faint & ~tinted
        labels, count = joined_pieces(faint, joined)
    masses = _with_clear_ink(labels, count, ink, faint, strong)
    if chalk and reach:
        faint = _wiped_stretches(labels, masses, faint, every_faint & ~faint, strong, reach)
        masses = _with_clear_ink(labels, count, ink, faint, strong)
    crowded = keep_the_heaviest(masses, MAX_MARKS)
    if crowded:  # the marks kept numbered 1, 2, ... again, the others background: what follows sees only them
        kept = np.flatnonzero(masses)
        renumbered = np.zeros(len(masses), np.intp)
        renumbered[kept] = np.arange(1, len(kept) + 1)
        labels, masses = renumbered[labels], np.concatenate([[0.0], masses[kept]])
    kept = np.flatnonzero(masses)  # each mark's box, found once (the masses below only ever drop to 0)
    boxes = ndimage.find_objects(labels, max_label=int(kept.max())) if len(kept) else []
    with_clear_ink = masses > 0
    set_aside_lines_and_blocks(labels, masses, boxes)
    if drawn:  # a lossless picture: a screenshot, a drawing, a scan saved as PNG
        set_aside_boxes(labels, masses, boxes)
    return Pieces(labels, masses, boxes, strong, crowded, with_clear_ink & (masses == 0))


def _with_clear_ink(labels: np.ndarray, count: int, ink: np.ndarray, faint: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Each piece's ink, 0 for the background and for a piece with no clear ink in it (a smear)."""
    masses = np.bincount(labels[faint], weights=ink[faint], minlength=count + 1)
    masses[np.bincount(labels[strong & faint], minlength=count + 1) == 0] = 0
    masses[0] = 0
    return masses


def _wiped_stretches(labels: np.ndarray, masses: np.ndarray, faint: np.ndarray, loose: np.ndarray, strong: np.ndarray,
                     reach: int) -> np.ndarray:
    """The line of chalk with the stretches an eraser half wiped given back: the faint ink it keeps
    (the pieces of `faint` that hold clear ink, `masses` > 0), grown by runs of `loose` dots (faint ink beyond a soft
    edge's `reach` of clear ink, each dropped alone as a smear) that continue a loose end of the line
    along its heading, a soft edge's reach at a step, and come back to the line a reach or more from
    where they left it; the piece they reach is one with the piece they left (`labels` changed in place).
    Returns `faint` with those dots.

    Traced on the proxy's worn boards, the band an eraser wiped across a digit leaves its line as the
    board's grain, dots of 7-20 of 255 in a row: a 9's side of its loop, a 6's stem. A straight bridge
    between two loose ends (stop 50) joined an 8's own loop ends and ghost writing; a chain follows the
    dots as they come, heading as they head. Each step takes the dots within half a soft edge's reach of
    the heading (or a stroke's width, where wider): the thin stick's clear stroke is 1.3 pixels at the
    working size, narrower than the scatter of its wiped stretch's dots about the heading, more so where
    the line bends (stop 52: measured on 160 more worn boards, three more lines followed). Where the dots beyond a
    soft edge's reach on either side lie as densely (a patch of dust, a glare's rim, the board's frame),
    the run is not a line's and stops."""
    kept = (masses > 0).take(labels)
    faint = faint.copy()
    width = max(stroke_width(strong), 1.0)
    corridor = max(width, reach / 2)  # the grain's dots scatter wider about a thin stick's line than its clear stroke
    skeleton = morphology.skeletonize(ndimage.binary_closing(kept, np.ones((3, 3), bool)) | kept)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    ends = np.argwhere(skeleton & (neighbours == 1)).astype(np.float32)
    dots = np.argwhere(loose).astype(np.float32)
    if not len(ends) or not len(dots):
        return faint
    branches, _ = ndimage.label(skeleton, structure=np.ones((3, 3), bool))
    along_skeleton = np.argwhere(skeleton).astype(np.float32)
    branch_of = branches[skeleton]
    from_line = ndimage.distance_transform_edt(~kept, return_indices=True)
    distance, (nearest_row, nearest_col) = from_line
    for end in ends:
        own = branch_of == branches[int(end[0]), int(end[1])]
        apart = np.hypot(*(along_skeleton[own] - end).T)
        behind = along_skeleton[own][(apart > reach / 2) & (apart <= reach)]
        if not len(behind):
            continue
        heading = end - behind.mean(axis=0)
        if not np.hypot(*heading):  # the skeleton behind lies all round the end: no heading
            continue
        heading /= np.hypot(*heading)
        point, run = end.copy(), []
        for _ in range(max(kept.shape)):
            offset = dots - point
            along = offset @ heading
            across = np.abs(offset[:, 0] * heading[1] - offset[:, 1] * heading[0])
            within = (along > 0) & (along <= reach)
            ahead = within & (across <= corridor)
            beside = within & (across > reach) & (across <= 2 * reach)
            if not ahead.any() or np.count_nonzero(beside) * corridor >= np.count_nonzero(ahead) * reach:
                break
            step = dots[ahead].mean(axis=0) - point
            heading = heading + step / np.hypot(*step)  # the dots ahead lie ahead: it never turns back
            heading /= np.hypot(*heading)
            point = point + step
            run.append(dots[ahead].astype(np.intp))
            row, col = int(round(point[0])), int(round(point[1]))
            if distance[row, col] <= width and np.hypot(*(point - end)) > reach:
                left = labels[nearest_row[int(end[0]), int(end[1])], nearest_col[int(end[0]), int(end[1])]]
                reached = labels[nearest_row[row, col], nearest_col[row, col]]
                labels[labels == reached] = left
                taken = np.concatenate(run)
                labels[taken[:, 0], taken[:, 1]] = left
                faint[taken[:, 0], taken[:, 1]] = True
                break
    return faint


def _form_lines(faint: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The lines of a layout or a form among the faint ink (`layout_lines`), less those that close into a
    hand's loop round the writing: a loop round a number is long, and its flat top and bottom run
    straight along a row as far as a form's lines do. Where lines close round paper with other ink
    (`LayoutLines.closing`), the loop is looked for as round a number (emphasis.py, `long`) from the
    mark they join most, they kept; where none is found (two rulings and the digits between them), they
    are a form's lines."""
    lines = layout_lines(faint, min(ink.shape))
    if not lines.closing.any():
        return lines.pixels
    labels, count = ndimage.label(faint & ~(lines.pixels & ~lines.closing), structure=np.ones((3, 3), bool), output=np.intp)
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)
    masses[0] = 0
    closing = np.bincount(labels[lines.closing], minlength=count + 1)
    closing[0] = 0
    if loop_round_the_digit(labels, masses, int(np.argmax(closing)), MARK_FRACTION, long=True) is None:
        return lines.pixels
    return lines.pixels & ~lines.closing


def with_soft_edge(pixels: np.ndarray) -> np.ndarray:
    """A drawn mark's pixels (a loop's band) grown by its soft, anti-aliased edge: what clearing it clears."""
    return ndimage.binary_dilation(pixels, np.ones((3, 3), bool), iterations=_SOFT_EDGE_STEPS)


def loop_round_the_writing(pieces: Pieces, strokes_joined: bool = False) -> Loop | None:
    """A hand's loop drawn round a whole number (circled), or None: emphasis.py's loop, looked for round
    the heaviest large piece that lies in another's box, or where the ink is one large piece, in it (the
    loop touches the number's digits: they are one piece). A loop drawn close round the number
    counts too (its end digits touch it), its own stroke alone: the number is read with it and without it
    and the reader chooses (digits/numbers.py), as the judge chooses for one digit, for a number's own
    outline passes for such a loop. A digit of the number is no loop round its neighbour where they
    overlap: the neighbour's ink touches it and spans no paper inside (emphasis.py's tests). With a clear
    loop go the pieces of ink that lie along it (`_along_the_loop`). Where no clear loop is found and a
    large piece's box holds another's (never a number written alone, its digits side by side), a clear
    loop is looked for again among the pieces less than a stroke's width apart joined (`_joined`: a loop
    drawn in two strokes), and taken where it lies in two of the pieces or more (`_in_strokes`: where it
    lies in one, its own stroke, the loop as found stands); `strokes_joined`: they are."""
    kept = np.flatnonzero(pieces.masses)
    if not len(kept):
        return None
    masses, boxes = pieces.masses, pieces.boxes
    large = [mark for mark in kept if masses[mark] >= MARK_FRACTION * masses.max()]

    def holds(outer: int, inner: int) -> bool:
        (rows, cols), (inner_rows, inner_cols) = boxes[outer - 1], boxes[inner - 1]
        return (rows.start <= (inner_rows.start + inner_rows.stop) / 2 < rows.stop
                and cols.start <= (inner_cols.start + inner_cols.stop) / 2 < cols.stop)

    held = [mark for mark in large if any(outer != mark and holds(outer, mark) for outer in large)]
    if not held and len(large) > 1:  # large pieces side by side: no one of them is a loop round the others
        return None
    body = max(held or large, key=lambda mark: masses[mark])
    loop = loop_round_the_digit(pieces.labels, masses, body, MARK_FRACTION, long=True)
    if loop is not None and not loop.clear:
        loop = _apart_in_the_clear_ink(pieces, loop) or loop
    if (loop is None or not loop.clear) and held and not strokes_joined:  # a loop drawn in two strokes (`_joined`)
        joined = loop_round_the_writing(_joined(pieces), strokes_joined=True)
        if joined is not None and joined.clear and _in_strokes(pieces, joined) >= 2:
            return joined
    if loop is None or not loop.clear:
        return loop
    return Loop(loop.pixels | _along_the_loop(pieces.mask & ~with_soft_edge(loop.pixels), loop.pixels), True)


def _joined(pieces: Pieces) -> Pieces:
    """The pieces, those less than a stroke's width apart one (as `ink_pieces` joins a line of chalk), each
    with the ink of those it joins: people draw a loop round a number in two strokes, two arcs whose ends
    meet, nearly meet or pass each other, two pieces of ink neither of which goes round the number
    (`7334`: the loop was not found, and its arcs were read with the digits)."""
    labels, count = joined_pieces(pieces.mask, joining_reach(pieces.clear))
    merged = np.zeros(len(pieces.masses), np.intp)
    merged[pieces.labels[pieces.mask]] = labels[pieces.mask]
    masses = np.bincount(merged, weights=pieces.masses, minlength=count + 1)
    masses[0] = 0
    return Pieces(labels, masses, ndimage.find_objects(labels, max_label=count), pieces.clear, pieces.crowded,
                  np.zeros(count + 1, bool))


def _in_strokes(pieces: Pieces, loop: Loop) -> int:
    """How many of the pieces hold a share of the loop's pixels that makes a mark (`MARK_FRACTION`): a
    loop in one stroke holds one (a digit joined to it by `_joined` is not in its band), one drawn in two
    strokes two."""
    held = np.bincount(pieces.labels[loop.pixels & pieces.mask])[1:]
    return int(np.count_nonzero(held >= MARK_FRACTION * held.sum()))


def without_the_loop(pieces: Pieces, loop: Loop) -> np.ndarray:
    """The pieces' ink less a clear loop drawn round the writing and its soft edge, but for the digits'
    clear ink there: an end digit lying against the loop loses to its soft edge (`with_soft_edge`) the
    end of its stroke (the bowl of a 3, the foot of a 4's stem a few pixels from the loop: `29173` read
    `29172`, `13744` read `13740`). The clear ink inside the loop is grown back across the soft edge as
    far as the edge reached (never into the loop's own pixels), except where that joins two pieces of
    what is kept. A sliver of the loop's ragged inner side may lie along a digit's end too, and grown
    back it makes a 1 a 7 (`35281`): so this is the number's second reading, the reader keeping the
    surer (digits/numbers.py), as for a loop drawn close round it."""
    kept = pieces.mask & ~with_soft_edge(loop.pixels)
    inside = morphology.convex_hull_image(loop.pixels)
    grown = ndimage.binary_dilation(kept & pieces.clear & inside, np.ones((3, 3), bool), iterations=_SOFT_EDGE_STEPS,
                                    mask=pieces.clear & pieces.mask & ~loop.pixels) & ~kept
    if not grown.any():
        return kept
    eight = np.ones((3, 3), bool)
    own, _ = ndimage.label(kept, eight)
    joined, count = ndimage.label(kept | grown, eight)
    pairs = np.unique(np.stack([joined[kept], own[kept]]), axis=1)
    pieces_joined = np.bincount(pairs[0], minlength=count + 1)
    return kept | (grown & (pieces_joined <= 1).take(joined))


def clear_loop_against_the_digits(pieces: Pieces, close: Loop) -> Loop | None:
    """Where a loop found close round a number is a clear loop in the clear ink with an end digit
    touching it there (`_apart_in_the_clear_ink` leaves the close loop's peel standing: the loop and
    that digit are one piece), that clear loop (with the pieces that lie along it), for a further
    reading: the close loop's peel is only the grain along the loop's outer side, and the loop left in
    reads as digits (`99461` read `99460`, `871` read `81`). The reader keeps the surest reading that
    reads no fewer digits (digits/numbers.py); else None."""
    found = _apart_in_the_clear_ink(pieces, close, digit_in_it=True)
    if found is None:
        return None
    return Loop(found.pixels | _along_the_loop(pieces.mask & ~with_soft_edge(found.pixels), found.pixels), True)


def _apart_in_the_clear_ink(pieces: Pieces, close: Loop, digit_in_it: bool = False) -> Loop | None:
    """A loop found close round a number looked for again among the pieces of the clear ink of the mark
    it was found in, each a mark of its own: a photo's grain joins a hand's loop to the digits it holds
    and along its outer side makes its edge (`9745` read `6393`); without the grain the loop is a piece
    of its own, clear of the digits, and the loop found takes the whole piece but for specks. Where a
    digit is in its piece (an end digit touching it: `339`, the 9 and the loop one stroke), the close
    loop's peel stands: a clear loop's would take that digit with it. A number's own outline is one
    piece with its digits in the clear ink too (a bold touching `930` on clean paper), or in pieces no
    one of which goes round the others. The loop found there (its pixels clear ink); else None.
    `digit_in_it`: the loop found only where a digit is in its piece (`clear_loop_against_the_digits`)."""
    mark = int(np.argmax(np.bincount(pieces.labels[close.pixels])))
    labels, count = ndimage.label(pieces.clear & (pieces.labels == mark), np.ones((3, 3), bool), output=np.intp)
    if count < 2 and not digit_in_it:  # one piece: no loop apart from the digits (one may touch it)
        return None
    masses = np.bincount(labels.ravel(), minlength=count + 1).astype(float)
    masses[0] = 0
    found = loop_round_the_digit(labels, masses, int(np.argmax(masses)), MARK_FRACTION, long=True)
    if found is None or not found.clear:
        return None
    own = int(np.argmax(np.bincount(labels[found.pixels])))
    rest, _ = ndimage.label((labels == own) & ~with_soft_edge(found.pixels), np.ones((3, 3), bool))
    holds_a_digit = np.bincount(rest.ravel())[1:].max(initial=0) >= MARK_FRACTION * masses[own]
    return found if holds_a_digit == digit_in_it else None


def _along_the_loop(ink: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """The pieces of `ink` that reach no deeper into the loop (its convex hull) than its own pixels do,
    or lie outside it: the loop's ends where the pen left a gap, read as a digit beside the end digits
    (`68077` read `168077`, `60699` read `6839`). A digit written inside the loop reaches its middle."""
    depth = ndimage.distance_transform_edt(morphology.convex_hull_image(loop))
    pieces, count = ndimage.label(ink, np.ones((3, 3), bool))
    deepest = np.asarray(ndimage.maximum(depth, pieces, np.arange(1, count + 1)))
    return np.concatenate([[False], deepest <= depth[loop].max()]).take(pieces)


def ink_marks(ink: np.ndarray, noise: float, drawn: bool = False, look_for_loops: bool = True,
              close_loops: float = 0, chalk: bool = False) -> Marks:
    """One digit's marks among the ink's pieces (`ink_pieces`: the layout set aside): what runs into the
    picture's edge set aside; marks with a tiny share of the ink are specks; small marks away from the
    digit are stray dots. All are dropped; large separate marks are kept (and warned about). A loop
    drawn round the digit (emphasis.py) is cleared from the ink and the marks are found again without
    it. `close_loops`: how many loops, one within another, are cleared, a loop drawn close round the
    digit or across it among them, the marks looked at again for another after each (a hand that went
    round twice; `math.inf`: every one); with none, such a loop is only noted (`close_loop`). `chalk`:
    pieces of a line of chalk are one mark (`ink_pieces`).
    """
    pieces = ink_pieces(ink, noise, drawn, chalk)
    labels, masses, boxes, strong, crowded = pieces.labels, pieces.masses, pieces.boxes, pieces.clear, pieces.crowded
    pieces_ink = float(masses.sum())  # before the edges, specks and stray marks are dropped from `masses`
    at_the_edge = _set_aside_the_edges(labels, masses, boxes)
    body = _body(labels, masses, boxes)
    if body is None:  # nothing but lines and rows of text
        return Marks(labels, np.zeros_like(masses), np.zeros_like(masses), crowded=crowded, pieces_ink=pieces_ink)
    close_loop = False
    if look_for_loops:
        loop = loop_round_the_digit(labels, masses, body, MARK_FRACTION)
        close_loop = loop is not None and not loop.clear
        if loop is not None and (loop.clear or close_loops >= 1):  # cleared with its soft edge
            cleared = np.where(with_soft_edge(loop.pixels), 0, ink)
            laps = close_loops - 1
            again = ink_marks(cleared, noise, drawn, look_for_loops=laps >= 1, close_loops=laps, chalk=chalk)
            return Marks(**{**again.__dict__, "set_aside": (LOOP,) + again.set_aside})
    alike = _alike(labels, masses, body, boxes)
    masses[masses < SPECK_FRACTION * masses[body]] = 0
    gaps = _gaps_from(labels, masses, body, boxes)
    apart = gaps > _MARK_GAP
    flat = _flat_and_low(labels, masses, body, boxes)
    under = underlines(labels, masses, body, flat)
    masses[(apart & flat) | under] = 0  # a word of a label or a caption, a dash; a line drawn under the digit
    others = int(np.count_nonzero(apart & (masses >= MARK_FRACTION * masses[body])))
    masses[(apart & (masses < MARK_FRACTION * masses[body])) | (gaps > FAR_GAP)] = 0
    set_aside = ((f"{at_the_edge} mark{'s' if at_the_edge > 1 else ''} running into the picture's edge",) if at_the_edge else ()) \
        + (("a line drawn under the digit",) if under.any() else ())
    return Marks(labels, masses, gaps, others, body, alike, strong, crowded, set_aside, close_loop, pieces_ink)


def joining_reach(clear: np.ndarray) -> int:
    """How far each piece reaches to join the next (`joined_pieces`): half the clear ink's stroke, so that
    pieces less than a stroke's width apart are one, as a line of chalk the board's grain broke is one
    stroke. Shared by one digit's marks (`ink_pieces`), a whole number's (segment.py, `find_marks`) and a
    loop's arcs (`_joined`)."""
    return math.ceil(stroke_width(clear) / 2) if clear.any() else 0


def joined_pieces(mask: np.ndarray, joined: int) -> tuple[np.ndarray, int]:
    """The mask's connected pieces, numbered from 1 (0 off the mask); pieces within 2 * `joined` pixels
    of each other (along the rows and columns) are one."""
    if joined <= 0:
        return ndimage.label(mask, structure=np.ones((3, 3), bool), output=np.intp)
    labels, count = ndimage.label(_within(mask, joined), structure=np.ones((3, 3), bool), output=np.intp)
    labels[~mask] = 0
    return labels, count


def _within(mask: np.ndarray, reach: int) -> np.ndarray:
    """Where a pixel of the mask lies within `reach` pixels along the rows and the columns (a square
    round each: its chessboard distance at most `reach`), as one maximum along the rows, then along the
    columns, however thick the square."""
    side = 2 * reach + 1
    along_rows = ndimage.maximum_filter1d(mask.view(np.uint8), side, axis=1, mode="constant")
    return ndimage.maximum_filter1d(along_rows, side, axis=0, mode="constant").view(bool)


def keep_the_heaviest(masses: np.ndarray, most: int) -> bool:
    """Only the `most` marks with the most ink kept (the others' masses set to 0; ties keep the first);
    whether any were dropped."""
    kept = np.flatnonzero(masses)
    if len(kept) <= most:
        return False
    order = np.argsort(-masses[kept], kind="stable")
    masses[kept[order[most:]]] = 0
    return True


def _body(labels: np.ndarray, masses: np.ndarray, boxes: list) -> int | None:
    """The mark with the most ink that can be a digit's body: not a flat mark (a word of text, a dash,
    a line), which may only be a part of a digit (the flag of a 5, the bar of a 7) beside it."""
    kept = np.flatnonzero(masses)
    if not len(kept):
        return None
    sizes = {mark: (boxes[mark - 1][0].stop - boxes[mark - 1][0].start,
                    boxes[mark - 1][1].stop - boxes[mark - 1][1].start) for mark in kept}
    upright = [mark for mark, (height, width) in sizes.items() if height >= FLAT * width]
    return max(upright, key=lambda mark: masses[mark]) if upright else None


def _flat_and_low(labels: np.ndarray, masses: np.ndarray, body: int, boxes: list) -> np.ndarray:
    """Per mark: whether it is flat and low beside the body (printed words, a dash), not a digit's part."""
    flat = np.zeros(len(masses), bool)
    kept = np.flatnonzero(masses)
    body_height = boxes[body - 1][0].stop - boxes[body - 1][0].start
    for mark in kept:
        rows, cols = boxes[mark - 1]
        height = rows.stop - rows.start
        flat[mark] = height < FLAT * (cols.stop - cols.start) and height < _LOW * body_height
    return flat


def _alike(labels: np.ndarray, masses: np.ndarray, body: int, boxes: list) -> int:
    """How many marks besides the body are about its size and ink: a digit stands out from what is
    around it (labels, text, icons); a body among many marks like it is one of them."""
    kept = np.flatnonzero(masses)
    def size(mark: int) -> int:
        return max(part.stop - part.start for part in boxes[mark - 1])
    return sum(1 for mark in kept if mark != body and masses[mark] >= _ALIKE * masses[body]
               and size(mark) >= _ALIKE * size(body))


def _set_aside_the_edges(labels: np.ndarray, masses: np.ndarray, boxes: list) -> int:
    """Marks that run into the picture's edge are dropped (masses set to 0) when a mark away from the
    edges is there to read and they are not part of it: far from it, or much thicker (a table, a bar).
    Near it is within its share of the digit's size or its stroke's breadth, whichever is more: a
    stroke broken by a coarse threshold (a tiny 1-bit scan stretched to its box, where every piece of
    the digit runs into the edge) has pieces a stroke's breadth apart, however small the piece found
    away from the edges (a 6's belly, 8x8 of a 16x16 scan, its stem along the edge). How many dropped."""
    kept = np.flatnonzero(masses)
    if len(kept) < 2:
        return 0
    touching = np.zeros(len(masses), bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    touching[0] = False
    smallest = max(MIN_DIGIT_SIDE, MIN_DIGIT_SHARE * min(labels.shape))
    inside = [mark for mark in kept if not touching[mark]
              and max(box.stop - box.start for box in boxes[mark - 1]) >= smallest]  # not a speck
    edge_marks = [mark for mark in kept if touching[mark]]
    if not inside or not edge_marks:
        return 0
    digit = max(inside, key=lambda mark: masses[mark])
    digit_box = boxes[digit - 1]
    digit_size = max(digit_box[0].stop - digit_box[0].start, digit_box[1].stop - digit_box[1].start)
    digit_thickness = _thickness(labels[digit_box] == digit)
    near = max(_MARK_GAP * digit_size, digit_thickness)
    distance = ndimage.distance_transform_edt(labels != digit)
    nearest = ndimage.minimum(distance, labels, edge_marks)
    dropped = 0
    for mark, gap in zip(edge_marks, np.atleast_1d(nearest)):
        if gap > near or _thickness(labels[boxes[mark - 1]] == mark) > _EDGE_WIDER * digit_thickness:
            masses[mark] = 0
            dropped += 1
    return dropped


def _thickness(mask: np.ndarray) -> float:
    """The width of a mark's thickest part, pinholes (texture, noise) closed first."""
    closed = ndimage.binary_closing(zero_padded(mask, 2), np.ones((3, 3), bool), iterations=2)
    return 2.0 * float(ndimage.distance_transform_edt(closed).max())


def _gaps_from(labels: np.ndarray, masses: np.ndarray, body: int, boxes: list) -> np.ndarray:
    """How far each kept mark's box lies from the body's box, over the body's longer side."""
    gaps = np.zeros_like(masses)
    kept = np.flatnonzero(masses)
    if len(kept) < 2:
        return gaps
    biggest = boxes[body - 1]
    size = max(biggest[0].stop - biggest[0].start, biggest[1].stop - biggest[1].start)
    for mark in kept:
        box = boxes[mark - 1]
        gap_y = max(box[0].start - biggest[0].stop, biggest[0].start - box[0].stop, 0)
        gap_x = max(box[1].start - biggest[1].stop, biggest[1].start - box[1].stop, 0)
        gaps[mark] = max(gap_y, gap_x) / size
    return gaps
