"""More pictures without a digit, procedurally varied, for the digit scorer (training/digit_scorer.py):
pictograms, words in handwriting typefaces, printed glyphs, emblems, turned things, portraits, animals,
food from above, landscapes, line art, tiled patterns and things scattered on a surface. Each function is
one generator *family*; the scorer trains on some families and chooses on others it never saw
(digit_scorer.HELD_OUT). Everything is drawn here: no picture is taken from a package's sample images.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from training.scenes import _as_upload, _colour, _fractal

# Letters that no one would take for a digit (no O, I, l, Z, S, G, b, B, g, q, a...), for single letters;
# words use any letter but never a digit.
UNLIKE_DIGITS = "ACEFHKMNPRUVWXYcefhkmnrtuvwxy"
WORD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"


def _ground(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float: a plain, graded or textured background."""
    base = np.asarray(_colour(rng), np.float32)
    kind = rng.integers(3)
    if kind == 0:
        return np.broadcast_to(base, (height, width, 3)).copy()
    if kind == 1:
        t = np.linspace(0, 1, height if rng.random() < 0.5 else width, dtype=np.float32)
        t = t[:, None] if len(t) == height else t[None, :]
        other = np.asarray(_colour(rng), np.float32)
        return (base + (other - base) * np.broadcast_to(t, (height, width))[..., None]).astype(np.float32)
    return base + rng.uniform(5, 25) * _fractal(rng, height, width, 4)[..., None]


def _finish(image: Image.Image | np.ndarray, rng) -> bytes:
    pixels = np.asarray(image, np.float32)
    if rng.random() < 0.5:
        pixels = ndimage.gaussian_filter(pixels, (rng.uniform(0, 1.5), rng.uniform(0, 1.5), 0))
    return _as_upload(pixels, rng)


