"""A 28x28 upload's latency for each model (CNN, ViT, the ensemble), this checkout's models against another
models folder (the models before a change), loaded side by side in one process and timed in turns on the
same MNIST PNGs (benchmarks/in_turns.py), so a busy machine slows both alike:

    mkdir /tmp/before && for f in cnn.tflite cnn.json vit.tflite vit.json ensemble.json; do
        git show HEAD~1:models/$f > /tmp/before/$f; done
    python -m benchmarks.compare_models /tmp/before --data ../shared/data/mnist.npz [--uploads 300]

Prints one JSON object: p50/p99 per folder and model, and the ensemble's members in each.
"""

import argparse
import json
import time
from pathlib import Path

from benchmarks.in_turns import in_turns
from digits.bench import percentiles_ms, png_bytes
from digits.engine import ENSEMBLE, Engine
from training.data import load_mnist

MODELS = ("cnn", "vit", ENSEMBLE)


def compare(before: Path, uploads: list[bytes]) -> dict:
    engines = {"before": Engine(models_dir=before, processes=0), "now": Engine(processes=0)}
    try:
        spent = {(name, model): [] for name in engines for model in MODELS}
        for data, (name, model) in in_turns(list(spent), uploads):
            started = time.perf_counter()
            engines[name].classify(data, model)
            spent[name, model].append(time.perf_counter() - started)
        figures = {f"{name} {model}": percentiles_ms(seconds) for (name, model), seconds in spent.items()}
        figures.update({f"{name} members": list(engine.members) for name, engine in engines.items()})
        return figures
    finally:
        for engine in engines.values():
            engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="a models folder to compare with (its .tflite, cards, ensemble.json)")
    parser.add_argument("--data", help="MNIST .npz (default: $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--uploads", type=int, default=300)
    args = parser.parse_args()
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:args.uploads]]
    print(json.dumps(compare(args.before, uploads)))


if __name__ == "__main__":
    main()
