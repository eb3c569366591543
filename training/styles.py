"""Renderings of an MNIST digit in the styles MNIST rarely has, each as an upload's bytes.

Every style is a function (digit, rng) -> Upload, or None where the digit does not lend itself to the
style (a 9 without a closed loop cannot get a straight tail). Glyph styles change the shape the way
other schools write it (the continental 1, the barred 7, the closed 4, the straight-tailed 9); the
others keep the shape and change the pen, the paper or the way it reached us (pencil, marker, a
phone photo under uneven light, a tiny raw scan, ...). The work happens on the digit scaled up 4x,
where a stroke is several pixels wide.
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage
from skimage.morphology import skeletonize

UPSCALE = 4  # glyph edits happen at 112x112
BLUE_INK = (25, 45, 150)


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


# ---- the digit as strokes --------------------------------------------------------------------------

def upscaled(digit: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """uint8 (28, 28) light on dark -> float (28f, 28f) ink in [0, 1], smoothly interpolated."""
    side = digit.shape[0] * factor
    image = Image.fromarray(digit).resize((side, side), Image.BICUBIC)
    return np.clip(np.asarray(image, np.float32) / 255.0, 0.0, 1.0)


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the ink, inclusive."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1], columns[0], columns[-1]


def middle_of_row(mask: np.ndarray, row: int) -> float:
    """The mean column of the ink in `row`, or in the whole mask where that row has none."""
    columns = np.flatnonzero(mask[row]) if mask[row].any() else np.flatnonzero(mask.any(axis=0))
    return float(np.mean(columns))


def stroke_width(mask: np.ndarray) -> float:
    """The typical width of the strokes: twice the distance from the skeleton to the paper."""
    skeleton = skeletonize(mask)
    return max(2.0 * float(np.median(ndimage.distance_transform_edt(mask)[skeleton])), 2.0)


def with_strokes(ink: np.ndarray, lines: list[tuple[float, float, float, float]], width: float) -> np.ndarray:
    """`ink` with straight strokes (x0, y0, x1, y1) drawn over it, round-ended, softened like the rest."""
    canvas = Image.new("L", ink.shape[::-1], 0)
    draw = ImageDraw.Draw(canvas)
    radius = width / 2
    for x0, y0, x1, y1 in lines:
        draw.line([(x0, y0), (x1, y1)], fill=255, width=max(int(round(width)), 1))
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    drawn = np.asarray(canvas.filter(ImageFilter.GaussianBlur(UPSCALE / 3)), np.float32) / 255.0
    return np.maximum(ink, drawn)


def sheared(ink: np.ndarray, degrees: float) -> np.ndarray:
    """Slanted by `degrees` (positive leans right), about the centre, on a canvas wide enough to hold it."""
    height, width = ink.shape
    tan = np.tan(np.radians(degrees))
    pad = int(abs(tan) * height / 2) + 2
    image = Image.fromarray(np.uint8(ink * 255)).crop((-pad, 0, width + pad, height))
    centre = height / 2
    sheared_image = image.transform(image.size, Image.AFFINE, (1, tan, -tan * centre, 0, 1, 0), Image.BICUBIC)
    return np.asarray(sheared_image, np.float32) / 255.0


# ---- how the ink reaches us ------------------------------------------------------------------------

def encode(pixels: np.ndarray, file_format: str, filename: str, **options) -> Upload:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=file_format, **options)
    return Upload(buffer.getvalue(), filename)


def on_paper(ink: np.ndarray, rng, paper: float = 240.0, ink_level: float = 30.0, noise: float = 3.0) -> np.ndarray:
    """Grey uint8: dark ink on light paper, with a little sensor noise."""
    grey = paper + (ink_level - paper) * ink + rng.normal(0.0, noise, ink.shape)
    return np.clip(grey, 0, 255).astype(np.uint8)


def in_colour(ink: np.ndarray, rng, colour=(20, 20, 20), paper=(245, 243, 236), noise: float = 3.0) -> np.ndarray:
    """RGB uint8: coloured ink on tinted paper."""
    paper, colour = np.asarray(paper, np.float32), np.asarray(colour, np.float32)
    rgb = paper + (colour - paper) * ink[..., None] + rng.normal(0.0, noise, (*ink.shape, 1))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def resized(ink: np.ndarray, side: int | tuple[int, int]) -> np.ndarray:
    size = (side, side) if isinstance(side, int) else side
    image = Image.fromarray(np.uint8(np.clip(ink, 0, 1) * 255)).resize(size, Image.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, np.float32) / 255.0


def cropped_to_ink(ink: np.ndarray) -> np.ndarray:
    top, bottom, left, right = ink_box(ink > 0.2)
    return ink[top:bottom + 1, left:right + 1]


def placed(ink: np.ndarray, canvas: tuple[int, int], digit_height: int, rng) -> np.ndarray:
    """The digit, `digit_height` tall, at a random place on a blank (height, width) canvas."""
    digit = cropped_to_ink(ink)
    width = max(int(round(digit.shape[1] * digit_height / digit.shape[0])), 1)
    digit = resized(digit, (width, digit_height))
    out = np.zeros(canvas, np.float32)
    top = rng.integers(0, canvas[0] - digit_height + 1)
    left = rng.integers(0, canvas[1] - width + 1)
    out[top:top + digit_height, left:left + width] = digit
    return out


# ---- glyph styles ----------------------------------------------------------------------------------

def continental_one(digit: np.ndarray, rng) -> Upload | None:
    """A 1 with a long up-stroke from its top, sometimes a foot: the European way, often read as 7."""
    ink = upscaled(digit)
    mask = ink > 0.5
    top, bottom, left, right = ink_box(mask)
    height = bottom - top
    x_top = middle_of_row(mask, top + 2)
    length = rng.uniform(0.3, 0.5) * height
    angle = np.radians(rng.uniform(25, 50))  # below the horizontal, to the left
    lines = [(x_top, top + 2, x_top - length * np.cos(angle), top + 2 + length * np.sin(angle))]
    if rng.random() < 0.3:
        x_bottom = middle_of_row(mask, bottom - 2)
        foot = rng.uniform(0.15, 0.25) * height
        lines.append((x_bottom - foot, bottom - 2, x_bottom + foot, bottom - 2))
    ink = with_strokes(ink, lines, stroke_width(mask))
    return encode(on_paper(ink, rng), "PNG", "continental_1.png")


def barred_seven(digit: np.ndarray, rng) -> Upload | None:
    """A 7 with a bar across its stem."""
    ink = upscaled(digit)
    mask = ink > 0.5
    top, bottom, left, right = ink_box(mask)
    row = int(top + rng.uniform(0.45, 0.6) * (bottom - top))
    crossing = np.flatnonzero(mask[row])
    if len(crossing) == 0 or crossing[-1] - crossing[0] > 0.4 * (right - left + 1):
        return None  # no single stem at that height
    centre, half = float(crossing.mean()), rng.uniform(0.18, 0.28) * (bottom - top)
    tilt = rng.uniform(-0.08, 0.08) * half
    ink = with_strokes(ink, [(centre - half, row + tilt, centre + half, row - tilt)], stroke_width(mask))
    return encode(on_paper(ink, rng), "PNG", "barred_7.png")


def closed_four(digit: np.ndarray, rng) -> Upload | None:
    """A 4 whose open top is closed: the tops of its arm and its stem joined, as in print."""
    ink = upscaled(digit)
    mask = ink > 0.5
    top, bottom, left, right = ink_box(mask)
    middle = (left + right) // 2
    halves = mask[:, :middle], mask[:, middle:]
    tops = [np.flatnonzero(half.any(axis=1)) for half in halves]
    if any(len(rows) == 0 for rows in tops):
        return None
    left_top, right_top = tops[0][0], tops[1][0]
    x_left = float(np.mean(np.flatnonzero(halves[0][left_top])))
    x_right = middle + float(np.mean(np.flatnonzero(halves[1][right_top])))
    if x_right - x_left < 0.3 * (right - left):
        return None  # its two tops already meet
    ink = with_strokes(ink, [(x_left, left_top + 2, x_right, right_top + 2)], stroke_width(mask))
    return encode(on_paper(ink, rng), "PNG", "closed_4.png")


def straight_tail_nine(digit: np.ndarray, rng) -> Upload | None:
    """A 9 whose curved tail is replaced by a straight stroke down from the right of its loop."""
    ink = upscaled(digit)
    mask = ink > 0.5
    holes, count = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    if count == 0:
        return None  # an open loop: nothing to hang a straight tail from
    sizes = ndimage.sum(np.ones_like(holes), holes, range(1, count + 1))
    loop = holes == 1 + int(np.argmax(sizes))
    loop_top, loop_bottom, loop_left, loop_right = ink_box(loop)
    top, bottom, _, _ = ink_box(mask)
    width = stroke_width(mask)
    if bottom - loop_bottom < 3 * width:
        return None  # hardly any tail
    cut = int(loop_bottom + 1.2 * width)
    ink = ink.copy()
    ink[cut:] = 0.0
    x = loop_right + width / 2
    lean = rng.uniform(-0.15, 0.05) * (bottom - loop_bottom)
    ink = with_strokes(ink, [(x, (loop_top + loop_bottom) / 2, x + lean, bottom)], width)
    return encode(on_paper(ink, rng), "PNG", "straight_tail_9.png")


# ---- pen and paper ---------------------------------------------------------------------------------

def bold(digit: np.ndarray, rng) -> Upload:
    """Very bold strokes, as a thick marker or a finger on a phone leaves them."""
    ink = upscaled(digit)
    radius = rng.uniform(1.5, 3.0) * UPSCALE
    grown = ndimage.distance_transform_edt(ink < 0.5) < radius
    ink = ndimage.gaussian_filter(grown.astype(np.float32), UPSCALE / 3)
    return encode(on_paper(ink, rng), "PNG", "bold.png")


def thin(digit: np.ndarray, rng) -> Upload:
    """A hairline: the digit's skeleton, one or two pixels wide on a large canvas (a fine pen)."""
    skeleton = skeletonize(upscaled(digit) > 0.5)
    big = np.kron(skeleton, np.ones((2, 2), bool))  # 224 px
    ink = ndimage.binary_dilation(big, iterations=int(rng.integers(1, 3))).astype(np.float32)
    return encode(on_paper(ink, rng, ink_level=rng.uniform(20, 70)), "PNG", "thin.png")


