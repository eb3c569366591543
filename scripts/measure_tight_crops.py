"""Digits cropped right to their ink, at several sizes and both polarities, against the same digits
uncropped: the share read right by a model (tests/test_tight_crops.py asserts the gaps).

    python scripts/measure_tight_crops.py --model cnn --count 500 [--split validation] [--data PATH] [--json]

Choose on `--split validation` (digits the models were not trained on); the test split, as the issue's
figures are given, is for the final figure only.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_tight_crops import cropped_to_ink  # noqa: E402
from upload_files import png  # noqa: E402
from digits.engine import Engine  # noqa: E402
from training.data import load_mnist  # noqa: E402
from training.style_shift import validation_digits  # noqa: E402

SIDES = (16, 28, 100, 400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--split", choices=["test", "validation"], default="test")
    parser.add_argument("--data")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    mnist = load_mnist(args.data)
    images, labels = (mnist.x_test, mnist.y_test) if args.split == "test" else validation_digits(mnist)
    images, labels = images[: args.count], labels[: args.count]
    members = ("cnn", "vit") if args.model == "ensemble" else (args.model,)
    with Engine(model_ids=members) as engine:
        def right(uploads) -> float:
            return float(np.mean([engine.classify(data, args.model).digit == label
                                  for data, label in zip(uploads, labels)]))

        figures = {"uncropped": right([png(255 - digit) for digit in images])}
        for side in SIDES:
            for light_on_dark in (False, True):
                name = f"{side} px, {'light on dark' if light_on_dark else 'dark on light'}"
                figures[name] = right([cropped_to_ink(digit, side, light_on_dark) for digit in images])
    if args.json:
        print(json.dumps({"model": args.model, "split": args.split, "n": len(labels), "accuracy": figures}))
    else:
        for name, accuracy in figures.items():
            print(f"{name:28s} {accuracy:7.1%}")


if __name__ == "__main__":
    main()
