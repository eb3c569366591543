"""A second, independent family of scene renderers: an honest proxy for scenes nobody here tuned on.

training/scenes.py draws the scenes the reading pipeline was tuned on, so its suite measures what was
tuned. This module draws the same *kinds* of place another way, written apart from it and never used to
tune or train anything (only to check and to choose between designs):

- a hand's mark round the digit: an ellipse with overshoot and a gap, a double loop, a box with
  overshooting corners, a cloud, a small circle that touches or crosses the digit, a circle and an
  underline; in ballpoint, felt pen or pencil, drawn with a pressure that varies along the stroke;
- a chalkboard: green or black boards with a grain, chalk broken by a threshold of the board's grain
  (not by dropout noise), the eraser's wide arcs and the ghosts of wiped writing, glare and a steep
  light fall-off, the board's frame and chalk tray in the photo;
- a ruled notebook page, photographed: rulings and a margin line, the digit crossing a ruling (written
  on a line, across two or three), the page's curl in the light;
- photo-like pictures without a digit, composed as a scene: sky and ground gradients, houses, trees,
  a table with things, a poster with printed words, a face, a pet; textures and shading.

Digits come from two sources, each a float ink array (0-255, 0 = no ink): MNIST digits (validation
for choosing; the tests use test digits for their figure) and the *held-out* handwriting typeface
families (training/typefaces.py), which no model was trained on: other writers' hands.

    python -m training.proxy_scenes --count 40 [--source validation|typefaces|test] [--json]
"""

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.morphology import skeletonize

from training.scenes import encode, enlarged

SIDE = 2  # strokes are drawn at twice the picture's size and shrunk: their edges come out soft


# ---- digits -------------------------------------------------------------------------------------------

def mnist_inks(digits: np.ndarray) -> list[np.ndarray]:
    """MNIST arrays (N, 28, 28) as ink arrays."""
    return [np.asarray(digit, np.float32) for digit in digits]


def typeface_inks(count: int, seed: int) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """`count` digits (0-9 in turn) by the held-out handwriting typeface families (in turn), each drawn
    by a hand (size, slant, turn, wobble: training/typefaces.py's own), as ink arrays; their labels and
    families."""
    from training import typefaces

    folder = typefaces.install_fonts()
    families = typefaces.held_out_families()
    rng = np.random.default_rng([seed, 27])
    inks, labels, names = [], [], []
    for index in range(count):
        family = families[index % len(families)]
        files = typefaces.font_files(family, folder)
        digit = index % 10
        ink = typefaces.handled(typefaces.glyph_ink(files[int(rng.integers(len(files)))], digit, rng), rng)
        ink = np.where(ink > 0.08, ink, 0.0) * 255.0
        inks.append(ink.astype(np.float32))
        labels.append(digit)
        names.append(family.name)
    return inks, np.asarray(labels), names


def _scaled(ink: np.ndarray, length: int) -> np.ndarray:
    """The ink cropped to its box, `length` pixels on its longer side (float 0-255)."""
    return enlarged(np.clip(ink, 0, 255).astype(np.uint8), length)


def _laid(layer: np.ndarray, ink: np.ndarray, centre: tuple[int, int]) -> tuple[int, int, int, int]:
    """The ink added into `layer` (H, W) centred at (x, y), clipped at the edges; its box (x0, y0, x1, y1)."""
    height, width = layer.shape
    top, left = centre[1] - ink.shape[0] // 2, centre[0] - ink.shape[1] // 2
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + ink.shape[0], height), min(left + ink.shape[1], width)
    layer[y0:y1, x0:x1] = np.maximum(layer[y0:y1, x0:x1], ink[y0 - top : y1 - top, x0 - left : x1 - left])
    return left, top, left + ink.shape[1], top + ink.shape[0]


# ---- a photo's look -----------------------------------------------------------------------------------

def _light(rng, height: int, width: int, strength: float) -> np.ndarray:
    """(H, W, 1): a directional fall-off times a vignette, `strength` the darkest corner's loss."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((x / width - 0.5) * np.cos(angle) + (y / height - 0.5) * np.sin(angle)) + 0.5
    vignette = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2
    shade = 1 - strength * (0.7 * np.clip(ramp, 0, 1) + 0.3 * vignette)
    return shade[..., None]


def _glare(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 1): a soft bright patch where a lamp or a window shines on a glossy surface."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    cy, cx = rng.uniform(0.1, 0.9) * height, rng.uniform(0.1, 0.9) * width
    radius = rng.uniform(0.1, 0.3) * min(height, width)
    return (np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2)))[..., None]


def _as_photo(image: np.ndarray, rng, quality: tuple[int, int] = (70, 92)) -> bytes:
    """(H, W, 3) float -> a phone's JPEG: a little out of focus, sensor noise, a colour cast."""
    image = ndimage.gaussian_filter(image, (rng.uniform(0.3, 1.1), rng.uniform(0.3, 1.1), 0))
    image = image * rng.uniform(0.94, 1.06, 3) + rng.normal(0, rng.uniform(1.5, 5), image.shape)
    return encode(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), "JPEG",
                  quality=int(rng.integers(*quality)))


# ---- pens ---------------------------------------------------------------------------------------------

