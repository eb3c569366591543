"""A third, independent family of pictures without a digit, used only to check and to choose, never to train.

training/not_digits.py and training/scenes.py draw the pictures the digit/not-digit judge trains and is
chosen on; training/proxy_scenes.py draws a second set of photo-like pictures. This module is written
apart from all three, to stand in for everyday photographs the judge never saw: it draws what a camera
sees (shaded solids under one light, fine texture everywhere, depth of field, a phone's noise and JPEG)
rather than flat shapes, and some of what a person saves (screenshots, logos, printed text as PNG).

Kinds (each a function of a seeded generator alone):
    printed text    lines of a page, a sign, a label: any letter, never a digit, in DejaVu or Liberation
    printed letter  one letter or a short word, large, in a printed face or one of the repo's open
                    handwriting/script/marker typefaces (only letters no one would take for a digit)
    person          a head and shoulders: a shaded face, hair with strands, clothes with folds, a room
    animal          a cat or dog close up: striped or patched fur, eyes, whiskers, ears
    food            a plate or a cup from above and at an angle: grains, leaves, crumbs, cutlery
    object          a mug, a bottle, a vase, a rocket, a camera on a table or a sky: shaded solids
    texture         brick, wood grain, woven fabric, gravel, grass, leather
    screenshot      a window of an app: a title bar, a menu, buttons and lines of words, no digits
    logo            a badge or a wordmark: rings, stars, shields, crescents, a letter in a circle
    desk            a crowded desk from above: papers with words, a keyboard, a phone, pens, a mug

Saved as a phone's JPEG (quality 55-95, the sensor's noise and a vignette) or as a PNG, colour or grey,
from 48 to 1,000 pixels a side. The seeds are fixed (EVERYDAY_SEED): a run is repeatable.

    python -m training.everyday_photos --count 24 [--model cnn|vit] [--json] [--save FOLDER]
"""

import argparse
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

EVERYDAY_SEED = 4300  # per kind: EVERYDAY_SEED + the kind's index
PRINTED_FACES = sorted(str(path) for path in Path("/usr/share/fonts/truetype").glob("*/*.ttf")
                       if "Math" not in path.name)
