"""Locating the digit: the surface it is written on, then the marks that are the digit, or none.

`find_surface` works on the picture: a page on a table, a page inside a dark border, a sticky note on a
desk is a large, solid region of one colour that differs from what surrounds it; the picture is cropped
to it and what lies outside it (the table, the corners a tilt uncovers) is painted over with the
surface's own edge, so the later stages see only the page.

`locate_digit` works on the ink signal. Marks are its connected pieces. Set aside first: printed boxes
and frames (straight lines along three or four sides of a mark's box), and, when a mark away from the
edges is there to read, what runs into the picture's edge (a table, a bar of a user interface, the next
box on a form). Then specks and stray dots far from the digit are dropped and large separate marks are
kept and warned about. No digit is an answer: no ink, only specks, or a solid shape rather than strokes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import border, median, otsu_threshold
from digits.preprocessing.ink import MIN_INK_LEVEL, noise_level
from digits.preprocessing.normalise import stroke_width

NO_DIGIT_WARNING = "No digit found: {}."
NO_INK = "the picture looks blank"
ONLY_SPECKS = "there are only specks, too small to be a digit"
SOLID_SHAPE = "what is there is a solid shape, not handwriting"
STRAIGHT_BAR = "what is there is a straight bar, like a pen or the edge of something, not handwriting"
TEXT = "what is there looks like rows of text or small marks, not one handwritten digit"
ONLY_TEXTURE = "there are only faint marks all over it, like the grain of a surface"
LOW_CONTRAST_WARNING = (
    "Very low contrast: the digit barely stands out from the background, so the prediction may be unreliable."
)
SEVERAL_MARKS_WARNING = (
    "Several separate marks: the image may hold more than one digit or stray marks; they were read as one digit."
)

_SURFACE_WORK_SIDE = 128  # the surface is looked for at about this size
_SURFACE_CONTRAST = 40.0  # a surface differs from its surroundings by this much (0-255, any channel) ...
_SURFACE_SHARE = 0.12  # ... covers at least this share of the picture ...
_SURFACE_SOLIDITY = 0.75  # ... is of one colour over this share of its area (the rest: what is written on it) ...
_SURFACE_ROUGHNESS = 9.0  # ... is smooth: its colour changes by at most this much from pixel to pixel on average ...
_SURFACE_FILL = 0.6  # ... fills this share of its box (a page, even turned, is a quadrilateral) ...
_SURFACE_SIDES = 0.3  # ... and spans at least this share of the picture's width and of its height
_SURFACE_EDGE_MARGIN = 0.03  # the surface's own edge (shadow, blur) is left out: this share of its size

_LOW_CONTRAST_LEVEL = 40.0
_FAINTEST_INK = 4.0  # the soft edge of a mark reaches down to this (0-255); below it, a clean background
_PHOTO_INK_LEVEL = 30.0  # in lossy files (photos), fainter marks are lighting and compression, not ink
_GRAINY = 5.0  # a photo's background this noisy (0-255) is grained: wood, cloth, a carpet, not paper
_LOSSY_BOX_SHARE = 0.1  # in lossy files the digit's box holds only the ink above this share of its strongest
_SPECK_FRACTION = 0.02  # marks with less ink than this share of the biggest mark are specks
_MARK_FRACTION = 0.15  # marks with at least this share of the biggest mark's ink count as marks
_MARK_GAP = 0.2  # ... and are separate when this far from the biggest (share of its size); smaller marks
# that far away are stray dots. In MNIST, 1 in 10,000 digits has a part that far off.
_TEXT_MARKS = 5  # this many marks, none with half the ink, are text
_FAR_GAP = 1.0  # marks further than this are not read with the digit, however large (text, other things)
_FRAME_SIDE_COVER = 0.75  # a frame's straight lines run along this share of three or four sides of its box
_FRAME_MIN_SIDE = 0.2  # frames are at least this share of the picture's shorter side ...
_FRAME_THINNESS = 0.05  # ... and their lines at most this share of the frame's shorter side
_EDGE_WIDER = 2.0  # an edge mark this many times thicker than the digit's strokes is a surface, not ink
_MIN_DIGIT_SIDE = 6  # pixels (at the working size) ...
_MIN_DIGIT_SHARE = 0.025  # ... or this share of the picture's shorter side: smaller is a speck
_FLAT = 0.4  # a mark less tall than this share of its width is flat: text, a dash, a line
_RULER_WIDTH = 3  # a long upright mark at most this wide (pixels) is ruler-straight: a line of a layout
_LAYOUT_LINE = 0.15  # a line of a layout runs straight along a row or a column for this share of the picture ...
_MIN_LAYOUT_SIDE = 128  # smaller pictures are too small to hold a layout or a form
_LINE_WIDTH = 5  # ... and is at most this many pixels wide
_TINTED_SHARE = 0.02  # a mark this large (share of the picture) ...
_TINTED_CLEAR = 0.2  # ... with clear ink in less than this share of it is an area of another shade
_LOW = 0.3  # ... and a mark less tall than this share of the body, apart from it, is text or a dash
_ALIKE = 0.3  # marks with this share of the body's ink and size are like it ...
_LINE_THINNESS = 0.02  # a mark from edge to edge this thin for its length is a line, not a stroke
_BLOCK_FILL = 0.85  # a mark filling this share of its box ...
_BLOCK_CONTACT = 0.8  # ... along this share of a side of the picture is a block: a surface, not ink
_HOLLOW = 0.5  # a mark along two sides of the picture filling less than this share of its box surrounds it
_BAR_ASPECT = 12.0  # a mark this many times longer than wide ...
_BAR_PIECES = 8  # ... whose centre line, followed in this many pieces, ...
_BAR_WANDER = 0.02  # ... wanders by less than this share of its length is a straight bar (MNIST's 1s: under 10 long)
_SOLID_SHAPE = 0.4  # strokes wider than this share of the mark's longer side make a blob, not a digit


@dataclass(frozen=True, eq=False)
class Located:
    digit: np.ndarray | None  # float32 (h, w): the digit's ink cropped to its box, other marks cleared; None: no digit
    warnings: tuple[str, ...]


def find_surface(pixels: np.ndarray) -> np.ndarray:
    """float32 (H, W, C): the picture cropped to the page, note or canvas the digit is on, if it lies on one."""
    height, width = pixels.shape[:2]
    if min(height, width) < 64:
        return pixels
    step = math.ceil(max(height, width) / _SURFACE_WORK_SIDE)
    small = ndimage.median_filter(pixels[::step, ::step], size=(3, 3, 1))
    distance = np.abs(small - median(border(small))).max(axis=-1)
    labels, count = ndimage.label(distance > _SURFACE_CONTRAST)
    if count == 0:
        return pixels
    region = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    surface = ndimage.binary_fill_holes(region)
    rows, cols = np.flatnonzero(surface.any(axis=1)), np.flatnonzero(surface.any(axis=0))
    area = np.count_nonzero(surface)
    box_area = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    if (area < _SURFACE_SHARE * region.size or np.count_nonzero(region) < _SURFACE_SOLIDITY * area
            or area < _SURFACE_FILL * box_area or _roughness(small, region) > _SURFACE_ROUGHNESS
            or rows[-1] - rows[0] < _SURFACE_SIDES * region.shape[0] or cols[-1] - cols[0] < _SURFACE_SIDES * region.shape[1]):
        return pixels
    mask = np.repeat(np.repeat(surface, step, axis=0), step, axis=1)[:height, :width]
    margin = step + round(_SURFACE_EDGE_MARGIN * min(rows[-1] - rows[0], cols[-1] - cols[0]) * step)
    mask = ndimage.binary_erosion(mask, np.ones((3, 3), bool), iterations=margin)
    if not mask.any():
        return pixels
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    pixels, mask = pixels[crop], mask[crop]
    nearest = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)
    return pixels[nearest[0], nearest[1]]  # outside the surface: the nearest pixel of the surface's edge


def _roughness(small: np.ndarray, region: np.ndarray) -> float:
    """How much the colour changes from one pixel to the next inside the region (0-255, any channel):
    small on a page, even under a shadow's slow change; large on grained wood or a textured cloth."""
    step_down = np.abs(np.diff(small, axis=0)).max(axis=-1)[region[1:] & region[:-1]]
    step_across = np.abs(np.diff(small, axis=1)).max(axis=-1)[region[:, 1:] & region[:, :-1]]
    return float(np.concatenate([step_down, step_across]).mean())


