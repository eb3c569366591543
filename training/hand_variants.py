"""Digits as other people write them, redrawn from the pen strokes of MNIST digits.

On writers outside MNIST the CNN's commonest mistakes are shapes MNIST's writers rarely draw and the
typefaces (training/typefaces.py) do not draw either (docs/typefaces.md): a 9 whose tail curls or
hooks back, a 1 with a long flag from its top (and a foot), a 7 crossed or with a curved stem, a 4
whose top is open, bold pens that fill the box. Each variant here is a transform of a digit's traced
strokes (training/digit_strokes.py: the skeleton as polylines), drawn again with a pen of its own
width, slant and pressure, saved as an upload's bytes and read back through `prepare_upload`, as the
styled and typeface training digits are.

Honest choice: every variant has a training range of its parameters and a held-out range never
trained on (a 9's hook turns up to 150 degrees in training, 170-280 in the held-out curl; a 1's flag
is longer and steeper; bolder pens ...), and the held-out suite redraws MNIST *validation* digits while
training variants redraw training digits. `digits evaluate MODEL --suite hand-variants` scores the
held-out suite; `digits train cnn --init-from ... --hand-variants N` adds N training renders per variant.
"""

import concurrent.futures
import hashlib
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from digits.preprocessing import prepare_upload
from training.data import Mnist
from training.digit_strokes import skeleton_strokes
from training.style_shift import StyledSet, cache_key, cached, split_digits
from training.styles import BLUE_INK, Upload, encode, in_colour, on_paper
from training.typefaces import elastic, on_a_page, scaled_to

SUITE = "hand-variants"
SUITE_PER_VARIANT = 200  # held-out renders of each variant (MNIST validation digits)
SUITE_SEED = 45
TRAINING_SEED = 46
DIGIT_HEIGHT = 96  # pixels: the strokes are redrawn at this height, where a pen is several pixels wide
TRAINING, HELD_OUT = "training", "held-out"

Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1e-3)

    @property
    def width(self) -> float:
        return max(self.right - self.left, 1e-3)


def box_of(strokes: list[Stroke]) -> Box:
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    return Box(min(xs), min(ys), max(xs), max(ys))


def uniform(rng, side: str, training: tuple[float, float], held_out: tuple[float, float]) -> float:
    """A parameter from its training range, or from its held-out range (never trained on)."""
    return float(rng.uniform(*(training if side == TRAINING else held_out)))


def arc(start: tuple[float, float], heading: float, radius: float, turn: float, steps: int = 12) -> Stroke:
    """Points along a circular arc from `start`, setting off at `heading` (radians, image axes: y down) and
    turning by `turn` radians (positive: clockwise on the page, from down towards the left)."""
    x, y = start
    step = radius * abs(turn) / steps
    points = []
    for _ in range(steps):
        heading += turn / steps
        x, y = x + step * np.cos(heading), y + step * np.sin(heading)
        points.append((x, y))
    return points


def oriented_to(stroke: Stroke, end: tuple[float, float]) -> Stroke:
    """The stroke, reversed if need be so that it finishes at `end`."""
    return stroke if stroke[-1] == end else stroke[::-1]


def stroke_points_near_row(strokes: list[Stroke], row: float, tolerance: float) -> list[tuple[float, float]]:
    return [(x, y) for stroke in strokes for x, y in stroke if abs(y - row) <= tolerance]


# ---- the variants: each (strokes, rng, side) -> strokes, or None where the digit does not lend itself ----

