"""Ink to the digit: which marks are the digit, and the box they fill, or why there is none.

Marks are the connected pieces of ink. Specks and stray dots far from the digit are dropped; large
separate marks are kept and warned about. A picture whose edges are not its background (a page
photographed on a table) is refused with a warning, as is a picture with no ink at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digits.preprocessing.arrays import border, otsu_threshold
from digits.preprocessing.ink import MIN_INK_LEVEL, noise_level

NO_INK_WARNING = "No ink found: the image looks blank, so the prediction means nothing."
LOW_CONTRAST_WARNING = (
    "Very low contrast: the digit barely stands out from the background, so the prediction may be unreliable."
)
EDGES_NOT_BACKGROUND_WARNING = (
    "No background found: most of the picture differs from its edges (a page photographed on a table?). "
    "Crop it to the page so the digit can be found."
)
SEVERAL_MARKS_WARNING = (
    "Several separate marks: the image may hold more than one digit or stray marks; they were read as one digit."
)

_LOW_CONTRAST_LEVEL = 40.0
_LOSSY_BOX_SHARE = 0.1  # in lossy files the digit's box holds only the ink above this share of its strongest
_SPECK_FRACTION = 0.02  # marks with less ink than this share of the biggest mark are specks
_MARK_FRACTION = 0.15  # marks with at least this share of the biggest mark's ink count as marks
_MARK_GAP = 0.2  # ... and are separate when this far from the biggest (share of its size); smaller marks
# that far away are stray dots. In MNIST, 1 in 10,000 digits has a part that far off.


@dataclass(frozen=True, eq=False)
class Located:
    digit: np.ndarray | None  # float32 (h, w): the digit's ink cropped to its box, other marks cleared; None: no digit
    warnings: tuple[str, ...]


def locate_digit(ink: np.ndarray, lossy: bool) -> Located:
    """The digit's ink, cropped to its box, from a picture's ink signal."""
    if _edges_are_not_background(ink):
        return Located(None, (EDGES_NOT_BACKGROUND_WARNING,))
    noise = noise_level(ink)
    strongest = float(ink.max())
    if strongest < max(MIN_INK_LEVEL, 6 * noise):
        return Located(None, (NO_INK_WARNING,))
    marks = _ink_marks(ink, noise)
    if not marks.masses.any():
        return Located(None, (NO_INK_WARNING,))
    notes = contrast_notes(strongest, noise) + ((SEVERAL_MARKS_WARNING,) if marks.has_separate_marks else ())
    mask = marks.mask
    boxed = mask & (ink >= _LOSSY_BOX_SHARE * float(ink[mask].max())) if lossy else mask
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return Located(np.where(mask[crop], np.maximum(ink[crop], 0), 0).astype(np.float32), notes)


def contrast_notes(strongest: float, noise: float) -> tuple[str, ...]:
    return (LOW_CONTRAST_WARNING,) if strongest < max(_LOW_CONTRAST_LEVEL, 10 * noise) else ()


def _edges_are_not_background(ink: np.ndarray) -> bool:
    """Most of the picture is far from its edges' colour, which hardly reaches into it: a page on a table.

    (A tightly cropped bold digit can also cover most of the picture, but it runs into the edges.)
    """
    far = ink[:: max(1, ink.shape[0] // 128), :: max(1, ink.shape[1] // 128)] > 4 * MIN_INK_LEVEL
    return far.mean() > 0.5 and border(far).mean() < 0.1


@dataclass(frozen=True)
class _Marks:
    labels: np.ndarray  # (H, W) int: connected marks numbered from 1, 0 = background
    masses: np.ndarray  # (number of marks + 1,) float: ink per mark, 0 for marks dropped and for the background
    gaps: np.ndarray  # (number of marks + 1,) float: each mark's distance from the biggest, in the biggest's sizes

    @property
    def mask(self) -> np.ndarray:
        return (self.masses > 0).take(self.labels)

    @property
    def has_separate_marks(self) -> bool:
        large = self.masses >= _MARK_FRACTION * self.masses.max()
        return bool(np.any(large & (self.gaps > _MARK_GAP)))


def _ink_marks(ink: np.ndarray, noise: float) -> _Marks:
    """The ink worth keeping: connected marks that rise clearly above the background, specks dropped.

    A mark is kept whole, faint anti-aliased edges included, if part of it is clearly ink (above the
    Otsu threshold and the noise). Marks with a tiny share of the ink are specks; small marks away
    from the digit are stray dots. Both are dropped; large separate marks are kept (and warned about).
    """
    strong = ink > max(otsu_threshold(ink), 4 * noise, MIN_INK_LEVEL)
    faint = ink > 3 * noise
    labels, count = ndimage.label(faint, structure=np.ones((3, 3), bool), output=np.intp)
    masses = np.bincount(labels[faint], weights=ink[faint], minlength=count + 1)
    masses[np.bincount(labels[strong], minlength=count + 1) == 0] = 0  # no clear ink in it
    masses[masses < _SPECK_FRACTION * masses.max()] = 0
    gaps = _gaps_from_biggest(labels, masses)
    masses[(masses < _MARK_FRACTION * masses.max()) & (gaps > _MARK_GAP)] = 0
    return _Marks(labels, masses, gaps)


def _gaps_from_biggest(labels: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """How far each kept mark's box lies from the biggest mark's box, over the biggest's longer side."""
    gaps = np.zeros_like(masses)
    kept = np.flatnonzero(masses)
    if len(kept) < 2:
        return gaps
    boxes = ndimage.find_objects(labels, max_label=int(kept.max()))
    biggest = boxes[int(np.argmax(masses)) - 1]
    size = max(biggest[0].stop - biggest[0].start, biggest[1].stop - biggest[1].start)
    for mark in kept:
        box = boxes[mark - 1]
        gap_y = max(box[0].start - biggest[0].stop, biggest[0].start - box[0].stop, 0)
        gap_x = max(box[1].start - biggest[1].stop, biggest[1].start - box[1].stop, 0)
        gaps[mark] = max(gap_y, gap_x) / size
    return gaps