TEXT_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Single letters shown alone: none that is drawn like a digit in some hand or face (O o I l i Z z S s G
# b B g q T L A J)
LONE_LETTERS = "CEFHKMNPRUVWXYcefhkmnprtuvwxy"
WORDS = ("the and for with from this that have more about after world paper coffee garden window light "
         "morning kitchen photo house market river summer winter station street yellow orange purple "
         "friday monday weekend people animal travel mountain beach forest museum concert welcome").split()


def _rgb(rng, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(low, high, 3))


def _noise_field(rng, height: int, width: int, scale: float) -> np.ndarray:
    """(H, W) float, mean 0, spread 1: white noise blurred at `scale` pixels."""
    small = max(1, int(scale / 2))
    coarse = rng.normal(0, 1, (max(2, height // small), max(2, width // small))).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR))
    field = ndimage.gaussian_filter(field, max(0.5, scale / 4))
    return (field - field.mean()) / (field.std() + 1e-6)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[:height, :width].astype(np.float32)
    return y, x


def _lambert(nx: np.ndarray, ny: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Diffuse shade of a surface with normal (nx, ny, nz) under a light from `light` (3 unit)."""
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
    return np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)


def _light(rng) -> np.ndarray:
    vector = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.3), rng.uniform(0.5, 1.0)])
    return vector / np.linalg.norm(vector)


def _ellipsoid(image: np.ndarray, cx, cy, rx, ry, colour, light, ambient: float = 0.3,
               shine: float = 0.0, grain: np.ndarray | None = None) -> np.ndarray:
    """Paints a lit ellipsoid (a head, a body, fruit) into `image`; returns where it lies."""
    y, x = _grid(*image.shape[:2])
    u, v = (x - cx) / rx, (y - cy) / ry
    inside = u**2 + v**2 < 1
    shade = ambient + (1 - ambient) * _lambert(np.clip(u, -1, 1), np.clip(v, -1, 1), light)
    colour = np.asarray(colour, np.float32)
    paint = colour * shade[..., None]
    if grain is not None:
        paint = paint * (1 + grain[..., None])
    if shine:
        highlight = np.exp(-((u + light[0] * 0.5) ** 2 + (v + light[1] * 0.5) ** 2) / 0.02)
        paint = paint + shine * 255 * highlight[..., None]
    image[inside] = paint[inside]
    return inside


def _cylinder(image: np.ndarray, cx, top, bottom, radius, colour, light, ambient: float = 0.3) -> np.ndarray:
    """An upright cylinder seen from the side (a mug's body, a bottle, a can): shaded across, a rim."""
    y, x = _grid(*image.shape[:2])
    u = (x - cx) / radius
    inside = (np.abs(u) < 1) & (y >= top) & (y <= bottom)
    shade = ambient + (1 - ambient) * _lambert(np.clip(u, -1, 1), np.zeros_like(u), light)
    paint = np.asarray(colour, np.float32) * shade[..., None]
    image[inside] = paint[inside]
    for row, ratio in ((top, 0.7), (bottom, 1.0)):  # the elliptic top and foot
        ring = (u**2 + ((y - row) / (radius * 0.25)) ** 2 < 1)
        image[ring] = (paint * ratio)[ring]
    return inside


def _to_image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _to_pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32).copy()


def _words(rng, count: int) -> str:
    return " ".join(WORDS[int(rng.integers(len(WORDS)))] if rng.random() < 0.7 else
                    "".join(rng.choice(list(TEXT_LETTERS), int(rng.integers(2, 9)))) for _ in range(count))


def _printed_face(rng, size: int) -> ImageFont.FreeTypeFont:
    if PRINTED_FACES:
        return ImageFont.truetype(PRINTED_FACES[int(rng.integers(len(PRINTED_FACES)))], size)
    return ImageFont.load_default(size)


def _open_typeface(rng, size: int) -> ImageFont.FreeTypeFont:
    """One of the repo's open typefaces (held-out or not: no model reads letters), or a printed face where
    the fonts are not installed. The families of the first split only: the list as it was when these
    pictures were fixed (families added later, `typefaces.SECOND_SPLIT`, must not re-draw them)."""
    from training import typefaces

    try:
        chosen = [family for family in typefaces.families() if family.split == typefaces.FIRST_SPLIT]
        files = typefaces.font_files(chosen[int(rng.integers(len(chosen)))], typefaces.fonts_dir())
        return ImageFont.truetype(str(files[int(rng.integers(len(files)))]), size)
    except (FileNotFoundError, OSError, RuntimeError):
        return _printed_face(rng, size)


# ---- the kinds -----------------------------------------------------------------------------------------


def printed_text(rng, height: int, width: int) -> np.ndarray:
    """Lines of printed words: a page of a book, a sign, a receipt without its sums, a label."""
    paper, ink = _rgb(rng, 200, 256), _rgb(rng, 0, 70)
    if rng.random() < 0.25:  # light on dark: a sign
        paper, ink = _rgb(rng, 0, 90), _rgb(rng, 200, 256)
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    size = int(np.clip(rng.normal(0.06, 0.03) * height, 8, 0.3 * height))
    font = _printed_face(rng, size)
    y, margin = rng.uniform(0, 0.2) * height, rng.uniform(0, 0.15) * width
    while y < height - size:
        draw.text((margin, y), _words(rng, int(rng.integers(2, 12))), fill=ink, font=font)
        y += size * rng.uniform(1.2, 1.8)
        if rng.random() < 0.1:
            y += size * 2  # a new paragraph
    pixels = _to_pixels(image)
    if rng.random() < 0.6:  # photographed: light falling off, the page's fibres
        y_, x_ = _grid(height, width)
        pixels *= (0.8 + 0.2 * (x_ / width if rng.random() < 0.5 else 1 - y_ / height))[..., None]
        pixels += (4 * _noise_field(rng, height, width, 2))[..., None]
    return pixels


def printed_letter(rng, height: int, width: int) -> np.ndarray:
    """One large letter or a short word: a monogram, a door's sign, a keyboard key, a shop's initial."""
    ground, ink = _rgb(rng), _rgb(rng)
    while abs(sum(ground) - sum(ink)) < 200:
        ink = _rgb(rng)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    alone = rng.random() < 0.5
    text = str(rng.choice(list(LONE_LETTERS))) if alone else WORDS[int(rng.integers(len(WORDS)))][:int(rng.integers(2, 6))]
    size = int(min(height, width) * (rng.uniform(0.35, 0.8) if alone else rng.uniform(0.15, 0.35)))
    font = _open_typeface(rng, size) if rng.random() < 0.5 else _printed_face(rng, size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (width - (right - left)) * rng.uniform(0.2, 0.8) - left
    y = (height - (bottom - top)) * rng.uniform(0.2, 0.8) - top
    draw.text((x, y), text, fill=ink, font=font)
    return _to_pixels(image)


def person(rng, height: int, width: int) -> np.ndarray:
    """A head and shoulders: a lit face, hair of strands, eyes, a nose's shadow, lips, a shirt with
    folds, a room behind, out of focus."""
    room = np.asarray(_rgb(rng, 40, 230), np.float32) + (30 * _noise_field(rng, height, width, 40))[..., None]
    for _ in range(int(rng.integers(1, 4))):  # things in the room: blurred blocks
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        room[int(y0):int(y0 + rng.uniform(0.1, 0.4) * height), int(x0):int(x0 + rng.uniform(0.05, 0.3) * width)] = _rgb(rng, 20, 240)
    image = ndimage.gaussian_filter(room, (6, 6, 0))
    light = _light(rng)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.3, 0.45)
    r = min(height, width) * rng.uniform(0.12, 0.22)
    shirt = _rgb(rng, 10, 240)
    folds = 0.15 * np.sin(_grid(height, width)[1] / rng.uniform(6, 20) + 3 * _noise_field(rng, height, width, 20))
    _ellipsoid(image, cx, cy + 2.7 * r, 2.4 * r, 1.6 * r, shirt, light, grain=folds)
    _cylinder(image, cx, cy + 0.8 * r, cy + 1.5 * r, 0.4 * r, (200, 150, 120), light)  # neck
    skin = [(232, 190, 160), (190, 130, 95), (140, 90, 60), (95, 62, 42), (250, 215, 185)][int(rng.integers(5))]
    hair = _rgb(rng, 10, 150) if rng.random() < 0.8 else (200, 190, 170)
    strands = 0.25 * np.sin(_grid(height, width)[1] / 2.5 + 6 * _noise_field(rng, height, width, 6))
    _ellipsoid(image, cx, cy - 0.25 * r, 1.1 * r, 1.15 * r, hair, light, grain=strands)
    _ellipsoid(image, cx, cy + 0.05 * r, 0.85 * r, 1.1 * r, skin, light, ambient=0.45,
               grain=0.03 * _noise_field(rng, height, width, 3))
    for side in (-1, 1):
        ex, ey = cx + side * 0.33 * r, cy - 0.05 * r
        _ellipsoid(image, ex, ey, 0.15 * r, 0.07 * r, (240, 240, 235), light, ambient=0.8)
        _ellipsoid(image, ex, ey, 0.06 * r, 0.06 * r, _rgb(rng, 20, 110), light, ambient=0.6)
        _ellipsoid(image, ex, ey - 0.2 * r, 0.18 * r, 0.03 * r, hair, light, ambient=0.5)
    _ellipsoid(image, cx + 0.04 * r, cy + 0.3 * r, 0.1 * r, 0.06 * r, np.asarray(skin) * 0.7, light)  # nose
    _ellipsoid(image, cx, cy + 0.6 * r, 0.28 * r, 0.07 * r, (170, 80, 80), light, ambient=0.5)
    if rng.random() < 0.3:  # glasses
        picture = _to_image(image)
        draw = ImageDraw.Draw(picture)
        for side in (-1, 1):
            ex = cx + side * 0.33 * r
            draw.ellipse([ex - 0.24 * r, cy - 0.22 * r, ex + 0.24 * r, cy + 0.14 * r], outline=(25, 25, 25),
                         width=max(1, int(0.04 * r)))
        image = _to_pixels(picture)
    return image


def animal(rng, height: int, width: int) -> np.ndarray:
    """A cat or a dog close up: a furred head filling much of the frame, ears, eyes, a nose, whiskers."""
    image = np.asarray(_rgb(rng, 60, 220), np.float32) + (20 * _noise_field(rng, height, width, 30))[..., None]
    light = _light(rng)
    y, x = _grid(height, width)
    coat = np.asarray(_rgb(rng, 40, 230), np.float32)
    stripes = 0.3 * np.sin(x / rng.uniform(6, 18) + y / rng.uniform(20, 60) + 4 * _noise_field(rng, height, width, 15))
    fur = 0.12 * _noise_field(rng, height, width, 1.2) + (stripes if rng.random() < 0.6 else 0)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.45, 0.6)
    r = min(height, width) * rng.uniform(0.22, 0.4)
    _ellipsoid(image, cx, cy + 1.3 * r, 1.5 * r, 0.9 * r, coat, light, grain=fur)  # body
    picture = _to_image(image)
    draw = ImageDraw.Draw(picture)
    pointed = rng.random() < 0.6
    for side in (-1, 1):
        if pointed:
            draw.polygon([(cx + side * 0.85 * r, cy - 0.3 * r), (cx + side * 0.7 * r, cy - 1.25 * r),
                          (cx + side * 0.2 * r, cy - 0.75 * r)], fill=tuple(int(c * 0.8) for c in coat))
        else:
            draw.ellipse([cx + side * 0.9 * r - 0.3 * r, cy - 0.6 * r, cx + side * 0.9 * r + 0.3 * r, cy + 0.6 * r],
                         fill=tuple(int(c * 0.6) for c in coat))
    image = _to_pixels(picture)
    _ellipsoid(image, cx, cy, r, 0.85 * r, coat, light, grain=fur)
    eye = _rgb(rng, 60, 200)
    for side in (-1, 1):
        _ellipsoid(image, cx + side * 0.38 * r, cy - 0.15 * r, 0.15 * r, 0.12 * r, eye, light, ambient=0.6, shine=0.6)
        _ellipsoid(image, cx + side * 0.38 * r, cy - 0.15 * r, 0.04 * r, 0.1 * r, (10, 10, 10), light, ambient=1)
    _ellipsoid(image, cx, cy + 0.25 * r, 0.1 * r, 0.07 * r, (60, 40, 40) if rng.random() < 0.5 else (200, 130, 130), light)
    picture = _to_image(image)
    draw = ImageDraw.Draw(picture)
    for side in (-1, 1):
        for k in range(3):
            draw.line([(cx + side * 0.15 * r, cy + 0.35 * r), (cx + side * 0.9 * r, cy + (0.2 + 0.12 * k) * r)],
                      fill=(235, 235, 230), width=1)
    return _to_pixels(picture)


def food(rng, height: int, width: int) -> np.ndarray:
    """A meal: a plate of rice, greens and a piece of something, or a coffee with foam, seen from above
    or at an angle, cutlery beside, on a tablecloth or wood."""
    y, x = _grid(height, width)
    table = np.asarray(_rgb(rng, 60, 230), np.float32)
    image = table * (1 + 0.1 * np.sin(y / rng.uniform(3, 9) + 3 * _noise_field(rng, height, width, 30)))[..., None]
    light = _light(rng)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65)
    r, squash = min(height, width) * rng.uniform(0.25, 0.45), rng.uniform(0.55, 1.0)
    _ellipsoid(image, cx, cy, r, r * squash, _rgb(rng, 215, 256), light, ambient=0.7)
    _ellipsoid(image, cx, cy, 0.8 * r, 0.8 * r * squash, _rgb(rng, 200, 245), light, ambient=0.8)
    if rng.random() < 0.4:  # a coffee: the cup, the coffee, foam
        _ellipsoid(image, cx, cy, 0.55 * r, 0.55 * r * squash, (245, 245, 242), light, ambient=0.8)
        _ellipsoid(image, cx, cy, 0.46 * r, 0.46 * r * squash, (110, 70, 40), light, ambient=0.7,
                   grain=0.2 * _noise_field(rng, height, width, 4))
        _ellipsoid(image, cx + rng.uniform(-0.1, 0.1) * r, cy, 0.2 * r, 0.15 * r * squash, (230, 205, 170), light,
                   ambient=0.9, grain=0.1 * _noise_field(rng, height, width, 2))
        image[(np.abs(y - cy) < 0.06 * r) & (x > cx + 0.5 * r) & (x < cx + 0.8 * r)] = (240, 240, 236)
    else:
        for _ in range(int(rng.integers(60, 200))):  # grains of rice, peas, crumbs
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.5 * r)
            px, py = cx + dist * np.cos(angle), cy + dist * np.sin(angle) * squash
            grain = rng.uniform(0.015, 0.04) * r
            inside = ((x - px) / (grain * 1.8)) ** 2 + ((y - py) / grain) ** 2 < 1
            image[inside] = np.asarray(_rgb(rng, 200, 256) if rng.random() < 0.6 else _rgb(rng, 40, 200), np.float32)
        for _ in range(int(rng.integers(1, 4))):  # a piece of meat, fish, a tomato
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.4 * r)
            _ellipsoid(image, cx + dist * np.cos(angle), cy + dist * np.sin(angle) * squash, rng.uniform(0.12, 0.25) * r,
                       rng.uniform(0.1, 0.2) * r * squash, _rgb(rng, 60, 230), light,
                       grain=0.15 * _noise_field(rng, height, width, 2))
    picture = _to_image(image)
    draw = ImageDraw.Draw(picture)
    for side in (-1, 1):  # a fork and a knife
        if rng.random() < 0.6:
            fx = cx + side * (r + rng.uniform(0.1, 0.3) * r)
            draw.line([(fx, cy - 0.8 * r), (fx, cy + 0.8 * r)], fill=(195, 195, 200), width=max(2, int(0.05 * r)))
    return _to_pixels(picture)


def everyday_object(rng, height: int, width: int) -> np.ndarray:
    """One object photographed: a mug, a bottle, a vase, a rocket on its pad, a camera, under one light."""
    y, x = _grid(height, width)
    light = _light(rng)
    top, low = np.asarray(_rgb(rng, 80, 250), np.float32), np.asarray(_rgb(rng, 40, 220), np.float32)
    image = top + (low - top) * (y / height)[..., None] + (6 * _noise_field(rng, height, width, 3))[..., None]
    horizon = height * rng.uniform(0.55, 0.8)
    image[y > horizon] = (np.asarray(_rgb(rng, 50, 200), np.float32) * (1 + 0.08 * _noise_field(rng, height, width, 2)[..., None]))[y > horizon]
    cx, s = width * rng.uniform(0.3, 0.7), min(height, width) * rng.uniform(0.25, 0.45)
    colour = _rgb(rng, 30, 250)
    kind = int(rng.integers(5))
    if kind == 0:  # a mug and its handle
        picture = _to_image(image)
        ImageDraw.Draw(picture).ellipse([cx + 0.25 * s, horizon - 0.8 * s, cx + 0.65 * s, horizon - 0.3 * s],
                                        outline=colour, width=max(2, int(0.08 * s)))
        image = _to_pixels(picture)
        _cylinder(image, cx, horizon - 0.9 * s, horizon, 0.4 * s, colour, light)
    elif kind == 1:  # a bottle: body, shoulder, neck, a label
        _cylinder(image, cx, horizon - 0.9 * s, horizon, 0.25 * s, colour, light)
        _ellipsoid(image, cx, horizon - 0.9 * s, 0.25 * s, 0.15 * s, colour, light)
        _cylinder(image, cx, horizon - 1.4 * s, horizon - 0.95 * s, 0.08 * s, colour, light)
        image[(np.abs(x - cx) < 0.25 * s) & (y > horizon - 0.6 * s) & (y < horizon - 0.3 * s)] = _rgb(rng, 150, 256)
    elif kind == 2:  # a vase: a body, a narrow neck, a lip
        _ellipsoid(image, cx, horizon - 0.45 * s, 0.4 * s, 0.45 * s, colour, light, shine=0.5)
        _cylinder(image, cx, horizon - 1.1 * s, horizon - 0.8 * s, 0.15 * s, colour, light)
    elif kind == 3:  # a rocket on its pad: a long body, a nose, fins, a tower beside
        _cylinder(image, cx, horizon - 1.6 * s, horizon - 0.1 * s, 0.14 * s, (235, 235, 235), light)
        picture = _to_image(image)
        draw = ImageDraw.Draw(picture)
        draw.polygon([(cx - 0.14 * s, horizon - 1.6 * s), (cx, horizon - 1.95 * s), (cx + 0.14 * s, horizon - 1.6 * s)], fill=colour)
        for side in (-1, 1):
            draw.polygon([(cx + side * 0.14 * s, horizon - 0.5 * s), (cx + side * 0.35 * s, horizon - 0.05 * s),
                          (cx + side * 0.14 * s, horizon - 0.1 * s)], fill=colour)
        tx = cx + rng.choice([-1, 1]) * 0.6 * s
        for k in range(12):  # the tower's lattice
            draw.line([(tx - 0.1 * s, horizon - k * 0.15 * s), (tx + 0.1 * s, horizon - (k + 1) * 0.15 * s)], fill=(80, 80, 80), width=2)
        draw.line([(tx - 0.1 * s, horizon), (tx - 0.1 * s, horizon - 1.8 * s)], fill=(80, 80, 80), width=3)
        draw.line([(tx + 0.1 * s, horizon), (tx + 0.1 * s, horizon - 1.8 * s)], fill=(80, 80, 80), width=3)
        image = _to_pixels(picture)
    else:  # a camera: a body, a lens in rings, a button
        body = (np.abs(x - cx) < 0.6 * s) & (np.abs(y - (horizon - 0.4 * s)) < 0.35 * s)
        image[body] = np.asarray(colour, np.float32) * 0.4
        for ring, shade in ((0.3, 0.25), (0.24, 0.6), (0.16, 0.15), (0.06, 0.9)):
            _ellipsoid(image, cx, horizon - 0.4 * s, ring * s, ring * s, np.asarray(_rgb(rng, 100, 256)) * shade, light, shine=0.3)
        image[(np.abs(x - (cx + 0.4 * s)) < 0.08 * s) & (np.abs(y - (horizon - 0.8 * s)) < 0.05 * s)] = (30, 30, 30)
    return image


def texture(rng, height: int, width: int) -> np.ndarray:
    """A surface filling the frame: brick, wood grain, woven fabric, gravel, grass or leather."""
    y, x = _grid(height, width)
    a, b = np.asarray(_rgb(rng), np.float32), np.asarray(_rgb(rng), np.float32)
    kind = int(rng.integers(6))
    if kind == 0:  # brick: courses offset by half a brick, mortar between
        course, brick = rng.uniform(10, 40), rng.uniform(25, 90)
        row = np.floor(y / course)
        mortar = ((y % course) < course * 0.15) | (((x + (row % 2) * brick / 2) % brick) < course * 0.15)
        tone = 1 + 0.15 * rng.normal(0, 1, int(row.max()) + 2)[row.astype(int)] + 0.08 * _noise_field(rng, height, width, 2)
        image = np.where(mortar[..., None], b * 0.5 + 110, a * tone[..., None])
    elif kind == 1:  # wood: rings bent by a slow field
        rings = np.sin((x + 40 * _noise_field(rng, height, width, 60)) / rng.uniform(3, 10))
        weight = (0.5 + 0.5 * rings + 0.1 * _noise_field(rng, height, width, 1))[..., None]
        image = a * (1 - weight) + (a * 0.6) * weight
    elif kind == 2:  # woven fabric: over and under
        cell = rng.uniform(3, 10)
        weave = np.sign(np.sin(np.pi * x / cell) * np.sin(np.pi * y / cell))
        image = np.where((weave > 0)[..., None], a, b) * (1 + 0.1 * _noise_field(rng, height, width, 1))[..., None]
    elif kind == 3:  # gravel: pebbles of many sizes, shaded
        image = np.broadcast_to(a * 0.4, (height, width, 3)).copy()
        light = _light(rng)
        for _ in range(int(height * width / rng.uniform(300, 1500))):
            size = rng.uniform(3, 14)
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            x0, x1, y0, y1 = int(max(0, cx - size)), int(min(width, cx + size + 1)), int(max(0, cy - size)), int(min(height, cy + size + 1))
            if x1 > x0 and y1 > y0:
                _ellipsoid(image[y0:y1, x0:x1], cx - x0, cy - y0, size, size * rng.uniform(0.6, 1), a * rng.uniform(0.6, 1.3), light)
    elif kind == 4:  # grass: thin blades
        image = np.broadcast_to(np.asarray((40, 80, 30), np.float32), (height, width, 3)).copy()
        picture = _to_image(image)
        draw = ImageDraw.Draw(picture)
        for _ in range(int(height * width / 40)):
            bx, by = rng.uniform(0, width), rng.uniform(0, height + 20)
            lean, tall = rng.uniform(-6, 6), rng.uniform(8, 30)
            draw.line([(bx, by), (bx + lean, by - tall)], fill=(int(rng.uniform(30, 120)), int(rng.uniform(90, 200)), int(rng.uniform(20, 70))), width=1)
        image = _to_pixels(picture)
    else:  # leather: cells and creases
        image = a * (1 + 0.12 * _noise_field(rng, height, width, 2) - 0.2 * (np.abs(_noise_field(rng, height, width, 5)) < 0.1))[..., None]
    image = image * (0.75 + 0.25 * _lambert(((x - width / 2) / width), ((y - height / 2) / height), _light(rng)))[..., None]
    return image


def screenshot(rng, height: int, width: int) -> np.ndarray:
    """A window of an app: a title bar with three dots, a menu of words, a side list, buttons, text."""
    dark = rng.random() < 0.35
    ground = _rgb(rng, 20, 50) if dark else _rgb(rng, 235, 256)
    text = _rgb(rng, 190, 240) if dark else _rgb(rng, 20, 80)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    bar = max(12, int(height * rng.uniform(0.05, 0.1)))
    draw.rectangle([0, 0, width, bar], fill=_rgb(rng, 40, 90) if dark else _rgb(rng, 200, 235))
    for k, colour in enumerate([(240, 90, 80), (245, 190, 60), (90, 200, 90)]):
        draw.ellipse([8 + k * bar * 0.8, bar * 0.3, 8 + k * bar * 0.8 + bar * 0.4, bar * 0.7], fill=colour)
    size = max(8, int(bar * rng.uniform(0.5, 0.8)))
    font = _printed_face(rng, size)
    side = int(width * rng.uniform(0, 0.3))
    if side:
        draw.rectangle([0, bar, side, height], fill=_rgb(rng, 30, 60) if dark else _rgb(rng, 220, 245))
        for row in range(int((height - bar) / (size * 2))):
            draw.text((8, bar + 8 + row * size * 2), _words(rng, 1), fill=text, font=font)
    y = bar + size
    while y < height - size * 2:
        choice = rng.random()
        if choice < 0.2:  # a row of buttons
            bx = side + 10
            for _ in range(int(rng.integers(1, 4))):
                label = _words(rng, 1)
                length = draw.textlength(label, font=font) + size
                draw.rounded_rectangle([bx, y, bx + length, y + size * 1.6], radius=size * 0.4, fill=_rgb(rng, 40, 220))
                draw.text((bx + size / 2, y + size * 0.3), label, fill=(255, 255, 255), font=font)
                bx += length + 10
            y += size * 2.4
        elif choice < 0.3:  # an input box or a picture placeholder
            draw.rectangle([side + 10, y, width - 10, y + size * rng.uniform(1.6, 5)], outline=text, width=1)
            y += size * 6
        else:
            draw.text((side + 10, y), _words(rng, int(rng.integers(2, 9))), fill=text, font=font)
            y += size * 1.6
    return _to_pixels(image)


def logo(rng, height: int, width: int) -> np.ndarray:
    """A badge or a wordmark: a ring, a star, a shield, a crescent or a letter in a circle, with a word."""
    ground, colour, second = _rgb(rng), _rgb(rng), _rgb(rng)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    s = min(height, width) * rng.uniform(0.4, 0.8)
    cx, cy = width / 2 + rng.uniform(-0.1, 0.1) * width, height / 2 + rng.uniform(-0.1, 0.1) * height
    kind = int(rng.integers(5))
    if kind == 0:  # rings
        for k in range(int(rng.integers(2, 5))):
            radius = s / 2 * (1 - k * 0.2)
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=colour if k % 2 == 0 else second,
                         width=max(2, int(s * 0.06)))
    elif kind == 1:  # a star
        points = int(rng.integers(5, 9))
        angles = np.linspace(-np.pi / 2, 1.5 * np.pi, 2 * points, endpoint=False)
        radii = np.where(np.arange(2 * points) % 2 == 0, s / 2, s / 2 * rng.uniform(0.35, 0.55))
        draw.polygon(list(zip(cx + radii * np.cos(angles), cy + radii * np.sin(angles))), fill=colour)
    elif kind == 2:  # a shield with a band
        draw.polygon([(cx - s / 2, cy - s / 2), (cx + s / 2, cy - s / 2), (cx + s / 2, cy), (cx, cy + s / 2), (cx - s / 2, cy)], fill=colour)
        draw.rectangle([cx - s / 2, cy - s * 0.1, cx + s / 2, cy + s * 0.05], fill=second)
    elif kind == 3:  # a crescent beside a small star
        draw.ellipse([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], fill=colour)
        draw.ellipse([cx - s * 0.3, cy - s * 0.55, cx + s * 0.6, cy + s * 0.45], fill=ground)
    else:  # a letter in a disc
        draw.ellipse([cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2], fill=colour)
        font = _printed_face(rng, int(s * 0.6))
        draw.text((cx, cy), str(rng.choice(list(LONE_LETTERS))), fill=second, font=font, anchor="mm")
    if rng.random() < 0.5:  # the name beside
        font = _printed_face(rng, max(8, int(s * rng.uniform(0.12, 0.25))))
        draw.text((cx, min(height - 4, cy + s * 0.6)), _words(rng, 1).upper(), fill=colour, font=font, anchor="mt")
    return _to_pixels(image)