def _stroke(layer: np.ndarray, points: np.ndarray, width: float, rng, pressure: float = 0.15) -> None:
    """A stroke through (N, 2) points (x, y) into the float layer (0-1), its width varying with the hand's
    pressure; drawn at SIDE times the size and shrunk."""
    height, width_px = layer.shape
    canvas = Image.new("L", (width_px * SIDE, height * SIDE), 0)
    draw = ImageDraw.Draw(canvas)
    phase, wave = rng.uniform(0, 6), rng.uniform(1, 4)
    along = np.linspace(0, 1, len(points))
    widths = width * (1 + pressure * np.sin(2 * np.pi * wave * along + phase))
    scaled = points * SIDE
    for (a, b, w) in zip(scaled[:-1], scaled[1:], widths[:-1]):
        pen = max(1, int(round(w * SIDE)))
        draw.line([tuple(a), tuple(b)], fill=255, width=pen)
        draw.ellipse([b[0] - pen / 2, b[1] - pen / 2, b[0] + pen / 2, b[1] + pen / 2], fill=255)
    shrunk = np.asarray(canvas.resize((width_px, height), Image.Resampling.BOX), np.float32) / 255.0
    np.maximum(layer, shrunk, out=layer)


def _ellipse_path(centre, radii, start: float, sweep: float, tilt: float, rng, drift: float = 0.0,
                  bumps: int = 0, bump: float = 0.0) -> np.ndarray:
    """(N, 2) points of a hand's ellipse: from `start` through `sweep` radians, its radius drifting by
    `drift` a lap and scalloped with `bumps` bumps (a cloud) of height `bump`."""
    steps = max(40, int(abs(sweep) * 30))
    angle = start + np.linspace(0, sweep, steps)
    laps = (angle - start) / (2 * np.pi)
    wander = 1 + rng.uniform(-0.04, 0.04) * np.sin(3 * angle + rng.uniform(0, 6))
    scale = wander * (1 + drift * laps)
    if bumps:
        scale = scale * (1 + bump * np.abs(np.sin(bumps * angle / 2)))
    x, y = radii[0] * np.cos(angle) * scale, radii[1] * np.sin(angle) * scale
    return np.stack([centre[0] + x * np.cos(tilt) - y * np.sin(tilt),
                     centre[1] + x * np.sin(tilt) + y * np.cos(tilt)], axis=1)


PENS = {  # colour, opacity: a ballpoint, a felt pen, a pencil
    "black ballpoint": ((25, 25, 35), 0.95),
    "blue ballpoint": ((20, 40, 150), 0.95),
    "red felt pen": ((190, 30, 40), 1.0),
    "green felt pen": ((30, 120, 60), 1.0),
    "pencil": ((70, 70, 75), 0.75),
}


def _paint(image: np.ndarray, layer: np.ndarray, colour, opacity: float) -> np.ndarray:
    weight = (layer * opacity)[..., None]
    return image * (1 - weight) + np.asarray(colour, np.float32) * weight


