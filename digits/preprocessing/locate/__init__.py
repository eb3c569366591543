"""Locating the digit: the surface it is written on, then the marks that are the digit, or none.

One stage, three modules: `surface` finds the page, note or canvas and cuts it out of the picture;
`layout` finds what a layout or a form puts round a digit (boxes, frames, lines, panels, bars, blocks);
`marks` takes the ink's connected pieces, sets those aside and chooses the digit's. Here no digit is
an answer only when there is no ink, only specks or a pattern of thousands of marks; whether what was
found is a digit is the judge's (pipeline.judge), which reads, beside the 28x28 image, what this stage
measures of the find in its picture (CONTEXT: how faint and grained, what lies round it, how it sits
among the picture's other marks), where rules once said "a solid shape", "text", "a straight bar",
"grain" or "a soft patch".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digits.preprocessing.ink import is_blank, noise_level
from digits.preprocessing.locate.marks import MIN_DIGIT_SHARE, MIN_DIGIT_SIDE, ink_marks
from digits.preprocessing.locate.surface import find_surface
from digits.preprocessing.normalise import stroke_width

__all__ = ["A_PATTERN", "BOX_SHARE", "CONTEXT", "LOW_CONTRAST_WARNING", "NO_DIGIT_WARNING", "NO_INK", "SEVERAL_MARKS_WARNING",
           "Located", "contrast_notes", "find_surface", "locate_digit"]

NO_DIGIT_WARNING = "No digit found: {}."
NO_INK = "the picture looks blank"
ONLY_SPECKS = "there are only specks, too small to be a digit"
A_PATTERN = "there are thousands of small marks all over it, like a pattern or a texture, not one handwritten digit"
LOW_CONTRAST_WARNING = (
    "Very low contrast: the digit barely stands out from the background, so the prediction may be unreliable."
)
SEVERAL_MARKS_WARNING = (
    "Several separate marks: the image may hold more than one digit or stray marks; they were read as one digit."
)

_LOW_CONTRAST_LEVEL = 40.0
_PHOTO_INK_LEVEL = 30.0  # in lossy files (photos), fainter marks are lighting and compression, not ink
BOX_SHARE = 0.1  # a digit's box holds its ink above this share of its strongest, where faint ink may be
# something else (in photos: shading and compression; in a whole number: a neighbour's stray edge)


# What the judge reads beside the 28x28 image: what the crop hides (how faint, how grained, what lies
# round the find, how the find sits among the picture's other marks), measured, never thresholded here.
CONTEXT = ("a photo (lossy)", "background noise (log)", "strongest ink (share of 255)", "strongest ink over noise (log)",
           "the digit's share of the picture's clear ink", "clear ink round the digit over its own",
           "ink round the digit over its own (log)", "clear share of the digit's pixels",
           "the body's share of the kept marks' ink", "kept marks (log)", "marks like the body (log)",
           "large marks apart from the body (log)", "crowded (a texture's thousands of marks)",
           "the box's side over the picture's", "the box's height over its width (log)",
           "stroke width over the box's side", "the body's length over its width (log)")


@dataclass(frozen=True, eq=False)
class Located:
    digit: np.ndarray | None  # float32 (h, w): the digit's ink cropped to its box, other marks cleared; None: no digit
    warnings: tuple[str, ...]
    decisions: tuple[str, ...] = ()  # what was set aside round the digit, for the trace
    context: np.ndarray | None = None  # float32 (len(CONTEXT),): the find among the picture, for the judge


def locate_digit(ink: np.ndarray, lossy: bool) -> Located:
    """The digit's ink, cropped to its box, from a picture's ink signal, with its CONTEXT for the judge."""
    noise = noise_level(ink)
    strongest = float(ink.max())
    if is_blank(ink, noise) or (lossy and strongest < _PHOTO_INK_LEVEL):
        return _no_digit(NO_INK)
    marks = ink_marks(ink, noise, drawn=not lossy)
    if not marks.masses.any():
        return _no_digit(A_PATTERN if marks.crowded else NO_INK)
    mask = marks.mask
    boxed = mask & (ink >= BOX_SHARE * float(ink[mask].max())) if lossy else mask
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    smallest = min(max(MIN_DIGIT_SIDE, MIN_DIGIT_SHARE * min(ink.shape)), *ink.shape)
    size = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 if len(rows) else 0
    if size < smallest:
        return _no_digit(A_PATTERN if marks.crowded else ONLY_SPECKS)
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    notes = contrast_notes(strongest, noise) + ((SEVERAL_MARKS_WARNING,) if marks.has_separate_marks else ())
    return Located(np.where(mask[crop], np.maximum(ink[crop], 0), 0).astype(np.float32), notes, marks.set_aside,
                   _context(ink, noise, strongest, lossy, marks, mask, crop))


def _context(ink: np.ndarray, noise: float, strongest: float, lossy: bool, marks, mask: np.ndarray,
             crop: tuple) -> np.ndarray:
    """The CONTEXT measures of the digit found at `crop`: "round the digit" is its box grown by its side
    each way, the digit's own pixels left out."""
    rows, cols = crop
    height, width = rows.stop - rows.start, cols.stop - cols.start
    side = max(height, width)
    around = np.s_[max(rows.start - side, 0) : rows.stop + side, max(cols.start - side, 0) : cols.stop + side]
    clear, outside, positive = marks.clear, ~mask[around], np.maximum(ink, 0)
    own_clear = max(np.count_nonzero(clear & mask), 1)
    own_ink = max(float(positive[mask].sum()), 1.0)
    kept = marks.masses[marks.masses > 0]
    return np.array([
        float(lossy), np.log1p(noise), strongest / 255, np.log((strongest + 1) / (noise + 1)),
        own_clear / max(np.count_nonzero(clear), 1),
        np.count_nonzero(clear[around] & outside) / own_clear,
        np.log1p(float(positive[around][outside].sum()) / own_ink),
        np.count_nonzero(clear[mask]) / max(np.count_nonzero(mask), 1),
        marks.masses[marks.body] / max(float(kept.sum()), 1.0), np.log(max(len(kept), 1)), np.log1p(marks.alike),
        np.log1p(marks.others), float(marks.crowded), side / min(ink.shape), np.log(height / width),
        stroke_width(mask[crop]) / side, np.log(marks.body_elongation)], np.float32)


def contrast_notes(strongest: float, noise: float) -> tuple[str, ...]:
    return (LOW_CONTRAST_WARNING,) if strongest < max(_LOW_CONTRAST_LEVEL, 10 * noise) else ()


def _no_digit(reason: str) -> Located:
    return Located(None, (NO_DIGIT_WARNING.format(reason),))