def pictogram(rng) -> bytes:
    """A pictogram built from parts: a stick figure, a tree, a cloud, a sun, a car, an envelope, a bell,
    a padlock, a magnifier, a speech bubble, a cup, a flag; outlined or filled, on a badge or not."""
    side = int(rng.integers(40, 480))
    image = Image.fromarray(np.clip(_ground(rng, side, side), 0, 255).astype(np.uint8))
    draw, s, colour = ImageDraw.Draw(image), side, _colour(rng)
    w = max(1, int(s * rng.uniform(0.02, 0.09)))
    if rng.random() < 0.3:
        draw.ellipse([s * 0.04, s * 0.04, s * 0.96, s * 0.96], fill=_colour(rng))
    fill = colour if rng.random() < 0.5 else None
    j = lambda v: v * s * rng.uniform(0.92, 1.08)  # noqa: E731 (each point a little off)
    kind = rng.integers(12)
    if kind == 0:  # a stick figure
        draw.ellipse([j(0.4), j(0.1), j(0.6), j(0.3)], outline=colour, width=w, fill=fill)
        draw.line([(s * 0.5, s * 0.3), (s * 0.5, s * 0.62)], fill=colour, width=w)
        draw.line([(j(0.28), j(0.42)), (s * 0.5, s * 0.38), (j(0.72), j(0.42))], fill=colour, width=w)
        draw.line([(j(0.32), j(0.9)), (s * 0.5, s * 0.62), (j(0.68), j(0.9))], fill=colour, width=w)
    elif kind == 1:  # a tree
        draw.rectangle([s * 0.45, s * 0.55, s * 0.55, s * 0.9], fill=(110, 70, 40))
        for cx, cy, r in ((0.5, 0.35, 0.22), (0.35, 0.5, 0.16), (0.65, 0.5, 0.16)):
            draw.ellipse([j(cx - r), j(cy - r), j(cx + r), j(cy + r)], fill=colour)
    elif kind == 2:  # a cloud
        for cx, cy, r in ((0.35, 0.55, 0.15), (0.5, 0.45, 0.2), (0.67, 0.55, 0.14), (0.5, 0.6, 0.15)):
            draw.ellipse([j(cx - r), j(cy - r), j(cx + r), j(cy + r)], fill=colour)
    elif kind == 3:  # a sun: a disc and rays
        draw.ellipse([s * 0.32, s * 0.32, s * 0.68, s * 0.68], fill=colour)
        for angle in np.linspace(0, 2 * np.pi, int(rng.integers(6, 14)), endpoint=False):
            draw.line([(s * (0.5 + 0.25 * np.cos(angle)), s * (0.5 + 0.25 * np.sin(angle))),
                       (s * (0.5 + 0.42 * np.cos(angle)), s * (0.5 + 0.42 * np.sin(angle)))], fill=colour, width=w)
    elif kind == 4:  # a car
        draw.rectangle([j(0.12), j(0.45), j(0.88), j(0.68)], fill=colour)
        draw.polygon([(s * 0.28, s * 0.45), (s * 0.36, s * 0.3), (s * 0.64, s * 0.3), (s * 0.72, s * 0.45)], fill=colour)
        for cx in (0.3, 0.7):
            draw.ellipse([s * (cx - 0.09), s * 0.6, s * (cx + 0.09), s * 0.78], fill=(30, 30, 30))
    elif kind == 5:  # an envelope
        draw.rectangle([s * 0.15, s * 0.28, s * 0.85, s * 0.72], outline=colour, width=w, fill=fill)
        draw.line([(s * 0.15, s * 0.28), (s * 0.5, s * 0.52), (s * 0.85, s * 0.28)], fill=_colour(rng) if fill else colour, width=w)
    elif kind == 6:  # a bell
        draw.chord([s * 0.25, s * 0.2, s * 0.75, s * 0.9], 180, 360, fill=colour)
        draw.rectangle([s * 0.25, s * 0.55, s * 0.75, s * 0.72], fill=colour)
        draw.ellipse([s * 0.44, s * 0.72, s * 0.56, s * 0.84], fill=colour)
    elif kind == 7:  # a padlock
        draw.arc([s * 0.32, s * 0.15, s * 0.68, s * 0.6], 180, 360, fill=colour, width=w * 2)
        draw.line([(s * 0.32, s * 0.38), (s * 0.32, s * 0.48)], fill=colour, width=w * 2)
        draw.line([(s * 0.68, s * 0.38), (s * 0.68, s * 0.48)], fill=colour, width=w * 2)
        draw.rounded_rectangle([s * 0.22, s * 0.45, s * 0.78, s * 0.85], radius=s * 0.05, fill=colour)
    elif kind == 8:  # a magnifier
        draw.ellipse([s * 0.2, s * 0.2, s * 0.6, s * 0.6], outline=colour, width=w * 2)
        draw.line([(s * 0.55, s * 0.55), (s * 0.82, s * 0.82)], fill=colour, width=w * 3)
    elif kind == 9:  # a speech bubble with lines of "text" in it
        draw.rounded_rectangle([s * 0.1, s * 0.15, s * 0.9, s * 0.65], radius=s * 0.1, fill=colour)
        draw.polygon([(s * 0.3, s * 0.64), (s * 0.25, s * 0.85), (s * 0.45, s * 0.64)], fill=colour)
        for y in (0.3, 0.4, 0.5):
            draw.line([(s * 0.2, s * y), (s * rng.uniform(0.5, 0.8), s * y)], fill=_colour(rng), width=max(1, w // 2))
    elif kind == 10:  # a cup
        draw.rectangle([s * 0.25, s * 0.3, s * 0.65, s * 0.8], fill=colour)
        draw.arc([s * 0.55, s * 0.4, s * 0.82, s * 0.65], 270, 90, fill=colour, width=w * 2)
    else:  # a flag on a pole
        draw.line([(s * 0.25, s * 0.1), (s * 0.25, s * 0.9)], fill=colour, width=w)
        draw.rectangle([s * 0.25, s * 0.12, s * 0.8, s * 0.45], fill=_colour(rng))
    return _finish(image, rng)


def _handwriting_font(rng, size: int):
    """A font of the training side of the handwriting typefaces (training/typefaces.py), or the
    system's open-licensed fonts where they are not installed."""
    from training import typefaces
    from training.scenes import _font

    try:
        folder = typefaces.fonts_dir()
        chosen = typefaces.training_families()
        family = chosen[rng.integers(len(chosen))]
        files = typefaces.font_files(family, folder)
        return ImageFont.truetype(str(files[rng.integers(len(files))]), size)
    except (FileNotFoundError, OSError, RuntimeError):
        return _font(rng, size)


def handwritten_words(rng) -> bytes:
    """Words, or one letter unlike any digit, in a handwriting typeface: a note, a label, a signature."""
    height, width = int(rng.integers(100, 500)), int(rng.integers(150, 600))
    ground = tuple(int(c) for c in rng.integers(190, 256, 3))
    ink = tuple(int(c) for c in rng.integers(0, 90, 3))
    if rng.random() < 0.25:
        ground, ink = ink, ground
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.3:
        text = str(rng.choice(list(UNLIKE_DIGITS)))
        size = int(min(height, width) * rng.uniform(0.4, 0.8))
    else:
        text = " ".join("".join(rng.choice(list(WORD_LETTERS), int(rng.integers(2, 8)))) for _ in range(int(rng.integers(1, 4))))
        size = int(rng.integers(20, 80))
    font = _handwriting_font(rng, size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = rng.uniform(0, max(1, width - (right - left))) - left
    y = rng.uniform(0, max(1, height - (bottom - top))) - top
    draw.text((x, y), text, fill=ink, font=font)
    return _finish(image, rng)


def _shaded_ellipse(image: np.ndarray, cx, cy, rx, ry, colour, light) -> None:
    height, width = image.shape[:2]
    y, x = np.mgrid[:height, :width].astype(np.float32)
    inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1
    shade = 0.65 + 0.35 * np.clip(((x - cx) * light[0] + (y - cy) * light[1]) / max(rx, ry), -1, 1)
    image[inside] = (np.asarray(colour, np.float32) * shade[..., None])[inside]


def portrait(rng) -> bytes:
    """A photo of a person: shoulders, a face with eyes, brows and a mouth, hair, perhaps glasses."""
    height, width = int(rng.integers(240, 600)), int(rng.integers(240, 600))
    image = _ground(rng, height, width)
    light = rng.uniform(-1, 1, 2)
    cx, cy, r = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.5), min(height, width) * rng.uniform(0.12, 0.3)
    skin = [(224, 172, 140), (141, 85, 36), (198, 134, 66), (255, 219, 172)][rng.integers(4)]
    _shaded_ellipse(image, cx, cy + 2.6 * r, 2.2 * r, 1.4 * r, _colour(rng), light)  # shoulders
    _shaded_ellipse(image, cx, cy - 0.25 * r, 1.05 * r, 1.15 * r, [int(c) for c in rng.integers(10, 120, 3)], light)  # hair
    _shaded_ellipse(image, cx, cy, 0.85 * r, 1.1 * r, skin, light)
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    dark = tuple(int(c) for c in rng.integers(10, 60, 3))
    for side in (-1, 1):
        ex, ey = cx + side * 0.35 * r, cy - 0.1 * r
        draw.ellipse([ex - 0.1 * r, ey - 0.06 * r, ex + 0.1 * r, ey + 0.06 * r], fill=dark)
        draw.line([(ex - 0.15 * r, ey - 0.2 * r), (ex + 0.15 * r, ey - 0.22 * r)], fill=dark, width=max(1, int(0.04 * r)))
        if rng.random() < 0.3:  # glasses
            draw.ellipse([ex - 0.22 * r, ey - 0.18 * r, ex + 0.22 * r, ey + 0.18 * r], outline=dark, width=max(1, int(0.03 * r)))
    draw.arc([cx - 0.3 * r, cy + 0.2 * r, cx + 0.3 * r, cy + 0.6 * r], 20, 160, fill=(150, 60, 60), width=max(1, int(0.05 * r)))
    return _finish(picture, rng)


def animal(rng) -> bytes:
    """A photo of an animal: a body, a head with ears, legs and a tail, on grass, a floor or a sofa."""
    height, width = int(rng.integers(240, 600)), int(rng.integers(240, 600))
    image = _ground(rng, height, width)
    light, fur = rng.uniform(-1, 1, 2), [int(c) for c in rng.integers(20, 240, 3)]
    cx, cy, r = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.4, 0.6), min(height, width) * rng.uniform(0.12, 0.25)
    facing = 1 if rng.random() < 0.5 else -1
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    leg = max(2, int(r * rng.uniform(0.15, 0.3)))
    for dx in (-0.8, -0.5, 0.5, 0.8):
        draw.line([(cx + dx * r, cy), (cx + dx * r, cy + 1.2 * r)], fill=tuple(fur), width=leg)
    draw.line([(cx - facing * 1.3 * r, cy - 0.1 * r), (cx - facing * 1.9 * r, cy - rng.uniform(0.2, 0.9) * r)], fill=tuple(fur), width=max(2, leg // 2))
    image = np.asarray(picture, np.float32).copy()
    _shaded_ellipse(image, cx, cy, 1.4 * r, 0.6 * r, fur, light)
    hx, hy = cx + facing * 1.4 * r, cy - 0.6 * r
    _shaded_ellipse(image, hx, hy, 0.5 * r, 0.45 * r, fur, light)
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for side in (-1, 1):
        draw.polygon([(hx + side * 0.35 * r, hy - 0.3 * r), (hx + side * 0.15 * r, hy - 0.35 * r),
                      (hx + side * 0.35 * r, hy - 0.8 * r)], fill=tuple(fur))
        draw.ellipse([hx + side * 0.2 * r - 0.05 * r, hy - 0.1 * r, hx + side * 0.2 * r + 0.05 * r, hy], fill=(10, 10, 10))
    return _finish(picture, rng)


def food(rng) -> bytes:
    """Food from above: a plate with things on it, a cup of coffee with its saucer, a pizza, a bowl."""
    height, width = int(rng.integers(240, 600)), int(rng.integers(240, 600))
    image = _ground(rng, height, width)
    light = rng.uniform(-1, 1, 2)
    cx, cy, r = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65), min(height, width) * rng.uniform(0.2, 0.42)
    squash = rng.uniform(0.6, 1.0)  # seen at an angle
    kind = rng.integers(3)
    _shaded_ellipse(image, cx, cy, r, r * squash, tuple(int(c) for c in rng.integers(200, 256, 3)), light)  # plate or saucer
    _shaded_ellipse(image, cx, cy, 0.75 * r, 0.75 * r * squash, tuple(int(c) for c in rng.integers(170, 240, 3)), light)
    if kind == 0:  # things on a plate
        for _ in range(int(rng.integers(2, 7))):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.45 * r)
            _shaded_ellipse(image, cx + dist * np.cos(angle), cy + dist * np.sin(angle) * squash, rng.uniform(0.08, 0.25) * r,
                            rng.uniform(0.08, 0.25) * r * squash, _colour(rng), light)
    elif kind == 1:  # a cup of coffee: rim, coffee, a handle
        _shaded_ellipse(image, cx, cy, 0.55 * r, 0.55 * r * squash, (245, 245, 240), light)
        _shaded_ellipse(image, cx, cy, 0.45 * r, 0.45 * r * squash, tuple(int(c) for c in rng.integers(40, 140, 3)), light)
        image = np.asarray(image, np.float32)
        picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        ImageDraw.Draw(picture).rounded_rectangle([cx + 0.5 * r, cy - 0.08 * r, cx + 0.8 * r, cy + 0.08 * r], radius=0.05 * r, fill=(240, 240, 235))
        image = np.asarray(picture, np.float32).copy()
    else:  # a pizza in slices
        _shaded_ellipse(image, cx, cy, 0.7 * r, 0.7 * r * squash, (220, 160, 80), light)
        _shaded_ellipse(image, cx, cy, 0.6 * r, 0.6 * r * squash, (200, 60, 40), light)
        for _ in range(int(rng.integers(4, 10))):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.5 * r)
            _shaded_ellipse(image, cx + dist * np.cos(angle), cy + dist * np.sin(angle) * squash, 0.07 * r, 0.07 * r * squash, (150, 30, 30), light)
    return _finish(image, rng)


