"""Real pictures people take of a handwritten digit, rendered from an MNIST digit: a page on a table,
a tilted page, a printed box, a page inside a dark border, a sticky note on a desk, a screenshot of a
drawing app, a small digit in a big photo; and pictures that hold no digit at all.

Each scene is a function (digit, rng) -> file bytes; the digit is an MNIST array (uint8 28x28).
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from upload_files import encode, enlarged, painted, photo_jpeg

TABLES = [(62, 44, 30), (120, 84, 52), (40, 42, 46), (150, 150, 145), (25, 25, 28), (95, 110, 125)]
PAPER = (240, 238, 230)
INK = (28, 28, 36)


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
    table = _texture(rng, height, width, TABLES[rng.integers(len(TABLES))])
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


def boxed(digit, rng) -> bytes:
    """The digit written in a printed box on a form: a thin dark frame round it, sometimes more boxes
    beside it, cut by the picture's edge."""
    size = 300
    image = Image.fromarray(np.full((size, size, 3), PAPER, np.uint8))
    draw = ImageDraw.Draw(image)
    margin, line = rng.integers(20, 50), int(rng.integers(2, 5))
    colour = tuple(int(c) for c in rng.choice([(30, 30, 30), (60, 60, 140), (120, 120, 120)]))
    draw.rectangle([margin, margin, size - margin, size - margin], outline=colour, width=line)
    if rng.random() < 0.5:  # the neighbouring boxes of a row of boxes
        draw.rectangle([size - margin + 15, margin, size + 200, size - margin], outline=colour, width=line)
        draw.rectangle([-200, margin, margin - 15, size - margin], outline=colour, width=line)
    inner = size - 2 * margin
    canvas = np.asarray(image, np.float32)
    canvas = _ink_on(canvas, digit, int(inner * rng.uniform(0.55, 0.8)), (size // 2 + rng.integers(-10, 11), size // 2))
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
    """A yellow sticky note on a desk, a little turned, the digit written on it."""
    height, width = 480, 640
    note_side = int(height * rng.uniform(0.5, 0.75))
    note = np.full((note_side, note_side, 3), (250, 232, 120), np.float32)
    note = _ink_on(note, digit, int(note_side * rng.uniform(0.5, 0.7)), (note_side // 2, note_side // 2))
    turned = Image.fromarray(np.clip(note, 0, 255).astype(np.uint8)).convert("RGBA").rotate(
        rng.uniform(-12, 12), Image.Resampling.BICUBIC, expand=True)
    desk = _texture(rng, height, width, TABLES[rng.integers(len(TABLES))])
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


def screenshot(digit, rng) -> bytes:
    """A screenshot of a drawing app: title bar, tool bar of icons, side bar, the digit drawn in the canvas."""
    width, height = int(rng.integers(700, 1100)), int(rng.integers(500, 800))
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    title, tools, side = int(rng.integers(24, 40)), int(rng.integers(30, 50)), int(rng.integers(120, 220))
    chrome = tuple(int(c) for c in rng.choice([(45, 45, 50), (225, 228, 232), (30, 90, 160)]))
    text = (255, 255, 255) if sum(chrome) < 400 else (40, 40, 40)
    draw.rectangle([0, 0, width, title], fill=chrome)
    _text_row(draw, 12, title // 4, title // 2, width // 3, text, rng)
    for i in range(3):  # window buttons
        draw.ellipse([width - 30 * (i + 1), title // 4, width - 30 * (i + 1) + title // 2, title // 4 + title // 2],
                     fill=(200, 80, 70) if i == 0 else text)
    draw.rectangle([0, title, width, title + tools], fill=(240, 240, 242))
    draw.line([(0, title + tools), (width, title + tools)], fill=(190, 190, 195), width=1)
    x = 10
    while x < width - tools:
        icon = tools - 12
        kind = rng.integers(3)
        box = [x, title + 6, x + icon, title + 6 + icon]
        if kind == 0:
            draw.rectangle(box, outline=(60, 60, 70), width=2)
        elif kind == 1:
            draw.ellipse(box, fill=(70, 70, 80))
        else:
            draw.line([(box[0], box[3]), (box[2], box[1])], fill=(60, 60, 70), width=3)
        x += icon + 14
    draw.rectangle([0, title + tools + 1, side, height], fill=(246, 246, 248))
    draw.line([(side, title + tools), (side, height)], fill=(200, 200, 205), width=1)
    for row in range(title + tools + 16, height - 30, 28):
        _text_row(draw, 14, row, 10, side - 20, (90, 90, 95), rng)
    status = 22
    draw.rectangle([0, height - status, width, height], fill=(235, 235, 238))
    _text_row(draw, side + 10, height - status + 6, 10, side + 200, (90, 90, 95), rng)
    canvas = np.asarray(image, np.float32)
    canvas_w, canvas_h = width - side, height - title - tools - status
    length = int(min(canvas_w, canvas_h) * rng.uniform(0.4, 0.7))
    centre = (side + canvas_w // 2 + rng.integers(-canvas_w // 6, canvas_w // 6 + 1), title + tools + canvas_h // 2)
    stroke = enlarged(digit, length) > 100  # a drawing app paints hard-edged strokes
    layer = np.zeros(canvas.shape[:2], np.float32)
    top, left = centre[1] - stroke.shape[0] // 2, centre[0] - stroke.shape[1] // 2
    layer[top : top + stroke.shape[0], left : left + stroke.shape[1]] = stroke * 255.0
    return encode(Image.fromarray(painted(layer, (0, 0, 0), canvas)))


def small_in_large(digit, rng) -> bytes:
    """A small digit somewhere on a large (3000x2250) photo of a page."""
    height, width = 2250, 3000
    image = np.full((height, width, 3), PAPER, np.float32)
    length = int(rng.integers(120, 260))
    centre = (int(rng.integers(400, width - 400)), int(rng.integers(400, height - 400)))
    image = _ink_on(image, digit, length, centre) * _lighting(height, width, rng)
    image += rng.normal(0, 3, (height, width, 1))
    return encode(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), "JPEG", quality=88)


SCENES = {
    "plain paper": plain_paper,
    "page on a table": page_on_table,
    "tilted page": tilted_page,
    "printed box": boxed,
    "page in a dark border": dark_border,
    "sticky note": sticky_note,
    "screenshot": screenshot,
    "small digit in a large photo": small_in_large,
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


def table_photo(rng) -> bytes:
    image = _texture(rng, 480, 640, TABLES[rng.integers(len(TABLES))], grain=14) * _lighting(480, 640, rng)
    return photo_jpeg(image)


def empty_page_on_table(rng) -> bytes:
    height, width = 480, 640
    image = _texture(rng, height, width, TABLES[rng.integers(len(TABLES))])
    top, left = rng.integers(20, 120), rng.integers(20, 160)
    image[top : height - top, left : width - left] = PAPER
    image = image * _lighting(height, width, rng)
    return photo_jpeg(image + rng.normal(0, 3, image.shape))


def empty_screenshot(rng) -> bytes:
    blank = np.zeros((28, 28), np.uint8)
    blank[0, 0] = 1  # ink too faint to see: the canvas holds nothing
    return screenshot(blank, rng)


BLANKS = {
    "blank page": blank_page,
    "white picture": white_png,
    "solid colour": solid_colour,
    "noise": noise,
    "table": table_photo,
    "empty page on a table": empty_page_on_table,
    "empty screenshot": empty_screenshot,
}
