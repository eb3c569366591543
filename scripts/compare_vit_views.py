"""Choose a ViT checkpoint and how many test-time views it reads, on MNIST validation + held-out typefaces.

    python scripts/compare_vit_views.py models/vit.keras runs/vit/RUN/epoch-*.weights.h5 --data ../shared/data/mnist.npz

Each checkpoint (a `.keras` file, or a run's per-epoch `.weights.h5`, saved by training/train.py) reads the
validation split (seed 42, 5,000) and the held-out typeface suite as is, moved a pixel up and moved a pixel
down; the views' raw probabilities are averaged as `MeanOfViews` does inside the model. One JSON line per
checkpoint and set of views: validation and typeface accuracy, and their sum (the choosing score). Never
the MNIST test set. (issue 26, round six.)
"""

import argparse
import json
from pathlib import Path

import numpy as np

import models
from models.vit import ViTConfig, build_vit, moved
from training.calibrate import accuracy
from training.config import DEFAULTS
from training.data import load_mnist, validation_split
from training.train import predict
from training.typefaces import load_typeface_suite

SHIFTS = {"image": (0, 0), "up": (-1, 0), "down": (1, 0)}
VIEW_SETS = {"1 (image)": ("image",), "2 (image + up)": ("image", "up"), "2 (image + down)": ("image", "down"),
             "3 (image + up + down)": ("image", "up", "down")}


def single_view_model(path: Path):
    """The checkpoint's weights in a ViT that reads the image alone (the views add no weights)."""
    model = build_vit(ViTConfig(test_time_shifts=((0, 0),)))
    if path.name.endswith(".weights.h5"):
        model.load_weights(path)
    else:
        model.set_weights(models.load_keras_file(path).get_weights())
    return model


def view_probabilities(model, images: np.ndarray, shifts: dict[str, tuple[int, int]] = SHIFTS) -> dict[str, np.ndarray]:
    """The model's raw probabilities for the images moved by each of `shifts` (name -> (rows, columns))."""
    batch = images[..., None]
    return {name: predict(model, np.asarray(moved(batch, *shift))[..., 0]) for name, shift in shifts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--data")
    args = parser.parse_args()

    config = DEFAULTS["vit"]
    mnist = load_mnist(args.data)
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    suite = load_typeface_suite()
    for path in args.checkpoints:
        model = single_view_model(path)
        validation, typefaces = view_probabilities(model, x_val), view_probabilities(model, suite.images)
        for label, names in VIEW_SETS.items():
            val = accuracy(np.mean([validation[n] for n in names], axis=0), y_val)
            typ = accuracy(np.mean([typefaces[n] for n in names], axis=0), suite.labels)
            print(json.dumps({"checkpoint": str(path), "views": label, "validation": val, "typefaces": typ,
                              "sum": round(val + typ, 5)}), flush=True)


if __name__ == "__main__":
    main()
