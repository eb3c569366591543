"""Whole numbers composed from MNIST digits, as people write them: lines of ink for the number reader.

Each digit is cropped to its ink, scaled to a height that varies from digit to digit, slanted, its
stroke made bolder or thinner, and set beside the last one with the spacing people use:
  apart        a gap of 5% to 70% of the line's height between the two digits' boxes
  touching     the boxes meet or overlap by up to 12% of the narrower digit's width
  overlapping  the boxes overlap by 12% to 34% of the narrower digit's width (about a third)
(one spacing for the whole line, or each gap its own: WHOLE_LINE_SPACING, GAP_MIX) along a baseline that slopes and wanders. The line is then blurred, thinned or coarsened now and
then (pens, scans, photos) and fitted to the reader's frame with the serving code's own `fit_line`.
Training composes from the training digits; the validation suite and checkpoint choice from the
validation digits (training/data.validation_split); tests from the MNIST test digits.

Other writers: a share of training lines (TYPEFACE_LINES) is written in one hand drawn from a training
typeface family (training/typefaces.py: its digits rendered and read back as 28x28 uploads), most of its
digits in that hand and the rest MNIST's, as a person's digits vary; the held-out families write the
numbers the reader is chosen on (training/number_suite.py).

Surfaces (off unless a run asks, `surface_lines`): a share of the lines carries the marks a surface leaves in
the ink the served path hands the reader from a photo (`surface_marked`): strokes broken by a grain and
widened or thinned unevenly, pieces of a loop drawn round the number near its ends or above and below, a
stray curved stroke, a faint line through. The marks are drawn here from first principles; the held-out
surfaces the reader is chosen on (training/proxy_numbers.py) are not drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from digits.number_reader import WIDENED
from digits.preprocessing.number_line import LINE_HEIGHT, LINE_WIDTH, fit_line

SPACINGS = ("apart", "touching", "overlapping")
GAPS = {  # spacing: (low, high) gap, in line heights for "apart", else in the narrower digit's widths
    "apart": (0.05, 0.7),
    "touching": (-0.12, 0.0),
    "overlapping": (-0.34, -0.12),
}
# Training lines: half written with one spacing throughout (a writer who crowds every digit, as the suite's
# touching and overlapping numbers are), half with each gap drawn alone.
# The first 54 minutes of training drew every gap alone, half of them apart: whole lines of overlapping
# digits were rare (0.1% of 6-digit lines) and the reader fell 12 points short of the ceiling on them.
# Five runs later overlapping digits were still the furthest below the ceiling (most errors a digit misread
# beside its neighbour's ink), so the sixth run leans the mixes towards them (were a third each, and 0.4,
# 0.3, 0.3).
WHOLE_LINE_SPACING = 0.5
WHOLE_LINE_MIX = (0.25, 0.3, 0.45)  # apart, touching, overlapping: the spacing a whole line takes
GAP_MIX = (0.3, 0.3, 0.4)  # apart, touching, overlapping: each gap drawn alone
DIGIT_HEIGHT = 40  # pixels: digits are composed above the reader's resolution, then fitted down
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8)
LENGTH_WEIGHTS = (0.04, 0.16, 0.18, 0.18, 0.16, 0.14, 0.08, 0.06)  # 2-6 digits mostly
# The reader had seen only MNIST's ~500 writers; the maintainers read numbers by other writers. 40% of the
# lines were written in a training typeface's hand: enough to learn other shapes, while most lines stay
# MNIST's, whose spacing the reader was tuned on. From the sixth run half of them: the held-out families
# stayed 5-10 points below their ceiling, MNIST's writers 1-7.
TYPEFACE_LINES = 0.5
TYPEFACE_DIGITS = 0.8  # of such a line's digits, in that family's hand; the rest MNIST's
# Styles for training lines only, off unless a run asks for them (training/number_reader.py's --elastic-digits
# and --widened-lines; the shipped reader was trained without them, docs/numbers.md's ninth run tried them):
# - a share of the digits wobbled by a smooth random field (Simard et al. 2003; training/typefaces.py's
#   `elastic`, on the 28x28 digit), as a hand varies a digit from one number to the next: the held-out
#   families' errors are digits misread in a shape no training writer used;
# - a share of the crowded lines fitted widened as `read_number` reads them a second time
#   (digits/number_reader.py, WIDENED), so that second reading is of lines the reader was trained on.
ELASTIC_ALPHA = (15.0, 40.0)  # field scale (about 0.6-1.6 pixels' displacement on the 28x28 digit) ...
ELASTIC_SIGMA = 4.0  # ... smoothed this much: MNIST's usual setting (34 and 4)
# - a share of the typeface lines written in a training family's *heavy* hand (training/typefaces.py's
#   render_heavy_family: the family's boldest weight, its pen widened until the strokes touch): stop 52 traced
#   89 of 124 proxy and suite misses to shapes the reader and the classifier both misread, the held-out
#   families' 5/6 and 7/1 and bold grained chalk read as two digits (training/number_reader.py's --heavy-lines).

# - a share of the lines marked as a surface marks the ink (`surface_marked`, SurfaceMarks; training/number_reader.py's
#   --surface-lines): stops 53 and 54 gained clean typeface numbers from heavy lines on clean paper and lost the
#   proxies' overlapping numbers on chalk and in a loop, whose ink the reader had never seen broken or beside a
#   loop's pieces.


@dataclass(frozen=True)
class SurfaceMarks:
    """What a surface leaves in a line's ink, each mark drawn alone with its chance; lengths in the line's
    height (the composed ink, digits about DIGIT_HEIGHT tall). Chosen by eye on what find_ink/locate_line hand
    the reader from a few validation chalkboard and circled numbers (docs/numbers.md, stop 55), not tuned."""

    grain: float = 0.6  # chalk, a worn pen, a coarse photo: the strokes broken by a grain
    grain_size: tuple[float, float] = (0.012, 0.03)  # the grain's smoothing, of the padded line's height: ~1-2 px as read
    grain_loss: tuple[float, float] = (0.08, 0.25)  # of the line's area, the share the grain takes out of the ink
    uneven: float = 0.5  # pressure or a chalk's edge: the stroke widened in places and thinned in others
    uneven_length: float = 0.3  # the smooth field choosing where, varying over about this much of the line
    loop_pieces: float = 0.5  # pieces of a loop round the number that the path kept beside it
    loop_gap: tuple[float, float] = (0.05, 0.3)  # between the number's box and the loop, each side
    stray_stroke: float = 0.25  # a short curved stroke by an end, or above or below the number
    line_through: float = 0.15  # a faint line across the number (a ruling, a board's print)
    margin: float = 0.35  # room round the number for the marks


SURFACE_MARKS = SurfaceMarks()
MARK_KINDS = ("grain", "uneven", "loop_pieces", "stray_stroke", "line_through")  # SurfaceMarks' chances


def only_marks(kinds, marks: SurfaceMarks = SURFACE_MARKS) -> SurfaceMarks:
    """`marks` drawing only the kinds named (MARK_KINDS), the others' chances 0, each kept at its own chance."""
    unknown = set(kinds) - set(MARK_KINDS)
    if unknown:
        raise ValueError(f"unknown surface marks {sorted(unknown)}; known: {', '.join(MARK_KINDS)}")
    return replace(marks, **{kind: 0.0 for kind in MARK_KINDS if kind not in kinds})


