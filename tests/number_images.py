"""Whole numbers built from real MNIST test digits: varied gaps, sizes and baseline tilt, some touching,
rendered on paper, in a phone photo or as a drawing. Used by the tests."""

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from upload_files import encode, painted, photo_jpeg, transparent_drawing

RENDERINGS = ("paper", "photo", "drawn")


@dataclass(frozen=True)
class BuiltNumber:
    ink: np.ndarray  # float32 (H, W), 0-255
    labels: tuple[int, ...]
    boxes: tuple[tuple[int, int, int, int], ...]  # (left, top, right, bottom) of each digit's clear ink (> 64)
    digits: tuple[np.ndarray, ...]  # the MNIST arrays, as they would be classified alone
    touching: bool  # some neighbours' ink joins up


def _ink_box(digit: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _scaled(digit: np.ndarray, height: int) -> np.ndarray:
    crop = Image.fromarray(_ink_box(digit))
    size = (max(1, round(crop.width * height / crop.height)), height)
    return np.asarray(crop.resize(size, Image.Resampling.BICUBIC), dtype=np.float32).clip(0, 255)


def build_number(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, height: int = 80,
                 gap=(0.15, 0.6), sizes: float = 0.15, tilt: float = 0.08, touch: bool = False) -> BuiltNumber:
    """The digits written left to right: gaps a share of the height, heights varied by `sizes`, the
    baseline sloping up to `tilt` (height per width); `touch`: one pair of neighbours pushed together."""
    slope = rng.uniform(-tilt, tilt)
    pushed = int(rng.integers(1, len(digits))) if touch else -1
    inks = [_scaled(d, int(height * rng.uniform(1 - sizes, 1 + sizes))) for d in digits]
    margin = height
    width = sum(ink.shape[1] for ink in inks) + int(height * gap[1]) * len(inks) + 2 * margin
    rise = int(abs(slope) * width) + 1
    canvas = np.zeros((2 * margin + int(height * (1 + sizes)) + rise, width), np.float32)
    x, boxes = margin, []
    for index, ink in enumerate(inks):
        x += -int(0.12 * height) if index == pushed else int(height * rng.uniform(*gap)) if index else 0
        bottom = margin + int(height * (1 + sizes)) + rise // 2 + int(slope * (x - margin))
        top = bottom - ink.shape[0]
        area = canvas[top:bottom, x : x + ink.shape[1]]
        np.maximum(area, ink, out=area)
        rows, cols = np.flatnonzero((ink > 64).any(axis=1)), np.flatnonzero((ink > 64).any(axis=0))
        boxes.append((x + cols[0], top + rows[0], x + cols[-1] + 1, top + rows[-1] + 1))
        x += ink.shape[1]
    boxes = [tuple(int(v) for v in box) for box in boxes]
    canvas = canvas[:, : x + margin]
    _, pieces = ndimage.label(canvas > 32, structure=np.ones((3, 3), bool))
    return BuiltNumber(canvas, tuple(int(v) for v in labels), tuple(boxes), tuple(digits), pieces < len(digits))


def rendered(number: BuiltNumber, how: str, seed: int = 0) -> bytes:
    """The number as a file: dark ink on white paper (PNG), a phone photo (JPEG) or a drawing (RGBA PNG)."""
    if how == "paper":
        return encode(Image.fromarray((255 - number.ink).astype(np.uint8)))
    if how == "drawn":
        return encode(transparent_drawing(number.ink))
    rng = np.random.default_rng(seed)
    height, width = number.ink.shape
    y, x = np.mgrid[:height, :width] / np.array([height, width]).reshape(2, 1, 1)
    light = 0.6 + 0.4 * (1 - 0.6 * (x - 0.2) ** 2 - 0.6 * (y - 0.1) ** 2)  # brighter towards the top left
    image = painted(number.ink, (35, 55, 165), (238, 232, 218)).astype(np.float32) * light[..., np.newaxis]
    image += rng.normal(0, 4, (height, width, 1)) + rng.normal(0, 5, image.shape)
    return photo_jpeg(image)
