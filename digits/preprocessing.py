"""The one definition of what a model sees: a 28x28 grey image, light ink on black, scaled to [0, 1].

MNIST digits were made by fitting each digit into a 20x20 box (keeping its aspect ratio) and centring
its centre of mass in a 28x28 frame. Training reads MNIST arrays that are already in that form; serving
turns an upload into it with `prepare_upload`. Both end in `to_model_input`.

An upload becomes a digit in these steps, each a small function below:
  bytes -> decoded image (or a 28x28 CSV) -> the light evened out on a photographed page (shadows) ->
  ink signal (0 = background, high = ink, whatever the colours, polarity or transparency) -> what is
  left of uneven lighting removed -> the lines of ruled or squared paper removed -> specks and stray
  dots dropped -> cropped to the ink -> thin strokes thickened -> fitted into 20x20 -> centred by
  centre of mass in 28x28 -> stretched so the strongest ink is 255.
An image already in MNIST form comes out unchanged. Anything wrong with the file itself raises
InputError with a message naming the file; doubts about the picture become warnings in the result.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage
from skimage import morphology

IMAGE_SIZE = 28  # the frame the models see
DIGIT_BOX = 20  # the box the digit is fitted into, as MNIST did

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_FILES_PER_CALL = 64
# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; `_open_image` turns both into InputError.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

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

_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")  # Pillow opens multi-picture JPEGs as "MPO"
_READABLE_KINDS = "PNG, JPEG, GIF, BMP, WebP, TIFF or a 28x28 CSV"
_CSV_SEPARATORS = re.compile(r"[\s,;]+")  # commas as written; semicolons and spaces as spreadsheets also write
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_WORK_MAX_SIDE = 512  # larger images are box-shrunk to this first: plenty for a 20-pixel digit, and fast
_MIN_INK_LEVEL = 12.0  # ink must differ from the background by this much (0-255) to count at all
_LOW_CONTRAST_LEVEL = 40.0
_MIN_LIGHTING_SIDE = 32  # smaller pictures are too small to show uneven light
_LIGHTING_WINDOW_FRACTION = 3  # the paper is seen past strokes up to the picture's short side / this wide
_DEEPEST_SHADOW = 0.3  # a shadow leaves the paper at least this share of its brightness; darker is ink
_RULING_WIDTH = 5  # the lines of ruled and squared paper are thinner than this (pixels, at up to 512 wide) ...
_RULING_SPAN = 0.8  # ... and run across at least this share of the picture
_MIN_RULED_SIDE = 64  # smaller pictures are too small to hold a ruled page
_LOSSY_FORMATS = ("JPEG", "WEBP")  # their compression rings: faint grey spreads around strokes (8x8 blocks in JPEG)
_LOSSY_BOX_SHARE = 0.1  # so in them, the digit's box holds only the ink above this share of its strongest
_SPECK_FRACTION = 0.02  # marks with less ink than this share of the biggest mark are specks
_MARK_FRACTION = 0.15  # marks with at least this share of the biggest mark's ink count as marks
_MARK_GAP = 0.2  # ... and are separate when this far from the biggest (share of its size); smaller marks
# that far away are stray dots. In MNIST, 1 in 10,000 digits has a part that far off.
_MIN_STROKE_RATIO = 0.04  # strokes thinner than this share of the digit's size get thickened (MNIST: 0.1% are) ...
_TARGET_STROKE_RATIO = 0.10  # ... to MNIST's median share


class InputError(ValueError):
    """An upload we cannot use, with a message a person can read. The only error bad input raises."""


@dataclass(frozen=True, eq=False)
class PreparedImage:
    pixels: np.ndarray  # uint8 (28, 28), 0 = background, 255 = ink: what the model sees
    warnings: tuple[str, ...]
    source_format: str  # "PNG", "JPEG", ..., "CSV"
    source_size: tuple[int, int]  # (width, height) of the upload, after its EXIF orientation

    def to_dict(self) -> dict:
        return {
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


def check_file_count(count: int) -> None:
    """Refuses a call with no files or with more than MAX_FILES_PER_CALL."""
    if count < 1:
        raise InputError("No files were given.")
    if count > MAX_FILES_PER_CALL:
        raise InputError(
            f"Too many files: {count} at once; the limit is {MAX_FILES_PER_CALL}. Send them in smaller batches."
        )


def prepare_upload(data: bytes, filename: str | None = None) -> PreparedImage:
    """An uploaded file (image or 28x28 CSV) as the 28x28 MNIST-style digit a model expects."""
    label = _describe(filename)
    _check_byte_size(data, label)
    data = bytes(data)
    if _looks_like_text(data):
        signal = _read_csv(data, label)
        source_format, source_size = "CSV", (IMAGE_SIZE, IMAGE_SIZE)
    else:
        image, source_format, source_size = _open_image(data, label)
        signal = _ink_signal(_working_image(image, label))
    pixels, notes = _normalise_digit(signal, lossy=source_format in _LOSSY_FORMATS)
    pixels.setflags(write=False)
    return PreparedImage(pixels, notes, source_format, source_size)


def preview_png(pixels: np.ndarray, scale: int = 8) -> bytes:
    """The image enlarged `scale` times with square pixels, as PNG bytes."""
    image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # half the time of the default; still about 1 KB
    return buffer.getvalue()


# --- reading the file ---------------------------------------------------------------------------


def _describe(filename: str | None) -> str:
    if not filename:
        return "This file"
    name = filename if len(filename) <= 80 else filename[:77] + "..."
    return f"'{name}'"


def _not_readable(label: str) -> InputError:
    return InputError(f"{label} is not an image or CSV file we can read ({_READABLE_KINDS}).")


def _check_byte_size(data: bytes, label: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"{label} did not arrive as file contents.")
    if len(data) == 0:
        raise InputError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        megabytes = math.ceil(len(data) / 2**20 * 10) / 10
        raise InputError(f"{label} is {megabytes:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB per file.")


def _open_image(data: bytes, label: str) -> tuple[Image.Image, str, tuple[int, int]]:
    """The decoded image (EXIF orientation applied), its format name and its (width, height) as shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="PIL")  # complaints about damaged metadata: we read it or refuse it
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _decode_image(data, label)


