"""Figures for drawings: MNIST test digits' skeletons replayed as canvas pen strokes (tests/test_drawings.py),
classified with the CNN, against the same digits as MNIST arrays; and the same skeletons traced into the
strokes the sketch pad's browser tests draw, as the page's pad draws them (280 px, 20 px pen, white).

    python scripts/drawing_figures.py --data ../shared/data/mnist.npz --digits 300
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from digit_strokes import drawn_on_pad, skeleton_strokes  # noqa: E402
from test_drawings import PEN_WIDTHS, drawn  # noqa: E402
from upload_files import encode  # noqa: E402

from digits.engine import Engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MNIST .npz")
    parser.add_argument("--digits", type=int, default=300, help="the first N MNIST test digits")
    args = parser.parse_args()
    with np.load(args.data) as mnist:
        images, labels = mnist["x_test"][: args.digits], mnist["y_test"][: args.digits]
    with Engine(model_ids=("cnn",)) as engine:
        figures = {"digits": len(images),
                   "originals": round(float(np.mean(engine.predict_probabilities("cnn", images).argmax(1) == labels)), 4)}
        for pen in PEN_WIDTHS:
            uploads = [(None, drawn(image, pen, transparent=i % 2 == 0)) for i, image in enumerate(images)]
            results = engine.classify_batch(uploads)
            figures[f"pen_{pen}px"] = round(float(np.mean([r.digit == y for r, y in zip(results, labels)])), 4)
        uploads = [(None, encode(drawn_on_pad(skeleton_strokes(image)))) for image in images]
        results = engine.classify_batch(uploads)
        figures["sketch_pad_strokes"] = round(float(np.mean([r.digit == y for r, y in zip(results, labels)])), 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
