"""Two evaluation suites that compare a model's reading of the same MNIST digits in two forms, through
the engine that serves the app (preprocessing included):

    digits evaluate cnn --suite tight-crops [--count 500] [--split validation]
    digits evaluate cnn --suite drawings [--count 300]

- tight-crops: digits cropped right to their ink (a scanned form's box, a thumbnail), at several sizes,
  dark on light and light on dark, against the same digits uncropped (tests/test_tight_crops.py).
- drawings: the digits' skeletons replayed as canvas pen strokes at several pen widths, as the browser's
  canvas exports them (PNG, transparent or white), and as the sketch pad's browser tests draw them, against
  the MNIST arrays themselves (tests/test_drawings.py).

Choose on `--split validation` (digits no model trained on); the test split is for the final figure only.
"""

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw
from skimage.morphology import skeletonize

import models
from digits.engine import Engine
from training.data import Mnist, load_mnist
from training.digit_strokes import drawn_on_pad, skeleton_strokes
from training.evaluate import open_engine
from training.scenes import encode, enlarged
from training.style_shift import validation_digits

SUITES = ("tight-crops", "drawings")
DEFAULT_COUNTS = {"tight-crops": 500, "drawings": 300}  # enough for a figure to 1-2 points, in a minute or two
CROP_SIDES = (16, 28, 100, 400)  # pixels on the longer side: a 16 px form box up to a 400 px scan
CANVAS = 280  # pixels a side, as the page's drawing area exports it
PEN_WIDTHS = (10, 16, 20, 24)  # thin, medium, the page's pen (1/14 of its side), thick


@dataclass(frozen=True)
class SuiteFigures:
    """The share of digits `model` read right in each form; "original" is the same digits unchanged."""

    suite: str
    model: str
    split: str
    n: int
    accuracy: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"suite": self.suite, "model": self.model, "split": self.split, "n": self.n,
                "accuracy": {name: round(value, 4) for name, value in self.accuracy.items()},
                "seconds": round(self.seconds, 1)}

    def to_text(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(self.to_dict())
        lines = [f"{self.model}: the {self.suite} suite on {self.n:,} MNIST {self.split} digits, {self.seconds:.1f} s"]
        lines += [f"  {name:34s} {value:7.2%}" for name, value in self.accuracy.items()]
        return "\n".join(lines)


def png(pixels: np.ndarray) -> bytes:
    return encode(Image.fromarray(np.asarray(pixels, dtype=np.uint8)))


def cropped_to_ink(digit: np.ndarray, side: int, light_on_dark: bool) -> bytes:
    """The digit's ink box enlarged to `side` pixels and nothing around it, as a PNG."""
    pixels = np.clip(enlarged(digit, side), 0, 255)
    return png(pixels if light_on_dark else 255 - pixels)


def drawn(digit: np.ndarray, pen: int, transparent: bool) -> bytes:
    """The digit's skeleton replayed as round-capped strokes `pen` pixels wide on the canvas, as a PNG."""
    scale = CANVAS / digit.shape[0]
    skeleton = skeletonize(digit > 96)
    image = Image.new("RGBA" if transparent else "RGB", (CANVAS, CANVAS), (0, 0, 0, 0) if transparent else "white")
    draw = ImageDraw.Draw(image)
    ink = (20, 20, 20, 255)
    points = set(zip(*np.nonzero(skeleton)))
    for y, x in points:
        centre = ((x + 0.5) * scale, (y + 0.5) * scale)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each stroke segment to a neighbour, once
            if (y + dy, x + dx) in points:
                draw.line([centre, ((x + dx + 0.5) * scale, (y + dy + 0.5) * scale)], fill=ink, width=pen)
        draw.ellipse([centre[0] - pen / 2, centre[1] - pen / 2, centre[0] + pen / 2, centre[1] + pen / 2], fill=ink)
    return encode(image)


def suite_uploads(suite: str, images: np.ndarray) -> dict[str, list[bytes]]:
    """Each form the suite reads the digits in, by name, as the files a person would upload."""
    if suite == "tight-crops":
        forms = {"uncropped": [png(255 - digit) for digit in images]}
        for side in CROP_SIDES:
            for light_on_dark in (False, True):
                name = f"{side} px, {'light on dark' if light_on_dark else 'dark on light'}"
                forms[name] = [cropped_to_ink(digit, side, light_on_dark) for digit in images]
        return forms
    if suite == "drawings":
        forms = {f"pen {pen} px": [drawn(digit, pen, transparent=i % 2 == 0) for i, digit in enumerate(images)]
                 for pen in PEN_WIDTHS}
        forms["sketch pad strokes"] = [encode(drawn_on_pad(skeleton_strokes(digit))) for digit in images]
        return forms
    raise ValueError(f"Unknown suite {suite!r}; choose one of: {', '.join(SUITES)}.")


def evaluate_suite(suite: str, model: str, data: Mnist | str | os.PathLike | None = None, count: int | None = None,
                   split: str = "test", models_dir: str | os.PathLike = models.MODELS_DIR,
                   engine: Engine | None = None) -> SuiteFigures:
    """Reads the first `count` digits of `split` in each of the suite's forms and as MNIST arrays."""
    mnist = data if isinstance(data, Mnist) else load_mnist(data)
    images, labels = (mnist.x_test, mnist.y_test) if split == "test" else validation_digits(mnist)
    count = count or DEFAULT_COUNTS.get(suite, 0)
    images, labels = images[:count], labels[:count]
    forms = suite_uploads(suite, images)
    if engine is None:
        with open_engine(model, models_dir) as own_engine:
            return evaluate_suite(suite, model, mnist, count, split, models_dir, own_engine)
    started = time.perf_counter()
    accuracy = {"original": float(np.mean(engine.predict_probabilities(model, images).argmax(axis=1) == labels))}
    for name, uploads in forms.items():
        results = engine.classify_batch([(None, upload) for upload in uploads], model=model)
        accuracy[name] = float(np.mean([getattr(result, "digit", None) == label
                                        for result, label in zip(results, labels)]))
    return SuiteFigures(suite=suite, model=model, split=split, n=len(labels), accuracy=accuracy,
                        seconds=time.perf_counter() - started)