def _decode_image(data: bytes, label: str) -> tuple[Image.Image, str, tuple[int, int]]:
    too_many_pixels = InputError(
        f"{label} has too many pixels (over {MAX_PIXELS // 1_000_000} million); please send a smaller image."
    )
    try:
        image = Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except Exception:  # Pillow raises many kinds of error on data it cannot identify
        raise _not_readable(label) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise too_many_pixels
    if width < 1 or height < 1:
        raise InputError(f"{label} has no pixels.")
    source_format = "JPEG" if image.format == "MPO" else image.format
    try:
        if source_format == "JPEG" and max(width, height) > 2 * _WORK_MAX_SIDE:
            shrink = max(width, height) / _WORK_MAX_SIDE
            image.draft(None, (int(width / shrink), int(height / shrink)))  # decodes at 1/2, 1/4 or 1/8 size
        image.load()
    except Exception:
        raise InputError(
            f"{label} looks truncated or damaged: its {source_format} data could not be decoded."
        ) from None
    try:
        image = ImageOps.exif_transpose(image)  # (Pillow turns TIFFs while loading them)
    except Exception:  # broken EXIF: the pixels are still fine, as stored
        pass
    turned = (image.width > image.height) != (width > height)
    return image, source_format, (height, width) if turned else (width, height)


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    return all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head.removeprefix(b"\xef\xbb\xbf"))