def _stroke_width(height: int, rng: np.random.Generator) -> int:
    return max(1, round(height * rng.uniform(0.03, 0.09)))


def _draw(canvas: np.ndarray, points: np.ndarray, width: int, strength: float) -> None:
    """A stroke through `points` ((n, 2) x, y), at `strength` (0-1), onto a float canvas (max of the two)."""
    layer = Image.new("L", canvas.shape[::-1])
    ImageDraw.Draw(layer).line([tuple(p) for p in points.tolist()], fill=255, width=width, joint="curve")
    np.maximum(canvas, np.asarray(layer, np.float32) / 255.0 * strength, out=canvas)


def _uneven(ink: np.ndarray, rng: np.random.Generator, length: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=ink.shape), max(1.0, length * ink.shape[0] / 2))
    field /= field.std() + 1e-9
    wider, thinner = ndimage.grey_dilation(ink, size=(3, 3)), ndimage.grey_erosion(ink, size=(2, 2))
    return np.where(field > 0.6, wider, np.where(field < -0.6, thinner, ink))


def _grained(ink: np.ndarray, rng: np.random.Generator, size: float, loss: float) -> np.ndarray:
    grain = ndimage.gaussian_filter(rng.normal(size=ink.shape), max(0.5, size * ink.shape[0]))
    kept = grain > np.quantile(grain, loss)
    return ink * np.where(kept, 1.0, rng.uniform(0.0, 0.3)).astype(np.float32)