def pencil(digit: np.ndarray, rng) -> Upload:
    """Graphite: grey, grainy strokes with soft edges on white paper."""
    ink = upscaled(digit)
    grain = np.clip(rng.normal(0.75, 0.25, ink.shape), 0.0, 1.0)
    ink = ndimage.gaussian_filter(ink * grain, 1.0)
    grey = on_paper(ink, rng, paper=rng.uniform(225, 250), ink_level=rng.uniform(80, 140), noise=4.0)
    return encode(grey, "PNG", "pencil.png")


def marker(digit: np.ndarray, rng) -> Upload:
    """A felt marker: bold, flat black strokes with soft edges, photographed as a JPEG."""
    ink = upscaled(digit)
    grown = ndimage.distance_transform_edt(ink < 0.5) < rng.uniform(1.0, 2.0) * UPSCALE
    ink = ndimage.gaussian_filter(grown.astype(np.float32), 1.5)
    return encode(in_colour(ink, rng, colour=(15, 15, 25)), "JPEG", "marker.jpg", quality=85)


def ballpoint(digit: np.ndarray, rng) -> Upload:
    """A blue ballpoint: thin, slightly uneven blue lines on white paper."""
    skeleton = skeletonize(upscaled(digit) > 0.5)
    ink = ndimage.binary_dilation(np.kron(skeleton, np.ones((2, 2), bool)), iterations=2).astype(np.float32)
    ink = ndimage.gaussian_filter(ink * np.clip(rng.normal(0.9, 0.15, ink.shape), 0, 1), 0.8)
    return encode(in_colour(ink, rng, colour=BLUE_INK), "PNG", "ballpoint.png")


