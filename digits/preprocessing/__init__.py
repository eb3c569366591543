"""The one definition of what a model sees: a 28x28 grey image, light ink on black, scaled to [0, 1].

MNIST digits were made by fitting each digit into a 20x20 box (keeping its aspect ratio) and centring
its centre of mass in a 28x28 frame. Training reads MNIST arrays that are already in that form; serving
turns an upload into it with `prepare_upload`. Both end in `to_model_input`.

An upload goes through the stages of pipeline.py, in order, each a function with a typed result and a
step in the trace of what it decided: decode, lighting, surface, ink, locate, normalise and judge (a small
learned scorer, shape_features.py and models/digit_scorer.py: is what was found a handwritten digit?).
A CSV of many digits (csv_digits.py) gives one image per row through `prepare_file`, each row taken
through the same stages after decoding. A whole number (`prepare_number`) is located after `ink` as one line of
ink fitted to the number reader's frame (number_line.py), and segmented (segment.py: the marks left to
right, each normalised alone) for the classifier to confirm digits that stand apart. An image already in MNIST
form comes out unchanged. Anything wrong with the file itself raises
InputError with a message naming the file; doubts about the picture become warnings in the result.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from digits.preprocessing.csv_digits import MAX_CSV_BYTES, MAX_CSV_ROWS, looks_like_text, read_digit_table
from digits.preprocessing.decode import (
    MAX_BYTES_PER_CALL,
    MAX_FILE_BYTES,
    MAX_FILES_PER_CALL,
    MAX_PIXELS,
    InputError,
    check_call_size,
    check_file_count,
    decode,
    decode_region,
    per_call,
)
from digits.preprocessing.errors import describe_file
from digits.preprocessing.ink import clear_ink
from digits.preprocessing.locate import (
    A_PATTERN,
    BOX_SHARE,
    LOW_CONTRAST_WARNING,
    NO_DIGIT_WARNING,
    NO_INK,
    SEVERAL_MARKS_WARNING,
    chalk_line_as_drawn,
    is_chalk,
)
from digits.preprocessing.normalise import DIGIT_BOX, IMAGE_SIZE, to_mnist_frame
from digits.preprocessing.number_line import FittedLine, LocatedLine, fit_line, locate_line
from digits.preprocessing.pipeline import Ink, Step, log_trace, read, read_number_ink
from digits.preprocessing.segment import TooManyMarks, find_marks, segment_digits

__all__ = [
    "DIGIT_BOX", "IMAGE_SIZE", "LOW_CONTRAST_WARNING", "MAX_BYTES_PER_CALL", "MAX_CSV_BYTES", "MAX_CSV_ROWS",
    "MAX_FILES_PER_CALL", "per_call", "MAX_FILE_BYTES", "MAX_PIXELS", "NO_DIGIT_WARNING", "SEVERAL_MARKS_WARNING",
    "InputError", "NumberDigit", "NumberLine", "PreparedImage", "PreparedNumber", "Step", "check_call_size",
    "check_file_count",
    "prepare_file", "prepare_number", "prepare_upload", "preview_png", "to_model_input",
]


@dataclass(frozen=True, eq=False)
class PreparedImage:
    pixels: np.ndarray  # uint8 (28, 28), 0 = background, 255 = ink: what the model sees (all 0: no digit)
    warnings: tuple[str, ...]
    source_format: str  # "PNG", "JPEG", ..., "CSV"
    source_size: tuple[int, int]  # (width, height) of the upload, after its EXIF orientation
    has_digit: bool = True  # False: nothing digit-like was found; the warnings say what was seen
    row: int | None = None  # a CSV of many digits: the data row it came from, from 1
    label: int | None = None  # ... and the digit its label column says it is

    def to_dict(self) -> dict:
        return {
            "has_digit": self.has_digit,
            "pixels": self.pixels.tolist(),
            "warnings": list(self.warnings),
            "source_format": self.source_format,
            "source_size": list(self.source_size),
            **{key: value for key, value in (("row", self.row), ("label", self.label)) if value is not None},
        }


@dataclass(frozen=True, eq=False)
class NumberDigit:
    ink: np.ndarray  # float32 (h, w): this digit's ink, cropped to its box
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the upload's pixels, right and bottom exclusive

    @functools.cached_property
    def pixels(self) -> np.ndarray:
        """uint8 (28, 28), read-only: what a classifier sees of this digit (made when first asked for)."""
        pixels = to_mnist_frame(self.ink)
        pixels.setflags(write=False)
        return pixels


@dataclass(frozen=True, eq=False)
class NumberLine:
    """The number's line of ink as the number reader sees it (`fitted`), and the way back to the upload."""

    located: LocatedLine  # the kept marks' ink, cropped to their box
    fitted: FittedLine  # ... in the reader's frame
    scale: tuple[float, float]  # upload pixels per ink pixel, across and down
    source_size: tuple[int, int]
    offset: tuple[int, int] = (0, 0)  # where the ink's frame (the surface cut out) lies in the decoded picture
    origin: tuple[int, int] = (0, 0)  # where the decoded picture lies in the upload (a region decoded again)

    def digit(self, start: float, stop: float) -> NumberDigit | None:
        """The ink between two of the frame's columns as one digit: its box tightened to its ink, in the
        upload's pixels, and its 28x28 image; None when those columns hold no ink."""
        ink = self.located.ink
        first, last = self.fitted.crop_columns(start, stop)
        first, last = max(first, 0), min(last, ink.shape[1])
        part = ink[:, first:last] if last > first else ink[:, :0]
        clear = part > BOX_SHARE * float(ink.max())
        rows, cols = np.flatnonzero(clear.any(axis=1)), np.flatnonzero(clear.any(axis=0))
        if not len(rows):
            return None
        top, bottom, left, right = rows[0], rows[-1] + 1, first + cols[0], first + cols[-1] + 1
        x0, y0 = self.offset[0] + self.located.left, self.offset[1] + self.located.top
        box = _in_upload((x0 + left, y0 + top, x0 + right, y0 + bottom), self.scale, self.origin, self.source_size)
        return NumberDigit(ink[top:bottom, left:right], box)