def _paper(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float: a sheet of paper, off-white to cream, with fibre grain."""
    tone = np.asarray([rng.uniform(228, 250), rng.uniform(225, 248), rng.uniform(212, 240)], np.float32)
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), rng.uniform(0.6, 1.5)).astype(np.float32)
    return tone + (grain * rng.uniform(3, 8))[..., None]


# ---- scenes with a digit: (ink, rng) -> bytes -----------------------------------------------------------

def plain_paper(ink: np.ndarray, rng) -> bytes:
    """The baseline: the digit in ballpoint on a sheet of paper, photographed, in this module's look."""
    height, width = int(rng.integers(300, 420)), int(rng.integers(300, 420))
    image = _paper(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    length = int(min(height, width) * rng.uniform(0.45, 0.7))
    centre = (width // 2 + int(rng.integers(-20, 21)), height // 2 + int(rng.integers(-20, 21)))
    _laid(layer, _scaled(ink, length), centre)
    colour, opacity = PENS[["black ballpoint", "blue ballpoint"][int(rng.integers(2))]]
    image = _paint(image, layer / 255.0, colour, opacity) * _light(rng, height, width, rng.uniform(0.05, 0.25))
    return _as_photo(image, rng)


MARKS = ("ellipse with a gap", "ellipse overshooting", "double loop", "box", "cloud", "touching circle",
         "circle and underline")


def circled(ink: np.ndarray, rng, mark: str | None = None) -> bytes:
    """The digit on paper with a mark drawn round it by hand (one of MARKS, at random unless named), in
    the same pen or another; the mark may touch or cross the digit's strokes."""
    mark = mark or MARKS[int(rng.integers(len(MARKS)))]
    height, width = int(rng.integers(340, 460)), int(rng.integers(340, 460))
    image = _paper(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    length = int(min(height, width) * rng.uniform(0.35, 0.5))
    centre = (width // 2 + int(rng.integers(-15, 16)), height // 2 + int(rng.integers(-15, 16)))
    x0, y0, x1, y1 = _laid(layer, _scaled(ink, length), centre)
    digit_pen = list(PENS)[int(rng.integers(2))]
    image = _paint(image, layer / 255.0, *PENS[digit_pen])
    mark_pen = digit_pen if rng.random() < 0.5 else list(PENS)[int(rng.integers(len(PENS)))]
    middle = ((x0 + x1) / 2, (y0 + y1) / 2)
    half = ((x1 - x0) / 2, (y1 - y0) / 2)
    pen = rng.uniform(0.02, 0.06) * length  # a ballpoint's line to a felt pen's
    tilt = rng.uniform(-0.35, 0.35)
    loop = np.zeros((height, width), np.float32)
    if mark in ("ellipse with a gap", "ellipse overshooting", "double loop", "circle and underline"):
        sweep = {"ellipse with a gap": rng.uniform(5.2, 5.9), "ellipse overshooting": rng.uniform(6.6, 7.4),
                 "double loop": rng.uniform(12.0, 13.2), "circle and underline": rng.uniform(6.0, 6.9)}[mark]
        radii = (max(half) * rng.uniform(1.05, 1.35), max(half) * rng.uniform(1.05, 1.3))
        path = _ellipse_path(middle, radii, rng.uniform(0, 2 * np.pi), sweep * rng.choice([-1, 1]), tilt, rng,
                             drift=rng.uniform(-0.1, 0.1))
        _stroke(loop, path, pen, rng)
        if mark == "circle and underline":
            y = middle[1] + radii[1] * rng.uniform(1.05, 1.25)
            xs = np.linspace(middle[0] - radii[0] * rng.uniform(0.7, 1.1), middle[0] + radii[0] * rng.uniform(0.7, 1.1), 24)
            _stroke(loop, np.stack([xs, y + np.cumsum(rng.normal(0, 0.7, 24))], axis=1), pen, rng)
    elif mark == "box":
        spread = (half[0] * rng.uniform(1.2, 1.6), half[1] * rng.uniform(1.15, 1.4))
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]):  # each side its own stroke, overshooting
            a = np.array([middle[0] + ax * spread[0], middle[1] + ay * spread[1]])
            b = np.array([middle[0] + bx * spread[0], middle[1] + by * spread[1]])
            over = (b - a) / np.linalg.norm(b - a) * rng.uniform(2, 0.12 * length)
            line = np.linspace(a - over * rng.uniform(0, 1), b + over, 16) + rng.normal(0, 1.2, (16, 2))
            _stroke(loop, line, pen, rng)
    elif mark == "cloud":
        radii = (max(half) * rng.uniform(1.15, 1.4), max(half) * rng.uniform(1.1, 1.35))
        path = _ellipse_path(middle, radii, rng.uniform(0, 2 * np.pi), 2 * np.pi * 1.03, tilt, rng,
                             bumps=int(rng.integers(7, 12)), bump=rng.uniform(0.08, 0.15))
        _stroke(loop, path, pen, rng)
    else:  # a circle too small or off-centre: it touches or crosses the digit's strokes
        radii = (max(half) * rng.uniform(0.85, 1.0), max(half) * rng.uniform(0.85, 1.0))
        shift = (rng.uniform(-0.12, 0.12) * length, rng.uniform(-0.12, 0.12) * length)
        path = _ellipse_path((middle[0] + shift[0], middle[1] + shift[1]), radii, rng.uniform(0, 2 * np.pi),
                             rng.uniform(6.1, 6.8), tilt, rng)
        _stroke(loop, path, pen, rng)
    image = _paint(image, loop, *PENS[mark_pen])
    image = image * _light(rng, height, width, rng.uniform(0.05, 0.3))
    return _as_photo(image, rng)


BOARD_COLOURS = {"green": [(42, 75, 58), (35, 66, 52), (52, 82, 66), (28, 58, 46)],
                 "black": [(32, 34, 36), (40, 42, 44), (24, 26, 30), (48, 50, 52)]}


def _board_surface(rng, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float: a green or black board, grained, wiped with an eraser's arcs, ghosts of writing."""
    kind = "green" if rng.random() < 0.6 else "black"
    colours = BOARD_COLOURS[kind]
    colour = np.asarray(colours[int(rng.integers(len(colours)))], np.float32)
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), 2.0).astype(np.float32)
    board = colour + (grain * rng.uniform(2, 5))[..., None]
    wiped = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(2, 7))):  # the eraser's passes: wide arcs of dust
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.3, 0.9) * width
        start = rng.uniform(0, 2 * np.pi)
        path = _ellipse_path((cx, cy - radius), (radius, radius), start, rng.uniform(0.4, 1.0), 0.0, rng)
        _stroke(wiped, path, rng.uniform(0.08, 0.18) * height, rng, pressure=0.5)
    wiped = ndimage.gaussian_filter(wiped, rng.uniform(4, 10)) * rng.uniform(0.08, 0.25)
    ghosts = np.zeros((height, width), np.float32)
    font = ImageFont.truetype(sorted(_FONTS)[int(rng.integers(len(_FONTS)))], int(rng.integers(30, 70)))
    text = Image.new("L", (width, height), 0)
    for _ in range(int(rng.integers(0, 3))):  # wiped writing: words, faint and blurred
        ImageDraw.Draw(text).text((rng.uniform(-50, width - 50), rng.uniform(0, height - 40)),
                                  _words(rng, 2), font=font, fill=255)
    ghosts = ndimage.gaussian_filter(np.asarray(text, np.float32) / 255.0, rng.uniform(2, 4)) * rng.uniform(0.05, 0.15)
    dust = np.clip(wiped + ghosts, 0, 1)[..., None]
    return board * (1 - dust) + 225.0 * dust


def _chalk_stroke(layer: np.ndarray, rng) -> np.ndarray:
    """Chalk: where the stick meets the board's bumps (a smooth random field above a level), fuller in
    the stroke's middle; dusty at the edge."""
    bumps = ndimage.gaussian_filter(rng.normal(0, 1, layer.shape), rng.uniform(0.7, 1.5))
    bumps = (bumps - bumps.mean()) / (bumps.std() + 1e-6)
    solid = layer / 255.0
    touched = np.clip((bumps + 2.2 * solid - rng.uniform(0.6, 1.3)) / 0.8, 0, 1) * solid
    dust = ndimage.gaussian_filter(solid, rng.uniform(1.5, 3.0)) * rng.uniform(0.1, 0.3)
    return np.clip(touched * rng.uniform(0.7, 0.95) + dust, 0, 1)


