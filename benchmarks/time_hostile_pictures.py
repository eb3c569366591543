"""The CPU time of the worst pictures we know of for the reading pipeline: patterns of thousands of
marks, grids, nested frames, noise. Each is a small PNG (and the same as a JPEG) under the size limits; each must cost under
0.5 s to classify (prepare_upload) and to read as a number (prepare_number). Seeded; prints one line
per picture and the worst.

    python -m benchmarks.time_hostile_pictures [--repeat 1]
"""

import argparse
import io
import time

import numpy as np
from PIL import Image, ImageDraw

from digits.bench import png_bytes
from digits.preprocessing import prepare_number, prepare_upload

SIDE = 512  # the working size: larger pictures are shrunk to it before any of this runs


def hostile_pictures(seed: int = 0) -> dict[str, bytes]:
    random = np.random.default_rng(seed)
    white = lambda: np.full((SIDE, SIDE), 255, np.uint8)  # noqa: E731
    pictures = {}
    for step in (2, 3, 4, 6):
        dots = white()
        dots[::step, ::step] = 0
        pictures[f"dots every {step} px"] = png_bytes(dots)
    for share in (0.05, 0.2, 0.5):
        salt = np.where(random.random((SIDE, SIDE)) < share, 0, 255).astype(np.uint8)
        pictures[f"salt and pepper {share:.0%}"] = png_bytes(salt)
    pictures["grey noise"] = png_bytes(random.integers(0, 256, (SIDE, SIDE), dtype=np.uint8))
    checker = ((np.indices((SIDE, SIDE)).sum(axis=0) % 2) * 255).astype(np.uint8)
    pictures["checkerboard"] = png_bytes(checker)
    grid = white()
    grid[::4], grid[:, ::4] = 0, 0
    pictures["grid every 4 px"] = png_bytes(grid)
    for step, name in ((2, "rows"), (3, "rows 3")):
        stripes = white()
        stripes[::step] = 0
        pictures[f"stripes {name}"] = png_bytes(stripes)
        pictures[f"stripes {name} upright"] = png_bytes(stripes.T.copy())
    for step in (4, 8):
        image = Image.new("L", (SIDE, SIDE), 255)
        draw = ImageDraw.Draw(image)
        for inset in range(0, SIDE // 2, step):
            draw.rectangle((inset, inset, SIDE - 1 - inset, SIDE - 1 - inset), outline=0)
        pictures[f"nested frames every {step} px"] = png_bytes(np.asarray(image))
        image = Image.new("L", (SIDE, SIDE), 255)
        draw = ImageDraw.Draw(image)
        for radius in range(step, SIDE // 2, step):
            draw.ellipse((SIDE // 2 - radius, SIDE // 2 - radius, SIDE // 2 + radius, SIDE // 2 + radius), outline=0)
        pictures[f"rings every {step} px"] = png_bytes(np.asarray(image))
    for cell in (8, 16, 32):
        image = Image.new("L", (SIDE, SIDE), 255)
        draw = ImageDraw.Draw(image)
        for top in range(0, SIDE, cell):
            for left in range(0, SIDE, cell):
                draw.rectangle((left + 1, top + 1, left + cell - 3, top + cell - 3), outline=0)
        pictures[f"boxes {cell} px"] = png_bytes(np.asarray(image))
        image = Image.new("L", (SIDE, SIDE), 255)
        draw = ImageDraw.Draw(image)
        for top in range(0, SIDE, cell):
            for left in range(0, SIDE, cell):
                draw.ellipse((left + 1, top + 1, left + cell - 2, top + cell - 2), outline=0, width=max(1, cell // 8))
        pictures[f"rings of {cell} px"] = png_bytes(np.asarray(image))
    for count in (2000, 20000):
        image = Image.new("L", (SIDE, SIDE), 255)
        draw = ImageDraw.Draw(image)
        for _ in range(count):
            x, y = random.integers(0, SIDE, 2)
            dx, dy = random.integers(-12, 13, 2)
            draw.line((int(x), int(y), int(x + dx), int(y + dy)), fill=0, width=1)
        pictures[f"{count} scribbles"] = png_bytes(np.asarray(image))
    wide = np.full((8, 4096), 255, np.uint8)
    wide[:, ::2] = 0
    pictures["8 x 4096 comb"] = png_bytes(wide)
    return pictures


def time_pictures(pictures: dict[str, bytes], repeat: int = 1) -> list[tuple[str, float, float]]:
    rows = []
    for name, data in pictures.items():
        times = []
        for prepare in (prepare_upload, prepare_number):
            best = float("inf")
            for _ in range(repeat):
                started = time.process_time()
                prepare(data, f"{name}.png")
                best = min(best, time.process_time() - started)
            times.append(best)
        rows.append((name, *times))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per picture")
    args = parser.parse_args()
    pictures = hostile_pictures()
    for name, data in list(pictures.items()):  # as photos too: lossy pictures take other paths
        buffer = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="JPEG", quality=90)
        pictures[f"{name} (JPEG)"] = buffer.getvalue()
    rows = time_pictures(pictures, args.repeat)
    print(f"{'picture':32s} {'classify s':>10s} {'number s':>10s}")
    for name, classify_s, number_s in rows:
        print(f"{name:32s} {classify_s:10.3f} {number_s:10.3f}")
    worst = max(rows, key=lambda row: max(row[1:]))
    print(f"worst: {worst[0]}: {max(worst[1:]):.3f} s of CPU (target: under 0.5 s)")


if __name__ == "__main__":
    main()