def locate_digit(ink: np.ndarray, lossy: bool) -> Located:
    """The digit's ink, cropped to its box, from a picture's ink signal."""
    noise = noise_level(ink)
    strongest = float(ink.max())
    if strongest < max(MIN_INK_LEVEL, 6 * noise, _PHOTO_INK_LEVEL if lossy else 0.0):
        return _no_digit(NO_INK)
    marks = _ink_marks(ink, noise)
    if not marks.masses.any():
        return _no_digit(NO_INK)
    mask = marks.mask
    boxed = mask & (ink >= _LOSSY_BOX_SHARE * float(ink[mask].max())) if lossy else mask
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    smallest = min(max(_MIN_DIGIT_SIDE, _MIN_DIGIT_SHARE * min(ink.shape)), *ink.shape)
    if not len(rows) or max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < smallest:
        return _no_digit(ONLY_SPECKS)
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if stroke_width(mask[crop]) > _SOLID_SHAPE * max(rows[-1] - rows[0], cols[-1] - cols[0]) + 2 or marks.body_is_solid:
        return _no_digit(SOLID_SHAPE)
    if marks.looks_like_text:
        return _no_digit(TEXT)
    if lossy and marks.body_is_a_bar:
        return _no_digit(STRAIGHT_BAR)
    faint = contrast_notes(strongest, noise)
    if lossy and faint and (marks.others or noise >= _GRAINY):  # faint marks on a grained photo: not writing
        return _no_digit(ONLY_TEXTURE)
    notes = faint + ((SEVERAL_MARKS_WARNING,) if marks.has_separate_marks else ())
    return Located(np.where(mask[crop], np.maximum(ink[crop], 0), 0).astype(np.float32), notes)