def _in_upload(box: tuple[float, float, float, float], scale: tuple[float, float], origin: tuple[int, int],
              source_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box (left, top, right, bottom) in a decoded picture's pixels -> the upload's: scaled by `scale`
    (upload pixels per picture pixel), moved to where the picture lies in the upload (`origin`), widened to
    whole pixels and kept inside the upload."""
    (scale_x, scale_y), (across, down), (width, height) = scale, origin, source_size
    return (across + int(box[0] * scale_x), down + int(box[1] * scale_y),
            min(width, across + math.ceil(box[2] * scale_x)), min(height, down + math.ceil(box[3] * scale_y)))


@dataclass(frozen=True, eq=False)
class PreparedNumber:
    marks: tuple[tuple[tuple[NumberDigit, ...], ...], ...]  # left to right; each mark's readings, whole first
    warnings: tuple[str, ...]
    source_format: str
    source_size: tuple[int, int]  # (width, height) of the upload, after its EXIF orientation
    line: NumberLine | None = None  # None: no ink worth reading
    other_readings: tuple[PreparedNumber, ...] = ()  # the same read other ways round a loop (`layout_set_aside`:
    # with a loop drawn close round the number left in, or the number's own outline that passes for one; less
    # a clear loop an end digit touches; with the strokes a clear loop's edge took given back; a small number's
    # region decoded again at full size: `finer_reading`): the reader reads each and keeps the surest
    read_as: str = ""  # how this reading differs from the first, for the trace ("" for a loop's readings)
    at_full_size: bool = False  # read from the number's region decoded again at full size (`finer_reading`): the
    # better-resolved view of the ink a shrunk picture's readings come from


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28), 0 = background and 255 = ink, to float32 (N, 28, 28, 1) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected images of {IMAGE_SIZE}x{IMAGE_SIZE}, got shape {images.shape}")
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def prepare_upload(data: bytes, filename: str | None = None, judged: bool = True,
                   trace: list[Step] | None = None) -> PreparedImage:
    """An uploaded file (image or 28x28 CSV) as the 28x28 MNIST-style digit a model expects.

    `judged`: what locate finds is judged by the digit scorer (off only to train it). `trace`: a list
    that collects what each stage decided (pipeline.py)."""
    decoded = _decoded(data, filename, trace)
    pixels, notes, found = _digit_of(decoded.pixels, decoded.lossy, judged, trace)
    return PreparedImage(pixels, notes, decoded.source_format, decoded.source_size, found)


def prepare_file(data: bytes, filename: str | None = None) -> list[PreparedImage]:
    """An uploaded file as the digits it holds: one per row of a CSV of many digits (or with labels), else one."""
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) and looks_like_text(data):
        table = read_digit_table(data, describe_file(filename))
        if table.one_per_row and (len(table.images) > 1 or table.labels is not None):
            labels = [None] * len(table.images) if table.labels is None else table.labels.tolist()
            return [_csv_row(pixels, row, label) for row, (pixels, label) in enumerate(zip(table.images, labels), start=1)]
    return [prepare_upload(data, filename)]


def prepare_number(data: bytes, filename: str | None = None, trace: list[Step] | None = None) -> PreparedNumber:
    """An uploaded picture of a whole number as its line of ink in the number reader's frame, and as its
    marks, left to right, each with its readings as digits (their MNIST form made when asked for): the
    mark whole and, for a mark wider than a digit, cut into 2, 3, ... digits. `trace`: a list that
    collects what each stage decided (the stages up to locate are pipeline.py's)."""
    steps = [] if trace is None else trace
    decoded = _decoded(data, filename, steps)
    number_ink = read_number_ink(decoded.pixels, decoded.lossy, steps)
    prepared = _number_of(number_ink.ink, number_ink.top, number_ink.left, decoded, steps)
    others = tuple(_number_of(other, number_ink.top, number_ink.left, decoded, [])
                   for other in number_ink.other_readings)
    finer = finer_reading(data, filename, decoded, prepared, steps)
    if finer is not None:
        others += (finer, *finer.other_readings)
    if others:
        prepared = dataclasses.replace(prepared, other_readings=others)
    log_trace(steps, prepared.line is not None)
    return prepared


def finer_reading(data: bytes, filename: str | None, decoded, prepared: PreparedNumber,
                  steps: list[Step]) -> PreparedNumber | None:
    """A number whose line is smaller than MNIST's digit box (DIGIT_BOX) in a picture shrunk to be worked on,
    read again from its region decoded at full size (`decode_region`; a line's height of the picture spared
    on each side for the surface and its rulings); None for any other number. A photo just over the working
    size is halved, and a number on it 12-16 pixels tall loses its digits' shapes (docs/numbers.md, stop 50)."""
    line = prepared.line
    width, height = decoded.source_size
    if line is None or line.located.ink.shape[0] >= DIGIT_BOX or width <= decoded.pixels.shape[1]:
        return None
    (scale_x, scale_y), (left, top) = line.scale, line.offset
    ink_height, ink_width = line.located.ink.shape
    x0, y0 = (left + line.located.left) * scale_x, (top + line.located.top) * scale_y
    x1, y1 = x0 + ink_width * scale_x, y0 + ink_height * scale_y
    spare = y1 - y0
    box = (max(0, math.floor(x0 - spare)), max(0, math.floor(y0 - spare)),
           min(width, math.ceil(x1 + spare)), min(height, math.ceil(y1 + spare)))
    region = decode_region(data, box, y1 - y0, DIGIT_BOX, filename)
    found = read_number_ink(region.pixels, decoded.lossy, [])
    read_as = "its region decoded again at full size"
    finer = dataclasses.replace(_number_of(found.ink, found.top, found.left, decoded, [], region.scale, box[:2]),
                                read_as=read_as, at_full_size=True, other_readings=tuple(dataclasses.replace(
                                    _number_of(other, found.top, found.left, decoded, [], region.scale, box[:2]),
                                    read_as=read_as, at_full_size=True) for other in found.other_readings))
    steps.append(Step("decode", f"the number's line is {ink_height} pixels tall in a picture shrunk to be worked on: "
                                f"its region {box[2] - box[0]}x{box[3] - box[1]} at ({box[0]}, {box[1]}) decoded again "
                                f"at {region.pixels.shape[1]}x{region.pixels.shape[0]} and read as one more reading"))
    return finer


def _number_of(found: Ink, top: int, left: int, decoded, steps: list[Step],
               scale: tuple[float, float] | None = None, origin: tuple[int, int] = (0, 0)) -> PreparedNumber:
    """A number's ink (a surface's, cut out at `top`, `left` of the decoded picture) -> its marks and line.
    `scale` (upload pixels per picture pixel) and `origin` (where the picture lies in the upload): for a region
    decoded again; the whole decoded picture's by default."""
    ink = found.signal
    width, height = decoded.source_size
    scale_x, scale_y = scale or (width / decoded.pixels.shape[1], height / decoded.pixels.shape[0])

    def digit(segment) -> NumberDigit:
        box = (left + segment.left, top + segment.top, left + segment.right, top + segment.bottom)
        return NumberDigit(segment.crop(ink), _in_upload(box, (scale_x, scale_y), origin, decoded.source_size))

    chalk = is_chalk(ink, decoded.lossy, found.light_on_dark)
    try:
        found_marks = find_marks(ink, found.noise, chalk)  # labelled once, for the digits' marks and for the line
    except TooManyMarks:
        steps.append(Step("locate", NO_DIGIT_WARNING.format(A_PATTERN)))
        return PreparedNumber((), (NO_DIGIT_WARNING.format(A_PATTERN),), decoded.source_format, decoded.source_size)
    marks = tuple(tuple(tuple(map(digit, reading)) for reading in mark.readings)
                  for mark in segment_digits(ink, found_marks))
    located = locate_line(ink, found_marks)
    if located is not None and chalk:  # the line drawn as the hand drew it, as one digit's chalk is
        located = LocatedLine(*chalk_line_as_drawn(located.ink, clear_ink(ink, found.noise), located.top, located.left))
    line = NumberLine(located, fit_line(located.ink), (scale_x, scale_y), decoded.source_size, (left, top), origin) \
        if located else None
    if line is None:
        steps.append(Step("locate", NO_DIGIT_WARNING.format(NO_INK)))
    else:
        steps.append(Step("locate", f"{len(marks)} marks left to right ({sum(len(mark) > 1 for mark in marks)} wide "
                                    f"enough to be touching digits); the line's ink {located.ink.shape[1]}x"
                                    f"{located.ink.shape[0]}, fitted into the reader's frame"
                                    + ("; chalk: its pieces a stroke apart one mark, its line drawn at full strength "
                                       "and at least at MNIST's median pen" if chalk else "")))
    return PreparedNumber(marks, () if marks else (NO_DIGIT_WARNING.format(NO_INK),), decoded.source_format,
                          decoded.source_size, line)


def _decoded(data: bytes, filename: str | None, trace: list[Step] | None):
    """The decode stage: the upload's pixels at a working size, and a step in the trace."""
    decoded = decode(data, filename)
    if trace is not None:
        width, height = decoded.source_size
        trace.append(Step("decode", f"{decoded.source_format} {width}x{height}, worked on at "
                                    f"{decoded.pixels.shape[1]}x{decoded.pixels.shape[0]}"
                                    + (", a photo (lossy)" if decoded.lossy else "")))
    return decoded


def _csv_row(pixels: np.ndarray, row: int, label: int | None) -> PreparedImage:
    digit, notes, found = _digit_of(pixels[..., np.newaxis], lossy=False)
    return PreparedImage(digit, notes, "CSV", (IMAGE_SIZE, IMAGE_SIZE), found, row=row, label=label)


def _digit_of(pixels: np.ndarray, lossy: bool, judged: bool = True,
              trace: list[Step] | None = None) -> tuple[np.ndarray, tuple[str, ...], bool]:
    """Decoded pixels -> the read-only 28x28 digit, the warnings about it, and whether there is a digit."""
    reading = read(pixels, lossy, judged, trace)
    return reading.pixels, reading.warnings, reading.has_digit


def preview_png(pixels: np.ndarray, scale: int) -> bytes:
    """The image enlarged `scale` times with square pixels, as PNG bytes."""
    image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # half the time of the default; still about 1 KB
    return buffer.getvalue()