def desk(rng, height: int, width: int) -> np.ndarray:
    """A crowded desk from above: sheets of printed words, a keyboard, a phone, pens, a mug, a plant."""
    y, x = _grid(height, width)
    wood = np.asarray(_rgb(rng, 70, 200), np.float32)
    image = wood * (1 + 0.1 * np.sin((x + 30 * _noise_field(rng, height, width, 50)) / rng.uniform(4, 9)))[..., None]
    picture = _to_image(image)
    draw = ImageDraw.Draw(picture)
    s = min(height, width)
    font = _printed_face(rng, max(6, int(s * 0.02)))
    for _ in range(int(rng.integers(1, 4))):  # sheets with lines of words
        x0, y0 = rng.uniform(-0.1, 0.7) * width, rng.uniform(-0.1, 0.6) * height
        w, h = s * rng.uniform(0.25, 0.45), s * rng.uniform(0.35, 0.55)
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=_rgb(rng, 225, 256))
        for row in range(int(h / (s * 0.035)) - 2):
            draw.text((x0 + w * 0.08, y0 + s * 0.035 * (row + 1)), _words(rng, int(rng.integers(2, 6))), fill=(40, 40, 50), font=font)
    kx, ky = rng.uniform(0, 0.5) * width, rng.uniform(0.55, 0.8) * height
    kw, kh = s * rng.uniform(0.4, 0.6), s * 0.18
    draw.rounded_rectangle([kx, ky, kx + kw, ky + kh], radius=6, fill=_rgb(rng, 20, 80))
    key = kw / 14
    for row in range(4):
        for column in range(13):
            draw.rectangle([kx + key * (column + 0.6), ky + kh * (0.08 + row * 0.23), kx + key * (column + 1.4),
                            ky + kh * (0.26 + row * 0.23)], fill=_rgb(rng, 60, 110))
    px, py = rng.uniform(0.6, 0.85) * width, rng.uniform(0.1, 0.5) * height  # a phone
    draw.rounded_rectangle([px, py, px + s * 0.12, py + s * 0.24], radius=s * 0.015, fill=(20, 20, 22))
    draw.rectangle([px + s * 0.01, py + s * 0.02, px + s * 0.11, py + s * 0.22], fill=_rgb(rng, 30, 200))
    for _ in range(int(rng.integers(1, 4))):  # pens
        x0, y0, angle = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0, np.pi)
        length = s * rng.uniform(0.15, 0.25)
        draw.line([(x0, y0), (x0 + length * np.cos(angle), y0 + length * np.sin(angle))], fill=_rgb(rng), width=max(2, int(s * 0.012)))
    image = _to_pixels(picture)
    light = _light(rng)
    mx, my = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
    _ellipsoid(image, mx, my, s * 0.09, s * 0.09, _rgb(rng), light)  # a mug from above
    _ellipsoid(image, mx, my, s * 0.075, s * 0.075, (70, 45, 30), light, ambient=0.8)
    if rng.random() < 0.5:  # a plant: leaves round a centre
        lx, ly = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        for angle in np.linspace(0, 2 * np.pi, int(rng.integers(5, 10)), endpoint=False):
            _ellipsoid(image, lx + s * 0.06 * np.cos(angle), ly + s * 0.06 * np.sin(angle), s * 0.05, s * 0.05,
                       (40, int(rng.uniform(100, 170)), 50), light)
    return image


