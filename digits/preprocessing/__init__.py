"""The one definition of what a model sees: a 28x28 grey image, light ink on black, scaled to [0, 1].

MNIST digits were made by fitting each digit into a 20x20 box (keeping its aspect ratio) and centring
its centre of mass in a 28x28 frame. Training reads MNIST arrays that are already in that form; serving
turns an upload into it with `prepare_upload`. Both end in `to_model_input`.

An upload goes through four stages, one module each:
  decode     bytes -> pixels (the file checked, decoded at a working size, or a 28x28 CSV parsed)
  ink        pixels -> ink signal (light evened out, polarity decided, background and ruled lines removed)
  locate     ink -> the digit's marks cropped to their box, or why there is no digit
  normalise  the digit -> MNIST's form (fitted into 20x20, centred by mass in 28x28, stretched)
An image already in MNIST form comes out unchanged. Anything wrong with the file itself raises
InputError with a message naming the file; doubts about the picture become warnings in the result.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from digits.preprocessing.decode import (
    MAX_BYTES_PER_CALL,
    MAX_FILE_BYTES,
    MAX_FILES_PER_CALL,
    MAX_PIXELS,
    InputError,
    check_call_size,
    check_file_count,
    decode,
)
from digits.preprocessing.ink import MIN_INK_LEVEL, even_out_lighting, find_ink, noise_level
from digits.preprocessing.locate import (
    LOW_CONTRAST_WARNING,
    NO_DIGIT_WARNING,
    SEVERAL_MARKS_WARNING,
    contrast_notes,
    find_surface,
    locate_digit,
)
from digits.preprocessing.normalise import DIGIT_BOX, IMAGE_SIZE, is_in_mnist_form, stretch, to_mnist_frame

__all__ = [
    "DIGIT_BOX", "IMAGE_SIZE", "LOW_CONTRAST_WARNING", "MAX_BYTES_PER_CALL", "MAX_FILES_PER_CALL",
    "MAX_FILE_BYTES", "MAX_PIXELS", "NO_DIGIT_WARNING", "SEVERAL_MARKS_WARNING", "InputError", "PreparedImage",
    "check_call_size", "check_file_count", "prepare_upload", "preview_png", "to_model_input",
]


@dataclass(frozen=True, eq=False)
class PreparedImage:
    pixels: np.ndarray  # uint8 (28, 28), 0 = background, 255 = ink: what the model sees (all 0: no digit)
    warnings: tuple[str, ...]
    source_format: str  # "PNG", "JPEG", ..., "CSV"
    source_size: tuple[int, int]  # (width, height) of the upload, after its EXIF orientation
    has_digit: bool = True  # False: nothing digit-like was found; the warnings say what was seen

    def to_dict(self) -> dict:
        return {
            "has_digit": self.has_digit,
            "pixels": self.pixels.tolist(),
            "warnings": list(self.warnings),
            "source_format": self.source_format,
            "source_size": list(self.source_size),
        }


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28), 0 = background and 255 = ink, to float32 (N, 28, 28, 1) in [0, 1]."""
    images = np.asarray(images)
    if images.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected images of {IMAGE_SIZE}x{IMAGE_SIZE}, got shape {images.shape}")
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def prepare_upload(data: bytes, filename: str | None = None) -> PreparedImage:
    """An uploaded file (image or 28x28 CSV) as the 28x28 MNIST-style digit a model expects."""
    decoded = decode(data, filename)
    ink = find_ink(find_surface(even_out_lighting(decoded.pixels)))  # (a shadow is not a surface)
    if is_in_mnist_form(ink) and noise_level(ink) == 0 and float(ink.max()) >= MIN_INK_LEVEL:
        pixels, notes, found = stretch(ink), contrast_notes(float(ink.max()), 0.0), True
    else:
        located = locate_digit(ink, lossy=decoded.lossy)
        found = located.digit is not None
        pixels = to_mnist_frame(located.digit) if found else np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        notes = located.warnings
    pixels.setflags(write=False)
    return PreparedImage(pixels, notes, decoded.source_format, decoded.source_size, found)


def preview_png(pixels: np.ndarray, scale: int = 8) -> bytes:
    """The image enlarged `scale` times with square pixels, as PNG bytes."""
    image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # half the time of the default; still about 1 KB
    return buffer.getvalue()
