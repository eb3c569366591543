"""What a hand draws round a digit to point it out: a loop or a rough box round it, a line under it.

Like a printed frame (layout.py), such a mark is not the digit and is set aside; unlike one, it is not
straight, so it is told by what it does: a loop is the outermost ink all round a centre, lying close to
a smooth oval, with the digit's ink inside it and clear of it along most directions. The loop may be a
mark of its own or touch the digit's strokes (one connected mark): either way only its band of pixels is
set aside, and of a loop drawn close round the digit or across it, only its own stroke (the band would
take the digit's strokes beside it); round a whole number, the band less the end digits' strokes that
touch it. A digit is never such a loop round other ink: a 0 has nothing inside it, an 8 or a 6 is
pinched at its waist, not oval; the edge of a solid shape (a bar, a phone, a cup) holds no paper inside
it, a loop round a digit holds paper wider than its strokes. A loop the ink
inside does not keep clear of (drawn close round the digit, or across it) may also be a digit's own
outline: the pipeline reads the picture both ways and the learned judge chooses (pipeline.py,
`close_loops`).
"""

from dataclasses import dataclass

import math

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import ROBUST_SIGMA
from digits.preprocessing.locate.layout import ENCLOSING
from digits.preprocessing.normalise import stroke_width


@dataclass(frozen=True)
class EmphasisSettings:
    directions: int = 48  # the loop is followed in this many directions round its centre
    closed: float = ENCLOSING  # ... and is there in at least this share of them (a loop left a little open counts)
    oval: float = 0.15  # its distance from the centre (over its box's half-sides) spreads by at most this (robust spread)
    band: float = 0.14  # its pixels lie within this (same units) of its outer edge
    clear: float = 0.12  # the ink inside keeps at least this much further in ...
    clear_share: float = 0.6  # ... along this share of the directions where there is ink inside
    inside_share: float = 0.2  # the ink inside holds at least this share of the loop's own ink (a digit, not a speck)
    piece: float = 0.05  # pieces inside with less than this share of the ink there are crumbs of the loop's edge
    inside_span: float = 0.4  # ... and spans at least this share of the loop's height (circled digits: 0.6-0.8)
    touching: float = 0.15  # at most this share of the ink inside touches the loop (a digit touches it here and there)


SETTINGS = EmphasisSettings()


@dataclass(frozen=True, eq=False)
class Loop:
    pixels: np.ndarray  # (H, W) bool: the loop's band (a close loop's: its own stroke alone; a clear loop
    # round a number's: its own stroke and what of its band the digits' strokes inside do not reach)
    clear: bool  # the ink inside keeps clear of it; if not, the loop is drawn close round the digit or
    # across it, or it is the digit's own outline (a bold 0's outer edge): only the judge can tell (pipeline.py)


def loop_round_the_digit(labels: np.ndarray, masses: np.ndarray, body: int, large_share: float,
                         settings: EmphasisSettings = SETTINGS, long: bool = False) -> Loop | None:
    """A hand-drawn loop round the digit, or None: looked for in each large kept mark (with `large_share`
    of the body's ink or more: marks.py's measure of a mark, not a speck) whose box holds the body's
    centre (the body itself, when the loop touches the digit); one the ink inside keeps clear of first.
    `long`: the loop may be much wider than tall (round a whole number): its band and the paper inside it
    are measured in pixels, as across its height, all round, and the digits' strokes that touch it are
    left out of its band (`_loop_in`)."""
    kept = np.flatnonzero(masses)
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    body_box = boxes[body - 1]
    centre = ((body_box[0].start + body_box[0].stop) / 2, (body_box[1].start + body_box[1].stop) / 2)
    large = masses >= large_share * masses[body]
    close = None
    for mark in sorted(kept, key=lambda mark: -masses[mark]):
        rows, cols = boxes[mark - 1]
        if not large[mark] or not (rows.start <= centre[0] < rows.stop and cols.start <= centre[1] < cols.stop):
            continue
        looped = _loop_in(labels[rows, cols] == mark, large.take(labels[rows, cols]), settings, long)
        if looped is not None:
            found = np.zeros(labels.shape, bool)
            found[rows, cols] = looped.pixels
            if looped.clear:
                return Loop(found, True)
            close = close or Loop(found, False)
    return close