def landscape(rng) -> bytes:
    """A landscape: a sky, perhaps a sun and clouds, hills or mountains, trees, a ground."""
    height, width = int(rng.integers(200, 500)), int(rng.integers(300, 700))
    sky_top, sky_low = np.asarray(_colour(rng), np.float32), np.asarray(_colour(rng), np.float32)
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(sky_top + (sky_low - sky_top) * t, (height, width, 3)).copy()
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    if rng.random() < 0.5:
        sx, sy, sr = rng.uniform(0, width), rng.uniform(0, height * 0.4), rng.uniform(10, 50)
        draw.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=(255, 240, 180))
    horizon = height * rng.uniform(0.4, 0.75)
    for _ in range(int(rng.integers(1, 4))):  # ranges of hills or mountains
        xs = np.linspace(0, width, int(rng.integers(3, 12)))
        ys = horizon - rng.uniform(0, height * 0.35, len(xs))
        draw.polygon([(0, height)] + list(zip(xs, ys)) + [(width, height)], fill=_colour(rng))
    draw.rectangle([0, horizon, width, height], fill=_colour(rng))
    for _ in range(int(rng.integers(0, 8))):  # trees
        tx, ty, th = rng.uniform(0, width), rng.uniform(horizon, height), rng.uniform(20, 90)
        draw.polygon([(tx, ty - th), (tx - th / 3, ty), (tx + th / 3, ty)], fill=tuple(int(c) for c in rng.integers(10, 90, 3)))
    image = np.asarray(picture, np.float32) + rng.uniform(0, 12) * _fractal(rng, height, width, 5)[..., None]
    return _finish(image, rng)