def _loop_pieces(canvas: np.ndarray, box: tuple[int, int, int, int], height: float, rng: np.random.Generator,
                 gap: tuple[float, float]) -> None:
    """1-3 arcs of an ellipse round `box` (left, top, right, bottom): mostly by the ends, else above or below."""
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    a = (right - left) / 2 + height * rng.uniform(*gap)
    b = (bottom - top) / 2 + height * rng.uniform(*gap)
    width, strength = _stroke_width(round(height), rng), rng.uniform(0.5, 1.0)
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.6:  # by an end: the loop's turn, short
            middle, span = rng.choice([0.0, np.pi]) + rng.normal(0, 0.35), rng.uniform(0.3, 1.2)
        else:  # above or below: a flat arc
            middle, span = rng.choice([np.pi / 2, -np.pi / 2]) + rng.normal(0, 0.4), rng.uniform(0.15, 0.5)
        angles = np.linspace(middle - span / 2, middle + span / 2, 24)
        wobble = 1 + rng.normal(0, 0.02) * np.sin(angles * 3 + rng.uniform(0, 6))
        _draw(canvas, np.stack([cx + a * wobble * np.cos(angles), cy + b * wobble * np.sin(angles)], axis=1),
              width, strength)


def _stray_stroke(canvas: np.ndarray, box: tuple[int, int, int, int], height: float,
                  rng: np.random.Generator) -> None:
    left, top, right, bottom = box
    if rng.random() < 0.7:  # by an end
        x = (left if rng.random() < 0.5 else right) + rng.normal(0, 0.15) * height
        y = rng.uniform(top, bottom)
    else:  # above or below
        x = rng.uniform(left, right)
        y = (top if rng.random() < 0.5 else bottom) + rng.normal(0, 0.1) * height
    start = np.array([x, y])
    direction = rng.normal(size=2)
    end = start + direction / (np.linalg.norm(direction) + 1e-9) * height * rng.uniform(0.2, 0.7)
    bend = (start + end) / 2 + rng.normal(0, 0.2, 2) * height
    t = np.linspace(0, 1, 16)[:, None]
    _draw(canvas, (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t ** 2 * end, _stroke_width(round(height), rng),
          rng.uniform(0.4, 1.0))


def _line_through(canvas: np.ndarray, box: tuple[int, int, int, int], height: float, rng: np.random.Generator) -> None:
    _, top, _, bottom = box
    y = rng.uniform(top, bottom + 0.1 * height)
    tilt = rng.normal(0, 0.02) * canvas.shape[1]
    _draw(canvas, np.array([[0, y - tilt], [canvas.shape[1] - 1, y + tilt]]), max(1, round(height * 0.03)),
          rng.uniform(0.15, 0.45))


def surface_marked(ink: np.ndarray, rng: np.random.Generator, marks: SurfaceMarks = SURFACE_MARKS) -> np.ndarray:
    """A line's ink (float (h, w) in [0, 1]) as a surface marks it (SurfaceMarks): the marks carry no label,
    the number is read as before. Cropped to the ink, marks included, as the served path crops a line."""
    height = float(ink.shape[0])
    pad = round(height * marks.margin)
    canvas = np.pad(ink, pad).astype(np.float32)
    box = (pad, pad, pad + ink.shape[1], pad + ink.shape[0])
    if rng.random() < marks.uneven:
        canvas = _uneven(canvas, rng, marks.uneven_length)
    if rng.random() < marks.loop_pieces:
        _loop_pieces(canvas, box, height, rng, marks.loop_gap)
    if rng.random() < marks.stray_stroke:
        _stray_stroke(canvas, box, height, rng)
    if rng.random() < marks.line_through:
        _line_through(canvas, box, height, rng)
    if rng.random() < marks.grain:
        canvas = _grained(canvas, rng, rng.uniform(*marks.grain_size), rng.uniform(*marks.grain_loss))
    rows, cols = np.flatnonzero(canvas.max(axis=1) > 0.05), np.flatnonzero(canvas.max(axis=0) > 0.05)
    if not len(rows):
        return ink
    return canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def by_family(images: np.ndarray, labels: np.ndarray, styles: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Typeface digits grouped by family: [(images, labels)] in the order families first appear, less any
    render the upload pipeline left (nearly) blank: no ink to compose."""
    inked = images.reshape(len(images), -1).max(axis=1) > 30
    return [(images[inked & (styles == name)], labels[inked & (styles == name)])
            for name in dict.fromkeys(styles.tolist())]


@dataclass(frozen=True)
class ComposedNumber:
    ink: np.ndarray  # float32 (h, w) in [0, 1], light ink on black
    labels: tuple[int, ...]
    boxes: tuple[tuple[int, int, int, int], ...]  # (left, top, right, bottom) of each digit in `ink`
    spacings: tuple[str, ...]  # between each digit and the next


def _digit_ink(digit: np.ndarray, height: int, slant_degrees: float, stroke: int) -> np.ndarray:
    rows, cols = np.flatnonzero(digit.max(axis=1) > 30), np.flatnonzero(digit.max(axis=0) > 30)
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    image = Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC)
    tan = np.tan(np.radians(slant_degrees))
    pad = int(abs(tan) * height) + 1
    image = image.crop((-pad, 0, width + pad, height))
    image = image.transform(image.size, Image.Transform.AFFINE, (1, tan, -tan * height / 2, 0, 1, 0),
                            Image.Resampling.BILINEAR)
    ink = np.asarray(image, np.float32) / 255.0
    if stroke > 0:
        ink = ndimage.grey_dilation(ink, size=(stroke + 1, stroke + 1))
    elif stroke < 0:
        ink = ndimage.grey_erosion(ink, size=(2, 2))
    cols = np.flatnonzero(ink.max(axis=0) > 0.1)
    return ink[:, cols[0] : cols[-1] + 1] if len(cols) else ink


def compose_number(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                   spacing: str | None = None) -> ComposedNumber:
    """The digits written left to right as one line of ink. `spacing`: every gap of that kind; None: half
    the lines take one spacing (WHOLE_LINE_MIX) for every gap, the other half draw each gap (GAP_MIX)."""
    base = DIGIT_HEIGHT * rng.uniform(0.8, 1.2)
    slant = rng.uniform(-18, 18)
    stroke = int(rng.choice([-1, 0, 0, 0, 1, 2], p=[0.1, 0.35, 0.15, 0.1, 0.2, 0.1]))
    inks = [_digit_ink(d, max(8, round(base * rng.uniform(0.82, 1.18))), slant + rng.normal(0, 4), stroke)
            for d in digits]
    if spacing is None and rng.random() < WHOLE_LINE_SPACING:
        spacing = str(rng.choice(SPACINGS, p=WHOLE_LINE_MIX))
    kinds = [spacing or str(rng.choice(SPACINGS, p=GAP_MIX)) for _ in range(len(inks) - 1)]
    slope, wander = rng.uniform(-0.08, 0.08), base * rng.uniform(0, 0.08)
    xs = [0]
    for previous, ink, kind in zip(inks, inks[1:], kinds):
        low, high = GAPS[kind]
        unit = base if kind == "apart" else min(previous.shape[1], ink.shape[1])
        xs.append(xs[-1] + previous.shape[1] + int(round(rng.uniform(low, high) * unit)))
    bottoms = [x * slope + rng.normal(0, wander) for x in xs]
    tops = [b - ink.shape[0] for b, ink in zip(bottoms, inks)]
    lift = -min(tops)
    height = int(np.ceil(max(bottoms) + lift)) + 1
    width = max(x + ink.shape[1] for x, ink in zip(xs, inks))
    canvas = np.zeros((height, width), np.float32)
    boxes = []
    for x, top, ink in zip(xs, tops, inks):
        y = int(round(top + lift))
        area = canvas[y : y + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(area, ink[: area.shape[0]], out=area)
        boxes.append((x, y, x + ink.shape[1], y + ink.shape[0]))
    return ComposedNumber(canvas, tuple(int(v) for v in labels), tuple(boxes), tuple(kinds))


def roughened(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How the ink reaches us now and then: a soft pen or focus, a coarse scan, a faint or uneven stroke."""
    if rng.random() < 0.3:
        ink = ndimage.gaussian_filter(ink, rng.uniform(0.5, 1.5))
    if rng.random() < 0.15:  # a coarse scan: drawn at a fraction of the size and scaled back
        factor = rng.uniform(0.3, 0.6)
        small = Image.fromarray(ink).resize((max(1, int(ink.shape[1] * factor)), max(1, int(ink.shape[0] * factor))),
                                            Image.Resampling.BILINEAR)
        ink = np.asarray(small.resize(ink.shape[::-1], Image.Resampling.BILINEAR), np.float32)
    if rng.random() < 0.1:  # a 1-bit scan
        ink = (ink > rng.uniform(0.3, 0.6)).astype(np.float32)
    if rng.random() < 0.3:  # uneven pressure along the line
        ink = ink * np.linspace(*rng.uniform(0.5, 1.0, 2), ink.shape[1], dtype=np.float32)
    return ink


def chosen_digits(x: np.ndarray, y: np.ndarray, length: int, rng: np.random.Generator, typefaces=None,
                  typeface_lines: float = TYPEFACE_LINES, typeface_digits: float = TYPEFACE_DIGITS,
                  heavy_typefaces=None, heavy_lines: float = 0.0):
    """`length` digits for one line: MNIST's, or (`typeface_lines` of the time) one family's of
    `typefaces` (by_family's list), each digit in that hand with probability `typeface_digits`.
    `heavy_typefaces` (by_family's list of heavy renders): `heavy_lines` of those typeface lines are written
    in one family's heavy hand instead (0, the default, draws nothing more from `rng`)."""
    chosen = rng.integers(0, len(x), length)
    images, labels = x[chosen], y[chosen]
    if typefaces and rng.random() < typeface_lines:
        hands = heavy_typefaces if heavy_typefaces and heavy_lines and rng.random() < heavy_lines else typefaces
        family_images, family_labels = hands[int(rng.integers(len(hands)))]
        hand = rng.random(length) < typeface_digits
        picked = rng.integers(0, len(family_images), int(hand.sum()))
        images, labels = images.copy(), labels.copy()
        images[hand], labels[hand] = family_images[picked], family_labels[picked]
    return images, labels


def wobbled(digits: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """uint8 (n, 28, 28) digits, `share` of them moved by a smooth random field (ELASTIC_ALPHA, ELASTIC_SIGMA)."""
    from training.typefaces import elastic

    digits = digits.copy()
    for index in np.flatnonzero(rng.random(len(digits)) < share):
        moved = elastic(digits[index].astype(np.float32), rng, rng.uniform(*ELASTIC_ALPHA), ELASTIC_SIGMA)
        if moved.max() > 30:  # ink left to crop
            digits[index] = np.clip(moved, 0, 255).astype(np.uint8)
    return digits


def line_batch(x: np.ndarray, y: np.ndarray, count: int, rng: np.random.Generator, spacing: str | None = None,
               lengths=LENGTHS, weights=LENGTH_WEIGHTS, rough: bool = True, typefaces=None,
               typeface_lines: float = TYPEFACE_LINES, typeface_digits: float = TYPEFACE_DIGITS,
               elastic_digits: float = 0.0, widened_lines: float = 0.0, heavy_typefaces=None, heavy_lines: float = 0.0,
               surface_lines: float = 0.0, surface_marks: SurfaceMarks = SURFACE_MARKS):
    """`count` composed numbers fitted to the reader's frame: images (count, H, W, 1) float32, labels
    padded with -1 (count, max length) int32, lengths (count,) int32, and the numbers themselves.
    `typefaces`: by_family's list, to write some lines in other hands (chosen_digits). `elastic_digits`:
    the share of digits wobbled (`wobbled`); `widened_lines`: the share of crowded lines (a gap touching or
    overlapping) fitted widened by WIDENED, as read_number reads them again (0, the default, draws nothing
    more from `rng`, so the suites' lines stay as they were). `heavy_typefaces`, `heavy_lines`: the share
    of the typeface lines in a heavy hand (chosen_digits). `surface_lines`: the share of lines marked as a
    surface marks them (`surface_marked` with `surface_marks`; 0, the default, draws nothing more from `rng`)."""
    images = np.zeros((count, LINE_HEIGHT, LINE_WIDTH, 1), np.float32)
    targets = np.full((count, max(lengths)), -1, np.int32)
    sizes = np.zeros(count, np.int32)
    numbers = []
    for i in range(count):
        length = int(rng.choice(lengths, p=np.asarray(weights) / np.sum(weights)))
        digits, labels = chosen_digits(x, y, length, rng, typefaces, typeface_lines, typeface_digits,
                                       heavy_typefaces, heavy_lines)
        if elastic_digits:
            digits = wobbled(digits, elastic_digits, rng)
        number = compose_number(digits, labels, rng, spacing)
        ink = surface_marked(number.ink, rng, surface_marks) if surface_lines and rng.random() < surface_lines else number.ink
        ink = roughened(ink, rng) if rough else ink
        crowded = any(kind != "apart" for kind in number.spacings)
        widen = WIDENED if widened_lines and crowded and rng.random() < widened_lines else 1.0
        images[i, ..., 0] = fit_line(ink, widen).pixels
        targets[i, :length] = number.labels
        sizes[i] = length
        numbers.append(number)
    return images, targets, sizes, numbers
