"""The number suite's figures on MNIST *test* digits (the final figure), and on the validation digits
with another `read_number` (the segmenting reader it replaced, from git history), for docs/numbers.md.

    python scripts/number_reader_figures.py --data ../shared/data/mnist.npz            # test digits, seed 7
    git show 2488fc8:digits/numbers.py > /tmp/segmenting_numbers.py
    python scripts/number_reader_figures.py --digits validation --reader /tmp/segmenting_numbers.py

The validation figures of the shipped reader are `digits evaluate reader --suite numbers`.
"""

import argparse
import importlib.util
import json

import numpy as np

from digits.engine import Engine
from digits.numbers import read_number
from training.data import load_mnist
from training.number_suite import SUITE_SEED, format_figures, score, suite_numbers, validation_numbers

TEST_SEED = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST .npz (else $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--digits", choices=["test", "validation"], default="test")
    parser.add_argument("--per-spacing", type=int, default=300)
    parser.add_argument("--reader", help="a numbers.py whose read_number(engine, data, model) to score instead")
    args = parser.parse_args()
    mnist = load_mnist(args.data)
    read = read_number
    if args.reader:
        spec = importlib.util.spec_from_file_location("other_numbers", args.reader)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        read = module.read_number
    if args.digits == "test":
        numbers, seed = suite_numbers(mnist.x_test, mnist.y_test, args.per_spacing, TEST_SEED), TEST_SEED
    else:
        numbers, seed = validation_numbers(mnist, args.per_spacing), SUITE_SEED
    with Engine() as engine:
        figures = score(numbers, lambda data: read(engine, data, "cnn").number,
                        lambda digits: engine.predict_probabilities("cnn", digits).argmax(axis=1))
    figures.update(model=f"cnn, {args.reader or 'the number reader'}, MNIST {args.digits} digits", seed=seed)
    print(format_figures(figures))
    print(json.dumps(figures, default=lambda value: float(value) if isinstance(value, np.floating) else str(value)))


if __name__ == "__main__":
    main()