def _read_csv(data: bytes, label: str) -> np.ndarray:
    """The 784 values of a digit CSV as a (28, 28) float32 grey image on the 0-255 scale."""
    if len(data) > 256 * 1024:
        raise _not_readable(label)
    lines = [line.strip() for line in data.decode("utf-8-sig", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if lines and any(char.isalpha() and char not in "eE" for char in lines[0]):
        lines = lines[1:]  # a header row such as "pixel0,pixel1,..."
    try:
        rows = [[float(value) for value in _CSV_SEPARATORS.split(line.strip(",;"))] for line in lines]
    except ValueError:
        raise _not_readable(label) from None
    count = sum(len(row) for row in rows)
    if count == 0:
        raise _not_readable(label)
    pixel_count = IMAGE_SIZE * IMAGE_SIZE
    if len(rows) > 1 and all(len(row) == pixel_count for row in rows):
        raise InputError(f"{label} holds {len(rows)} digits of {pixel_count} values; send one digit per file.")
    if count != pixel_count:
        raise InputError(
            f"{label} holds {count} numbers; a digit CSV needs {pixel_count} "
            f"({IMAGE_SIZE} x {IMAGE_SIZE}, one row or {IMAGE_SIZE} rows)."
        )
    values = np.array([value for row in rows for value in row]).reshape(IMAGE_SIZE, IMAGE_SIZE)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise InputError(f"{label} has values outside 0-255; a digit CSV holds values 0-1 or 0-255.")
    if values.max() <= 1.0:
        values = values * 255.0
    return _signal_from_colour(values.astype(np.float32)[..., np.newaxis])


# --- from pixels to an ink signal -----------------------------------------------------------------


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _working_image(image: Image.Image, label: str) -> Image.Image:
    """The image as "L", "RGB" or "F" (0-255 grey), transparency resolved, at most _WORK_MAX_SIDE long."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = Image.fromarray(_high_depth_grey(image))
    elif _has_alpha(image):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if _background_is_transparent(np.asarray(alpha)):
            image = alpha  # a drawing on a transparent canvas: whatever is opaque is ink, whatever its colour
        else:
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    elif image.mode in ("1", "L"):
        image = image.convert("L")
    else:
        try:
            image = image.convert("RGB")
        except Exception:  # rare modes such as LAB that Pillow cannot convert
            raise InputError(f"{label} uses a colour mode ({image.mode}) we cannot read.") from None
    factor = math.ceil(max(image.size) / _WORK_MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def _high_depth_grey(image: Image.Image) -> np.ndarray:
    """16-bit, 32-bit and float greyscale on the 0-255 scale."""
    grey = np.asarray(image, dtype=np.float32)
    if image.mode.startswith("I;16") or (image.mode == "I" and grey.max() > 255):
        grey = grey * (255.0 / 65535.0)
    elif image.mode == "F" and grey.max() <= 1.0:
        grey = grey * 255.0
    return np.ascontiguousarray(np.clip(np.nan_to_num(grey), 0.0, 255.0))


def _ink_signal(image: Image.Image) -> np.ndarray:
    """float32 (H, W): about 0 on the background, up to 255 on the ink."""
    pixels = np.asarray(image, dtype=np.float32)
    return _signal_from_colour(_even_out_lighting(pixels if pixels.ndim == 3 else pixels[..., np.newaxis]))


def _even_out_lighting(pixels: np.ndarray) -> np.ndarray:
    """A light page under uneven light (shadows, even hard-edged ones) as if evenly lit.

    Light falls on the paper and the ink alike, so dividing each pixel by the paper's brightness there
    leaves only what is on the page. That brightness is a grey closing by reconstruction: a max filter
    wider than the strokes fills them with the paper around them, then the darker areas the filter
    could not fill (shadows) are grown back to their exact outline, so a shadow's edge stays sharp.
    Left as they are: dark backgrounds, pages whose border is evenly lit, and ink too wide for the
    filter (dark that survives it is ink, not shadow). A smooth gradient on those is removed later.
    """
    height, width = pixels.shape[:2]
    if min(height, width) < _MIN_LIGHTING_SIDE:
        return pixels
    grey = pixels @ _LUMINANCE if pixels.shape[-1] == 3 else pixels[..., 0]
    paper = float(np.percentile(_border(grey), 90))
    if paper < 128 or _border_is_flat(-grey):  # (negated, as the paper is the light side here)
        return pixels
    grey = ndimage.median_filter(grey, size=3)  # noise would lift the estimate above the paper's mean
    filled = ndimage.maximum_filter(grey, size=min(height, width) // _LIGHTING_WINDOW_FRACTION | 1)
    if float(filled.min()) < _DEEPEST_SHADOW * paper:
        return pixels
    lighting = morphology.reconstruction(filled, grey, method="erosion")
    return np.clip(pixels * (paper / np.maximum(lighting, 1.0))[..., np.newaxis], 0.0, 255.0)


def _border(array: np.ndarray) -> np.ndarray:
    """The pixels of a band along the image's edges, (N, ...), subsampled to a few thousand."""
    height, width = array.shape[:2]
    band = 1 + min(height, width) // 64
    step = max(1, (height + width) // 1024)
    edges = [array[:band, ::step], array[-band:, ::step], array[::step, :band], array[::step, -band:]]
    return np.concatenate([edge.reshape(-1, *array.shape[2:]) for edge in edges])


def _median(values: np.ndarray) -> np.ndarray:
    """The (upper) median along the first axis; much faster than np.median on small arrays."""
    middle = len(values) // 2
    return np.partition(values, middle, axis=0)[middle]


def _background_is_transparent(alpha: np.ndarray) -> bool:
    return float(_median(_border(alpha))) < 128


def _signal_from_colour(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) colour or grey on the 0-255 scale -> ink signal, deciding dark-on-light or light-on-dark.

    The background colour is the median of the border; a pixel's ink is how far its most changed channel
    moved from it, in the ink's direction, so that blue or red ink counts as fully as black ink.
    """
    background = _median(_border(pixels))
    differences = [pixels[..., channel] - background[channel] for channel in range(pixels.shape[-1])]
    darkest, lightest = functools.reduce(np.minimum, differences), functools.reduce(np.maximum, differences)
    return -darkest if _ink_is_dark(darkest, lightest, background) else lightest


def _ink_is_dark(darkest: np.ndarray, lightest: np.ndarray, background: np.ndarray) -> bool:
    level = float(background @ _LUMINANCE) if background.size == 3 else float(background[0])
    if level < 80:
        return False
    if level > 176:
        return True
    # A mid-grey background: the ink is on whichever side the image goes further.
    step = max(1, round(math.sqrt(darkest.size / 16384)))
    darker = np.sort(darkest[::step, ::step], axis=None)
    lighter = np.sort(lightest[::step, ::step], axis=None)
    tail = len(darker) // 200  # the strongest 0.5%
    return -darker[tail] > lighter[-1 - tail]


# --- from an ink signal to a 28x28 digit ----------------------------------------------------------


def _normalise_digit(signal: np.ndarray, lossy: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    ink = _remove_ruled_lines(_subtract_uneven_background(signal))
    if _edges_are_not_background(ink):
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8), (EDGES_NOT_BACKGROUND_WARNING,)
    noise = _noise_level(ink)
    strongest = float(ink.max())
    if strongest < max(_MIN_INK_LEVEL, 6 * noise):
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8), (NO_INK_WARNING,)
    if noise == 0 and _is_in_mnist_form(ink):
        return _stretch(np.maximum(ink, 0)), _contrast_notes(strongest, noise)
    marks = _ink_marks(ink, noise)
    if not marks.masses.any():
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8), (NO_INK_WARNING,)
    notes = _contrast_notes(strongest, noise) + ((SEVERAL_MARKS_WARNING,) if marks.has_separate_marks else ())
    mask = marks.mask
    boxed = mask & (ink >= _LOSSY_BOX_SHARE * float(ink[mask].max())) if lossy else mask
    rows, cols = np.flatnonzero(boxed.any(axis=1)), np.flatnonzero(boxed.any(axis=0))
    crop = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = np.where(mask[crop], np.maximum(ink[crop], 0), 0).astype(np.float32)
    digit = _thicken_thin_strokes(digit)
    frame = _centre_by_mass(_fit_into_box(digit))
    return _stretch(frame), notes


def _edges_are_not_background(ink: np.ndarray) -> bool:
    """Most of the picture is far from its edges' colour, which hardly reaches into it: a page on a table.

    (A tightly cropped bold digit can also cover most of the picture, but it runs into the edges.)
    """
    far = ink[:: max(1, ink.shape[0] // 128), :: max(1, ink.shape[1] // 128)] > 4 * _MIN_INK_LEVEL
    return far.mean() > 0.5 and _border(far).mean() < 0.1


def _contrast_notes(strongest: float, noise: float) -> tuple[str, ...]:
    return (LOW_CONTRAST_WARNING,) if strongest < max(_LOW_CONTRAST_LEVEL, 10 * noise) else ()


def _is_in_mnist_form(ink: np.ndarray) -> bool:
    """Already a clean 28x28 MNIST digit (fitted to the 20-pixel box, centred by mass): nothing to do.

    Leaving such images alone keeps every faint pixel MNIST has, where the general path would drop
    faint specks as noise.
    """
    if ink.shape != (IMAGE_SIZE, IMAGE_SIZE):
        return False
    inked = ink > 0
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 != DIGIT_BOX:
        return False
    centre = np.array(_centre_of_mass(np.maximum(ink, 0)))
    return bool(np.all(np.abs(centre - IMAGE_SIZE / 2) <= 0.5))


def _subtract_uneven_background(signal: np.ndarray) -> np.ndarray:
    """The signal less a smooth background (uneven lighting), when its border shows one."""
    if min(signal.shape) < _MIN_LIGHTING_SIDE or _border_is_flat(signal):
        return signal
    return signal - _background_surface(signal)


def _remove_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """The ink less the lines of ruled or squared paper. Strokes thicker than those lines keep all
    their ink where they cross one; a single long thin stroke (a 7's bar drawn with a fine pen) stays.
    """
    if min(ink.shape) < _MIN_RULED_SIDE:
        return ink
    thin = ink - ndimage.grey_opening(ink, size=(_RULING_WIDTH, _RULING_WIDTH))  # what a small square cannot fit in
    # Lines across the rows (ruled paper) and down the columns (squared paper).
    rulings = _rulings_along_rows(thin) | _rulings_along_rows(thin.T).T
    return ink - np.where(rulings, thin, 0.0)


def _rulings_along_rows(thin: np.ndarray) -> np.ndarray:
    """Where the thin ink forms ruled lines along the rows: at least two lines across nearly the whole
    width (plus, then, those a tilted frame cuts short at its edge), with their soft edges."""
    length = thin.shape[1]
    tolerant = ndimage.maximum_filter(thin, size=(5, 1))  # a page photographed slightly askew
    on_line = ndimage.grey_opening(tolerant, size=(1, max(3, length // 12))) > _MIN_INK_LEVEL
    # A line is cut where the digit crosses it: pieces in line with each other make one line.
    labels, count = ndimage.label(ndimage.maximum_filter1d(on_line, length // 3 | 1, axis=1))
    pieces = labels * on_line  # each line's own pixels, labelled by the line they belong to
    boxes = [box[1] if box else slice(0, 0) for box in ndimage.find_objects(pieces, count)]
    spans = np.array([box.stop - box.start for box in boxes], dtype=int).reshape(-1)
    across = spans >= _RULING_SPAN * length
    if np.count_nonzero(across) < 2:
        return np.zeros(thin.shape, bool)
    off_the_edge = np.array([box.start == 0 or box.stop == length for box in boxes]) & (spans >= length // 4)
    rulings = np.isin(pieces, np.flatnonzero(across | off_the_edge) + 1)
    return ndimage.binary_dilation(rulings, np.ones((3, 3), bool))


def _border_is_flat(signal: np.ndarray, segments: int = 4, tolerance: float = 4.0) -> bool:
    """Whether the background level (the 10th percentile: ink lies above it) is the same all round."""
    height, width = signal.shape
    band = 1 + min(height, width) // 64
    sides = [signal[:band], signal[-band:], signal[:, :band].T, signal[:, -band:].T]
    levels = [_low_percentile(_stretches(side, segments)) for side in sides]  # one per stretch of a side
    return float(np.ptp(np.concatenate(levels))) <= tolerance


def _low_percentile(values: np.ndarray) -> np.ndarray:
    """The 10th percentile along the first axis."""
    tenth = len(values) // 10
    return np.partition(values, tenth, axis=0)[tenth]


def _stretches(side: np.ndarray, count: int) -> np.ndarray:
    """A (band, length) side cut into `count` equal stretches along its length: (pixels per stretch, count)."""
    length = side.shape[1] // count * count
    return side[:, :length].reshape(side.shape[0], count, -1).transpose(0, 2, 1).reshape(-1, count)


def _background_surface(signal: np.ndarray, grid: int = 32) -> np.ndarray:
    """A quadratic surface fitted to the background, ignoring the ink (which lies above it)."""
    height, width = signal.shape
    block = max(1, max(height, width) // grid)
    rows, cols = height // block, width // block
    blocks = signal[: rows * block, : cols * block].reshape(rows, block, cols, block).mean(axis=(1, 3))
    y = (np.arange(rows) + 0.5) * block / height * 2 - 1
    x = (np.arange(cols) + 0.5) * block / width * 2 - 1
    yy, xx = np.meshgrid(y, x, indexing="ij")
    terms = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    values = blocks.ravel()
    quarter = np.partition(values, len(values) // 4)[len(values) // 4]
    background = values <= quarter  # start from the quarter of the blocks least like ink
    for _ in range(4):
        coefficients = np.linalg.lstsq(terms[background], values[background], rcond=None)[0]
        residual = values - terms @ coefficients
        spread = 1.4826 * _median(np.abs(residual[background])) + 0.5
        background = residual < 2.5 * spread
        if np.count_nonzero(background) < 2 * terms.shape[1]:
            break
    y = (np.arange(height) + 0.5) / height * 2 - 1
    x = (np.arange(width) + 0.5) / width * 2 - 1
    c = coefficients
    return (
        c[0] + c[1] * x[None, :] + c[2] * y[:, None] + c[3] * (x * x)[None, :]
        + c[4] * y[:, None] * x[None, :] + c[5] * (y * y)[:, None]
    ).astype(np.float32)


def _noise_level(ink: np.ndarray) -> float:
    """The background's noise: a robust standard deviation of the dips below the background level (0).

    Only noise dips below the background (ink lies above it), so this holds however much of the
    picture the ink covers. A background that hardly ever dips (clean, or white clipped at 255) has none.
    """
    step = max(1, round(math.sqrt(ink.size / 65536)))
    sample = ink[::step, ::step]
    dips = -sample[sample < 0]
    if dips.size < 0.05 * sample.size:
        return 0.0
    return float(1.4826 * _median(dips))


def _otsu_threshold(values: np.ndarray) -> float:
    """The level that best splits the values (0-255) into two classes (Otsu, on a subsample)."""
    step = max(1, round(math.sqrt(values.size / 4096)))
    sample = np.clip(values[::step, ::step], 0, 255).astype(np.uint8)
    counts = np.bincount(sample.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    below = np.cumsum(counts)
    mass_below = np.cumsum(counts * levels)
    above = below[-1] - below
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = mass_below / below
        mean_above = (mass_below[-1] - mass_below) / above
        between = below * above * (mean_below - mean_above) ** 2
    return float(np.argmax(np.nan_to_num(between)))


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
    strong = ink > max(_otsu_threshold(ink), 4 * noise, _MIN_INK_LEVEL)
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


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: twice its area over the length of its outline."""
    padded = np.pad(mask, 1)
    outline = np.count_nonzero(padded[1:] != padded[:-1]) + np.count_nonzero(padded[:, 1:] != padded[:, :-1])
    return 2.0 * np.count_nonzero(mask) / max(outline, 1)


def _thicken_thin_strokes(digit: np.ndarray) -> np.ndarray:
    """Strokes far thinner than MNIST's (a 1-px pen on a big canvas) widened so they survive the resize."""
    size = max(digit.shape)
    level = float(digit.max())
    mask = digit >= 0.5 * level
    if _stroke_width(mask) >= _MIN_STROKE_RATIO * size:
        return digit
    factor = max(1, size // (4 * DIGIT_BOX))  # work at about 4x the final size: max-pooling keeps thin lines
    if factor > 1:
        digit = _max_pool(digit, factor)
        size = max(digit.shape)
        mask = digit >= 0.5 * level
    radius = max(0.0, (_TARGET_STROKE_RATIO * size - _stroke_width(mask)) / 2)
    pad = int(math.ceil(radius)) + 1
    digit, mask = np.pad(digit, pad), np.pad(mask, pad)
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
    # reducing_gap: box-shrink first to 3x the size, then Lanczos; as good as plain Lanczos here, and faster
    return np.maximum(np.asarray(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)), 0.0)


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


def _stretch(frame: np.ndarray) -> np.ndarray:
    """uint8 with the strongest ink at 255."""
    peak = float(frame.max())
    if peak <= 0:
        return np.zeros(frame.shape, np.uint8)
    return np.clip(np.rint(frame * (255.0 / peak)), 0, 255).astype(np.uint8)