# ---- shape of the box ------------------------------------------------------------------------------

def stretched_to_box(digit: np.ndarray, rng) -> Upload:
    """The digit's ink stretched to fill a square box, as some scanning systems normalise: a wide 1."""
    ink = cropped_to_ink(upscaled(digit))
    side = 20 * UPSCALE
    frame = np.zeros((28 * UPSCALE, 28 * UPSCALE), np.float32)
    frame[4 * UPSCALE:24 * UPSCALE, 4 * UPSCALE:24 * UPSCALE] = resized(ink, side)
    return encode(on_paper(resized(frame, 56), rng), "PNG", "stretched.png")


def slanted(digit: np.ndarray, rng) -> Upload:
    """Strongly slanted handwriting, leaning right (mostly) or left by 18-30 degrees."""
    degrees = rng.uniform(18, 30) * (1 if rng.random() < 0.75 else -1)
    return encode(on_paper(sheared(upscaled(digit), degrees), rng), "PNG", "slanted.png")


def tight_crop_light_on_dark(digit: np.ndarray, rng) -> Upload:
    """Cropped to its ink, light on dark, at 16 to 100 pixels: the ink touches every edge."""
    ink = cropped_to_ink(upscaled(digit))
    height = int(rng.choice([16, 28, 60, 100]))
    width = max(int(round(ink.shape[1] * height / ink.shape[0])), 2)
    light = 20 + 215 * resized(ink, (width, height))
    return encode(np.clip(light, 0, 255).astype(np.uint8), "PNG", "tight_light_on_dark.png")