def chalkboard(ink: np.ndarray, rng) -> bytes:
    """The digit in chalk on a board, photographed: the board's frame and tray may show, the light
    steep, a glare."""
    board, layer, _ = _digit_over_a_board(ink, rng, largest=0.55, shift=(120, 50))
    colour = _chalk_colour(rng)
    image = _paint(board, _chalk_stroke(layer, rng), colour, 1.0)
    return _as_photo(_board_photographed(image, rng), rng)


def _digit_over_a_board(ink: np.ndarray, rng, largest: float, shift: tuple) -> tuple:
    """A bare board, and the digit's ink laid on a layer of its size: 30% of its height tall up to
    `largest`, its centre up to `shift` (x, y) pixels off the board's; returns (board, layer, centre)."""
    height, width = int(rng.integers(420, 540)), int(rng.integers(560, 720))
    board = _board_surface(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    length = int(height * rng.uniform(0.3, largest))
    centre = (width // 2 + int(rng.integers(-shift[0], shift[0] + 1)),
              height // 2 + int(rng.integers(-shift[1], shift[1] + 1)))
    _laid(layer, _scaled(ink, length), centre)
    return board, layer, centre


def _chalk_colour(rng) -> tuple:
    return (238, 238, 230) if rng.random() < 0.8 else [(245, 225, 140), (240, 170, 190), (170, 210, 245)][int(rng.integers(3))]


def _board_photographed(image: np.ndarray, rng) -> np.ndarray:
    """A board's photo: its frame and tray may show, the light steep, a glare."""
    height, width = image.shape[:2]
    if rng.random() < 0.6:  # the frame on one or two sides; the tray along the bottom
        depth = int(rng.uniform(0.03, 0.08) * min(height, width))
        wood = np.asarray([(125, 88, 52), (160, 160, 165), (95, 65, 40)][int(rng.integers(3))], np.float32)
        sides = rng.permutation(["top", "bottom", "left", "right"])[: int(rng.integers(1, 3))]
        for side in sides:
            region = {"top": np.s_[:depth], "bottom": np.s_[-2 * depth:], "left": np.s_[:, :depth],
                      "right": np.s_[:, -depth:]}[side]
            image[region] = wood + rng.normal(0, 6, image[region].shape)
    image = image * _light(rng, height, width, rng.uniform(0.15, 0.45))
    if rng.random() < 0.5:
        image = image + _glare(rng, height, width) * rng.uniform(25, 70)
    return image


def lamp_lit_chalkboard(ink: np.ndarray, rng) -> bytes:
    """The digit in chalk on a board under a lamp: its middle lit to a mid-grey, its corners dark, and its
    light grey frame along the bottom and one side, the lightest thing on the picture's border (not one
    of SCENES: a board the chalkboard draws now and then, drawn every time, for the test that names it)."""
    board, layer, centre = _digit_over_a_board(ink, rng, largest=0.5, shift=(60, 30))
    height, width = layer.shape
    image = _paint(board, _chalk_stroke(layer, rng), _chalk_colour(rng), 1.0)
    y, x = np.mgrid[:height, :width].astype(np.float32)
    pool = np.exp(-(((x - centre[0]) / width) ** 2 + ((y - centre[1]) / height) ** 2) / (2 * 0.3**2))[..., None]
    image = image * (0.7 + 0.4 * pool) + 45.0 * pool  # the lamp's pool of light: a mid-grey middle, dark corners
    depth = int(rng.uniform(0.03, 0.05) * min(height, width))
    frame = np.asarray((155, 155, 160), np.float32)  # lit from the front: as light all along
    image[-2 * depth:] = frame + rng.normal(0, 6, image[-2 * depth:].shape)
    side = np.s_[:, :depth] if rng.random() < 0.5 else np.s_[:, -depth:]
    image[side] = frame + rng.normal(0, 6, image[side].shape)
    return _as_photo(image, rng)


def worn_chalkboard(ink: np.ndarray, rng) -> bytes:
    """A harder board, as a hurried hand and a used board leave it: a thin, lightly pressed stroke of
    chalk broken by the board's grain (low contrast), smeared by the hand beside it, a band across the
    digit half wiped away (its dust left in a haze), an eraser's pass of dust running through it."""
    height, width = int(rng.integers(420, 540)), int(rng.integers(560, 720))
    board = _board_surface(rng, height, width)
    length = int(height * rng.uniform(0.3, 0.55))
    scaled = _scaled(ink, length)
    # a thin stick's line: the digit's skeleton drawn 2-4% of its height wide
    line = ndimage.binary_dilation(skeletonize(scaled > 100), iterations=max(1, int(rng.uniform(0.01, 0.02) * length)))
    thin = ndimage.gaussian_filter(line.astype(np.float32), 0.8) * 255.0
    layer = np.zeros((height, width), np.float32)
    centre = (width // 2 + int(rng.integers(-120, 121)), height // 2 + int(rng.integers(-50, 51)))
    x0, y0, x1, y1 = _laid(layer, thin, centre)
    solid = layer / 255.0
    bumps = _smooth_field(rng, height, width, rng.uniform(0.6, 1.2))
    chalk = np.clip((bumps + 2.0 * solid - rng.uniform(1.0, 1.6)) / 0.6, 0, 1) * solid  # broken by the grain
    y, x = np.mgrid[:height, :width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    across = (x - (x0 + x1) / 2) * np.cos(angle) + (y - (y0 + y1) / 2) * np.sin(angle)
    band = np.abs(across - rng.uniform(-0.3, 0.3) * length) < rng.uniform(0.1, 0.2) * length
    kept = np.where(band, rng.uniform(0.15, 0.45), 1.0)  # a band half wiped away
    wiped_off = chalk * (1 - kept)
    chalk = chalk * kept
    shift = rng.uniform(-0.08, 0.08, 2) * length
    smear = ndimage.gaussian_filter(ndimage.shift(chalk, (shift[1], shift[0]), order=1), rng.uniform(4, 9))
    haze = ndimage.gaussian_filter(wiped_off, rng.uniform(6, 12))
    smudge = (smear * rng.uniform(1.5, 3.5) + haze * rng.uniform(2, 4)).astype(np.float32)
    path = _ellipse_path(((x0 + x1) / 2 + rng.uniform(-0.3, 0.3) * length, (y0 + y1) / 2 - length),
                         (length, length), rng.uniform(0.8, 2.3), rng.uniform(0.5, 1.0), 0.0, rng)
    eraser = np.zeros((height, width), np.float32)
    _stroke(eraser, path, rng.uniform(0.25, 0.5) * length, rng, pressure=0.5)
    smudge += ndimage.gaussian_filter(eraser, rng.uniform(5, 10)) * rng.uniform(0.1, 0.25)
    pressed = rng.uniform(0.35, 0.7)  # a light hand: the chalk's share of the way to white
    image = _paint(board, np.clip(chalk * pressed + smudge * 0.5, 0, 1), _chalk_colour(rng), 1.0)
    return _as_photo(_board_photographed(image, rng), rng)


def ruled_notebook(ink: np.ndarray, rng) -> bytes:
    """A photographed notebook page: blue rulings, a red margin line, the digit across one or two rulings
    (written on a line, as people do, or through them), the page's curl shading one side."""
    height, width = int(rng.integers(420, 560)), int(rng.integers(360, 480))
    image = _paper(rng, height, width)
    rulings = np.zeros((height, width), np.float32)
    spacing = int(rng.integers(20, 34))
    first = int(rng.integers(25, 70))
    thick = rng.uniform(0.8, 2.2)
    for y in range(first, height, spacing):
        points = np.stack([np.array([0.0, width]), np.array([y, y + rng.uniform(-2, 2)])], axis=1)
        _stroke(rulings, points, thick, rng, pressure=0.0)
    image = _paint(image, rulings, [(140, 175, 220), (120, 150, 205), (160, 185, 215)][int(rng.integers(3))],
                   rng.uniform(0.6, 1.0))
    margin = np.zeros((height, width), np.float32)
    margin_x = int(rng.integers(35, 80))
    _stroke(margin, np.array([[margin_x, 0.0], [margin_x, height]]), rng.uniform(1, 2.5), rng, pressure=0.0)
    image = _paint(image, margin, (210, 85, 95), rng.uniform(0.7, 1.0))
    layer = np.zeros((height, width), np.float32)
    length = int(spacing * rng.uniform(1.4, 3.0))
    lines = np.arange(first, height, spacing)
    line = lines[len(lines) // 2 + int(rng.integers(-2, 3))]
    scaled = _scaled(ink, length)
    if rng.random() < 0.5:  # sitting on a ruling: its foot just below the line
        cy = int(line - scaled.shape[0] / 2 + rng.uniform(0, 0.15) * length)
    else:  # crossing it
        cy = int(line + rng.uniform(-0.3, 0.3) * length)
    cx = int(rng.integers(margin_x + scaled.shape[1] // 2 + 15, width - scaled.shape[1] // 2 - 10))
    _laid(layer, scaled, (cx, cy))
    image = _paint(image, layer / 255.0, *PENS[list(PENS)[[0, 1, 4][int(rng.integers(3))]]])
    x = np.arange(width, dtype=np.float32) / width
    curl = 1 - rng.uniform(0.1, 0.3) * np.clip((x - 0.75) / 0.25, 0, 1) ** 2 if rng.random() < 0.5 else 1 - 0 * x
    image = image * curl[None, :, None] * _light(rng, height, width, rng.uniform(0.05, 0.3))
    return _as_photo(image, rng)


SCENES = {"plain paper": plain_paper, "circled": circled, "chalkboard": chalkboard, "ruled notebook": ruled_notebook,
          "worn chalkboard": worn_chalkboard}


# ---- photo-like pictures without a digit: rng -> bytes ----------------------------------------------------

_FONTS = [str(path) for path in __import__("pathlib").Path("/usr/share/fonts/truetype").glob("*/*.ttf")]
WORDS = ("open sale coffee menu exit street park garden today fresh bread house hello market city "
         "north west river school happy table window light books music photo shop cafe library").split()


def _words(rng, count: int) -> str:
    return " ".join(WORDS[int(rng.integers(len(WORDS)))] for _ in range(count))


def _smooth_field(rng, height: int, width: int, scale: float) -> np.ndarray:
    """(H, W) float, mean 0 and spread 1: blurred noise at `scale` pixels (foliage, fur, clouds)."""
    field = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), scale)
    return ((field - field.mean()) / (field.std() + 1e-6)).astype(np.float32)


def _shaded_disc(image, cx, cy, rx, ry, colour, light) -> None:
    height, width = image.shape[:2]
    y, x = np.mgrid[:height, :width].astype(np.float32)
    u, v = (x - cx) / rx, (y - cy) / ry
    inside = u**2 + v**2 < 1
    shade = 0.65 + 0.35 * np.clip(u * light[0] + v * light[1], -1, 1)
    image[inside] = (np.asarray(colour, np.float32) * shade[..., None])[inside]


def _landscape(rng, height, width) -> np.ndarray:
    y = np.arange(height, dtype=np.float32)[:, None, None] / height
    sky_top, sky_low = np.asarray([rng.uniform(60, 140), rng.uniform(110, 180), rng.uniform(190, 250)]), \
        np.asarray([rng.uniform(180, 240), rng.uniform(190, 240), rng.uniform(210, 250)])
    image = (sky_top * (1 - y) + sky_low * y) * np.ones((1, width, 1))
    horizon = height * rng.uniform(0.45, 0.7) + 25 * _smooth_field(rng, 1, width, 30)[0]
    rows = np.arange(height)[:, None]
    ground = np.asarray([rng.uniform(50, 120), rng.uniform(90, 150), rng.uniform(30, 80)])
    grass = ground + (18 * _smooth_field(rng, height, width, 1.5))[..., None]
    image = np.where((rows > horizon)[..., None], grass, image)
    image += (12 * _smooth_field(rng, height, width, 25))[..., None] * (rows < horizon)[..., None]  # clouds
    for _ in range(int(rng.integers(1, 5))):  # trees: a trunk and a crown of foliage
        cx, base = rng.uniform(0, width), horizon[0] + rng.uniform(0, 0.2) * height
        crown = rng.uniform(0.06, 0.14) * height
        image[int(base - crown):int(base), int(cx - crown * 0.12):int(cx + crown * 0.12)] = (90, 60, 35)
        _shaded_disc(image, cx, base - crown * 1.6, crown, crown * 1.1, (40, rng.uniform(90, 140), 40), (-0.5, -0.5))
    if rng.random() < 0.6:  # a house: walls, a roof, windows
        x0 = rng.uniform(0.1, 0.6) * width
        w, h = rng.uniform(0.2, 0.35) * width, rng.uniform(0.15, 0.25) * height
        base = int(horizon.mean() + 0.05 * height)
        picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(picture)
        wall = tuple(int(c) for c in rng.integers(150, 240, 3))
        draw.rectangle([x0, base - h, x0 + w, base], fill=wall)
        draw.polygon([(x0 - 10, base - h), (x0 + w / 2, base - h * 1.7), (x0 + w + 10, base - h)],
                     fill=tuple(int(c) for c in rng.integers(60, 160, 3)))
        for k in range(2):
            draw.rectangle([x0 + w * (0.15 + 0.5 * k), base - h * 0.75, x0 + w * (0.35 + 0.5 * k), base - h * 0.4],
                           fill=(70, 90, 120))
        image = np.asarray(picture, np.float32).copy()
    return image


def _indoor(rng, height, width) -> np.ndarray:
    """A wall, a window, a table with a cup, a bowl of fruit, a book."""
    wall = np.asarray(rng.integers(150, 240, 3), np.float32)
    image = wall + (6 * _smooth_field(rng, height, width, 8))[..., None] * np.ones(3)
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    if rng.random() < 0.6:
        wx, wy = rng.uniform(0.05, 0.6) * width, rng.uniform(0.05, 0.2) * height
        ww, wh = rng.uniform(0.2, 0.35) * width, rng.uniform(0.2, 0.35) * height
        draw.rectangle([wx, wy, wx + ww, wy + wh], fill=(200, 225, 245), outline=(250, 250, 250), width=6)
    top = rng.uniform(0.55, 0.7) * height
    draw.rectangle([0, top, width, height], fill=tuple(int(c) for c in rng.integers(80, 180, 3)))
    image = np.asarray(picture, np.float32).copy()
    image[int(top):] += (10 * _smooth_field(rng, height - int(top), width, 2))[..., None]
    light = (rng.uniform(-1, 1), rng.uniform(-1, 0))
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0.15, 0.85) * width, top + rng.uniform(0.1, 0.3) * height
        size = rng.uniform(0.06, 0.14) * height
        kind = int(rng.integers(3))
        colour = rng.integers(30, 240, 3)
        if kind == 0:  # fruit
            _shaded_disc(image, cx, cy, size, size * 0.95, colour, light)
        elif kind == 1:  # a cup, from the side: body and handle
            image[int(cy - size * 1.2):int(cy), int(cx - size * 0.6):int(cx + size * 0.6)] = colour * 0.9
            _shaded_disc(image, cx, cy - size * 1.2, size * 0.6, size * 0.15, colour * 0.6, light)
        else:  # a book, lying
            image[int(cy - size * 0.3):int(cy + size * 0.3), int(cx - size * 1.3):int(cx + size * 1.3)] = colour
            image[int(cy - size * 0.3):int(cy - size * 0.2), int(cx - size * 1.3):int(cx + size * 1.3)] = 235
    return image


def _poster(rng, height, width) -> np.ndarray:
    """A poster or a shop sign: a coloured ground, a band, printed words, a shape or two."""
    ground = np.asarray(rng.integers(0, 256, 3), np.float32)
    picture = Image.new("RGB", (width, height), tuple(int(c) for c in ground))
    draw = ImageDraw.Draw(picture)
    band = rng.uniform(0.2, 0.6) * height
    draw.rectangle([0, band, width, band + rng.uniform(0.1, 0.3) * height], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    for _ in range(int(rng.integers(1, 4))):
        font = ImageFont.truetype(_FONTS[int(rng.integers(len(_FONTS)))], int(rng.integers(18, 60)))
        draw.text((rng.uniform(0, 0.5) * width, rng.uniform(0, 0.85) * height), _words(rng, int(rng.integers(1, 4))),
                  font=font, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    if rng.random() < 0.6:
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.2) * height
        draw.regular_polygon((cx, cy, r), int(rng.integers(3, 8)), rotation=rng.uniform(0, 90),
                             fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    image = np.asarray(picture, np.float32).copy()
    return image * _light(rng, height, width, rng.uniform(0.05, 0.3))


def _face(rng, height, width) -> np.ndarray:
    """A portrait: a shaded face with hair, eyes and a mouth, shoulders, a blurred background."""
    background = np.asarray(rng.integers(40, 220, 3), np.float32) + (25 * _smooth_field(rng, height, width, 20))[..., None]
    image = background.copy()
    skin = [(224, 172, 140), (141, 85, 36), (198, 134, 66), (255, 219, 172), (170, 110, 80)][int(rng.integers(5))]
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.38, 0.5)
    rx, ry = width * rng.uniform(0.15, 0.22), height * rng.uniform(0.22, 0.3)
    light = (rng.uniform(-0.8, 0.8), -0.3)
    _shaded_disc(image, cx, cy + ry * 2.1, rx * 2.2, ry * 1.1, rng.integers(20, 220, 3), light)  # shoulders
    _shaded_disc(image, cx, cy - ry * 0.25, rx * 1.1, ry * 0.9, rng.integers(10, 120, 3), light)  # hair
    _shaded_disc(image, cx, cy, rx, ry, skin, light)
    for side in (-1, 1):
        _shaded_disc(image, cx + side * rx * 0.4, cy - ry * 0.15, rx * 0.14, ry * 0.07, (40, 30, 30), light)
    _shaded_disc(image, cx, cy + ry * 0.45, rx * 0.3, ry * 0.06, (150, 60, 60), light)
    return image


def _pet(rng, height, width) -> np.ndarray:
    """A cat or a dog on a floor: a furry body, a head, ears, a tail."""
    floor = np.asarray(rng.integers(90, 220, 3), np.float32)
    image = floor + (10 * _smooth_field(rng, height, width, 3))[..., None]
    coat = rng.integers(30, 230, 3).astype(np.float32)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.5, 0.65)
    size = min(height, width) * rng.uniform(0.18, 0.28)
    light = (rng.uniform(-1, 1), -0.5)
    _shaded_disc(image, cx, cy, size * 1.5, size, coat, light)
    head = (cx + size * 1.4 * rng.choice([-1, 1]), cy - size * 0.8)
    _shaded_disc(image, head[0], head[1], size * 0.6, size * 0.55, coat, light)
    for side in (-1, 1):
        picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        ImageDraw.Draw(picture).polygon([(head[0] + side * size * 0.45, head[1] - size * 0.2),
                                         (head[0] + side * size * 0.25, head[1] - size * 0.85),
                                         (head[0] + side * size * 0.05, head[1] - size * 0.4)],
                                        fill=tuple(int(c) for c in coat * 0.8))
        image = np.asarray(picture, np.float32).copy()
    fur = _smooth_field(rng, height, width, 0.8)
    image += (8 * fur)[..., None]
    return image


def _textured_scene(rng, height, width) -> np.ndarray:
    """A close photo of a surface: bark, gravel, fabric, leaves, under the light."""
    scale = rng.uniform(1, 6)
    field = _smooth_field(rng, height, width, scale)
    if rng.random() < 0.5:
        y, x = np.mgrid[:height, :width].astype(np.float32)
        field = np.sin(y / rng.uniform(3, 12) + 2 * field)
    a, b = np.asarray(rng.integers(0, 256, 3), np.float32), np.asarray(rng.integers(0, 256, 3), np.float32)
    weight = ((field - field.min()) / (np.ptp(field) + 1e-6))[..., None]
    return (a * (1 - weight) + b * weight) * _light(rng, height, width, rng.uniform(0.1, 0.4))


PHOTOS = {"landscape": _landscape, "room": _indoor, "poster": _poster, "portrait": _face, "pet": _pet,
          "close texture": _textured_scene}


def photo_like(rng, kind: str | None = None) -> bytes:
    """A photo-like picture without a digit (one of PHOTOS, at random unless named), saved as a phone's
    JPEG or, one in four, as a PNG."""
    kind = kind or list(PHOTOS)[int(rng.integers(len(PHOTOS)))]
    height, width = int(rng.integers(300, 600)), int(rng.integers(300, 700))
    image = PHOTOS[kind](rng, height, width)
    if rng.random() < 0.25:
        return encode(Image.fromarray(np.clip(ndimage.gaussian_filter(image, (0.7, 0.7, 0)), 0, 255).astype(np.uint8)))
    return _as_photo(image, rng)


# ---- the measurement -------------------------------------------------------------------------------------

SCENE_SEED = 2700  # per kind: SCENE_SEED + the kind's index; a run is repeatable
PHOTO_SEED = 2800


@dataclass
class ProxyFigures:
    source: str
    count: int
    scenes: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> right, no_digit
    photos: dict[str, float] = field(default_factory=dict)  # kind -> share answered "no digit"
    misses: dict[str, list[dict]] = field(default_factory=dict)  # kind -> [{index, label, answer}]
    marks: dict[str, float] = field(default_factory=dict)  # circled: each mark -> read right
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"suite": "proxy scenes", "source": self.source, "count": self.count,
                "scenes": {name: {key: round(value, 4) for key, value in figure.items()}
                           for name, figure in self.scenes.items()},
                "photos_no_digit": {name: round(share, 4) for name, share in self.photos.items()},
                "circled_by_mark": {name: round(share, 4) for name, share in self.marks.items()},
                "misses": self.misses, "seconds": round(self.seconds, 1)}

    def to_text(self) -> str:
        lines = [f"{self.count} digits ({self.source}) per scene; {self.seconds:.0f} s",
                 "  scene                 read right  no digit"]
        lines += [f"  {name:20s} {f['right']:10.1%} {f['no_digit']:9.1%}" for name, f in self.scenes.items()]
        if self.marks:
            lines += ["  circled, by mark"] + [f"    {name:18s} {share:10.1%}" for name, share in self.marks.items()]
        if self.photos:
            lines += ["  photo without a digit  answered 'no digit'"]
            lines += [f"  {name:20s} {share:10.1%}" for name, share in self.photos.items()]
        return "\n".join(lines)


def digit_source(source: str, count: int, data=None) -> tuple[list[np.ndarray], np.ndarray]:
    """The inks and labels of `count` digits: "validation" or "test" (MNIST) or "typefaces" (held out)."""
    if source == "typefaces":
        inks, labels, _ = typeface_inks(count, SCENE_SEED)
        return inks, labels
    from training.data import load_mnist
    from training.style_shift import validation_digits

    mnist = load_mnist(data)
    x, y = validation_digits(mnist) if source == "validation" else (mnist.x_test, mnist.y_test)
    return mnist_inks(x[:count]), np.asarray(y[:count])


def render(kind: str, inks: list[np.ndarray]) -> list[bytes]:
    """Each ink drawn into scene `kind`, seeded by the kind (the same pictures every run)."""
    rng = np.random.default_rng(SCENE_SEED + list(SCENES).index(kind))
    if kind == "circled":  # each mark in turn, so that each is measured on as many digits
        return [circled(ink, rng, MARKS[index % len(MARKS)]) for index, ink in enumerate(inks)]
    return [SCENES[kind](ink, rng) for ink in inks]


def render_photos(kind: str, count: int) -> list[bytes]:
    rng = np.random.default_rng(PHOTO_SEED + list(PHOTOS).index(kind))
    return [photo_like(rng, kind) for _ in range(count)]


def measure(classify, source: str, count: int, data=None, photos: int = 0,
            kinds: tuple[str, ...] = tuple(SCENES)) -> ProxyFigures:
    """`classify(bytes) -> digit or None` on every scene kind with the same `count` digits of `source`,
    and on `photos` photo-like pictures of each kind without a digit."""
    started = time.perf_counter()
    inks, labels = digit_source(source, count, data)
    figures = ProxyFigures(source, count)
    for kind in kinds:
        answers = [classify(upload) for upload in render(kind, inks)]
        figures.scenes[kind] = {"right": float(np.mean([a == label for a, label in zip(answers, labels)])),
                                "no_digit": float(np.mean([a is None for a in answers]))}
        figures.misses[kind] = [{"index": i, "label": int(label), "answer": answer}
                                for i, (answer, label) in enumerate(zip(answers, labels)) if answer != label]
        if kind == "circled":
            for index, mark in enumerate(MARKS):
                figures.marks[mark] = float(np.mean([a == label for a, label in
                                                     zip(answers[index::len(MARKS)], labels[index::len(MARKS)])]))
    for kind in PHOTOS if photos else ():
        figures.photos[kind] = float(np.mean([classify(upload) is None for upload in render_photos(kind, photos)]))
    figures.seconds = time.perf_counter() - started
    return figures


def mark_of(kind: str, index: int) -> str:
    return f"-{MARKS[index % len(MARKS)].replace(' ', '-')}" if kind == "circled" else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="digits per scene")
    parser.add_argument("--photos", type=int, default=0, help="photo-like pictures per kind without a digit")
    parser.add_argument("--source", choices=["validation", "typefaces", "test"], default="validation")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--data", default=None, help="mnist.npz")
    parser.add_argument("--save", default=None, help="a folder to write the pictures to (for `digits classify --trace`)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.save:
        from pathlib import Path

        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        inks, labels = digit_source(args.source, args.count, args.data)
        for kind in SCENES:
            for index, (upload, label) in enumerate(zip(render(kind, inks), labels)):
                (folder / f"{kind.replace(' ', '-')}-{index:03d}-{label}{mark_of(kind, index)}.jpg").write_bytes(upload)
        for kind in PHOTOS if args.photos else ():
            for index, upload in enumerate(render_photos(kind, args.photos)):
                suffix = "png" if upload[:4] == b"\x89PNG" else "jpg"
                (folder / f"photo-{kind.replace(' ', '-')}-{index:03d}.{suffix}").write_bytes(upload)
        return 0
    from digits.reader import Reader

    with Reader() as reader:
        figures = measure(lambda data: reader.classify(data, model=args.model).digit, args.source, args.count,
                          args.data, args.photos)
    print(json.dumps(figures.to_dict()) if args.json else figures.to_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
