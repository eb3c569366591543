"""A whole number's line of ink, in the fixed frame the number reader sees (LINE_HEIGHT x LINE_WIDTH).

`locate_line` keeps the marks of the ink signal that are worth reading (clear ink, not specks: the same
test as segment.py) and crops the ink to their box, other pixels cleared. `fit_line` scales the crop
to the reader's frame, keeping its aspect ratio (the height fills the frame less a margin, unless the
line is too long to fit, then its width does), and stretches its ink to [0, 1]. Training composes its
lines straight as ink and fits them with the same `fit_line` (training/number_data.py), so the reader
sees the same frame in training and in serving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from digits.preprocessing.locate.marks import FAR_GAP, MARK_FRACTION
from digits.preprocessing.normalise import DIGIT_BOX
from digits.preprocessing.segment import find_marks
from models.frame import IMAGE_SIZE, LINE_HEIGHT, LINE_WIDTH  # the frames the models see; they live with them

__all__ = ["LINE_HEIGHT", "LINE_WIDTH", "MARGIN", "FittedLine", "LocatedLine", "fit_line", "locate_line"]
MARGIN = (IMAGE_SIZE - DIGIT_BOX) // 2  # pixels of background kept around the line, as MNIST leaves round a digit
# (4): the reader's first convolutions see its edges
_INK_PEAK_PERCENTILE = 90  # the ink's "full strength": this percentile of the clear ink, so faint pens fill the range


@dataclass(frozen=True, eq=False)
class LocatedLine:
    ink: np.ndarray  # float32 (h, w): the kept marks' ink in their box, the rest cleared
    top: int  # where the box lies in the ink signal
    left: int


@dataclass(frozen=True, eq=False)
class FittedLine:
    pixels: np.ndarray  # float32 (LINE_HEIGHT, LINE_WIDTH) in [0, 1], light ink on black
    scale: float  # frame pixels per crop pixel, across
    left: int  # where the crop's left and top edges lie in the frame
    top: int

    def crop_columns(self, start: float, stop: float) -> tuple[int, int]:
        """Frame columns [start, stop) -> the crop's columns they cover."""
        return int(np.floor((start - self.left) / self.scale)), int(np.ceil((stop - self.left) / self.scale))


def locate_line(ink: np.ndarray, marks: tuple[np.ndarray, list[int]] | None = None) -> LocatedLine | None:
    """The marks worth reading, cropped to their box; None when there are none. `marks`: `find_marks(ink)`,
    where the caller has it already."""
    labels, keep = find_marks(ink) if marks is None else marks
    if not keep:
        return None
    keep = _along_the_line(ink, labels, keep)
    mask = np.isin(labels, keep)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = np.where(mask[top:bottom, left:right], np.maximum(ink[top:bottom, left:right], 0), 0).astype(np.float32)
    return LocatedLine(crop, int(top), int(left))


def _along_the_line(ink: np.ndarray, labels: np.ndarray, keep: list[int]) -> list[int]:
    """The marks written along the number's line: a mark that reaches further above or below the rows of
    the large marks beside it (MARK_FRACTION of the heaviest's ink, in other columns) than FAR_GAP of
    their height is not written with them (a page's edge or its shadow's corner beside the number on a
    desk: `5084` read `8`, its line handed to the reader 9 digits tall), the reach beyond which a digit's
    own marks are not read with it (marks.py). A digit's pieces over one another (a 5's flag over its
    body) share columns: they are not measured against each other."""
    if len(keep) < 2:
        return keep
    boxes = ndimage.find_objects(labels)
    masses = [float(np.maximum(ink[boxes[mark - 1]], 0)[labels[boxes[mark - 1]] == mark].sum()) for mark in keep]
    large = [mark for mark, mass in zip(keep, masses) if mass >= MARK_FRACTION * max(masses)]

    def along(mark: int) -> bool:
        rows, cols = boxes[mark - 1]
        beside = [boxes[other - 1][0] for other in large if other != mark
                  and (boxes[other - 1][1].stop <= cols.start or cols.stop <= boxes[other - 1][1].start)]
        if not beside:
            return True
        top, bottom = min(r.start for r in beside), max(r.stop for r in beside)
        return max(top - rows.start, rows.stop - bottom) <= FAR_GAP * max(r.stop - r.start for r in beside)

    return [mark for mark in keep if along(mark)] or keep


def fit_line(crop: np.ndarray, widen: float = 1.0) -> FittedLine:
    """A line's ink (float, any scale, 0 = background) in the reader's frame. `widen`: the ink stretched
    across by this much first (a second view of crowded digits: digits/number_reader.py, WIDENED)."""
    height, width = crop.shape
    scale = min((LINE_HEIGHT - 2 * MARGIN) / height, (LINE_WIDTH - 2 * MARGIN) / (width * widen))
    size = (max(1, round(width * widen * scale)), max(1, round(height * scale)))
    strongest = float(crop.max())
    peak = float(np.percentile(crop[crop > 0.2 * strongest], _INK_PEAK_PERCENTILE)) if strongest > 0 else 1.0
    image = Image.fromarray(np.clip(crop / peak, 0, 1).astype(np.float32), mode="F")
    resized = np.asarray(image.resize(size, Image.Resampling.BILINEAR), np.float32).clip(0, 1)
    frame = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)
    top = (LINE_HEIGHT - size[1]) // 2
    frame[top : top + size[1], MARGIN : MARGIN + size[0]] = resized
    return FittedLine(frame, scale * widen, MARGIN, top)
