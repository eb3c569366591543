"""Locating the digit: the surface it is written on, then the marks that are the digit, or none.

One stage, three modules: `surface` finds the page, note or canvas and cuts it out of the picture;
`layout` finds what a layout or a form puts round a digit (boxes, frames, lines, panels, bars, blocks);
`marks` takes the ink's connected pieces, sets those aside and chooses the digit's. Here the marks
are judged: no digit is an answer when there is no ink, only specks, a solid shape, text, a straight
bar on a photo (a pen), faint marks on a grained ground, soft ones hardly anywhere clear (a knot in
wood), or small faint ones in a photo (dust, grain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.ink import is_blank, noise_level
from digits.preprocessing.lighting import SETTINGS as LIGHTING
from digits.preprocessing.locate.layout import WRITING_CLEAR
from digits.preprocessing.locate.marks import FLAT, LOOP, MIN_DIGIT_SHARE, MIN_DIGIT_SIDE, SOLID_STROKES, ink_marks
from digits.preprocessing.locate.surface import find_surface
from digits.preprocessing.normalise import TARGET_STROKE_RATIO, stroke_width

__all__ = ["A_PATTERN", "BOX_SHARE", "LOW_CONTRAST_WARNING", "NO_DIGIT_WARNING", "NO_INK", "SEVERAL_MARKS_WARNING",
           "Located", "chalk_line_as_drawn", "contrast_notes", "find_surface", "is_chalk", "locate_digit"]

NO_DIGIT_WARNING = "No digit found: {}."
NO_INK = "the picture looks blank"
ONLY_SPECKS = "there are only specks, too small to be a digit"
SOLID_SHAPE = "what is there is a solid shape, not handwriting"
STRAIGHT_BAR = "what is there is a straight bar, like a pen or the edge of something, not handwriting"
TEXT = "what is there looks like rows of text or small marks, not one handwritten digit"
ONLY_TEXTURE = "there are only faint marks all over it, like the grain of a surface"
A_PATTERN = "there are thousands of small marks all over it, like a pattern or a texture, not one handwritten digit"
LOW_CONTRAST_WARNING = (
    "Very low contrast: the digit barely stands out from the background, so the prediction may be unreliable."
)
SEVERAL_MARKS_WARNING = (
    "Several separate marks: the image may hold more than one digit or stray marks; they were read as one digit."
)

_LOW_CONTRAST_LEVEL = 40.0
_PHOTO_INK_LEVEL = 30.0  # in lossy files (photos), fainter marks are lighting and compression, not ink
_GRAINY = 5.0  # a photo's background this noisy (0-255) is grained: wood, cloth, a carpet, not paper
BOX_SHARE = 0.1  # a digit's box holds its ink above this share of its strongest, where faint ink may be
# something else (in photos: shading and compression; in a whole number: a neighbour's stray edge)


@dataclass(frozen=True, eq=False)
class Located:
    digit: np.ndarray | None  # float32 (h, w): the digit's ink cropped to its box, other marks cleared; None: no digit
    warnings: tuple[str, ...]
    decisions: tuple[str, ...] = ()  # what was set aside round the digit, for the trace

    close_loop: bool = False  # a loop drawn close round the digit, or its own outline, was left in its marks
    ink_share: float = 1.0  # the share of the ink's pieces (`ink_pieces`: the layout's set aside) the digit's marks hold
    chalk: bool = False  # light ink in a photo: chalk, its line drawn at MNIST's pen (`to_mnist_frame`)

    @property
    def loops_set_aside(self) -> int:
        return self.decisions.count(LOOP)


def locate_digit(ink: np.ndarray, lossy: bool, close_loops: float = 0, light_on_dark: bool = False) -> Located:
    """The digit's ink, cropped to its box, from a picture's ink signal (a loop drawn round it set aside;
    with `close_loops`, up to that many loops one within another, drawn close round it or across it too;
    `math.inf`: every one). `light_on_dark`: the ink is light on a dark ground. In a photo, that is chalk:
    its strokes break where the stick skips the board's grain (pieces a stroke's width apart are one mark,
    `ink_marks`), and its marks are the digit at the strength of the line (`_chalk_as_drawn`): chalk is as
    light as the board's grain and an eraser let it be, dots and faint stretches along one stroke, where a
    pen's stroke is even (MNIST's are full in their middle); the 28x28 image of the marks' shape reads as
    the stroke the hand drew."""
    noise = noise_level(ink)
    strongest = float(ink.max())
    if is_blank(ink, noise) or (lossy and strongest < _PHOTO_INK_LEVEL):
        return _no_digit(NO_INK)
    chalk = is_chalk(ink, lossy, light_on_dark)
    marks = ink_marks(ink, noise, drawn=not lossy, close_loops=close_loops, chalk=chalk)
    if not marks.masses.any():
        return _no_digit(A_PATTERN if marks.crowded else NO_INK, marks.set_aside)
    mask = marks.mask
    boxed = mask & (ink >= BOX_SHARE * float(ink[mask].max())) if lossy else mask
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    smallest = min(max(MIN_DIGIT_SIDE, MIN_DIGIT_SHARE * min(ink.shape)), *ink.shape)
    size = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 if len(rows) else 0
    if size < smallest:
        return _no_digit(A_PATTERN if marks.crowded else ONLY_SPECKS, marks.set_aside)
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if stroke_width(mask[crop]) > SOLID_STROKES * max(rows[-1] - rows[0], cols[-1] - cols[0]) + 2 or marks.body_is_solid:
        return _no_digit(SOLID_SHAPE, marks.set_aside)
    if marks.looks_like_text or rows[-1] - rows[0] < FLAT * (cols[-1] - cols[0]):  # a digit is never that flat
        return _no_digit(TEXT, marks.set_aside)
    if lossy and marks.body_is_a_bar(chalk):
        return _no_digit(STRAIGHT_BAR, marks.set_aside)
    faint = contrast_notes(strongest, noise)
    if lossy and faint and (marks.others or noise >= _GRAINY):  # faint marks on a grained photo: not writing
        return _no_digit(ONLY_TEXTURE, marks.set_aside)
    thin_chalk = chalk and marks.body_is_thin_chalk  # its clear ink is the grain's dots: its share says nothing
    if lossy and not thin_chalk and np.count_nonzero(marks.clear[mask]) < WRITING_CLEAR * np.count_nonzero(mask):
        return _no_digit(ONLY_TEXTURE, marks.set_aside)  # a soft patch (a knot in wood, a smudge) fainter than what was set aside
    notes = faint + ((SEVERAL_MARKS_WARNING,) if marks.has_separate_marks else ())
    digit = np.where(mask[crop], np.maximum(ink[crop], 0), 0).astype(np.float32)
    if chalk:  # chalk in a photo: how light a stroke is, along it, is the board's grain, not the hand's
        digit = _chalk_as_drawn(digit, mask[crop], marks.clear[crop])
    share = min(1.0, float(marks.masses.sum()) / marks.pieces_ink) if marks.pieces_ink > 0 else 1.0
    return Located(digit, notes, marks.set_aside, marks.close_loop, share, chalk)


def is_chalk(ink: np.ndarray, lossy: bool, light_on_dark: bool) -> bool:
    """Light ink on a dark ground in a photo, and not a digit's crop (a 28x28 JPEG): chalk on a board.
    Shared by one digit (`locate_digit`) and a whole number (`chalk_line_as_drawn`, segment.py's
    `find_marks`)."""
    return lossy and light_on_dark and min(ink.shape) >= LIGHTING.grid


def chalk_line_as_drawn(line: np.ndarray, clear: np.ndarray, top: int, left: int) -> tuple[np.ndarray, int, int]:
    """A whole number's line of chalk (`line`: its marks' ink in their box, `number_line.locate_line`, at
    `top`, `left` of the picture's ink; `clear`: the picture's clear ink) as the hand drew it, as one
    digit's chalk is drawn: at the strength of the line (`_chalk_as_drawn`), and a line thinner than
    MNIST's median pen drawn at that pen, of the line's height (a digit's: the number reader was trained
    on lines of MNIST digits), its box grown by the pen's reach within the picture. Returns the line's
    ink and where its box's top and left now lie.

    Traced on the proxy's chalkboard numbers, the line handed to the reader was grained and thin (its
    stroke, in the reader's frame, 1.95 pixels at the median against 2.59 for the same numbers
    photographed on paper): the reader read grain as strokes (`63` read `623`) and lost thin ones. The
    halo is not cut at the line's box: cut there, the strokes along its edges stayed thin (3 of the 90
    validation numbers lost)."""
    height, width = line.shape
    mask = line > 0
    drawn = _chalk_as_drawn(line, mask, clear[top : top + height, left : left + width] & mask)
    full = float(drawn.max())
    strokes = drawn >= 0.5 * full
    radius = (TARGET_STROKE_RATIO * height - stroke_width(strokes)) / 2
    if radius <= 0 or full <= 0:
        return drawn, top, left
    reach = math.ceil(radius) + 1
    grown_top, grown_left = max(0, top - reach), max(0, left - reach)
    grown = (min(clear.shape[0], top + height + reach) - grown_top, min(clear.shape[1], left + width + reach) - grown_left)
    placed = np.s_[top - grown_top : top - grown_top + height, left - grown_left : left - grown_left + width]
    canvas, pen = np.zeros(grown, np.float32), np.zeros(grown, bool)
    canvas[placed], pen[placed] = drawn, strokes
    halo = np.clip(radius + 0.5 - ndimage.distance_transform_edt(~pen), 0.0, 1.0) * full  # a disc of the pen's
    # width round each stroke, its edge anti-aliased, as `to_mnist_frame` draws one digit's chalk
    return np.maximum(canvas, halo).astype(np.float32), grown_top, grown_left


def _chalk_as_drawn(digit: np.ndarray, mask: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """Chalk's marks as the hand drew them: the clear ink at full strength, its soft edges as they are
    within the window the board's ground is measured with (`LightingSettings.ground_strokes` strokes
    wide); a stretch of the marks with no clear ink that near (a stretch of line an eraser half wiped
    away) as strong as it is beside the strongest ink near it: the line there, dim as it is. Read so
    only where no clear ink is near: read relative to the clear ink beside it too, the soft light round a
    photo's shapes grew into their silhouettes (a photo of things read as a 4, one of food as a 0)."""
    full = float(digit.max())
    window = math.ceil(LIGHTING.ground_strokes * stroke_width(mask & clear)) | 1
    near_clear = ndimage.maximum_filter((mask & clear).astype(np.uint8), size=window) > 0  # (a binary dilation this
    # wide ran out of memory on a broad shape: its window was hundreds of pixels)
    beside = ndimage.grey_dilation(digit, size=(window, window))
    relative = np.divide(digit * full, beside, out=np.zeros_like(digit), where=mask & (beside > 0))
    return np.where(mask & clear, full, np.where(near_clear, digit, relative)).astype(np.float32)


def contrast_notes(strongest: float, noise: float) -> tuple[str, ...]:
    return (LOW_CONTRAST_WARNING,) if strongest < max(_LOW_CONTRAST_LEVEL, 10 * noise) else ()


def _no_digit(reason: str, set_aside: tuple[str, ...] = ()) -> Located:
    return Located(None, (NO_DIGIT_WARNING.format(reason),), set_aside)