# ---- how it reached us -----------------------------------------------------------------------------

def low_resolution(digit: np.ndarray, rng) -> Upload:
    """Drawn at 12-16 pixels a side, dark on light (a thumbnail, a fax)."""
    side = int(rng.integers(12, 17))
    return encode(on_paper(resized(upscaled(digit), side), rng, noise=2.0), "PNG", "low_resolution.png")


def raw_16x16(digit: np.ndarray, rng) -> Upload:
    """A tiny raw scan: the digit filling a 16x16 grey frame, blurred by the scanner."""
    ink = cropped_to_ink(upscaled(digit))
    scale = 15.0 / max(ink.shape)
    size = (max(int(round(ink.shape[1] * scale)), 1), max(int(round(ink.shape[0] * scale)), 1))
    frame = np.zeros((16, 16), np.float32)
    top, left = (16 - size[1]) // 2, (16 - size[0]) // 2
    frame[top:top + size[1], left:left + size[0]] = resized(ink, size)
    return encode(on_paper(ndimage.gaussian_filter(frame, 0.4), rng, paper=220, ink_level=50, noise=4.0),
                  "PNG", "raw_16x16.png")


def binary_box_16(digit: np.ndarray, rng) -> Upload | None:
    """A 1-bit 16x16 scan stretched to fill its box, as some digit databases store them: a 1 becomes a
    wide bar, a 0 a round ring; dark on light or light on dark."""
    mask = upscaled(digit) > rng.uniform(0.3, 0.5)
    ink = resized(cropped_to_ink(mask.astype(np.float32)), 16) > 0.5
    if ink.mean() > 0.8:
        return None  # a straight 1 stretched into a black square: nothing left to read
    pixels = np.where(ink, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        pixels = 255 - pixels
    return encode(pixels, "PNG", "binary_box_16.png")


def jpeg_scan(digit: np.ndarray, rng) -> Upload:
    """A grey scan of a page, saved as a strongly compressed JPEG."""
    ink = placed(upscaled(digit), (200, 200), int(rng.integers(60, 140)), rng)
    grey = on_paper(ink, rng, paper=rng.uniform(200, 245), ink_level=rng.uniform(20, 90), noise=6.0)
    return encode(grey, "JPEG", "scan.jpg", quality=int(rng.integers(20, 50)))


def phone_photo(digit: np.ndarray, rng) -> Upload:
    """A phone photo of the page: uneven light across it, a sharp-edged shadow, noise, JPEG."""
    height, width = 360, 480
    ink = placed(upscaled(digit), (height, width), int(rng.integers(70, 170)), rng)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * columns / width + np.sin(angle) * rows / height)
    light = 0.85 + rng.uniform(0.15, 0.35) * (gradient - gradient.mean())
    edge = rng.uniform(0.2, 0.8) * width + rng.uniform(-0.5, 0.5) * rows
    light = light * np.where(columns < edge, rng.uniform(0.55, 0.8), 1.0)  # the hand's shadow
    rgb = in_colour(ink, rng, colour=(25, 25, 40) if rng.random() < 0.5 else BLUE_INK, paper=(235, 230, 215), noise=0)
    rgb = rgb * light[..., None] + rng.normal(0.0, 5.0, (height, width, 1))
    photo = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    return encode(np.asarray(photo), "JPEG", "photo.jpg", quality=int(rng.integers(70, 90)))