def contrast_notes(strongest: float, noise: float) -> tuple[str, ...]:
    return (LOW_CONTRAST_WARNING,) if strongest < max(_LOW_CONTRAST_LEVEL, 10 * noise) else ()


def _no_digit(reason: str) -> Located:
    return Located(None, (NO_DIGIT_WARNING.format(reason),))


@dataclass(frozen=True)
class _Marks:
    labels: np.ndarray  # (H, W) int: connected marks numbered from 1, 0 = background
    masses: np.ndarray  # (number of marks + 1,) float: ink per mark, 0 for marks dropped and for the background
    gaps: np.ndarray  # (number of marks + 1,) float: each mark's distance from the body, in the body's sizes
    others: int = 0  # how many large marks lay apart from the body (those further than _FAR_GAP were dropped)
    body: int = 0  # the mark that holds the digit's body
    alike: int = 0  # how many other marks, anywhere, are about as large as the body (text, icons)
    clear: np.ndarray | None = None  # (H, W) bool: the clear ink (its soft edges and faint grain left out)

    @property
    def looks_like_text(self) -> bool:
        """Many small marks, none holding most of the ink: rows of writing or print, not one digit."""
        kept = self.masses[self.masses > 0]
        return (len(kept) >= _TEXT_MARKS and self.masses[self.body] < 0.5 * kept.sum()) or self.alike >= _TEXT_MARKS - 1

    @property
    def body_is_a_bar(self) -> bool:
        """Straighter and longer than a handwritten 1: a pen, a pencil, the edge of something. Its
        clear ink is many times longer than wide, and its centre line does not wander."""
        ys, xs = np.nonzero((self.labels == self.body) & self.clear)
        if len(ys) < 2:
            return False
        points = np.stack([ys, xs], axis=1).astype(np.float32)
        points -= points.mean(axis=0)
        along, across = (points @ np.linalg.svd(points, full_matrices=False)[2].T).T
        length, width = np.ptp(along) + 1, np.ptp(across) + 1
        if length < _BAR_ASPECT * width:
            return False
        stretch = np.minimum((along - along.min()) * _BAR_PIECES // length, _BAR_PIECES - 1).astype(int)
        centre = [np.median(across[stretch == piece]) for piece in range(_BAR_PIECES) if np.any(stretch == piece)]
        return float(np.ptp(centre)) <= max(1.5, _BAR_WANDER * length)

    @property
    def body_is_solid(self) -> bool:
        box = ndimage.find_objects(self.labels == self.body, max_label=1)[0]
        own = self.labels[box] == self.body
        return stroke_width(own) > _SOLID_SHAPE * max(own.shape) + 2

    @property
    def mask(self) -> np.ndarray:
        return (self.masses > 0).take(self.labels)

    @property
    def has_separate_marks(self) -> bool:
        large = self.masses >= _MARK_FRACTION * self.masses.max(initial=0)
        return bool(np.any(large & (self.gaps > _MARK_GAP)))


def _ink_marks(ink: np.ndarray, noise: float) -> _Marks:
    """The ink worth keeping: connected marks that rise clearly above the background, specks dropped.

    A mark is kept whole, faint anti-aliased edges included, if part of it is clearly ink (above the
    Otsu threshold and the noise). Frames and what runs into the picture's edge are set aside; marks
    with a tiny share of the ink are specks; small marks away from the digit are stray dots. All are
    dropped; large separate marks are kept (and warned about).
    """
    strong = ink > max(otsu_threshold(ink), 4 * noise, MIN_INK_LEVEL)
    faint = ink > max(3 * noise, _FAINTEST_INK)
    frames = _frames(strong, min(ink.shape))
    if frames.any():  # the frames' lines (with their soft edges) removed, what they held is looked at alone
        faint &= ~ndimage.binary_dilation(frames, np.ones((3, 3), bool), iterations=2)
    lines = _layout_lines(faint, min(ink.shape))  # the lines of a layout or a form, where no stroke crosses them
    strong, faint = strong & ~lines, faint & ~lines
    labels, count = ndimage.label(faint, structure=np.ones((3, 3), bool), output=np.intp)
    tinted = _tinted_areas(labels, count, ink, strong, max(3 * noise, _FAINTEST_INK))
    if tinted.any():  # a panel or a bar of another shade: its own colour is the background of what is on it
        strong, faint = strong & ~tinted, faint & ~tinted
        labels, count = ndimage.label(faint, structure=np.ones((3, 3), bool), output=np.intp)
    masses = np.bincount(labels[faint], weights=ink[faint], minlength=count + 1)
    masses[np.bincount(labels[strong & faint], minlength=count + 1) == 0] = 0  # no clear ink in it
    _set_aside_lines_and_blocks(labels, masses)
    _set_aside_the_edges(labels, masses)
    body = _body(labels, masses)
    if body is None:  # nothing but lines and rows of text
        return _Marks(labels, np.zeros_like(masses), np.zeros_like(masses))
    alike = _alike(labels, masses, body)
    masses[masses < _SPECK_FRACTION * masses[body]] = 0
    gaps = _gaps_from(labels, masses, body)
    apart = gaps > _MARK_GAP
    masses[apart & _flat_and_low(labels, masses, body)] = 0  # a word of a label or a caption, a dash
    others = int(np.count_nonzero(apart & (masses >= _MARK_FRACTION * masses[body])))
    masses[(apart & (masses < _MARK_FRACTION * masses[body])) | (gaps > _FAR_GAP)] = 0
    return _Marks(labels, masses, gaps, others, body, alike, strong)


def _body(labels: np.ndarray, masses: np.ndarray) -> int | None:
    """The mark with the most ink that can be a digit's body: not a flat mark (a word of text, a dash,
    a line), which may only be a part of a digit (the flag of a 5, the bar of a 7) beside it, nor a
    ruler-straight upright line of a layout."""
    kept = np.flatnonzero(masses)
    if not len(kept):
        return None
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    sizes = {mark: (boxes[mark - 1][0].stop - boxes[mark - 1][0].start,
                    boxes[mark - 1][1].stop - boxes[mark - 1][1].start) for mark in kept}
    upright = [mark for mark, (height, width) in sizes.items()
               if height >= _FLAT * width and not (width <= _RULER_WIDTH and height > 20 * width)]
    return max(upright, key=lambda mark: masses[mark]) if upright else None


def _flat_and_low(labels: np.ndarray, masses: np.ndarray, body: int) -> np.ndarray:
    """Per mark: whether it is flat and low beside the body (printed words, a dash), not a digit's part."""
    flat = np.zeros(len(masses), bool)
    kept = np.flatnonzero(masses)
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    body_height = boxes[body - 1][0].stop - boxes[body - 1][0].start
    for mark in kept:
        rows, cols = boxes[mark - 1]
        height = rows.stop - rows.start
        flat[mark] = height < _FLAT * (cols.stop - cols.start) and height < _LOW * body_height
    return flat


def _alike(labels: np.ndarray, masses: np.ndarray, body: int) -> int:
    """How many marks besides the body are about its size and ink: a digit stands out from what is
    around it (labels, text, icons); a body among many marks like it is one of them."""
    kept = np.flatnonzero(masses)
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    def size(mark: int) -> int:
        return max(part.stop - part.start for part in boxes[mark - 1])
    return sum(1 for mark in kept if mark != body and masses[mark] >= _ALIKE * masses[body]
               and size(mark) >= _ALIKE * size(body))


def _set_aside_lines_and_blocks(labels: np.ndarray, masses: np.ndarray) -> None:
    """Dropped (masses set to 0), wherever they are: thin lines right across the picture (a fold, a
    crease, a separator, a ruler's edge) and solid blocks along one side that do not reach the other
    (the edge of a laptop or a book, a bar of a user interface). Handwriting is neither."""
    kept = np.flatnonzero(masses)
    if not len(kept):
        return
    height, width = labels.shape
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
        if own.mean() < _BLOCK_FILL:
            continue
        sides = ((rows.start == 0, own[0].sum() / width, rows.stop == height),
                 (rows.stop == height, own[-1].sum() / width, rows.start == 0),
                 (cols.start == 0, own[:, 0].sum() / height, cols.stop == width),
                 (cols.stop == width, own[:, -1].sum() / height, cols.start == 0))
        if any(touches and contact >= _BLOCK_CONTACT and not opposite for touches, contact, opposite in sides):
            masses[mark] = 0


def _tinted_areas(labels: np.ndarray, count: int, ink: np.ndarray, strong: np.ndarray, margin: float) -> np.ndarray:
    """Large marks made mostly of weak ink: areas of a slightly different shade (the panels and bars of
    a user interface, a shaded part of a page), perhaps with marks on them. Returns the pixels of
    those areas at about their own level, so that what stands above it is looked at alone."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    clear = np.bincount(labels[strong], minlength=count + 1)
    areas = np.flatnonzero((sizes >= _TINTED_SHARE * labels.size) & (clear < _TINTED_CLEAR * sizes))
    tinted = np.zeros(labels.shape, bool)
    boxes = ndimage.find_objects(labels, max_label=count)
    for area in areas[areas > 0]:
        box = boxes[area - 1]
        own = labels[box] == area
        level = float(median(ink[box][own]))
        tinted[box] |= own & (ink[box] <= level + margin)
    return tinted


def _layout_lines(mask: np.ndarray, shorter_side: int) -> np.ndarray:
    """Thin lines exactly along the rows or the columns, longer than a digit's strokes are straight:
    the separators, frames and rulings of a user interface or a printed form. A stroke that crosses
    such a line keeps its ink there (the line is thin; the stroke is not, along the line's width),
    and a line that is a stroke of a digit drawn with a fine pen (a 7's bar) is kept: it joins a mark
    of strokes as thin as itself."""
    lines = np.zeros(mask.shape, bool)
    if shorter_side < _MIN_LAYOUT_SIDE:
        return lines
    length = round(_LAYOUT_LINE * shorter_side) | 1
    for along in (0, 1):
        full = ndimage.uniform_filter1d(mask.astype(np.float32), length, axis=along) > 0.999
        run = ndimage.maximum_filter1d(full, length, axis=along)
        deep = ndimage.uniform_filter1d(mask.astype(np.float32), _LINE_WIDTH + 1, axis=1 - along) > 0.999
        lines |= run & ~ndimage.maximum_filter1d(deep, _LINE_WIDTH + 1, axis=1 - along)
    if not lines.any():
        return lines
    rest, _ = ndimage.label(mask & ~lines, structure=np.ones((3, 3), bool), output=np.intp)
    pieces, count = ndimage.label(lines, structure=np.ones((3, 3), bool), output=np.intp)
    rest_boxes = ndimage.find_objects(rest)
    for piece, box in enumerate(ndimage.find_objects(pieces, count), start=1):
        grown = tuple(slice(max(0, part.start - 1), part.stop + 1) for part in box)
        own = pieces[grown] == piece
        touched = np.unique(rest[grown][ndimage.binary_dilation(own, np.ones((3, 3), bool))])
        width = stroke_width(own)
        for mark in touched[touched > 0]:
            other = rest[rest_boxes[mark - 1]] == mark
            if stroke_width(other) <= 2 * width + 1 and max(other.shape) >= length:
                lines[grown] &= ~own  # one of the digit's own strokes
                break
    return lines


def _frames(strong: np.ndarray, shorter_side: int) -> np.ndarray:
    """The straight lines of printed boxes and frames: marks of clear ink whose lines run along three or
    four sides of their own box. Returns those lines' pixels (a band along each covered side)."""
    labels, count = ndimage.label(strong, structure=np.ones((3, 3), bool), output=np.intp)
    lines = np.zeros(labels.shape, bool)
    for mark, box in enumerate(ndimage.find_objects(labels, count), start=1):
        if box is None or min(box[0].stop - box[0].start, box[1].stop - box[1].start) < _FRAME_MIN_SIDE * shorter_side:
            continue
        own = labels[box] == mark
        line = stroke_width(own)
        if line > _FRAME_THINNESS * min(own.shape):
            continue
        band = math.ceil(1.5 * line) + 1
        sides = [own[:band], own[-band:], own[:, :band].T, own[:, -band:].T]
        covered = [side.any(axis=0).mean() >= _FRAME_SIDE_COVER for side in sides]
        if sum(covered) < 3:
            continue
        in_band = np.zeros(own.shape, bool)
        for side, is_covered in zip((np.s_[:band], np.s_[-band:], np.s_[:, :band], np.s_[:, -band:]), covered):
            if is_covered:
                in_band[side] = True
        lines[box] |= own & in_band
    return lines


def _set_aside_the_edges(labels: np.ndarray, masses: np.ndarray) -> None:
    """Marks that run into the picture's edge are dropped (masses set to 0) when a mark away from the
    edges is there to read and they are not part of it: far from it, or much thicker (a table, a bar)."""
    kept = np.flatnonzero(masses)
    if len(kept) < 2:
        return
    touching = np.zeros(len(masses), bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    touching[0] = False
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    smallest = max(_MIN_DIGIT_SIDE, _MIN_DIGIT_SHARE * min(labels.shape))
    inside = [mark for mark in kept if not touching[mark]
              and max(box.stop - box.start for box in boxes[mark - 1]) >= smallest]  # not a speck
    edge_marks = [mark for mark in kept if touching[mark]]
    if not inside or not edge_marks:
        return
    digit = max(inside, key=lambda mark: masses[mark])
    digit_box = boxes[digit - 1]
    digit_size = max(digit_box[0].stop - digit_box[0].start, digit_box[1].stop - digit_box[1].start)
    digit_thickness = _thickness(labels[digit_box] == digit)
    distance = ndimage.distance_transform_edt(labels != digit)
    nearest = ndimage.minimum(distance, labels, edge_marks)
    for mark, gap in zip(edge_marks, np.atleast_1d(nearest)):
        if gap > _MARK_GAP * digit_size or _thickness(labels[boxes[mark - 1]] == mark) > _EDGE_WIDER * digit_thickness:
            masses[mark] = 0


def _thickness(mask: np.ndarray) -> float:
    """The width of a mark's thickest part, pinholes (texture, noise) closed first."""
    closed = ndimage.binary_closing(np.pad(mask, 2), np.ones((3, 3), bool), iterations=2)
    return 2.0 * float(ndimage.distance_transform_edt(closed).max())


def _gaps_from(labels: np.ndarray, masses: np.ndarray, body: int) -> np.ndarray:
    """How far each kept mark's box lies from the body's box, over the body's longer side."""
    gaps = np.zeros_like(masses)
    kept = np.flatnonzero(masses)
    if len(kept) < 2:
        return gaps
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    biggest = boxes[body - 1]
    size = max(biggest[0].stop - biggest[0].start, biggest[1].stop - biggest[1].start)
    for mark in kept:
        box = boxes[mark - 1]
        gap_y = max(box[0].start - biggest[0].stop, biggest[0].start - box[0].stop, 0)
        gap_x = max(box[1].start - biggest[1].stop, biggest[1].start - box[1].stop, 0)
        gaps[mark] = max(gap_y, gap_x) / size
    return gaps
