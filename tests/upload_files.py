"""Real MNIST digits turned into the files people upload: scans, drawings, photos, in every format.

A digit here is an MNIST array (uint8 28x28, 0 = background, 255 = ink). "Ink" arrays are float
(H, W) in 0-255 with 0 = no ink; the helpers below paint them onto a background and encode the result.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from digits.preprocessing import IMAGE_SIZE, PreparedImage, prepare_upload
from training.scenes import encode, enlarged, painted, photo_jpeg  # noqa: F401  (the tests' helpers too)


def png(pixels: np.ndarray) -> bytes:
    return encode(Image.fromarray(np.asarray(pixels, dtype=np.uint8)))


def on_canvas(ink: np.ndarray, size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    """The ink placed with its top-left corner at `at` (x, y) on an empty canvas of `size` (width, height)."""
    canvas = np.zeros((size[1], size[0]), np.float32)
    x, y = at
    canvas[y : y + ink.shape[0], x : x + ink.shape[1]] = ink
    return canvas


def transparent_drawing(ink: np.ndarray, stroke_colour=(0, 0, 0)) -> Image.Image:
    """RGBA: strokes of one colour on a fully transparent canvas, as paint programs export them."""
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = stroke_colour
    rgba[..., 3] = np.clip(np.rint(ink), 0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def dark_on_white(digit: np.ndarray, size=(300, 300), length=160, at=(110, 25)) -> Image.Image:
    """A scan: the digit in black ink on white paper, away from the centre."""
    return Image.fromarray(255 - on_canvas(enlarged(digit, length), size, at).astype(np.uint8))


def ink_photo(digit: np.ndarray, seed: int = 0, ink_colour=(35, 55, 165), paper_colour=(238, 232, 218)) -> bytes:
    """A phone photo (JPEG) of the digit in blue ink on paper: uneven lighting, paper grain, sensor noise."""
    rng = np.random.default_rng(seed)
    height, width = 480, 640
    ink = on_canvas(enlarged(digit, 260), (width, height), (300, 150))
    y, x = np.mgrid[:height, :width] / np.array([height, width]).reshape(2, 1, 1)
    light = 0.55 + 0.45 * (1 - 0.6 * (x - 0.2) ** 2 - 0.6 * (y - 0.1) ** 2)  # brighter towards the top left
    image = painted(ink, ink_colour, paper_colour).astype(np.float32) * light[..., np.newaxis]
    image += rng.normal(0, 4, (height, width, 1)) + rng.normal(0, 5, image.shape)
    return photo_jpeg(image)


def shadowed_photo(digit: np.ndarray, angle_degrees: float, darkness: float = 0.5) -> bytes:
    """A phone photo (JPEG) of the digit in black ink on paper, half of it under a hard-edged shadow.

    The shadow's edge runs through the digit at the given angle, so part of the digit lies in it.
    """
    height, width = 480, 640
    ink = on_canvas(enlarged(digit, 220), (width, height), (260, 110))
    y, x = np.mgrid[:height, :width]
    angle = np.radians(angle_degrees)
    in_shadow = (x - 370) * np.sin(angle) - (y - 220) * np.cos(angle) > 0
    edge = np.asarray(Image.fromarray(np.uint8(in_shadow * 255)).filter(ImageFilter.GaussianBlur(1.5))) / 255
    image = painted(ink, (30, 30, 35), (236, 233, 225)).astype(np.float32) * (1 - darkness * edge)[..., np.newaxis]
    image += np.random.default_rng(angle_degrees).normal(0, 3, image.shape)
    return photo_jpeg(image)


def notebook_photo(digit: np.ndarray, squared: bool = False, tilt_degrees: float = 0.0,
                   line_colour=(150, 185, 230), length: int = 200, at=(330, 120)) -> bytes:
    """A photo (JPEG) of the digit in dark ink on ruled (or squared) notebook paper, maybe a little askew;
    its rulings 32 pixels apart, from row 17."""
    height, width = 480, 640
    lines = np.zeros((height, width), np.float32)
    lines[17::32, :] = 255
    if squared:
        lines[:, 9::32] = 255
    lines = np.asarray(Image.fromarray(lines.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)), np.float32)
    page = painted(np.clip(lines * 2.5, 0, 255), line_colour, (245, 245, 240))
    ink = on_canvas(enlarged(digit, length), (width, height), at)
    image = Image.fromarray(painted(ink, (25, 25, 40), page))
    if tilt_degrees:
        image = image.rotate(tilt_degrees, Image.Resampling.BILINEAR, fillcolor=(245, 245, 240))
    return photo_jpeg(np.asarray(image))


def polyline_seven(width: int, size: int = 1000, bar=(300, 650)) -> Image.Image:
    """A '7' drawn with a pen `width` pixels wide on a white canvas `size` pixels square."""
    image = Image.new("L", (size, size), 255)
    scale = size / 1000
    draw = ImageDraw.Draw(image)
    draw.line([(bar[0] * scale, 250 * scale), (bar[1] * scale, 250 * scale), (480 * scale, 800 * scale)], fill=0,
              width=width, joint="curve")
    draw.line([(400 * scale, 520 * scale), (600 * scale, 520 * scale)], fill=0, width=width)
    return image


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a).astype(float), np.ravel(b).astype(float))[0, 1])


def best_shift_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The correlation allowing a shift of up to one pixel: centring by mass rounds to whole pixels."""
    return max(correlation(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def assert_reads_as(upload: bytes, digit: np.ndarray, minimum: float = 0.9, filename=None,
                    judged: bool = True) -> PreparedImage:
    """The upload comes out as a full-contrast 28x28 image of the digit (`judged`: by the digit scorer too)."""
    prepared = prepare_upload(upload, filename, judged=judged)
    assert prepared.pixels.shape == (IMAGE_SIZE, IMAGE_SIZE) and prepared.pixels.dtype == np.uint8
    assert prepared.pixels.max() == 255
    assert best_shift_correlation(prepared.pixels, digit) > minimum
    return prepared
