"""What the reading pipeline makes of every upload of the scenes suite, the pictures without a digit and
the style-shift styles, recorded to compare a change that must not change a single answer (a faster
stage): per upload, a hash of the 28x28 pixels, whether there is a digit, the warnings, the size.

    python scripts/record_readings.py before.json --data ../shared/data/mnist.npz [--count 40]
    (make the change)
    python scripts/record_readings.py after.json --data ../shared/data/mnist.npz --compare before.json
"""

import argparse
import hashlib
import json
import sys

import numpy as np

from digits.preprocessing import prepare_upload
from training import scenes
from training.data import load_mnist
from training.scene_suite import BLANK_SEED_OFFSET
from training.style_shift import SEED, render_style, validation_digits
from training.styles import STYLES


def reading(data: bytes, filename: str | None = None) -> list:
    prepared = prepare_upload(data, filename)
    return [hashlib.sha1(prepared.pixels.tobytes()).hexdigest()[:16], prepared.has_digit, list(prepared.warnings),
            list(prepared.source_size)]


def record(data: str | None, count: int) -> dict[str, list]:
    """The uploads the suites make (training/scene_suite.py, the same seeds), each one's reading."""
    mnist = load_mnist(data)
    readings = {}
    for index, (name, make) in enumerate(scenes.SCENES.items()):
        rng = np.random.default_rng(index)
        for number, digit in enumerate(mnist.x_test[:count]):
            readings[f"scene/{name}/{number}"] = reading(make(digit, rng))
    for index, (name, make) in enumerate(scenes.BLANKS.items()):
        rng = np.random.default_rng(BLANK_SEED_OFFSET + index)
        for number in range(count):
            readings[f"blank/{name}/{number}"] = reading(make(rng))
    x_val, y_val = validation_digits(mnist)
    for name in STYLES:
        for index, upload in render_style(name, x_val, y_val, count, SEED):
            readings[f"style/{name}/{index}"] = reading(upload.data, upload.filename)
    return readings


def main(record=record, description: str | None = __doc__) -> int:
    """Records `record(data, count)`'s readings, and with --compare says which changed (exit 1 if any)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--data", help="MNIST .npz (default: $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--compare", metavar="BEFORE.json")
    args = parser.parse_args()
    readings = record(args.data, args.count)
    with open(args.out, "w") as file:
        json.dump(readings, file)
    if not args.compare:
        print(f"{len(readings)} readings in {args.out}")
        return 0
    with open(args.compare) as file:
        before = json.load(file)
    changed = sorted(key for key in before.keys() | readings.keys() if before.get(key) != readings.get(key))
    print(json.dumps({"readings": len(readings), "changed": len(changed), "first_changed": changed[:10]}))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
