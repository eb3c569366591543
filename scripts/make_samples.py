"""Make the sample uploads in samples/: MNIST test digits dressed up as files a person would upload.

Each file is named after the digit it shows, so anyone can check an answer by eye:

    seven-paper.png           dark ink on a large sheet of white paper, off centre
    two-transparent.png       dark strokes on a transparent background (RGBA), as drawing apps export
    four-photo.jpg            a phone photo: blue ink on off-white paper, uneven light, noise, tilted
    three-white-on-black.png  white chalk-like strokes on black
    zero-tiny.png             a 16x16 thumbnail
    eight-pencil.png          soft grey pencil on paper (lower contrast)
    nine.csv                  28 lines of 28 comma-separated pixel values, 0 = background, 255 = ink

The output is deterministic (fixed digits, fixed random seed). Run it again after changing it:

    python scripts/make_samples.py --data /path/to/mnist.npz
"""

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "samples"
SEED = 7

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def ink_strokes(digit: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 MNIST digit enlarged to `height` pixels as smooth strokes: float32, 0 = paper, 1 = ink."""
    enlarged = Image.fromarray(digit).resize((height, height), Image.Resampling.BICUBIC)
    intensity = np.asarray(enlarged, dtype=np.float32) / 255.0
    # Enlarging blurs the strokes; stretching the mid-tones gives them the crisp edge of real ink.
    return np.clip((intensity - 0.2) / 0.45, 0.0, 1.0)


def place(strokes: np.ndarray, canvas_size: tuple[int, int], top_left: tuple[int, int]) -> np.ndarray:
    """The strokes pasted onto an empty canvas of (width, height) with their corner at (x, y)."""
    width, height = canvas_size
    x, y = top_left
    canvas = np.zeros((height, width), dtype=np.float32)
    canvas[y:y + strokes.shape[0], x:x + strokes.shape[1]] = strokes
    return canvas


def ink_on_paper(ink: np.ndarray, paper_rgb, ink_rgb) -> np.ndarray:
    """Blend ink (0..1 per pixel) of one colour onto paper of another: float32 (H, W, 3) in 0..255."""
    paper = np.asarray(paper_rgb, dtype=np.float32)
    colour = np.asarray(ink_rgb, dtype=np.float32)
    return paper + ink[..., np.newaxis] * (colour - paper)


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def paper_sheet(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = place(ink_strokes(digit, 180), canvas_size=(480, 360), top_left=(260, 40))
    return Image.fromarray(to_uint8(ink_on_paper(ink, (255, 255, 255), (25, 25, 30))), "RGB")


def transparent_drawing(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = place(ink_strokes(digit, 220), canvas_size=(256, 256), top_left=(24, 12))
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., :3] = (30, 30, 30)
    rgba[..., 3] = to_uint8(ink * 255)
    return Image.fromarray(rgba, "RGBA")


def phone_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    width, height = 640, 480
    ink = place(ink_strokes(digit, 230), canvas_size=(width, height), top_left=(150, 110))
    page = ink_on_paper(ink, (236, 232, 220), (35, 55, 120))
    # Light falls from the top left: a gradient and a soft vignette, then sensor noise.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gradient = 1.05 - 0.25 * (xs / width + ys / height) / 2
    vignette = 1.0 - 0.18 * (((xs - width / 2) / width) ** 2 + ((ys - height / 2) / height) ** 2) * 4
    lit = page * (gradient * vignette)[..., np.newaxis]
    noisy = lit + rng.normal(0.0, 5.0, size=lit.shape)
    photo = Image.fromarray(to_uint8(noisy), "RGB")
    return photo.rotate(-7, resample=Image.Resampling.BICUBIC, fillcolor=(150, 146, 138))


def white_on_black(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = place(ink_strokes(digit, 160), canvas_size=(300, 240), top_left=(40, 50))
    return Image.fromarray(to_uint8(ink_on_paper(ink, (0, 0, 0), (245, 245, 245))), "RGB")


def tiny_thumbnail(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = place(ink_strokes(digit, 14), canvas_size=(16, 16), top_left=(1, 1))
    return Image.fromarray(to_uint8(255 - ink * 230), "L")


def pencil(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = place(ink_strokes(digit, 150), canvas_size=(240, 220), top_left=(60, 30))
    grain = rng.uniform(0.65, 1.0, size=ink.shape)  # graphite leaves a broken, grainy line
    page = 248 - ink * grain * 150
    return Image.fromarray(to_uint8(page), "L")


def csv_text(digit: np.ndarray) -> str:
    return "".join(",".join(str(int(value)) for value in row) + "\n" for row in digit)


@dataclass(frozen=True)
class Sample:
    filename: str  # starts with the digit's name
    test_index: int  # the MNIST test image it is made from
    digit: int  # that image's label, checked when the sample is made
    render: Callable[[np.ndarray, np.random.Generator], Image.Image] | None  # None: written as CSV


SAMPLES = (
    Sample("seven-paper.png", test_index=0, digit=7, render=paper_sheet),
    Sample("two-transparent.png", test_index=1, digit=2, render=transparent_drawing),
    Sample("four-photo.jpg", test_index=4, digit=4, render=phone_photo),
    Sample("three-white-on-black.png", test_index=30, digit=3, render=white_on_black),
    Sample("zero-tiny.png", test_index=10, digit=0, render=tiny_thumbnail),
    Sample("eight-pencil.png", test_index=110, digit=8, render=pencil),
    Sample("nine.csv", test_index=7, digit=9, render=None),
)


def make_samples(x_test: np.ndarray, y_test: np.ndarray, out_dir: Path) -> list[Path]:
    rng = np.random.default_rng(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in SAMPLES:
        if int(y_test[sample.test_index]) != sample.digit:
            raise ValueError(f"MNIST test image {sample.test_index} is not a {sample.digit}: wrong data file?")
        if not sample.filename.startswith(DIGIT_NAMES[sample.digit]):
            raise ValueError(f"{sample.filename} must be named after its digit")
        digit, path = x_test[sample.test_index], out_dir / sample.filename
        if sample.render is None:
            path.write_text(csv_text(digit))
        elif path.suffix == ".jpg":
            sample.render(digit, rng).save(path, quality=85)
        else:
            sample.render(digit, rng).save(path, optimize=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("DIGITS_MNIST_NPZ"),
                        help="MNIST .npz file (default: $DIGITS_MNIST_NPZ)")
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output folder (default: samples/)")
    args = parser.parse_args()
    if not args.data:
        parser.error("give the MNIST file with --data or DIGITS_MNIST_NPZ")
    with np.load(args.data) as mnist:
        x_test, y_test = mnist["x_test"], mnist["y_test"]
    for path in make_samples(x_test, y_test, args.out):
        print(path)


if __name__ == "__main__":
    main()