def _loop_in(own: np.ndarray, inked: np.ndarray, settings: EmphasisSettings, long: bool = False) -> Loop | None:
    """Within a mark's box: the mark's pixels that make a loop round other ink (of it or of other
    marks), or None. A mark too small to hold a digit fails on its own: the ink inside a loop spans
    `inside_span` of its height, apart from its band. Distances from the centre are in shares of the
    box's half-sides (the loop a circle); with `long`, its `band` and `clear` are as many pixels in
    every direction as along the box's shorter half-side: a loop round a number is long, and a share of
    its length would take the end digits inside it for its band, and call them clear of it."""
    height, width = own.shape
    y, x = np.mgrid[:height, :width].astype(np.float32)
    dy, dx = (y + 0.5 - height / 2) / (height / 2), (x + 0.5 - width / 2) / (width / 2)
    radius = np.hypot(dy, dx)
    direction = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * settings.directions).astype(int) % settings.directions
    band, clear = settings.band, settings.clear
    if long:  # per direction, in the shorter half-side's pixels (`steep` below is the same all along one)
        angle = (np.arange(settings.directions) + 0.5) * 2 * np.pi / settings.directions - np.pi
        steep = np.hypot(np.sin(angle) / (height / 2), np.cos(angle) / (width / 2))
        across = (min(height, width) / 2 * steep).astype(np.float32)
        band, clear = settings.band * across[direction], settings.clear * across
    outer = _outermost(own, direction, radius, settings)
    there = outer > 0
    if there.mean() < settings.closed:
        return None
    middle, even = _even_all_round(outer[there], settings)
    # No oval: a rough box round the digit (its four strokes overshoot the corners: spread 0.15-0.19, stop
    # 50), told by its own shape, or no loop. Round a single digit only (a number's loop is long).
    boxed = not even
    if boxed and (long or not _box_shaped(own, direction, there, dy, dx, settings)):
        return None
    edge = np.where(there, outer, middle)[direction]
    ring = own & (radius >= edge - band)  # the loop's outer side, then all across its stroke:
    pen, band_alone = stroke_width(ring), ring
    ring = ndimage.binary_dilation(ring, np.ones((3, 3), bool), iterations=math.ceil(pen), mask=own)
    inside = inked & ~ring
    pieces, count = ndimage.label(inside, np.ones((3, 3), bool))
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)
    sizes[0] = 0
    inside = (sizes >= settings.piece * sizes.sum()).take(pieces)  # crumbs of the loop's ragged edge left out
    touching = inside & ndimage.binary_dilation(ring, np.ones((3, 3), bool))
    if np.count_nonzero(touching) > settings.touching * np.count_nonzero(inside):  # the inner side of one thick stroke
        return None
    rows = np.flatnonzero(inside.any(axis=1))
    if not len(rows) or rows[-1] - rows[0] < settings.inside_span * height:  # a speck in a 0, not a digit in a loop
        return None
    if np.count_nonzero(inside) < settings.inside_share * np.count_nonzero(ring):
        return None
    paper = (radius < edge) & ~inked  # a solid shape's own edge holds no paper wider than a stroke (pinholes):
    if ndimage.distance_transform_edt(paper).max(initial=0) <= stroke_width(ring):  # a hand's loop holds paper
        return None
    inner = np.zeros(settings.directions, np.float32)
    np.maximum.at(inner, direction[inside], radius[inside])
    ring_inner = np.full(settings.directions, np.inf, np.float32)
    np.minimum.at(ring_inner, direction[ring], radius[ring])
    with_ink = inner > 0
    apart = inner[with_ink] <= ring_inner[with_ink] - (clear[with_ink] if long else clear)
    kept_clear = bool(apart.mean() >= settings.clear_share)
    if boxed and not kept_clear:  # a box is drawn round the digit, clear of it; a close "box" was the
        return None  # ground's streaks round a solid bar (the test of a solid shape's edge, stop 51)
    if kept_clear and not long:
        return Loop(ring, True)
    # Drawn close round the digit or across it: the band above would take the digit's strokes where they
    # come near the loop, so only the loop's own stroke goes, the pixels within its pen's width of its outer
    # edge (followed smoothly from direction to direction, not stepwise: a loop off the centre slants across
    # each direction). A pen's width in radii is `steep` (the radius' change per pixel) times that in pixels.
    turn = (np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * settings.directions
    outer_edge = np.interp(turn, np.arange(settings.directions) + 0.5, np.where(there, outer, middle),
                           period=settings.directions)
    steep = np.hypot(dy / (height / 2), dx / (width / 2)) / np.maximum(radius, np.finfo(np.float32).eps)
    if long:  # round a number, a photo's grain joins the loop's edge all along it, and 2 * area / outline
        # comes out a fraction of its pen: the loop's width across its stroke instead, in its outer band, the
        # median over the directions (a digit's ink in a few) of twice the deepest point's distance from the
        # edge, less the pixel it counts beyond it (to the centre of the paper pixel on each side)
        deepest = np.zeros(settings.directions, np.float32)
        np.maximum.at(deepest, direction[band_alone],
                      ndimage.distance_transform_edt(band_alone)[band_alone].astype(np.float32))
        pen = 2 * float(np.median(deepest[deepest > 0])) - 1
    stroke = own & (radius >= outer_edge - pen * steep)
    if kept_clear:  # round a number (`long`): the end digits touch the loop here and there, and the band
        # took their strokes where they lie along it or run into it (`29173` read `69177`). The band less
        # those strokes goes with the loop's own stroke: the digits' ink inside grown back into the band, as
        # far as the band reaches in from the loop's outer edge (its width and a pen), within the band.
        # What the digits do not reach (a second lap, the loop's ragged inner side) is the loop's.
        reach = math.ceil(settings.band * min(height, width) / 2 + pen)
        digits = ndimage.binary_dilation(inside, np.ones((3, 3), bool), iterations=reach, mask=ring | inside)
        return Loop(stroke | (ring & ~digits), True)
    return Loop(stroke, False)


def _box_shaped(own: np.ndarray, direction: np.ndarray, there: np.ndarray, dy: np.ndarray, dx: np.ndarray,
                settings: EmphasisSettings) -> bool:
    """A rough box drawn by hand: no oval, but its outermost ink lies along its box's sides all round (the
    distance from the centre measured as the larger of across and down, in shares of the half-sides),
    spread no more than an oval loop's may be (`oval`, reused: no new number)."""
    square = np.maximum(np.abs(dy), np.abs(dx))
    return _even_all_round(_outermost(own, direction, square, settings)[there], settings)[1]


def _outermost(own: np.ndarray, direction: np.ndarray, distance: np.ndarray, settings: EmphasisSettings) -> np.ndarray:
    """Per direction from the box's centre, the mark's furthest ink by `distance` (0 where it has none)."""
    outer = np.zeros(settings.directions, np.float32)
    np.maximum.at(outer, direction[own], distance[own])
    return outer


def _even_all_round(reach: np.ndarray, settings: EmphasisSettings) -> tuple[np.float32, bool]:
    """The outermost ink's middle distance, and whether it spreads round it no more than a loop drawn
    by hand does (`oval`)."""
    middle = np.median(reach)
    return middle, bool(ROBUST_SIGMA * np.median(np.abs(reach - middle)) <= settings.oval * float(middle))


def underlines(labels: np.ndarray, masses: np.ndarray, body: int, flat: np.ndarray) -> np.ndarray:
    """Per mark: flat marks wholly below the body (a line drawn under the digit). A digit's own flat
    parts (a 5's flag, a 7's bar) are at its top or across it, never below it on their own."""
    below = np.zeros(len(masses), bool)
    kept = np.flatnonzero(masses)
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    bottom = boxes[body - 1][0].stop
    for mark in kept:
        below[mark] = flat[mark] and mark != body and boxes[mark - 1][0].start >= bottom - 1
    return below