def line_art(rng) -> bytes:
    """Line art: a grid, a spiral, waves, a zigzag, concentric rings or hatching."""
    height, width = int(rng.integers(100, 500)), int(rng.integers(100, 500))
    image = Image.fromarray(np.clip(_ground(rng, height, width), 0, 255).astype(np.uint8))
    draw, colour = ImageDraw.Draw(image), _colour(rng)
    line = int(rng.integers(1, 8))
    kind = rng.integers(6)
    if kind == 0:
        step = rng.uniform(12, 60)
        for x in np.arange(rng.uniform(0, step), width, step):
            draw.line([(x, 0), (x, height)], fill=colour, width=line)
        for y in np.arange(rng.uniform(0, step), height, step):
            draw.line([(0, y), (width, y)], fill=colour, width=line)
    elif kind == 1:
        turns, t = rng.uniform(2.5, 6), np.linspace(0, 1, 400)
        angle = 2 * np.pi * turns * t
        radius = t * 0.45 * min(height, width)
        draw.line(list(zip(width / 2 + radius * np.cos(angle), height / 2 + radius * np.sin(angle))), fill=colour, width=line)
    elif kind == 2:
        for y0 in np.arange(rng.uniform(5, 30), height, rng.uniform(15, 50)):
            xs = np.linspace(0, width, 100)
            draw.line(list(zip(xs, y0 + rng.uniform(4, 15) * np.sin(xs / rng.uniform(8, 40)))), fill=colour, width=line)
    elif kind == 3:
        xs = np.arange(0, width + 30, rng.uniform(10, 40))
        for y0 in np.arange(rng.uniform(10, 40), height, rng.uniform(30, 80)):
            draw.line([(x, y0 + (i % 2) * rng.uniform(10, 25)) for i, x in enumerate(xs)], fill=colour, width=line)
    elif kind == 4:
        cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
        for r in np.arange(rng.uniform(5, 20), max(height, width), rng.uniform(8, 30)):
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=line)
    else:
        step = rng.uniform(6, 20)
        for offset in np.arange(-height, width, step):
            draw.line([(offset, height), (offset + height, 0)], fill=colour, width=line)
    return _finish(image, rng)


