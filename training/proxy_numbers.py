"""Whole numbers on the proxy's surfaces: a check of the number path where people write numbers.

The whole-number suite (training/number_suite.py) writes its numbers on clean paper. People photograph
them on a page on a desk, on a ruled notebook page, on a chalkboard, or circle the answer. This module
writes the suite's composed numbers (the same seeds and spacings) onto the surfaces of the independent
proxy renderers (training/proxy_scenes.py: never used to train or tune anything, only to check and to
choose), with the number's digits sized as people write them on each surface:

- a paper photo: a sheet photographed, the digits 40-80 pixels tall;
- a page on a desk: the sheet a little turned on wood or a laminate, its shadow beside it;
- a ruled notebook: rulings and a margin line, the number sitting on a ruling, its digits about a
  ruling's spacing tall (24-36 pixels);
- a chalkboard: a green or black board, chalk broken by the board's grain, frame, glare;
- circled: the number on paper with a hand's loop round it all, in the same pen.

    python -m training.proxy_numbers [--per-spacing 30] [--source validation|typefaces|typefaces-2|test] [--save DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from PIL import Image
from scipy import ndimage

from training import proxy_scenes as scenes
from training.number_data import SPACINGS
from training.number_suite import SUITE_SEED, TEST_SEED, TYPEFACE_SEED, SuiteNumber, suite_numbers

SURFACE_SEED = 3100  # per surface: [SURFACE_SEED, the surface's index]; a run is repeatable


def _line_sized(ink: np.ndarray, digit_height: float) -> np.ndarray:
    """A composed number's ink (0-1) cropped to its box, scaled so that its line is `digit_height`
    pixels tall (float 0-255)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    return scenes.enlarged(np.clip(ink * 255, 0, 255).astype(np.uint8), round(max(height, width) * digit_height / height))