def lamp_photo(digit: np.ndarray, rng) -> Upload:
    """A phone photo of a page under a desk lamp: a pool of light fading to dark corners, a dim exposure,
    a small digit (a twentieth to a sixth of the frame) in pen or pencil, noise, blur, JPEG."""
    height, width = 900, 1200
    ink = upscaled(digit)
    if rng.random() < 0.5:  # a pen's line, thinner than MNIST's strokes
        line = ndimage.binary_dilation(skeletonize(ink > 0.5), iterations=int(rng.integers(1, 4)))
        ink = ndimage.gaussian_filter(line.astype(np.float32), 1.0)
    ink = placed(ink, (height, width), int(rng.integers(50, 160)), rng)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = np.cos(angle) * columns / width + np.sin(angle) * rows / height
    light = 0.8 + rng.uniform(0.2, 0.5) * (gradient - gradient.mean())
    light *= 1 - rng.uniform(0.3, 0.8) * (((columns - width / 2) / width) ** 2 + ((rows - height / 2) / height) ** 2)
    paper = np.array([225, 215, 195], np.float32) * rng.uniform(0.75, 1.0)
    colour = np.array([40, 40, 60], np.float32) + rng.uniform(0, 80)
    rgb = (paper + (colour - paper) * ink[..., None]) * light[..., None] + rng.normal(0, rng.uniform(4, 10), (height, width, 1))
    photo = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.0)))
    return encode(np.asarray(photo), "JPEG", "lamp.jpg", quality=int(rng.integers(55, 85)))


def transparent_drawing(digit: np.ndarray, rng) -> Upload:
    """Drawn in an app on a transparent background: the ink only in the alpha channel."""
    ink = resized(upscaled(digit), 280)
    colour = np.array(BLUE_INK if rng.random() < 0.3 else (0, 0, 0), np.uint8)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.uint8(np.clip(ink * 255, 0, 255))
    return encode(rgba, "PNG", "drawing.png")


STYLES = {  # name: (the digits it applies to, or None for all; the renderer)
    "continental_1": ((1,), continental_one),
    "barred_7": ((7,), barred_seven),
    "closed_4": ((4,), closed_four),
    "straight_tail_9": ((9,), straight_tail_nine),
    "bold": (None, bold),
    "thin": (None, thin),
    "pencil": (None, pencil),
    "marker": (None, marker),
    "ballpoint": (None, ballpoint),
    "stretched_to_box": (None, stretched_to_box),
    "slanted": (None, slanted),
    "tight_crop_light_on_dark": (None, tight_crop_light_on_dark),
    "low_resolution": (None, low_resolution),
    "raw_16x16": (None, raw_16x16),
    "jpeg_scan": (None, jpeg_scan),
    "phone_photo": (None, phone_photo),
    "transparent_drawing": (None, transparent_drawing),
    "lamp_photo": (None, lamp_photo),
    "binary_box_16": (None, binary_box_16),  # (new styles go last: the others keep their seeds)
}