def pattern(rng) -> bytes:
    """A tiled pattern: polka dots, bricks, tiles, plaid or scales (wallpaper, fabric, a floor)."""
    height, width = int(rng.integers(100, 500)), int(rng.integers(100, 500))
    image = Image.new("RGB", (width, height), _colour(rng))
    draw, colour = ImageDraw.Draw(image), _colour(rng)
    step = rng.uniform(10, 60)
    kind = rng.integers(4)
    for row, y in enumerate(np.arange(0, height + step, step)):
        for x in np.arange(-step, width + step, step):
            x0 = x + (row % 2) * step / 2
            if kind == 0:
                r = step * rng.uniform(0.15, 0.3)
                draw.ellipse([x0 - r, y - r, x0 + r, y + r], fill=colour)
            elif kind == 1:
                draw.rectangle([x0, y, x0 + step, y + step / 2], outline=colour, width=max(1, int(step / 12)))
            elif kind == 2:
                draw.rectangle([x + 1, y + 1, x + step - 1, y + step - 1], fill=colour if (row + int(x // step)) % 2 else None)
            else:
                draw.arc([x0 - step / 2, y - step / 2, x0 + step / 2, y + step / 2], 0, 180, fill=colour, width=max(1, int(step / 10)))
    return _finish(image, rng)


def scattered_things(rng) -> bytes:
    """Small things scattered on a surface: coins, keys, buttons, paper clips, sweets."""
    height, width = int(rng.integers(240, 600)), int(rng.integers(240, 600))
    image = _ground(rng, height, width)
    light = rng.uniform(-1, 1, 2)
    for _ in range(int(rng.integers(2, 12))):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.03, 0.1) * min(height, width)
        _shaded_ellipse(image, cx, cy, r, r * rng.uniform(0.5, 1.0), _colour(rng), light)
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(0, 4))):  # keys and clips: a head and a shaft
        x, y, length = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(30, 100)
        angle = rng.uniform(0, 2 * np.pi)
        colour = tuple(int(c) for c in rng.integers(120, 220, 3))
        draw.line([(x, y), (x + length * np.cos(angle), y + length * np.sin(angle))], fill=colour, width=int(rng.integers(3, 10)))
        draw.ellipse([x - 12, y - 12, x + 12, y + 12], outline=colour, width=5)
    return _finish(picture.filter(ImageFilter.SMOOTH), rng)


