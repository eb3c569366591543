"""The digit's ink to MNIST's form: strokes thickened if very thin, fitted into 20x20 keeping the
aspect ratio, centred by centre of mass in 28x28, stretched so the strongest ink is 255."""

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from digits.preprocessing.arrays import zero_padded
from models.frame import IMAGE_SIZE  # the frame the models see; it lives with them

DIGIT_BOX = 20  # the box the digit is fitted into, as MNIST did

_MIN_STROKE_RATIO = 0.04  # strokes thinner than this share of the digit's size get thickened (MNIST: 0.1% are) ...
TARGET_STROKE_RATIO = 0.10  # ... to MNIST's median share. Chalk's, when thinner than that median (see
# `to_mnist_frame`)
_POSITIONS = np.arange(IMAGE_SIZE)  # the frame's rows (and columns), for its centre of mass


def to_mnist_frame(digit: np.ndarray, chalk: bool = False) -> np.ndarray:
    """float32 (h, w) ink cropped to the digit's box -> uint8 (28, 28) as MNIST has it.

    `chalk` (light ink in a photo, `Located.chalk`): the line's width is the stick's and the board's grain's,
    not the hand's pen, as its strength is (`locate._chalk_as_drawn`): a stroke thinner than MNIST's median
    pen is drawn at that pen. A thin stick's line 4-5% of the digit's height passed the paper's bar and
    came out of the 20-pixel box a pixel wide, where MNIST's pen is 2-3 (an 8 read 3). On paper the bar
    stays: a pen's width is the hand's, and thickening there set aside a circled 0 and a ruled page's 1.
    """
    thinnest = TARGET_STROKE_RATIO if chalk else _MIN_STROKE_RATIO
    return stretch(_centre_by_mass(_fit_into_box(_thicken_thin_strokes(digit, thinnest))))


def is_in_mnist_form(ink: np.ndarray) -> bool:
    """Already a clean 28x28 MNIST digit (fitted to the 20-pixel box, centred by mass): nothing to do.

    Leaving such images alone keeps every faint pixel MNIST has, where the general path would drop
    faint specks as noise.
    """
    if ink.shape != (IMAGE_SIZE, IMAGE_SIZE):
        return False
    # (each measure once: this runs on every 28x28 upload) A row or column holds ink where its mass is
    # not 0: a sum of values >= 0 is 0 only when all of them are.
    weights = np.maximum(ink, 0)
    row_mass, column_mass = weights.sum(axis=1), weights.sum(axis=0)
    rows = np.flatnonzero(row_mass)
    if not len(rows):
        return False
    cols = np.flatnonzero(column_mass)
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 != DIGIT_BOX:
        return False
    total = float(weights.sum())
    centre_y, centre_x = float(row_mass @ _POSITIONS / total), float(column_mass @ _POSITIONS / total)
    return abs(centre_y - IMAGE_SIZE / 2) <= 0.5 and abs(centre_x - IMAGE_SIZE / 2) <= 0.5


def stretch(frame: np.ndarray) -> np.ndarray:
    """uint8 with the strongest ink at 255."""
    frame = np.maximum(frame, 0)
    peak = float(frame.max())
    if peak <= 0:
        return np.zeros(frame.shape, np.uint8)
    scaled = frame * (255.0 / peak)  # (in place from here: on a 28x28 frame each call's cost is its overhead)
    np.rint(scaled, out=scaled)
    return np.minimum(scaled, 255, out=scaled).astype(np.uint8)  # (>= 0 already: the frame and the scale are)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: twice its area over the length of its outline."""
    if not mask.size:
        return 0.0
    # The outline: the changes between neighbours, and the ink along the edges (a change against the
    # blank beyond them; counted so rather than on a padded copy, which cost more than the counting).
    outline = (np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
               + np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1])
               + np.count_nonzero(mask[:, 0]) + np.count_nonzero(mask[:, -1]))
    return 2.0 * np.count_nonzero(mask) / max(outline, 1)


def _thicken_thin_strokes(digit: np.ndarray, thinnest: float = _MIN_STROKE_RATIO) -> np.ndarray:
    """Strokes thinner than `thinnest` of the digit's size (a 1-px pen on a big canvas) widened to MNIST's
    median share so they survive the resize."""
    size = max(digit.shape)
    level = float(digit.max())
    mask = digit >= 0.5 * level
    if stroke_width(mask) >= thinnest * size:
        return digit
    factor = max(1, size // (4 * DIGIT_BOX))  # work at about 4x the final size: max-pooling keeps thin lines
    if factor > 1:
        digit = _max_pool(digit, factor)
        size = max(digit.shape)
        mask = digit >= 0.5 * level
    radius = max(0.0, (TARGET_STROKE_RATIO * size - stroke_width(mask)) / 2)
    pad = int(math.ceil(radius)) + 1
    digit, mask = zero_padded(digit, pad), zero_padded(mask, pad)
    distance = ndimage.distance_transform_edt(~mask)
    halo = np.clip(radius + 0.5 - distance, 0.0, 1.0) * level  # a disc of the new width, anti-aliased edge
    return np.maximum(digit, halo.astype(np.float32))


def _max_pool(array: np.ndarray, factor: int) -> np.ndarray:
    height, width = array.shape
    padded = np.pad(array, ((0, -height % factor), (0, -width % factor)))
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).max(axis=(1, 3))


def _fit_into_box(digit: np.ndarray) -> np.ndarray:
    """The digit scaled (keeping its aspect ratio) so its longer side is DIGIT_BOX pixels."""
    height, width = digit.shape
    scale = DIGIT_BOX / max(height, width)
    if scale == 1.0:
        return digit
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(np.ascontiguousarray(digit, dtype=np.float32))
    # reducing_gap: box-shrink first to 3x the size, then Lanczos; as good as plain Lanczos here, and faster.
    # Lanczos rings past a sharp edge. Enlarging a small sharp scan, the ringing above the ink's own level set
    # the stretch to 255 and left the strokes' body at ~190: clipped to the ink's range. A reduction is left
    # as it was: the digit judge was fitted on it so (clipped, it took 2 more of 320 blank pictures for digits).
    resized = np.asarray(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    return np.clip(resized, 0.0, float(digit.max()) if scale > 1 else None)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """The digit placed in the 28x28 frame with its centre of mass on the frame's centre pixel, as MNIST."""
    height, width = digit.shape
    centre_y, centre_x = _centre_of_mass(digit)
    top = min(max(int(round(IMAGE_SIZE / 2 - centre_y)), 0), IMAGE_SIZE - height)
    left = min(max(int(round(IMAGE_SIZE / 2 - centre_x)), 0), IMAGE_SIZE - width)
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    frame[top : top + height, left : left + width] = digit
    return frame


def _centre_of_mass(weights: np.ndarray) -> tuple[float, float]:
    total = float(weights.sum())
    rows = weights.sum(axis=1) @ np.arange(weights.shape[0]) / total
    cols = weights.sum(axis=0) @ np.arange(weights.shape[1]) / total
    return float(rows), float(cols)
