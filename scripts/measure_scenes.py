"""How well the product reads real pictures: per scene, the share of MNIST test digits read right,
and the share of digit-free pictures answered "no digit" (training/scenes.py renders them).

    python scripts/measure_scenes.py --model cnn --count 40 [--json]

With --styles N, also the share of N digits in each of the style-shift suite's styles (MNIST
validation digits, training/styles.py) that come out as "no digit": a clear digit never should.
"""

import argparse
import json
import time

import numpy as np

from digits.engine import Engine
from training import scenes
from training.data import load_mnist


def no_digit_by_style(mnist, per_style: int) -> dict:
    """Per style-shift style: the share of its digits that prepare_upload calls "no digit"."""
    from digits.preprocessing import prepare_upload
    from training.style_shift import SEED, render_style, validation_digits
    from training.styles import STYLES

    x_val, y_val = validation_digits(mnist)
    figures = {}
    for name in STYLES:
        said = [not prepare_upload(upload.data, upload.filename).has_digit
                for _, upload in render_style(name, x_val, y_val, per_style, SEED)]
        figures[f"style: {name}"] = {"no_digit": float(np.mean(said))}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--data")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--styles", type=int, default=0, help="digits per style-shift style to check for 'no digit'")
    parser.add_argument("--only", nargs="*", help="measure only these scenes and pictures without a digit (by name)")
    args = parser.parse_args()
    mnist = load_mnist(args.data)
    figures = {}
    members = ("cnn", "vit") if args.model == "ensemble" else (args.model,)
    with Engine(model_ids=members) as engine:
        for index, (name, make) in enumerate(scenes.SCENES.items()):
            if args.only and name not in args.only:
                continue
            rng = np.random.default_rng(index)
            right, no_digit, seconds = 0, 0, 0.0
            for digit, label in zip(mnist.x_test[: args.count], mnist.y_test[: args.count]):
                data = make(digit, rng)
                started = time.perf_counter()
                result = engine.classify(data, args.model)
                seconds += time.perf_counter() - started
                right += result.digit == label
                no_digit += result.digit is None
            figures[name] = {"right": right / args.count, "no_digit": no_digit / args.count,
                             "ms": round(1000 * seconds / args.count, 1)}
        for index, (name, make) in enumerate(scenes.BLANKS.items()):
            if args.only and name not in args.only:
                continue
            rng = np.random.default_rng(100 + index)
            said = [engine.classify(make(rng), args.model).digit is None for _ in range(args.count)]
            figures[name] = {"no_digit": float(np.mean(said))}
    if args.styles:
        figures.update(no_digit_by_style(mnist, args.styles))
    if args.json:
        print(json.dumps({"model": args.model, "count": args.count, "scenes": figures}))
    else:
        for name, figure in figures.items():
            print(f"{name:30s} " + "  ".join(f"{key} {value:.3f}" if key != "ms" else f"{value} ms"
                                              for key, value in figure.items()))


if __name__ == "__main__":
    main()