def contrasting_colour(rng, ground: np.ndarray) -> np.ndarray:
    """A colour drawn at random until it stands out from the ground (at least 60 apart in mean level), for
    a glyph or a shape laid on it."""
    colour = np.asarray(_colour(rng), np.float32)
    while abs(float(colour.mean()) - float(ground.mean())) < 60:
        colour = np.asarray(_colour(rng), np.float32)
    return colour


def printed_glyphs(rng) -> bytes:
    """Printed glyphs, large: one letter unlike any digit, a symbol, or a short word, in a printed face
    (a monogram, a key cap, a door sign, an initial on a mug), regular or bold, on a plain or graded ground."""
    from training.scenes import _font

    height, width = int(rng.integers(60, 480)), int(rng.integers(60, 480))
    ground = _ground(rng, height, width)
    ink = contrasting_colour(rng, ground)
    roll = rng.random()
    if roll < 0.5:
        text = str(rng.choice(list(UNLIKE_DIGITS + "&@#%?!*+=<>")))
    elif roll < 0.8:
        text = "".join(rng.choice(list(WORD_LETTERS), int(rng.integers(2, 5))))
    else:
        text = "".join(rng.choice(list(UNLIKE_DIGITS), 2)) if rng.random() < 0.5 else str(rng.choice(list(UNLIKE_DIGITS))).upper()
    font = _font(rng, int(min(height, width) * (rng.uniform(0.4, 0.9) if len(text) == 1 else rng.uniform(0.2, 0.45))))
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((rng.uniform(0, max(1, width - (right - left))) - left, rng.uniform(0, max(1, height - (bottom - top))) - top),
              text, fill=255, font=font, stroke_width=int(rng.integers(0, 3)) if rng.random() < 0.3 else 0)
    if rng.random() < 0.3:
        mask = mask.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BILINEAR)
    alpha = np.asarray(mask, np.float32)[..., None] / 255
    return _finish(ground * (1 - alpha) + ink * alpha, rng)


def _disc_mask(height: int, width: int, cx, cy, r) -> np.ndarray:
    y, x = np.mgrid[:height, :width].astype(np.float32)
    return (x - cx) ** 2 + (y - cy) ** 2 < r**2