def hooked_nine(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """A 9 whose tail hooks back to the left at its foot (training: a hook of 60-150 degrees); held out:
    a curl of 170-280 degrees, the tail coming back up towards the loop."""
    box = box_of(strokes)
    ends = [(stroke[0], index) for index, stroke in enumerate(strokes)] + \
           [(stroke[-1], index) for index, stroke in enumerate(strokes)]
    (end, index) = max(ends, key=lambda item: item[0][1])
    if end[1] < box.top + 0.7 * box.height:
        return None  # no tail at the foot
    tail = oriented_to(strokes[index], end)
    back = tail[max(0, len(tail) - 4)]
    heading = float(np.arctan2(end[1] - back[1], end[0] - back[0]))
    turn = np.radians(uniform(rng, side, (60, 150), (170, 280)))
    radius = uniform(rng, side, (0.06, 0.14), (0.07, 0.12)) * box.height
    return [*strokes[:index], tail + arc(end, heading, radius, turn), *strokes[index + 1:]]


def flagged_one(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """A 1 with a long up-stroke into its top, sometimes with a foot (training: a flag 0.25-0.45 of its
    height at 20-45 degrees below the horizontal); held out: longer and steeper flags, 0.45-0.65 at 45-65."""
    box = box_of(strokes)
    top = min((point for stroke in strokes for point in stroke), key=lambda point: point[1])
    length = uniform(rng, side, (0.25, 0.45), (0.45, 0.65)) * box.height
    angle = np.radians(uniform(rng, side, (20, 45), (45, 65)))
    added = [[(top[0] - length * np.cos(angle), top[1] + length * np.sin(angle)), top]]
    if rng.random() < 0.4:
        bottom = max((point for stroke in strokes for point in stroke), key=lambda point: point[1])
        half = uniform(rng, side, (0.12, 0.22), (0.22, 0.3)) * box.height
        added.append([(bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1])])
    return strokes + added


def crossed_seven(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """A 7 with a bar across its stem (training: at 45-60% of its height); held out: higher, 32-42%."""
    box = box_of(strokes)
    row = box.top + uniform(rng, side, (0.45, 0.6), (0.32, 0.42)) * box.height
    crossing = stroke_points_near_row(strokes, row, 0.02)
    if not crossing or np.ptp([x for x, _ in crossing]) > 0.4 * box.width:
        return None  # no single stem at that height
    centre = float(np.mean([x for x, _ in crossing]))
    half, tilt = rng.uniform(0.15, 0.28) * box.height, rng.uniform(-0.05, 0.05) * box.height
    return strokes + [[(centre - half, row + tilt), (centre + half, row - tilt)]]


def curved_seven(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """A 7 whose stem bows out to the right, like a ')' (training: by 0.06-0.15 of its height); held out:
    an S-shaped stem, bowing right then left."""
    box = box_of(strokes)
    start = box.top + 0.2 * box.height
    amount = uniform(rng, side, (0.06, 0.15), (0.06, 0.12)) * box.height
    waves = 1.0 if side == TRAINING else 2.0

    def bent(x: float, y: float) -> tuple[float, float]:
        along = np.clip((y - start) / (box.bottom - start), 0.0, 1.0)
        return x + amount * np.sin(np.pi * waves * along), y

    return [[bent(x, y) for x, y in stroke] for stroke in strokes]


def open_four(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """A 4 whose top is open: the arm and the stem do not meet there, and the stem rises above the arm
    (training: the gap the middle 40% of the top band, the stem 5-20% of the height taller); held out: a
    wider gap (60%) and a stem 20-35% taller."""
    box = box_of(strokes)
    band = box.top + 0.3 * box.height
    in_band = [x for stroke in strokes for x, y in stroke if y < band]
    low, high = min(in_band), max(in_band)
    gap = 0.4 if side == TRAINING else 0.6
    cut_left, cut_right = low + (1 - gap) / 2 * (high - low), high - (1 - gap) / 2 * (high - low)
    pieces = []
    for stroke in strokes:  # each stroke split where it crosses the gap
        piece = []
        for x, y in stroke:
            if y < band and cut_left < x < cut_right:
                pieces += [piece] if len(piece) > 1 else []
                piece = []
            else:
                piece.append((x, y))
        pieces += [piece] if len(piece) > 1 else []
    if not pieces:
        return None
    centre = (box.left + box.right) / 2
    top = min((point for piece in pieces for point in piece if point[0] > centre), key=lambda point: point[1],
              default=None)  # the stem's top: the highest ink right of the middle
    if top is None:
        return None
    rise = uniform(rng, side, (0.05, 0.2), (0.2, 0.35)) * box.height
    return pieces + [[top, (top[0] + rng.uniform(-0.05, 0.05) * rise, top[1] - rise)]]


def as_written(strokes: list[Stroke], rng, side: str) -> list[Stroke] | None:
    """The strokes as they are: the pen alone (width, slant, pressure, wobble) makes the variant."""
    return strokes


@dataclass(frozen=True)
class Pen:
    """How a variant's strokes are drawn: pen width as a share of the digit's height, slant (degrees,
    positive leans right), pressure (how much the width swells and thins along a stroke) and how far the
    digit is stretched across towards filling a square box."""
    width: tuple[tuple[float, float], tuple[float, float]]  # (training range, held-out range)
    slant: tuple[tuple[float, float], tuple[float, float]] = ((-15, 25), (-25, 35))
    pressure: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.4), (0.3, 0.6))
    fill_box: bool = False


USUAL_PEN = Pen(width=((0.06, 0.16), (0.04, 0.18)))
BOLD_PEN = Pen(width=((0.18, 0.26), (0.26, 0.34)), fill_box=True)  # a marker filling the box


@dataclass(frozen=True)
class Variant:
    digits: tuple[int, ...] | None  # the digits it applies to, or None for all
    transform: Callable
    pen: Pen = USUAL_PEN


VARIANTS = {  # (new variants go last: the others keep their seeds)
    "hooked_9": Variant((9,), hooked_nine),
    "flagged_1": Variant((1,), flagged_one),
    "crossed_7": Variant((7,), crossed_seven),
    "curved_7": Variant((7,), curved_seven),
    "open_4": Variant((4,), open_four),
    "bold_box": Variant(None, as_written, BOLD_PEN),
    "hand": Variant(None, as_written),
}


# ---- drawing ---------------------------------------------------------------------------------------

def pen_ink(strokes: list[Stroke], pen: Pen, rng, side: str) -> np.ndarray:
    """Float ink in [0, 1]: the strokes scaled to DIGIT_HEIGHT, slanted and stretched, stamped with a
    round pen whose width swells and thins along each stroke."""
    box = box_of(strokes)
    scale = DIGIT_HEIGHT / box.height
    slant = np.tan(np.radians(uniform(rng, side, *pen.slant)))
    stretch = 1.0
    if pen.fill_box:  # across towards as wide as tall
        stretch = 1.0 + rng.uniform(0.3, 1.0) * max(box.height / box.width - 1.0, 0.0)
    width = uniform(rng, side, *pen.width) * DIGIT_HEIGHT
    pressure = uniform(rng, side, *pen.pressure)
    margin = width + DIGIT_HEIGHT * (abs(slant) + 0.3)
    centre_y = (box.top + box.bottom) / 2

    def placed(x: float, y: float) -> tuple[float, float]:
        return ((x - box.left) * scale * stretch + slant * (centre_y - y) * scale + margin,
                (y - box.top) * scale + margin)

    canvas = Image.new("L", (int(box.width * scale * stretch + 2 * margin), int(DIGIT_HEIGHT + 2 * margin)), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        points = np.array([placed(x, y) for x, y in stroke])
        lengths = np.r_[0.0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))] if len(points) > 1 else np.zeros(1)
        along = np.linspace(0.0, lengths[-1], max(int(lengths[-1]), 1) + 1)
        xs, ys = np.interp(along, lengths, points[:, 0]), np.interp(along, lengths, points[:, 1])
        phase, waves = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
        radii = width / 2 * (1 + pressure * np.sin(phase + 2 * np.pi * waves * along / DIGIT_HEIGHT))
        for x, y, radius in zip(xs, ys, np.maximum(radii, 1.0)):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    ink = np.asarray(canvas.filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255.0
    if rng.random() < 0.5:
        ink = elastic(ink, rng, alpha=rng.uniform(20, 60), sigma=rng.uniform(6, 10))
    return ink


def render_variant(digit: np.ndarray, variant: Variant, rng, side: str) -> Upload | None:
    """One MNIST digit redrawn as `variant`, handed to us as a file: a grey scan, a colour JPEG, light on
    dark, or an app's drawing on a transparent background; None where the variant does not apply."""
    strokes = [stroke for stroke in skeleton_strokes(digit) if len(stroke) > 1]
    if not strokes:
        return None
    strokes = variant.transform(strokes, rng, side)
    if strokes is None:
        return None
    ink = on_a_page(pen_ink(strokes, variant.pen, rng, side), rng)
    ink = scaled_to(ink, int(rng.integers(40, 200)))
    delivery = rng.random()
    if delivery < 0.4:
        return encode(on_paper(ink, rng, paper=rng.uniform(215, 250), ink_level=rng.uniform(10, 80)), "PNG", "digit.png")
    if delivery < 0.7:
        colour = [(20, 20, 20), BLUE_INK, (120, 20, 20)][rng.integers(3)]
        return encode(in_colour(ink, rng, colour=colour), "JPEG", "digit.jpg", quality=int(rng.integers(60, 95)))
    if delivery < 0.8:
        return encode(np.uint8(np.clip(ink * rng.uniform(180, 255), 0, 255)), "PNG", "digit.png")  # light on dark
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = np.uint8(np.clip(ink * 255, 0, 255))
    return encode(rgba, "PNG", "drawing.png")


def render_one_variant(name: str, x: np.ndarray, y: np.ndarray, count: int, seed: int, side: str):
    """(images, sources): `count` digits of (x, y) as variant `name`, read back through prepare_upload; a
    seeded sample of the digits it applies to, skipping those it cannot be drawn on."""
    variant = VARIANTS[name]
    rng = np.random.default_rng([seed, list(VARIANTS).index(name)])
    candidates = np.flatnonzero(np.isin(y, variant.digits)) if variant.digits else np.arange(len(y))
    images, sources = [], []
    for index in rng.permutation(candidates):
        upload = render_variant(x[index], variant, rng, side)
        if upload is None:
            continue
        pixels = prepare_upload(upload.data, upload.filename).pixels
        if pixels.max() == 0:
            continue  # the pipeline found nothing: a blank 28x28 teaches and measures nothing
        images.append(pixels)
        sources.append(int(index))
        if len(images) == count:
            break
    return images, sources


def render_variants(x: np.ndarray, y: np.ndarray, count: int, seed: int, side: str, data_sha256: str) -> StyledSet:
    """`count` digits of (x, y) as each variant, on every core (each variant its own seeded generator)."""
    names = list(VARIANTS)
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(render_one_variant, names, [x] * len(names), [y] * len(names),
                              [count] * len(names), [seed] * len(names), [side] * len(names)))
    sources = np.array([index for _, part_sources in parts for index in part_sources], np.int64)
    styles = np.array([name for name, (images, _) in zip(names, parts) for _ in images])
    return StyledSet(np.stack([image for images, _ in parts for image in images]), y[sources].astype(np.int64),
                     styles, sources, data_sha256)


# This file's hash, a part of the cache keys: read once at import (a file edited later must not change a running
# process's keys, or it would cache what its old code drew under the new code's key)
SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def load_variant_suite(mnist: Mnist, per_variant: int = SUITE_PER_VARIANT, cache: bool = True) -> StyledSet:
    """The held-out suite: MNIST validation digits as each variant, its parameters from the held-out ranges."""
    x_val, y_val = split_digits(mnist, "validation")
    key = cache_key(mnist.sha256, "validation", per_variant, SUITE_SEED, HELD_OUT, SOURCE_DIGEST)
    return cached(SUITE, key, lambda: render_variants(x_val, y_val, per_variant, SUITE_SEED, HELD_OUT, mnist.sha256),
                  mnist.sha256, cache)


def variant_training_digits(mnist: Mnist, per_variant: int, limit: int | None = None) -> StyledSet:
    """Training-split digits (the first `limit` only, if given) as each variant, from the training ranges."""
    x_train, y_train = split_digits(mnist, "train")
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    key = cache_key(mnist.sha256, "train", limit, per_variant, TRAINING_SEED, TRAINING, SOURCE_DIGEST)
    return cached("hand-variants-training", key,
                  lambda: render_variants(x_train, y_train, per_variant, TRAINING_SEED, TRAINING, mnist.sha256),
                  mnist.sha256)
