"""Real pictures people take of a handwritten digit, rendered from an MNIST digit: a page on a table,
a tilted page, a printed box, a page inside a dark border, a sticky note on a desk, a screenshot of a
drawing app, a small digit in a big photo; and pictures that hold no digit at all.

Each scene is a function (digit, rng) -> file bytes; the digit is an MNIST array (uint8 28x28). The
tests draw MNIST test digits into them; the digit scorer (training/digit_scorer.py) is trained on
training digits drawn into them. "Ink" arrays are float (H, W) in 0-255 with 0 = no ink.
"""

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

TABLES = [(62, 44, 30), (120, 84, 52), (40, 42, 46), (150, 150, 145), (25, 25, 28), (95, 110, 125)]
PAPER = (240, 238, 230)
NOTES = [(250, 232, 120), (250, 190, 200), (200, 240, 170), (170, 215, 245)]
INK = (28, 28, 36)


def encode(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def enlarged(digit: np.ndarray, length: int) -> np.ndarray:
    """The digit's ink cropped to its box and enlarged (bicubic) to `length` pixels on its longer side."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    crop = Image.fromarray(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    scale = length / max(crop.size)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    return np.asarray(crop.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)


def painted(ink: np.ndarray, ink_colour, background_colour) -> np.ndarray:
    """uint8 (H, W, 3): the background (a colour, or an (H, W, 3) picture) with the ink laid on it (the
    ink value is its opacity)."""
    opacity = (ink / 255.0)[..., np.newaxis]
    colour = np.asarray(ink_colour, np.float32) * opacity + np.asarray(background_colour, np.float32) * (1 - opacity)
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8)


def photo_jpeg(image: np.ndarray) -> bytes:
    """An (H, W, 3) picture, clipped to 0-255, as the JPEG a phone would send."""
    return encode(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), "JPEG", quality=85)


def _texture(rng, height: int, width: int, colour, grain: float = 10.0) -> np.ndarray:
    """(H, W, 3) float: a surface of one colour with wood-like streaks and sensor noise."""
    streaks = rng.normal(0, grain, (1, width // 8 + 1))
    streaks = np.asarray(Image.fromarray(streaks.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR))
    surface = np.asarray(colour, np.float32) + streaks[..., None] * np.array([1.0, 0.8, 0.6])
    return surface + rng.normal(0, 3, (height, width, 1))


def _lighting(height: int, width: int, rng) -> np.ndarray:
    """(H, W, 1): light falling off from a random corner, as under a desk lamp."""
    y, x = np.mgrid[:height, :width] / np.array([height, width]).reshape(2, 1, 1)
    cy, cx = rng.uniform(-0.2, 1.2, 2)
    return (1.0 - 0.12 * ((x - cx) ** 2 + (y - cy) ** 2))[..., None]


def _ink_on(canvas: np.ndarray, digit: np.ndarray, length: int, centre: tuple[int, int], colour=INK) -> np.ndarray:
    """The digit's ink enlarged to `length` pixels, laid on the (H, W, 3) canvas centred at (x, y)."""
    ink = enlarged(digit, length)
    height, width = canvas.shape[:2]
    top, left = centre[1] - ink.shape[0] // 2, centre[0] - ink.shape[1] // 2
    layer = np.zeros((height, width), np.float32)
    layer[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return painted(layer, colour, canvas).astype(np.float32)


def plain_paper(digit, rng) -> bytes:
    """The baseline: the digit on plain paper, filling most of the picture."""
    canvas = np.full((320, 320, 3), PAPER, np.float32)
    image = _ink_on(canvas, digit, 240, (160, 160)) * _lighting(320, 320, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def page_on_table(digit, rng) -> bytes:
    """A photo of a page lying on a table, the page 40-90% of the frame, somewhere in it."""
    height, width = 480, 640
    table = _table(rng, height, width, objects=rng.random() < 0.5)
    share = rng.uniform(0.4, 0.9)
    page_h, page_w = int(height * np.sqrt(share)), int(width * np.sqrt(share) * rng.uniform(0.8, 1.0))
    top, left = rng.integers(0, height - page_h + 1), rng.integers(0, width - page_w + 1)
    page = np.zeros((height, width), bool)
    page[top : top + page_h, left : left + page_w] = True
    image = np.where(page[..., None], np.asarray(PAPER, np.float32), table)
    length = int(min(page_h, page_w) * rng.uniform(0.35, 0.6))
    centre = (left + page_w // 2 + rng.integers(-page_w // 8, page_w // 8 + 1),
              top + page_h // 2 + rng.integers(-page_h // 8, page_h // 8 + 1))
    image = _ink_on(image, digit, length, centre) * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def tilted_page(digit, rng) -> bytes:
    """A page photographed 1-5 degrees askew, filling the frame, the table showing in the corners."""
    height, width = 480, 640
    page = np.full((height, width, 3), PAPER, np.float32)
    page = _ink_on(page, digit, int(height * rng.uniform(0.4, 0.6)), (width // 2 + rng.integers(-80, 81), height // 2))
    angle = rng.uniform(1, 5) * rng.choice([-1, 1])
    table = TABLES[rng.integers(len(TABLES))]
    turned = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).rotate(
        angle, Image.Resampling.BILINEAR, expand=False, fillcolor=table)
    zoom = rng.uniform(1.0, 1.05)  # how much of the page the photo takes in
    turned = turned.resize((int(width * zoom), int(height * zoom)), Image.Resampling.BILINEAR)
    left, top = (turned.width - width) // 2, (turned.height - height) // 2
    image = np.asarray(turned.crop((left, top, left + width, top + height)), np.float32)
    image = image * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def _frame(draw: ImageDraw.ImageDraw, box, colour, line: int, rounded: bool) -> None:
    if rounded:
        draw.rounded_rectangle(box, radius=3 * line + 4, outline=colour, width=line)
    else:
        draw.rectangle(box, outline=colour, width=line)


def boxed(digit, rng) -> bytes:
    """The digit written in a printed box on a form, in one of five layouts: a single box; a box with
    its label printed above it; a row of adjacent boxes, cut by the picture's edge; a box on ruled
    lines; a box so tight that the digit touches or crosses its lines."""
    size = 300
    image = Image.fromarray(np.full((size, size, 3), PAPER, np.uint8))
    draw = ImageDraw.Draw(image)
    line = int(rng.integers(1, 5))
    colour = tuple(int(c) for c in rng.choice([(30, 30, 30), (60, 60, 140), (120, 120, 120), (170, 60, 60)]))
    layout = rng.integers(5)
    rounded = rng.random() < 0.3
    margin = int(rng.integers(20, 50))
    top, bottom, left, right = margin, size - margin, margin, size - margin
    if layout == 1:  # a label above the box
        top = int(rng.integers(60, 90))
        _text_row(draw, left, top - 30, 14, right - 40, colour, rng)
    if layout == 2:  # a form row: boxes side by side, sharing a wall or a little apart
        gap = int(rng.choice([0, 0, 8, 15]))
        width = right - left
        for shift in (-2, -1, 1, 2):
            x0 = left + shift * (width + gap)
            _frame(draw, [x0, top, x0 + width, bottom], colour, line, rounded)
    if layout == 3:  # ruled lines across the page, the box drawn over them
        spacing = int(rng.integers(24, 40))
        for y in range(int(rng.integers(5, spacing)), size, spacing):
            draw.line([(0, y), (size, y)], fill=(150, 180, 220), width=1)
    if layout == 4:  # a tight box: the digit runs into and across its lines
        top, bottom, left, right = 60, size - 60, 60, size - 60
    _frame(draw, [left, top, right, bottom], colour, line, rounded)
    inner = min(bottom - top, right - left)
    length = int(inner * (rng.uniform(1.0, 1.2) if layout == 4 else rng.uniform(0.55, 0.8)))
    canvas = np.asarray(image, np.float32)
    centre = ((left + right) // 2 + rng.integers(-10, 11), (top + bottom) // 2)
    canvas = _ink_on(canvas, digit, length, centre)
    return photo_jpeg(canvas * _lighting(size, size, rng) + rng.normal(0, 3, canvas.shape))


def dark_border(digit, rng) -> bytes:
    """A white page inside a dark border, as a scanner or a photo cropped loosely leaves it."""
    height, width = 400, 300
    band = [int(rng.uniform(0.04, 0.15) * s) for s in (height, width, height, width)]
    image = np.full((height, width, 3), rng.uniform(10, 45), np.float32)
    image[band[0] : height - band[2], band[1] : width - band[3]] = PAPER
    inner_h, inner_w = height - band[0] - band[2], width - band[1] - band[3]
    centre = (band[1] + inner_w // 2, band[0] + inner_h // 2)
    image = _ink_on(image, digit, int(min(inner_h, inner_w) * rng.uniform(0.5, 0.75)), centre)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def sticky_note(digit, rng) -> bytes:
    """A sticky note (yellow, pink, green or blue) on a desk, a little turned, the digit written on it."""
    height, width = 480, 640
    note_side = int(height * rng.uniform(0.5, 0.75))
    paper = NOTES[rng.integers(len(NOTES))]
    note = np.full((note_side, note_side, 3), paper, np.float32)
    note = _ink_on(note, digit, int(note_side * rng.uniform(0.5, 0.7)), (note_side // 2, note_side // 2))
    turned = Image.fromarray(np.clip(note, 0, 255).astype(np.uint8)).convert("RGBA").rotate(
        rng.uniform(-12, 12), Image.Resampling.BICUBIC, expand=True)
    desk = _table(rng, height, width, objects=False)
    photo = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8))
    shadow = Image.new("L", turned.size, 0)
    shadow.paste(90, mask=turned.getchannel("A"))
    at = (int(rng.integers(0, width - turned.width)), int(rng.integers(0, height - turned.height)))
    photo.paste((0, 0, 0), (at[0] + 6, at[1] + 6), shadow.filter(ImageFilter.GaussianBlur(6)))
    photo.paste(turned, at, turned)
    image = np.asarray(photo, np.float32) * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def _text_row(draw: ImageDraw.ImageDraw, x: int, y: int, height: int, length: int, colour, rng) -> None:
    """A row of small marks that reads as text from afar: words of letter-sized blocks and strokes."""
    while x < length:
        for _ in range(rng.integers(2, 8)):
            glyph_w = int(height * rng.uniform(0.4, 0.8))
            if rng.random() < 0.5:
                draw.rectangle([x, y + height // 4, x + glyph_w, y + height], outline=colour, width=max(1, height // 6))
            else:
                draw.line([(x, y + height), (x + glyph_w // 2, y), (x + glyph_w, y + height)], fill=colour,
                          width=max(1, height // 6))
            x += glyph_w + max(1, height // 5)
        x += height


_LIGHT_THEME = {"bar": [(225, 228, 232), (30, 90, 160), (240, 240, 242)], "panel": (246, 246, 248),
                "text": (60, 60, 66), "canvas": (255, 255, 255), "workspace": (200, 200, 204), "pen": (0, 0, 0)}
_DARK_THEME = {"bar": [(45, 45, 50), (32, 33, 36), (60, 63, 70)], "panel": (37, 37, 40),
               "text": (200, 200, 205), "canvas": (30, 30, 32), "workspace": (20, 20, 22), "pen": (250, 250, 250)}


def _icon(draw: ImageDraw.ImageDraw, box, colour, rng) -> None:
    kind = rng.integers(4)
    if kind == 0:
        draw.rectangle(box, outline=colour, width=2)
    elif kind == 1:
        draw.ellipse(box, fill=colour)
    elif kind == 2:
        draw.line([(box[0], box[3]), (box[2], box[1])], fill=colour, width=3)
    else:
        draw.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=colour)


def _button(draw: ImageDraw.ImageDraw, x: int, y: int, height: int, theme, rng) -> int:
    """A toolbar button: a rounded box with a short label. Returns its right end."""
    width = int(height * rng.uniform(2.0, 3.5))
    draw.rounded_rectangle([x, y, x + width, y + height], radius=height // 4,
                           fill=theme["bar"][rng.integers(len(theme["bar"]))], outline=theme["text"], width=1)
    _text_row(draw, x + height // 3, y + height // 3, height // 3, x + width - height // 3, theme["text"], rng)
    return x + width


def _window(rng) -> tuple[Image.Image, dict, tuple[int, int, int, int]]:
    """A drawing app's window in a random layout and theme: title bar, toolbar of icons or buttons,
    side bar (left or right) of text rows and icons, status bar, each there or not. Returns the
    window, its theme and the canvas's box (left, top, right, bottom)."""
    theme = _DARK_THEME if rng.random() < 0.35 else _LIGHT_THEME
    width, height = int(rng.integers(700, 1100)), int(rng.integers(500, 800))
    image = Image.new("RGB", (width, height), theme["canvas"])
    draw = ImageDraw.Draw(image)
    text = theme["text"]
    top, bottom, left, right = 0, height, 0, width
    if rng.random() < 0.8:  # a title bar with the window's buttons
        title = int(rng.integers(24, 40))
        bar = tuple(theme["bar"][rng.integers(len(theme["bar"]))])
        draw.rectangle([0, 0, width, title], fill=bar)
        title_text = (255, 255, 255) if sum(bar) < 400 else (40, 40, 40)
        _text_row(draw, 12, title // 4, title // 2, width // 3, title_text, rng)
        for i in range(3):
            x = width - 30 * (i + 1)
            draw.ellipse([x, title // 4, x + title // 2, title // 4 + title // 2], fill=(200, 80, 70) if i == 0 else title_text)
        top = title
    if rng.random() < 0.85:  # a toolbar: icons or labelled buttons
        tools = int(rng.integers(30, 50))
        draw.rectangle([0, top, width, top + tools], fill=theme["bar"][-1])
        draw.line([(0, top + tools), (width, top + tools)], fill=text, width=1)
        x = 10
        while x < width - 2 * tools:
            if rng.random() < 0.4:
                x = _button(draw, x, top + 6, tools - 12, theme, rng) + 10
            else:
                _icon(draw, [x, top + 6, x + tools - 12, top + tools - 6], text, rng)
                x += tools + 2
        top += tools + 1
    if rng.random() < 0.7:  # a status bar
        status = int(rng.integers(18, 28))
        draw.rectangle([0, height - status, width, height], fill=theme["bar"][-1])
        _text_row(draw, 10, height - status + 6, status // 2, width // 2, text, rng)
        bottom = height - status
    if rng.random() < 0.85:  # a side bar of text rows, some with an icon
        side = int(rng.integers(120, 240))
        on_left = rng.random() < 0.7
        x0, x1 = (0, side) if on_left else (width - side, width)
        draw.rectangle([x0, top, x1, bottom], fill=theme["panel"])
        draw.line([(x1 if on_left else x0, top), (x1 if on_left else x0, bottom)], fill=text, width=1)
        row_height = int(rng.integers(20, 34))
        for row in range(top + 14, bottom - row_height, row_height):
            x = x0 + 12
            if rng.random() < 0.5:
                _icon(draw, [x, row, x + 12, row + 12], text, rng)
                x += 20
            _text_row(draw, x, row, int(rng.integers(8, 13)), x1 - 14, text, rng)
        left, right = (side + 1, width) if on_left else (0, width - side - 1)
    if rng.random() < 0.4:  # the canvas framed on a workspace of another shade
        draw.rectangle([left, top, right, bottom], fill=theme["workspace"])
        inset = int(rng.integers(12, 40))
        left, top, right, bottom = left + inset, top + inset, right - inset, bottom - inset
        draw.rectangle([left, top, right, bottom], fill=theme["canvas"], outline=text if rng.random() < 0.5 else None)
    return image, theme, (left, top, right, bottom)


def screenshot(digit, rng) -> bytes:
    """A screenshot of a drawing app (`_window`: light or dark, with its bars and panels), the digit
    drawn in its canvas with hard-edged strokes."""
    image, theme, (left, top, right, bottom) = _window(rng)
    canvas = np.asarray(image, np.float32)
    if digit.max() < 8:  # an empty canvas
        return encode(image)
    canvas_w, canvas_h = right - left, bottom - top
    length = int(min(canvas_w, canvas_h) * rng.uniform(0.4, 0.7))
    centre = (left + canvas_w // 2 + rng.integers(-canvas_w // 6, canvas_w // 6 + 1), top + canvas_h // 2)
    stroke = enlarged(digit, length) > 100  # a drawing app paints hard-edged strokes
    layer = np.zeros(canvas.shape[:2], np.float32)
    y, x = centre[1] - stroke.shape[0] // 2, centre[0] - stroke.shape[1] // 2
    layer[y : y + stroke.shape[0], x : x + stroke.shape[1]] = stroke * 255.0
    return encode(Image.fromarray(painted(layer, theme["pen"], canvas)))


def small_in_large(digit, rng) -> bytes:
    """A small digit somewhere on a large (3000x2250) photo of a page."""
    height, width = 2250, 3000
    image = np.full((height, width, 3), PAPER, np.float32)
    length = int(rng.integers(120, 260))
    centre = (int(rng.integers(400, width - 400)), int(rng.integers(400, height - 400)))
    image = _ink_on(image, digit, length, centre) * _lighting(height, width, rng)
    image += rng.normal(0, 3, (height, width, 1))
    return encode(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), "JPEG", quality=88)


def _pen_path(draw: ImageDraw.ImageDraw, points: np.ndarray, colour, width: int) -> None:
    """A hand-drawn stroke through (N, 2) points (x, y), round at its joints."""
    draw.line([tuple(point) for point in points], fill=colour, width=width, joint="curve")


def _hand_loop(rng, centre, radii, turns: float) -> np.ndarray:
    """(N, 2): a loop drawn by hand round a centre: an ellipse whose radius wanders a little, started
    anywhere, turned a little, going round `turns` times (a loop left open, or overshooting its start)."""
    start = rng.uniform(0, 2 * np.pi)
    angle = start + np.linspace(0, 2 * np.pi * turns, 120)
    wobble = 1 + sum(rng.uniform(-0.05, 0.05) * np.sin(k * angle + rng.uniform(0, 6)) for k in (2, 3))
    drift = 1 + rng.uniform(-0.08, 0.08) * (angle - start) / (2 * np.pi)  # the second lap wider or narrower
    tilt = rng.uniform(-0.4, 0.4)
    x, y = radii[0] * np.cos(angle) * wobble * drift, radii[1] * np.sin(angle) * wobble * drift
    return np.stack([centre[0] + x * np.cos(tilt) - y * np.sin(tilt), centre[1] + x * np.sin(tilt) + y * np.cos(tilt)], axis=1)


def circled(digit, rng, close: bool = False) -> bytes:
    """A digit on a page with a mark drawn round it by hand, in the same pen or another: a loop (an
    ellipse left open or overshooting its start, sometimes gone round twice), a rough box, or one or
    two lines under it. The mark may come close to the digit or touch its strokes; `close`: a loop or a
    box drawn tight round it, mostly touching or crossing its strokes (the judge's training digits)."""
    size = 360
    canvas = np.full((size, size, 3), PAPER, np.float32)
    length = int(rng.uniform(140, 190))
    centre = (size // 2 + int(rng.integers(-15, 16)), size // 2 + int(rng.integers(-15, 16)))
    canvas = _ink_on(canvas, digit, length, centre)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    colour = INK if rng.random() < 0.6 else tuple(int(c) for c in rng.choice([(30, 50, 150), (170, 40, 40), (40, 110, 60)]))
    pen = int(rng.integers(3, 8))
    kind = rng.choice(["loop", "loop", "loop", "box", "underline"])
    if kind == "loop":
        radii = (length * rng.uniform(*((0.35, 0.55) if close else (0.55, 0.8))),
                 length * rng.uniform(*((0.48, 0.62) if close else (0.65, 0.85))))
        _pen_path(draw, _hand_loop(rng, centre, radii, rng.choice([0.93, 1.05, 1.15, 2.0])), colour, pen)
    elif kind == "box":
        half_w, half_h = (length * rng.uniform(*((0.3, 0.45) if close else (0.45, 0.7))),
                          length * rng.uniform(*((0.48, 0.58) if close else (0.6, 0.75))))
        corners = np.array([(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h), (-half_w, -half_h)])
        points = np.concatenate([np.linspace(a, b, 12) for a, b in zip(corners[:-1], corners[1:])])
        points += rng.normal(0, 2.0, points.shape) + np.array(centre)
        _pen_path(draw, points, colour, pen)
    else:
        for line in range(int(rng.integers(1, 3))):
            y = centre[1] + length * 0.5 + 6 + line * rng.uniform(8, 14)
            x = np.linspace(centre[0] - length * rng.uniform(0.3, 0.6), centre[0] + length * rng.uniform(0.3, 0.6), 20)
            _pen_path(draw, np.stack([x, y + np.cumsum(rng.normal(0, 0.6, 20))], axis=1), colour, pen)
    pixels = np.asarray(image, np.float32) * _lighting(size, size, rng)
    return photo_jpeg(pixels + rng.normal(0, 3, pixels.shape))


BOARDS = [(38, 62, 48), (30, 52, 42), (28, 30, 32), (45, 48, 50), (22, 40, 34)]


def _smudges(rng, height: int, width: int, count: int) -> np.ndarray:
    """(H, W): soft, broad smears of chalk dust an eraser leaves, 0 to about 1."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    dust = np.zeros((height, width), np.float32)
    for _ in range(count):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        angle = rng.uniform(0, np.pi)
        along = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
        across = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
        long, wide = rng.uniform(0.2, 0.6) * width, rng.uniform(0.05, 0.15) * height
        dust += rng.uniform(0.3, 1.0) * np.exp(-(along / long) ** 2 - (across / wide) ** 2)
    return np.minimum(dust, 1.0)


def _board(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float: a green or black chalkboard, its dust wiped into smears, maybe its frame showing."""
    colour = np.asarray(BOARDS[rng.integers(len(BOARDS))], np.float32)
    board = colour * (1 + rng.normal(0, 0.03, (height, width, 1)))
    board += _smudges(rng, height, width, int(rng.integers(1, 5)))[..., None] * rng.uniform(15, 45)
    if rng.random() < 0.4:  # the board's wooden or metal frame along one edge
        depth = int(rng.uniform(0.04, 0.1) * height)
        frame = np.asarray(rng.choice([(120, 85, 50), (170, 170, 175)]), np.float32)
        if rng.random() < 0.5:
            board[-depth:] = frame
        else:
            board[:, :depth] = frame
    return board


def _chalk(ink: np.ndarray, rng) -> np.ndarray:
    """Chalk's stroke: the ink broken up where the chalk skipped over the board's grain, a soft dusty edge."""
    grain = np.clip(rng.normal(0.8, 0.25, ink.shape), 0, 1).astype(np.float32)
    dusty = ndimage.gaussian_filter(ink, rng.uniform(0.8, 2.0))
    return np.clip(dusty * grain * rng.uniform(0.55, 0.95), 0, 255)


def chalkboard(digit, rng) -> bytes:
    """A digit in chalk on a green or black board, light and a little broken, on smears of dust an
    eraser left; sometimes a half-erased earlier mark and the board's frame in the photo."""
    height, width = 480, 640
    board = _board(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    length = int(height * rng.uniform(0.35, 0.6))
    ink = enlarged(digit, length)
    top = height // 2 - ink.shape[0] // 2 + int(rng.integers(-40, 41))
    left = width // 2 - ink.shape[1] // 2 + int(rng.integers(-100, 101))
    layer[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    chalk = (235, 238, 230) if rng.random() < 0.8 else tuple(int(c) for c in rng.choice([(240, 230, 150), (170, 210, 240)]))
    image = painted(_chalk(layer, rng), chalk, board).astype(np.float32)
    image = image * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 4, image.shape))


def ruled_paper(digit, rng) -> bytes:
    """A page of a ruled notebook: pale blue lines, a red margin line down the left, maybe punched
    holes; the digit written over two to three lines, right of the margin."""
    height, width = 480, 400
    image = Image.fromarray(np.full((height, width, 3), PAPER, np.uint8))
    draw = ImageDraw.Draw(image)
    spacing = int(rng.integers(22, 36))
    rule = tuple(int(c) for c in rng.choice([(150, 180, 225), (120, 160, 210), (170, 190, 215)]))
    for y in range(int(rng.integers(30, 60)), height, spacing):
        draw.line([(0, y), (width, y)], fill=rule, width=int(rng.integers(1, 3)))
    margin = int(rng.integers(40, 90))
    draw.line([(margin, 0), (margin, height)], fill=(215, 90, 95), width=int(rng.integers(1, 3)))
    if rng.random() < 0.4:  # a double margin line
        draw.line([(margin + 4, 0), (margin + 4, height)], fill=(215, 90, 95), width=1)
    if rng.random() < 0.3:  # holes punched along the left edge
        for y in (height // 4, 3 * height // 4):
            draw.ellipse([8, y - 9, 26, y + 9], fill=(90, 90, 95))
    canvas = np.asarray(image, np.float32)
    length = int(spacing * rng.uniform(2.2, 3.5))
    if digit.max() < 8:  # an empty page
        return photo_jpeg(canvas * _lighting(height, width, rng) + rng.normal(0, 3, canvas.shape))
    centre = (int(rng.integers(margin + length // 2 + 20, width - length // 2 - 10)), height // 2 + int(rng.integers(-60, 61)))
    canvas = _ink_on(canvas, digit, length, centre)
    canvas = canvas * _lighting(height, width, rng)
    return photo_jpeg(canvas + rng.normal(0, 3, canvas.shape))


SCENES = {
    "plain paper": plain_paper,
    "page on a table": page_on_table,
    "tilted page": tilted_page,
    "printed box": boxed,
    "page in a dark border": dark_border,
    "sticky note": sticky_note,
    "screenshot": screenshot,
    "small digit in a large photo": small_in_large,
    "circled digit": circled,
    "chalkboard": chalkboard,
    "ruled paper with a margin": ruled_paper,
}


# --- pictures with no digit ----------------------------------------------------------------------


def blank_page(rng) -> bytes:
    image = np.full((480, 640, 3), PAPER, np.float32) * _lighting(480, 640, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def white_png(rng) -> bytes:
    return encode(Image.new("RGB", (400, 300), (255, 255, 255)))


def solid_colour(rng) -> bytes:
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    return encode(Image.new("RGB", (int(rng.integers(50, 800)), int(rng.integers(50, 800))), colour))


def noise(rng) -> bytes:
    shape = (int(rng.integers(28, 400)), int(rng.integers(28, 400)))
    if rng.random() < 0.5:
        pixels = rng.integers(0, 256, (*shape, 3))
    else:
        pixels = rng.normal(128, 40, (*shape, 1)).repeat(3, axis=2)
    return encode(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))


def _wood(rng, height: int, width: int, colour) -> np.ndarray:
    """(H, W, 3) float: wood, its grain rings bent by a slow wave, with knots of darker colour."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along, across = x * np.cos(angle) + y * np.sin(angle), -x * np.sin(angle) + y * np.cos(angle)
    bend = 12 * np.sin(along / rng.uniform(60, 160) + rng.uniform(0, 6))
    rings = np.sin((across + bend) / rng.uniform(3, 9)) ** 8  # thin dark lines between lighter bands
    knots = np.zeros((height, width), np.float32)
    for _ in range(rng.integers(0, 3)):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(8, 25)
        knots += np.exp(-((y - cy) ** 2 + ((x - cx) / 2.5) ** 2) / radius**2)
    shade = 1.0 - rng.uniform(0.08, 0.25) * rings - 0.3 * np.minimum(knots, 1)
    return np.asarray(colour, np.float32) * shade[..., None] + rng.normal(0, 3, (height, width, 1))


def _table(rng, height: int, width: int, objects: bool = True) -> np.ndarray:
    """(H, W, 3) float: a table top (streaked or wood-grained), maybe with the edge of something on
    it (a laptop, a book) coming in from a side and a pen lying on it."""
    colour = TABLES[rng.integers(len(TABLES))]
    table = _wood(rng, height, width, colour) if rng.random() < 0.5 else _texture(rng, height, width, colour, grain=14)
    if not objects:
        return table
    photo = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(photo)
    if rng.random() < 0.5:  # the edge of an object: a block of another colour from one side
        shade = tuple(int(c) for c in rng.choice([(30, 30, 34), (200, 200, 205), (150, 40, 40), (60, 90, 140)]))
        depth = int(rng.uniform(0.1, 0.3) * width)
        side = rng.integers(4)
        box = [[0, 0, depth, height], [width - depth, 0, width, height], [0, 0, width, depth // 2],
               [0, height - depth // 2, width, height]][side]
        draw.rounded_rectangle(box, radius=12, fill=shade)
    if rng.random() < 0.6:  # a pen: a long thin body with a cap
        length, thick = rng.uniform(0.3, 0.6) * width, int(rng.integers(7, 14))
        angle = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        dx, dy = length / 2 * np.cos(angle), length / 2 * np.sin(angle)
        body = tuple(int(c) for c in rng.choice([(20, 40, 140), (15, 15, 15), (230, 230, 230), (180, 30, 30)]))
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=body, width=thick)
        draw.line([(cx + 0.6 * dx, cy + 0.6 * dy), (cx + dx, cy + dy)], fill=(40, 40, 40), width=thick + 2)
    return np.asarray(photo.filter(ImageFilter.GaussianBlur(1)), np.float32)


def table_photo(rng) -> bytes:
    image = _table(rng, 480, 640) * _lighting(480, 640, rng)
    return photo_jpeg(image)


def empty_page_on_table(rng) -> bytes:
    """An empty page on a table, maybe with a soft shadow across it or a fold line down or across it."""
    height, width = 480, 640
    image = _table(rng, height, width, objects=rng.random() < 0.5)
    top, left = rng.integers(20, 120), rng.integers(20, 160)
    page = np.full((height - 2 * top, width - 2 * left, 3), PAPER, np.float32)
    kind = rng.integers(3)
    if kind == 1:  # a soft shadow, as of a hand or a phone, from one side
        x = np.linspace(0, 1, page.shape[1])[None, :]
        edge = rng.uniform(0.2, 0.8)
        page *= (1 - rng.uniform(0.2, 0.45) / (1 + np.exp(-(x - edge) / 0.03)))[..., None]
    if kind == 2:  # a fold: a thin line of shade, the paper a touch darker on one side
        along = rng.integers(2)
        at = int(rng.uniform(0.3, 0.7) * page.shape[along])
        line = np.arange(page.shape[along]) - at
        profile = 1 - 0.08 * np.exp(-(line / 1.5) ** 2) - 0.03 * (line > 0)
        page *= profile[:, None, None] if along == 0 else profile[None, :, None]
    image[top : height - top, left : width - left] = page
    image = image * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


PALE_WOODS = [(196, 164, 120), (214, 190, 150), (175, 140, 100)]
CLOTHS = [(70, 80, 110), (150, 40, 50), (200, 200, 190), (60, 100, 70), (120, 120, 125)]
PENS = [(20, 40, 140), (15, 15, 15), (235, 235, 235), (180, 30, 30), (30, 120, 60), (240, 200, 40)]


def _cloth(rng, height: int, width: int, colour) -> np.ndarray:
    """(H, W, 3) float: a woven cloth (a table cloth, a sofa, jeans): fine threads both ways, a few folds."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    period = rng.uniform(2.5, 5.0)
    weave = np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period)
    folds = np.sin(x / rng.uniform(40, 120) + y / rng.uniform(60, 200) + rng.uniform(0, 6))
    shade = 1.0 + rng.uniform(0.04, 0.1) * weave + rng.uniform(0.03, 0.1) * folds
    return np.asarray(colour, np.float32) * shade[..., None] + rng.normal(0, 4, (height, width, 1))


def _keyboard(draw: ImageDraw.ImageDraw, width: int, height: int, rng) -> None:
    """The edge of a laptop's keyboard from one side: a dark or silver body with rows of keys, letters on them."""
    body, key, letter = [((35, 35, 38), (20, 20, 22), (200, 200, 200)), ((190, 190, 195), (240, 240, 242), (60, 60, 60))][rng.integers(2)]
    depth = int(rng.uniform(0.25, 0.45) * height)
    top = height - depth if rng.random() < 0.5 else 0
    draw.rectangle([0, top, width, top + depth], fill=body)
    side = int(rng.integers(26, 40))
    for row_top in range(top + 8, top + depth - side, side + 6):
        for left in range(int(rng.integers(4, 20)), width - side, side + 6):
            draw.rounded_rectangle([left, row_top, left + side, row_top + side], radius=4, fill=key)
            if rng.random() < 0.8:
                _text_row(draw, left + side // 3, row_top + side // 3, side // 3, left + side // 2, letter, rng)


def _mug(draw: ImageDraw.ImageDraw, width: int, height: int, rng) -> None:
    """A mug seen from above: a thick ring of one colour with coffee in it and a handle."""
    radius = int(rng.uniform(0.1, 0.18) * height)
    cx, cy = int(rng.uniform(0.15, 0.85) * width), int(rng.uniform(0.15, 0.85) * height)
    colour = tuple(int(c) for c in rng.choice([(240, 240, 235), (30, 60, 120), (170, 40, 40), (40, 40, 40)]))
    draw.ellipse([cx + radius - 10, cy - radius // 3, cx + radius + radius // 2, cy + radius // 3], outline=colour, width=9)
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    inner = int(radius * 0.8)
    draw.ellipse([cx - inner, cy - inner, cx + inner, cy + inner], fill=(70, 40, 25))


def _phone(draw: ImageDraw.ImageDraw, width: int, height: int, rng) -> None:
    """A phone lying on the table, a little turned: a dark slab with a dark or lit screen."""
    long_side, short_side = rng.uniform(0.35, 0.55) * height, 0.0
    short_side = long_side * 0.48
    angle = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.25, 0.75) * height
    def corners(along: float, across: float):
        u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
        return [tuple(np.array([cx, cy]) + a * along / 2 * u + b * across / 2 * v) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    draw.polygon(corners(long_side, short_side), fill=(25, 25, 28))
    screen = (15, 15, 18) if rng.random() < 0.6 else (90, 130, 190)
    draw.polygon(corners(long_side * 0.9, short_side * 0.86), fill=screen)


def _pen(draw: ImageDraw.ImageDraw, width: int, height: int, rng) -> None:
    """A pen or a pencil of any colour lying anywhere, a cap or a tip at one end."""
    length, thick = rng.uniform(0.25, 0.6) * width, int(rng.integers(6, 15))
    angle = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height
    dx, dy = length / 2 * np.cos(angle), length / 2 * np.sin(angle)
    body = PENS[rng.integers(len(PENS))]
    draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=body, width=thick)
    end = tuple(int(c) for c in rng.choice([(40, 40, 40), (200, 170, 120), (190, 190, 195)]))
    draw.line([(cx + 0.75 * dx, cy + 0.75 * dy), (cx + dx, cy + dy)], fill=end, width=max(3, thick - 2))


def table_with_things(rng) -> bytes:
    """A photo of a table and what lies on it, with no page: pale or dark wood or a cloth, and a
    keyboard's edge, a mug, a phone or pens of several colours (a white one on pale wood too)."""
    height, width = 480, 640
    kind = rng.integers(3)
    if kind == 0:
        ground = _wood(rng, height, width, PALE_WOODS[rng.integers(len(PALE_WOODS))])
    elif kind == 1:
        ground = _cloth(rng, height, width, CLOTHS[rng.integers(len(CLOTHS))])
    else:
        ground = _table(rng, height, width, objects=False)
    photo = Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(photo)
    things = [_keyboard, _mug, _phone, _pen, _pen]
    for index in rng.choice(len(things), size=int(rng.integers(1, 4)), replace=False):
        things[index](draw, width, height, rng)
    image = np.asarray(photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.5))), np.float32)
    image = image * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def _paper_grain(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 1): paper's own texture, fibres and a slight mottling, around 1."""
    mottling = np.asarray(Image.fromarray(rng.normal(0, 1, (height // 16 + 1, width // 16 + 1)).astype(np.float32))
                          .resize((width, height), Image.Resampling.BICUBIC))
    return (1.0 + 0.012 * mottling + rng.normal(0, 0.01, (height, width)))[..., None]


def empty_page_close_up(rng) -> bytes:
    """An empty page photographed close, with what a close photo of paper has: its edge crossing the
    frame (the table beyond it), a hand's or a phone's shadow with a straight or soft edge, a fold or
    a crease, the paper's grain; maybe a little turned."""
    height, width = 480, 640
    image = _table(rng, height, width, objects=False)
    page = np.zeros((height, width), bool)
    page[int(rng.integers(0, 2)) * int(rng.integers(30, 160)):, : width - int(rng.integers(0, 2)) * int(rng.integers(40, 200))] = True
    if rng.random() < 0.5:  # the page's edge crosses the frame at a slant
        slope, at = rng.uniform(-0.3, 0.3), rng.uniform(0.55, 0.9) * width
        page &= np.arange(width)[None, :] < at + slope * np.arange(height)[:, None]
    paper = np.asarray(PAPER, np.float32) * _paper_grain(rng, height, width)
    image = np.where(page[..., None], paper, image)
    y, x = np.mgrid[:height, :width].astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:  # a shadow whose edge is straight: a phone held over the page, a ruler, a book
        angle = rng.uniform(0, np.pi)
        distance = (x - rng.uniform(0.3, 0.7) * width) * np.cos(angle) + (y - rng.uniform(0.3, 0.7) * height) * np.sin(angle)
        softness = rng.uniform(0.7, 6.0)
        image *= (1 - rng.uniform(0.2, 0.5) / (1 + np.exp(-distance / softness)))[..., None]
    elif kind == 1:  # a fold or a crease: a thin line of shade, brighter on one side
        angle = rng.uniform(0, np.pi)
        distance = (x - rng.uniform(0.3, 0.7) * width) * np.cos(angle) + (y - rng.uniform(0.3, 0.7) * height) * np.sin(angle)
        image *= (1 - rng.uniform(0.05, 0.15) * np.exp(-(distance / rng.uniform(1.0, 2.5)) ** 2)
                  + rng.uniform(-0.04, 0.04) * (distance > 0))[..., None]
    turned = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).rotate(
        rng.uniform(-4, 4), Image.Resampling.BILINEAR, expand=False, fillcolor=TABLES[rng.integers(len(TABLES))])
    image = np.asarray(turned, np.float32) * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def empty_screenshot(rng) -> bytes:
    return screenshot(np.zeros((28, 28), np.uint8), rng)  # the same layouts, the canvas empty


# --- everyday pictures with no digit, procedurally varied: textures, gradients, shapes, printed text,
# icons, rendered objects. Made here, never taken from a package's sample images.

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"  # no digits, nor the letters that look like one


def _font(rng, size: int):
    """A font at `size` pixels: one of the system's open-licensed families where installed (DejaVu,
    Liberation), else Pillow's own."""
    from pathlib import Path

    from PIL import ImageFont

    families = sorted(Path("/usr/share/fonts/truetype").glob("*/*.ttf"))
    if families:
        return ImageFont.truetype(str(families[rng.integers(len(families))]), size)
    return ImageFont.load_default(size)


def _colour(rng) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _fractal(rng, height: int, width: int, octaves: int = 5) -> np.ndarray:
    """(H, W) float around 0: noise summed over several scales (clouds, stone, fur, foliage)."""
    field = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        cells = 2 ** (octave + 1)
        coarse = rng.normal(0, 1, (cells + 1, cells + 1)).astype(np.float32)
        field += np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)) / (octave + 1) ** rng.uniform(0.5, 1.5)
    return field / (field.std() + 1e-6)


def _as_upload(image: np.ndarray, rng) -> bytes:
    """A picture as a photo (JPEG) or a saved image (PNG), at random."""
    if rng.random() < 0.5:
        return photo_jpeg(image + rng.normal(0, rng.uniform(0, 4), image.shape))
    return encode(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)))


def texture_picture(rng) -> bytes:
    """A close photo of a texture: clouds, stone, fabric, foliage, bark, stripes or checks, in two colours."""
    height, width = int(rng.integers(200, 600)), int(rng.integers(200, 600))
    field = _fractal(rng, height, width, int(rng.integers(3, 7)))
    y, x = np.mgrid[:height, :width].astype(np.float32)
    kind = rng.integers(4)
    if kind == 1:  # stripes or rings bent by the noise (wood, marble, sand)
        field = np.sin((x * rng.uniform(-1, 1) + y) / rng.uniform(4, 20) + rng.uniform(1, 4) * field)
    elif kind == 2:  # a pattern of checks or dots
        period = rng.uniform(8, 40)
        field = np.sin(x / period) * np.sin(y / period) + 0.3 * field
    elif kind == 3:  # cells (cobbles, scales, leaves): the noise thresholded
        field = (field > rng.uniform(-0.5, 0.5)).astype(np.float32) + 0.2 * _fractal(rng, height, width, 3)
    weight = (field - field.min()) / (np.ptp(field) + 1e-6)
    image = np.asarray(_colour(rng), np.float32) * (1 - weight[..., None]) + np.asarray(_colour(rng), np.float32) * weight[..., None]
    return _as_upload(image, rng)


def gradient_picture(rng) -> bytes:
    """A smooth gradient, linear or radial, between two or three colours (a sky, a wall under a lamp)."""
    height, width = int(rng.integers(60, 600)), int(rng.integers(60, 600))
    y, x = np.mgrid[:height, :width].astype(np.float32)
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        t = (x * np.cos(angle) + y * np.sin(angle))
    else:
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        t = np.hypot(y - cy, x - cx)
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    a, b, c = (np.asarray(_colour(rng), np.float32) for _ in range(3))
    if rng.random() < 0.5:
        image = a + (b - a) * t[..., None]
    else:
        image = np.where(t[..., None] < 0.5, a + (b - a) * 2 * t[..., None], b + (c - b) * (2 * t[..., None] - 1))
    return _as_upload(image, rng)


def _shape(draw: ImageDraw.ImageDraw, width: int, height: int, rng, colour=None) -> None:
    """One geometric shape anywhere: a disc, a ring, a rectangle, a triangle, a star, a line, filled or outlined."""
    colour = colour or _colour(rng)
    size = rng.uniform(0.1, 0.6) * min(width, height)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    box = [cx - size / 2, cy - size * rng.uniform(0.3, 0.7), cx + size / 2, cy + size * rng.uniform(0.3, 0.7)]
    outline = int(rng.integers(2, 12))
    filled = rng.random() < 0.6
    kind = rng.integers(6)
    if kind == 0:
        draw.ellipse(box, fill=colour if filled else None, outline=colour, width=outline)
    elif kind == 1:
        draw.rectangle(box, fill=colour if filled else None, outline=colour, width=outline)
    elif kind == 2:
        draw.polygon([(box[0], box[3]), (cx, box[1]), (box[2], box[3])], fill=colour if filled else None, outline=colour, width=outline)
    elif kind == 3:
        points = int(rng.integers(5, 9))
        angles = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) + rng.uniform(0, 6)
        radius = np.where(np.arange(2 * points) % 2, size / 2, size / 5)
        draw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radius, angles)], fill=colour)
    elif kind == 4:
        draw.line([(box[0], box[1]), (box[2], box[3])], fill=colour, width=outline)
    else:
        draw.regular_polygon((cx, cy, size / 2), int(rng.integers(3, 9)), rotation=rng.uniform(0, 90),
                             fill=colour if filled else None, outline=colour, width=outline)


def shapes_picture(rng) -> bytes:
    """One to eight geometric shapes on a plain, graded or textured ground: a drawing, a logo, a diagram."""
    height, width = int(rng.integers(150, 600)), int(rng.integers(150, 600))
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 9))):
        _shape(draw, width, height, rng)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5))), np.float32)
    return _as_upload(pixels, rng)


def printed_text(rng) -> bytes:
    """Printed words, no digits: a page of text, a sign or a label with a few large words, a single word."""
    height, width = int(rng.integers(150, 600)), int(rng.integers(200, 700))
    ground, ink = _colour(rng), _colour(rng)
    if rng.random() < 0.6:
        ground, ink = tuple(int(c) for c in rng.integers(200, 256, 3)), tuple(int(c) for c in rng.integers(0, 80, 3))
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    kind = rng.integers(3)
    size = int(rng.integers(10, 24) if kind == 0 else rng.integers(24, 90))
    font = _font(rng, size)
    lines = {0: height // (size + 6), 1: int(rng.integers(1, 4)), 2: 1}[kind]
    y = int(rng.integers(0, max(1, height - lines * (size + 6))))
    for _ in range(lines):
        words = [''.join(rng.choice(list(LETTERS), int(rng.integers(2, 9)))) for _ in range(int(rng.integers(1, 8 if kind == 0 else 3)))]
        draw.text((int(rng.integers(0, max(1, width // 6))), y), " ".join(words), fill=ink, font=font)
        y += size + int(rng.integers(2, 10))
    pixels = np.asarray(image, np.float32)
    return _as_upload(pixels, rng)


def icon_picture(rng) -> bytes:
    """An icon or an emoji-like symbol: a face, a heart, an arrow, a house, a gear, a tick, alone or
    on a badge, flat or outlined, with maybe a word beside it."""
    side = int(rng.integers(32, 400))
    image = Image.new("RGB", (side, side), _colour(rng))
    draw = ImageDraw.Draw(image)
    colour, s = _colour(rng), side
    kind = rng.integers(6)
    if rng.random() < 0.4:  # a badge under the symbol
        draw.rounded_rectangle([s * 0.05, s * 0.05, s * 0.95, s * 0.95], radius=s * 0.2, fill=_colour(rng))
    width = max(1, int(s * rng.uniform(0.03, 0.1)))
    if kind == 0:  # a face
        draw.ellipse([s * 0.15, s * 0.15, s * 0.85, s * 0.85], fill=colour if rng.random() < 0.5 else None, outline=colour, width=width)
        eye = _colour(rng)
        draw.ellipse([s * 0.33, s * 0.35, s * 0.43, s * 0.45], fill=eye)
        draw.ellipse([s * 0.57, s * 0.35, s * 0.67, s * 0.45], fill=eye)
        draw.arc([s * 0.3, s * 0.4, s * 0.7, s * 0.7], 20, 160, fill=eye, width=width)
    elif kind == 1:  # a heart
        draw.ellipse([s * 0.2, s * 0.25, s * 0.52, s * 0.55], fill=colour)
        draw.ellipse([s * 0.48, s * 0.25, s * 0.8, s * 0.55], fill=colour)
        draw.polygon([(s * 0.22, s * 0.47), (s * 0.78, s * 0.47), (s * 0.5, s * 0.82)], fill=colour)
    elif kind == 2:  # an arrow
        draw.line([(s * 0.2, s * 0.5), (s * 0.75, s * 0.5)], fill=colour, width=width * 2)
        draw.polygon([(s * 0.85, s * 0.5), (s * 0.6, s * 0.3), (s * 0.6, s * 0.7)], fill=colour)
    elif kind == 3:  # a house
        draw.polygon([(s * 0.2, s * 0.5), (s * 0.5, s * 0.2), (s * 0.8, s * 0.5)], fill=colour)
        draw.rectangle([s * 0.28, s * 0.5, s * 0.72, s * 0.82], fill=colour)
    elif kind == 4:  # a gear
        draw.regular_polygon((s / 2, s / 2, s * 0.35), int(rng.integers(6, 12)), fill=colour)
        draw.ellipse([s * 0.4, s * 0.4, s * 0.6, s * 0.6], fill=image.getpixel((0, 0)))
    else:  # a tick or a cross
        if rng.random() < 0.5:
            draw.line([(s * 0.2, s * 0.55), (s * 0.42, s * 0.75), (s * 0.8, s * 0.25)], fill=colour, width=width * 2, joint="curve")
        else:
            draw.line([(s * 0.25, s * 0.25), (s * 0.75, s * 0.75)], fill=colour, width=width * 2)
            draw.line([(s * 0.25, s * 0.75), (s * 0.75, s * 0.25)], fill=colour, width=width * 2)
    return _as_upload(np.asarray(image, np.float32), rng)


def object_photo(rng) -> bytes:
    """A rendered photo of things: shaded balls, boxes, bottles and a figure (a head and shoulders)
    on a graded or textured ground, lit from one side, a little blurred."""
    height, width = 480, 640
    y, x = np.mgrid[:height, :width].astype(np.float32)
    ground = np.asarray(_colour(rng), np.float32) * (0.7 + 0.3 * (x / width if rng.random() < 0.5 else y / height))[..., None]
    image = ground + 12 * _fractal(rng, height, width, 4)[..., None]
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1)])
    for _ in range(int(rng.integers(1, 5))):
        colour = np.asarray(_colour(rng), np.float32)
        cx, cy, radius = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height, rng.uniform(0.06, 0.3) * height
        kind = rng.integers(4)
        if kind == 0:  # a ball, shaded
            inside = (x - cx) ** 2 + (y - cy) ** 2 < radius**2
            shade = 0.6 + 0.4 * np.clip(((x - cx) * light[0] + (y - cy) * light[1]) / radius, -1, 1)
        elif kind == 1:  # a box or a book, shaded across
            inside = (np.abs(x - cx) < radius * rng.uniform(0.6, 1.5)) & (np.abs(y - cy) < radius)
            shade = 0.7 + 0.3 * (x - cx) / (2 * radius) * light[0]
        elif kind == 2:  # a bottle or a cup: a tall rounded body
            inside = (np.abs(x - cx) < radius * 0.45) & (np.abs(y - cy) < radius * 1.2)
            shade = 0.6 + 0.4 * np.cos((x - cx) / (radius * 0.45) * np.pi / 2)
        else:  # a figure: head and shoulders
            inside = ((x - cx) ** 2 + (y - cy) ** 2 < (0.5 * radius) ** 2) | (
                ((x - cx) / 1.3) ** 2 + (y - cy - 1.4 * radius) ** 2 < radius**2)
            colour = np.asarray(rng.choice([(224, 172, 140), (141, 85, 36), (198, 134, 66), (255, 219, 172)]), np.float32)
            shade = 0.75 + 0.25 * np.clip(((x - cx) * light[0] + (y - cy) * light[1]) / radius, -1, 1)
        image = np.where(inside[..., None], colour * shade[..., None], image)
    blurred = ndimage.gaussian_filter(image, (rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), 0))
    return _as_upload(blurred, rng)


def empty_board(rng) -> bytes:
    """An empty chalkboard, wiped: smears of dust, perhaps its frame."""
    image = _board(rng, 480, 640) * _lighting(480, 640, rng)
    return photo_jpeg(image + rng.normal(0, 4, image.shape))


def empty_ruled_page(rng) -> bytes:
    """An empty page of a ruled notebook, its margin line and holes."""
    return ruled_paper(np.zeros((28, 28), np.uint8), rng)


BLANKS = {
    "blank page": blank_page,
    "white picture": white_png,
    "solid colour": solid_colour,
    "noise": noise,
    "table": table_photo,
    "empty page on a table": empty_page_on_table,
    "empty screenshot": empty_screenshot,
    "table with things on it": table_with_things,
    "empty page close up": empty_page_close_up,
    "empty board": empty_board,
    "empty ruled page": empty_ruled_page,
    "texture": texture_picture,
    "gradient": gradient_picture,
    "shapes": shapes_picture,
    "printed text": printed_text,
    "icon": icon_picture,
    "photo of things": object_photo,
}