def emblem(rng) -> bytes:
    """A logo or an emblem made of primitives combined: a disc less another disc (a crescent, a ring, a
    bite), a star, a polygon, a chevron, a thick arc; one to three of them, perhaps a word beneath."""
    side = int(rng.integers(48, 420))
    ground = _ground(rng, side, side)
    image = ground.copy()
    for _ in range(int(rng.integers(1, 4))):
        colour = np.asarray(_colour(rng), np.float32)
        cx, cy, r = side * rng.uniform(0.25, 0.75), side * rng.uniform(0.25, 0.75), side * rng.uniform(0.12, 0.45)
        kind = rng.integers(5)
        if kind == 0:  # a disc less a disc: moved off centre a little (a crescent) or not at all (a ring)
            offset, inner = rng.uniform(0, 0.6) * r, rng.uniform(0.5, 0.95) * r
            angle = rng.uniform(0, 2 * np.pi)
            mask = _disc_mask(side, side, cx, cy, r) & ~_disc_mask(side, side, cx + offset * np.cos(angle), cy + offset * np.sin(angle), inner)
        else:
            shape = Image.new("L", (side, side), 0)
            draw = ImageDraw.Draw(shape)
            if kind == 1:  # a star
                points = int(rng.integers(4, 10))
                angles = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) + rng.uniform(0, np.pi)
                radii = np.where(np.arange(2 * points) % 2, r * rng.uniform(0.3, 0.7), r)
                draw.polygon(list(zip(cx + radii * np.cos(angles), cy + radii * np.sin(angles))), fill=255)
            elif kind == 2:  # a polygon, a shield's outline or a plain one
                draw.regular_polygon((cx, cy, r), int(rng.integers(3, 9)), rotation=rng.uniform(0, 360), fill=255)
            elif kind == 3:  # a chevron
                w = max(2, int(r * rng.uniform(0.15, 0.4)))
                draw.line([(cx - r, cy - r / 2), (cx, cy + r / 2), (cx + r, cy - r / 2)], fill=255, width=w, joint="curve")
            else:  # a thick arc
                start = rng.uniform(0, 360)
                draw.arc([cx - r, cy - r, cx + r, cy + r], start, start + rng.uniform(60, 300), fill=255,
                         width=max(2, int(r * rng.uniform(0.1, 0.4))))
            mask = np.asarray(shape) > 127
        image[mask] = colour
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if rng.random() < 0.35:  # the name beneath
        from training.scenes import _font

        text = "".join(rng.choice(list(WORD_LETTERS), int(rng.integers(3, 9)))).upper()
        ImageDraw.Draw(picture).text((side * rng.uniform(0.05, 0.3), side * rng.uniform(0.75, 0.85)), text,
                                     fill=_colour(rng), font=_font(rng, max(8, int(side * 0.1))))
    return _finish(picture, rng)


def turned_thing(rng) -> bytes:
    """A thing turned on a lathe, photographed from the side: a bottle, a glass, a vase, a candle, a
    lamp, a chess piece, a bust; its profile a smooth random radius down its height, lit from one side."""
    height, width = int(rng.integers(160, 600)), int(rng.integers(160, 600))
    image = _ground(rng, height, width)
    if rng.random() < 0.6:  # a table's edge behind
        edge = int(height * rng.uniform(0.5, 0.85))
        image[edge:] = np.asarray(_colour(rng), np.float32) + rng.uniform(0, 15) * _fractal(rng, height - edge, width, 3)[..., None]
    tall = height * rng.uniform(0.35, 0.9)
    foot, cx = height * rng.uniform(0.75, 0.98), width * rng.uniform(0.25, 0.75)
    knots = rng.uniform(0.02, 0.3, int(rng.integers(3, 8))) * min(tall, width)
    rows = np.arange(height, dtype=np.float32)
    along = np.clip((foot - rows) / tall, 0, 1)
    radius = np.interp(along, np.linspace(0, 1, len(knots)), knots) * ((rows <= foot) & (rows >= foot - tall))
    y, x = np.mgrid[:height, :width].astype(np.float32)
    across = (x - cx) / np.maximum(radius[:, None], 1e-3)
    inside = np.abs(across) < 1
    light = rng.uniform(-0.9, 0.9)
    shade = 0.35 + 0.65 * np.clip(np.sqrt(np.clip(1 - across**2, 0, 1)) * np.sqrt(1 - light**2) + across * light, 0, 1)
    colour = np.asarray(_colour(rng), np.float32)
    image[inside] = (colour * shade[..., None])[inside]
    return _finish(image, rng)


FAMILIES = {
    "pictogram": pictogram,
    "handwritten words": handwritten_words,
    "portrait": portrait,
    "animal": animal,
    "food": food,
    "landscape": landscape,
    "line art": line_art,
    "pattern": pattern,
    "scattered things": scattered_things,
    "printed glyphs": printed_glyphs,
    "emblem": emblem,
    "turned thing": turned_thing,
}