KINDS = {"printed text": printed_text, "printed letter": printed_letter, "person": person, "animal": animal,
         "food": food, "object": everyday_object, "texture": texture, "screenshot": screenshot, "logo": logo,
         "desk": desk}
SAVED = ("screenshot", "logo", "printed letter")  # made on a computer: a PNG more often than a photo


def _photographed(pixels: np.ndarray, rng) -> np.ndarray:
    """What a phone adds: depth of field, a vignette, the sensor's noise (brighter grain in the dark)."""
    height, width = pixels.shape[:2]
    pixels = ndimage.gaussian_filter(pixels, (rng.uniform(0.3, 1.5), rng.uniform(0.3, 1.5), 0))
    y, x = _grid(height, width)
    distance = ((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2
    pixels = pixels * (1 - rng.uniform(0, 0.8) * distance)[..., None]
    grain = rng.uniform(1, 7)
    pixels = pixels + rng.normal(0, grain, pixels.shape) + rng.normal(0, grain / 2, (height, width, 1))
    return pixels


def picture(kind: str, rng) -> bytes:
    """One picture of `kind`, saved as a phone's JPEG or a PNG, colour or grey, at a random size."""
    long_side = int(np.exp(rng.uniform(np.log(160), np.log(1000))))
    aspect = rng.uniform(0.6, 1.0)
    height, width = (long_side, int(long_side * aspect)) if rng.random() < 0.4 else (int(long_side * aspect), long_side)
    pixels = KINDS[kind](rng, height, width)
    saved = rng.random() < (0.6 if kind in SAVED else 0.3)
    if not saved:
        pixels = _photographed(pixels, rng)
    image = _to_image(pixels)
    if rng.random() < 0.25:
        image = image.convert("L")
    if rng.random() < 0.15:  # a thumbnail
        side = int(rng.integers(48, 128))
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if saved:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=int(rng.integers(55, 96)))
    return buffer.getvalue()


def render(kind: str, count: int) -> list[bytes]:
    rng = np.random.default_rng(EVERYDAY_SEED + list(KINDS).index(kind))
    return [picture(kind, rng) for _ in range(count)]


# ---- the measurement -------------------------------------------------------------------------------------


@dataclass
class EverydayFigures:
    count: int
    model: str
    no_digit: dict[str, float] = field(default_factory=dict)  # kind -> share answered "no digit"
    misses: dict[str, list[dict]] = field(default_factory=dict)  # kind -> [{index, answer}]
    seconds: float = 0.0

    @property
    def overall(self) -> float:
        return float(np.mean(list(self.no_digit.values()))) if self.no_digit else 0.0

    def to_dict(self) -> dict:
        return {"suite": "everyday photos", "model": self.model, "count": self.count, "overall": round(self.overall, 4),
                "no_digit": {kind: round(share, 4) for kind, share in self.no_digit.items()},
                "misses": self.misses, "seconds": round(self.seconds, 1)}

    def to_text(self) -> str:
        lines = [f"{self.count} pictures a kind without a digit ({self.model}); {self.seconds:.0f} s",
                 "  kind              answered 'no digit'"]
        lines += [f"  {kind:16s} {share:8.1%}" for kind, share in self.no_digit.items()]
        return "\n".join(lines + [f"  {'all':16s} {self.overall:8.1%}"])


def measure(classify, count: int, model: str = "cnn", kinds: tuple[str, ...] = tuple(KINDS)) -> EverydayFigures:
    """`classify(bytes) -> digit or None` on `count` pictures of each kind."""
    started = time.perf_counter()
    figures = EverydayFigures(count, model)
    for kind in kinds:
        answers = [classify(upload) for upload in render(kind, count)]
        figures.no_digit[kind] = float(np.mean([answer is None for answer in answers]))
        figures.misses[kind] = [{"index": i, "answer": answer} for i, answer in enumerate(answers) if answer is not None]
    figures.seconds = time.perf_counter() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24, help="pictures a kind")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--save", default=None, help="a folder to write the pictures to (for `digits classify --trace`)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.save:
        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        for kind in args.kinds:
            for index, upload in enumerate(render(kind, args.count)):
                suffix = "png" if upload[:4] == b"\x89PNG" else "jpg"
                (folder / f"{kind.replace(' ', '-')}-{index:03d}.{suffix}").write_bytes(upload)
        return 0
    from digits.reader import Reader

    with Reader() as reader:
        figures = measure(lambda data: reader.classify(data, model=args.model).digit, args.count, args.model, tuple(args.kinds))
    print(json.dumps(figures.to_dict()) if args.json else figures.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
