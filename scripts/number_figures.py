"""Figures for reading whole numbers: numbers built from MNIST test digits (tests/number_images.py),
read with `digits.numbers.read_number`, against the same digits classified alone.

    python scripts/number_figures.py --data ../shared/data/mnist.npz --numbers 300

Prints one JSON object per rendering and kind (separate digits, one touching pair): the share of
numbers with the right count of digits, of numbers read exactly, and the digit accuracy in numbers
(where the count is right) beside the accuracy of the same digits classified alone.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from number_images import RENDERINGS, build_number, rendered  # noqa: E402

from digits.engine import Engine  # noqa: E402
from digits.numbers import read_number  # noqa: E402


def figures(engine: Engine, images, labels, how: str, touch: bool, count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    counted = exact = built = right_in_numbers = right_alone = digits = 0
    while built < count:
        chosen = rng.choice(len(images), int(rng.integers(2, 9)), replace=False)
        number = build_number(images[chosen], labels[chosen], rng, touch=touch)
        if touch and not number.touching:
            continue  # the push did not make the ink meet: not a touching pair
        built += 1
        reading = read_number(engine, rendered(number, how, seed=built))
        truth = "".join(map(str, labels[chosen]))
        exact += reading.number == truth
        if len(reading.digits) == len(chosen):
            counted += 1
            alone = engine.predict_probabilities("cnn", images[chosen]).argmax(axis=1)
            right_in_numbers += sum(r.digit == t for r, t in zip(reading.digits, labels[chosen]))
            right_alone += int(np.sum(alone == labels[chosen]))
            digits += len(chosen)
    return {"rendering": how, "digits": "one touching pair" if touch else "separate", "numbers": count,
            "right_count": round(counted / count, 4), "exact_number": round(exact / count, 4),
            "digit_accuracy_in_numbers": round(right_in_numbers / digits, 4),
            "digit_accuracy_alone": round(right_alone / digits, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MNIST .npz")
    parser.add_argument("--numbers", type=int, default=300, help="numbers per rendering and kind")
    args = parser.parse_args()
    with np.load(args.data) as mnist:
        images, labels = mnist["x_test"], mnist["y_test"]
    with Engine(model_ids=("cnn",)) as engine:
        for seed, (how, touch) in enumerate((how, touch) for touch in (False, True) for how in RENDERINGS):
            print(json.dumps(figures(engine, images, labels, how, touch, args.numbers, seed)), flush=True)


if __name__ == "__main__":
    main()