def paper_photo(ink: np.ndarray, rng, loop: bool = False) -> bytes:
    """The number in ballpoint on a sheet, photographed (with `loop`: a hand's loop drawn round it)."""
    digit_height = int(rng.integers(40, 80))
    line = _line_sized(ink, digit_height)
    height = int(line.shape[0] * rng.uniform(3, 5))
    width = int(line.shape[1] * rng.uniform(1.5, 2.2)) + 60
    image = scenes._paper(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = scenes._laid(layer, line, (width // 2, height // 2))
    pen = list(scenes.PENS)[int(rng.integers(2))]
    image = scenes._paint(image, layer / 255.0, *scenes.PENS[pen])
    if loop:
        drawn = np.zeros((height, width), np.float32)
        radii = ((x1 - x0) / 2 * rng.uniform(1.08, 1.25), (y1 - y0) / 2 * rng.uniform(1.3, 1.8))
        path = scenes._ellipse_path(((x0 + x1) / 2, (y0 + y1) / 2), radii, rng.uniform(0, 2 * np.pi),
                                    rng.uniform(6.0, 6.9) * rng.choice([-1, 1]), rng.uniform(-0.1, 0.1), rng)
        scenes._stroke(drawn, path, rng.uniform(0.03, 0.06) * digit_height, rng)
        image = scenes._paint(image, drawn, *scenes.PENS[pen])
    image = image * scenes._light(rng, height, width, rng.uniform(0.05, 0.3))
    return scenes._as_photo(image, rng)


def page_on_a_desk(ink: np.ndarray, rng) -> bytes:
    """The number on a sheet lying on a desk (wood grain, or a dark or pale laminate), a little turned,
    its shadow on the desk, photographed from above with the light falling off."""
    line = _line_sized(ink, int(rng.integers(30, 60)))
    page_h = int(line.shape[0] * rng.uniform(4, 7))
    page_w = max(int(page_h * rng.uniform(0.7, 1.4)), line.shape[1] + 80)
    page = scenes._paper(rng, page_h, page_w)
    layer = np.zeros((page_h, page_w), np.float32)
    scenes._laid(layer, line, (page_w // 2 + int(rng.integers(-20, 21)), page_h // 2 + int(rng.integers(-20, 21))))
    page = scenes._paint(page, layer / 255.0, *scenes.PENS[list(scenes.PENS)[int(rng.integers(2))]])
    angle = rng.uniform(-8, 8)
    turned = np.asarray(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True), np.float32)
    cover = np.asarray(Image.new("L", (page_w, page_h), 255).rotate(
        angle, resample=Image.Resampling.BILINEAR, expand=True), np.float32)[..., None] / 255.0
    height, width = int(turned.shape[0] * rng.uniform(1.2, 1.6)), int(turned.shape[1] * rng.uniform(1.2, 1.6))
    if rng.random() < 0.5:  # wood: rings along the boards, wavering
        rings = np.sin((np.mgrid[:height, :width][1] + 12 * scenes._smooth_field(rng, height, width, 25))
                       / rng.uniform(3, 8))
        desk = np.asarray([(150, 105, 65), (120, 80, 50), (185, 150, 110)][int(rng.integers(3))], np.float32) \
            * (1 + 0.1 * rings.astype(np.float32))[..., None]
    else:  # a laminate, dark or pale, a little textured
        desk = np.asarray([(45, 45, 50), (90, 95, 100), (200, 200, 195)][int(rng.integers(3))], np.float32) \
            + (4 * scenes._smooth_field(rng, height, width, 1.5))[..., None]
    top = int(rng.integers(0, height - turned.shape[0] + 1))
    left = int(rng.integers(0, width - turned.shape[1] + 1))
    shadow = np.zeros((height, width), np.float32)
    shadow[top : top + cover.shape[0], left : left + cover.shape[1]] = cover[..., 0]
    shadow = ndimage.gaussian_filter(ndimage.shift(shadow, (6, 6), order=0), 6)
    image = desk * (1 - 0.35 * shadow)[..., None]
    area = np.s_[top : top + turned.shape[0], left : left + turned.shape[1]]
    image[area] = image[area] * (1 - cover) + turned * cover
    image = image * scenes._light(rng, height, width, rng.uniform(0.05, 0.3))
    return scenes._as_photo(image, rng)


def circled(ink: np.ndarray, rng) -> bytes:
    return paper_photo(ink, rng, loop=True)


def ruled_notebook(ink: np.ndarray, rng) -> bytes:
    """The number on a ruled page, sitting on a ruling, photographed: blue rulings, a red margin line."""
    spacing = int(rng.integers(24, 36))
    line = _line_sized(ink, spacing * rng.uniform(0.8, 1.3))
    height = int(rng.integers(420, 560))
    width = max(int(rng.integers(360, 480)), line.shape[1] + 160)
    image, rulings_at, margin_x = ruled_page(rng, height, width, spacing)
    on = rulings_at[len(rulings_at) // 2]
    layer = np.zeros((height, width), np.float32)
    cx = int(rng.integers(margin_x + line.shape[1] // 2 + 15, width - line.shape[1] // 2 - 10))
    scenes._laid(layer, line, (cx, int(on - line.shape[0] / 2 + rng.uniform(0, 0.15) * line.shape[0])))
    image = scenes._paint(image, layer / 255.0, *scenes.PENS[list(scenes.PENS)[int(rng.integers(2))]])
    image = image * scenes._light(rng, height, width, rng.uniform(0.05, 0.3))
    return scenes._as_photo(image, rng)


def ruled_page(rng, height: int, width: int, spacing: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A ruled notebook page, not yet written on: blue rulings `spacing` pixels apart from a row drawn at
    random, a red margin line down it. Returns the page, the rulings' rows and the margin line's column."""
    image = scenes._paper(rng, height, width)
    rulings = np.zeros((height, width), np.float32)
    first = int(rng.integers(25, 70))
    for y in range(first, height, spacing):
        scenes._stroke(rulings, np.array([[0.0, y], [width, y + rng.uniform(-2, 2)]]), rng.uniform(0.8, 2.2), rng,
                       pressure=0.0)
    image = scenes._paint(image, rulings, (130, 165, 215), rng.uniform(0.6, 1.0))
    margin_x = int(rng.integers(35, 80))
    margin = np.zeros((height, width), np.float32)
    scenes._stroke(margin, np.array([[margin_x, 0.0], [margin_x, height]]), rng.uniform(1, 2.5), rng, pressure=0.0)
    image = scenes._paint(image, margin, (210, 85, 95), rng.uniform(0.7, 1.0))
    return image, np.arange(first, height, spacing), margin_x


def chalkboard(ink: np.ndarray, rng) -> bytes:
    """The number in chalk on a board, photographed (the proxy's board, chalk, frame, light and glare)."""
    line = _line_sized(ink, int(rng.integers(60, 120)))
    height = int(rng.integers(420, 540))
    width = max(int(rng.integers(560, 720)), line.shape[1] + 120)
    board = scenes._board_surface(rng, height, width)
    layer = np.zeros((height, width), np.float32)
    scenes._laid(layer, line, (width // 2, height // 2 + int(rng.integers(-50, 51))))
    image = scenes._paint(board, scenes._chalk_stroke(layer, rng), scenes._chalk_colour(rng), 1.0)
    return scenes._as_photo(scenes._board_photographed(image, rng), rng)


SURFACES = {"paper photo": paper_photo, "page on a desk": page_on_a_desk, "ruled notebook": ruled_notebook, "chalkboard": chalkboard,
            "circled": circled}


def numbers(source: str, per_spacing: int, data=None) -> list[SuiteNumber]:
    """The whole-number suite's numbers (its seeds): "validation" or "test" (MNIST) digits, or "typefaces" /
    "typefaces-2" (the first / second held-out set's families, each number by one)."""
    if source in ("typefaces", "typefaces-2"):
        from training.number_suite import typeface_numbers
        from training.typefaces import SUITES, load_typeface_suite

        return typeface_numbers(per_spacing, TYPEFACE_SEED, load_typeface_suite(split=SUITES[source]))
    from training.config import NumberReaderTrainConfig
    from training.data import load_mnist, validation_split

    mnist = load_mnist(data)
    if source == "test":
        return suite_numbers(mnist.x_test, mnist.y_test, per_spacing, TEST_SEED)
    config = NumberReaderTrainConfig()
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    return suite_numbers(x_val, y_val, per_spacing, SUITE_SEED)


def render(surface: str, suite: list[SuiteNumber]) -> list[bytes]:
    """Each number written on `surface`, seeded by the surface (the same pictures every run)."""
    rng = np.random.default_rng([SURFACE_SEED, list(SURFACES).index(surface)])
    return [SURFACES[surface](number.ink, rng) for number in suite]


def measure(read, suite: list[SuiteNumber], surfaces=tuple(SURFACES)) -> dict:
    """`read(bytes) -> the number read (a string, "" for none)` on every surface: per surface and
    spacing, the share of numbers read whole and with the right count of digits, and the misses."""
    figures: dict = {}
    for surface in surfaces:
        answers = [read(upload) for upload in render(surface, suite)]
        figures[surface] = {}
        for spacing in SPACINGS:
            pairs = [(a, n.truth) for a, n in zip(answers, suite) if n.spacing == spacing]
            figures[surface][spacing] = {"whole": float(np.mean([a == t for a, t in pairs])),
                                         "count": float(np.mean([len(a) == len(t) for a, t in pairs])), "n": len(pairs)}
        figures[surface]["misses"] = [{"index": i, "truth": n.truth, "read": a, "spacing": n.spacing}
                                      for i, (a, n) in enumerate(zip(answers, suite)) if a != n.truth]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-spacing", type=int, default=30, help="numbers of each spacing")
    parser.add_argument("--source", choices=["validation", "typefaces", "typefaces-2", "test"], default="validation")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--data", default=None, help="mnist.npz")
    parser.add_argument("--save", default=None, help="a folder to write the pictures to (for `digits read --trace`)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    suite = numbers(args.source, args.per_spacing, args.data)
    if args.save:
        from pathlib import Path

        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        for surface in SURFACES:
            for index, (upload, number) in enumerate(zip(render(surface, suite), suite)):
                (folder / f"{surface.replace(' ', '-')}-{number.spacing}-{index:03d}-{number.truth}.jpg").write_bytes(upload)
        return 0
    from digits.reader import Reader

    with Reader() as reader:
        figures = measure(lambda data: reader.read_number(data, model=args.model).number, suite)
    if args.json:
        print(json.dumps({"suite": "proxy numbers", "source": args.source, "per_spacing": args.per_spacing,
                          "surfaces": figures, "seconds": round(time.perf_counter() - started, 1)}))
    else:
        print(f"{args.per_spacing} numbers ({args.source}) per spacing on each surface; "
              f"{time.perf_counter() - started:.0f} s\n  surface          spacing      whole   count")
        for surface, by_spacing in figures.items():
            for spacing in SPACINGS:
                f = by_spacing[spacing]
                print(f"  {surface:16s} {spacing:11s} {f['whole']:6.1%} {f['count']:7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
