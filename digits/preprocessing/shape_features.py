"""What a 28x28 image's shape says about whether it is handwriting: the digit/not-digit judge
(models/digit_scorer.py, a small convolutional network) reads the image itself and, beside it, these
few shape measures. A handwritten digit is a few strokes of even width, with holes and bends; what else
a photo holds (a phone, a mug, a keyboard's keys, the table beyond a page, a shadow) is solid, convex,
or box-like.
"""

import numpy as np
from scipy import ndimage

from digits.preprocessing.filters import fill_holes
from digits.preprocessing.shapes import solidity_and_rectangle_fit
from digits.preprocessing.normalise import stroke_width

FEATURES = ("ink_area", "mean_ink", "saturated", "ink_spread", "solidity", "rectangle_fill", "rectangle_aspect",
            "box_fill", "box_aspect", "hole_share", "holes", "pieces", "stroke_width")
NOT_HANDWRITING = "what is there does not look like a handwritten digit (an object, a shape, a texture, print)"
_INK = 0.25  # a pixel this bright (0-1) is ink


def shape_features(pixels: np.ndarray) -> np.ndarray:
    """float64 (len(FEATURES),) for a uint8 (28, 28) image in MNIST's form (ink light on black)."""
    ink = np.asarray(pixels, np.float64) / 255.0
    mask = ink > _INK
    if not mask.any():
        return np.zeros(len(FEATURES))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    filled = fill_holes(mask)
    _, holes = ndimage.label(filled & ~mask)
    _, pieces = ndimage.label(mask, structure=np.ones((3, 3), bool))
    solid, rectangle_fill, rectangle_aspect = solidity_and_rectangle_fit(mask)  # one hull for the three
    values = ink[mask]
    return np.array([
        mask.mean(), values.mean(), np.mean(values > 0.9), values.std(), solid, rectangle_fill,
        rectangle_aspect, box.mean(), min(box.shape) / max(box.shape),
        np.count_nonzero(filled & ~mask) / np.count_nonzero(mask), min(holes, 3), min(pieces, 4),
        stroke_width(box) / max(box.shape),
    ])
