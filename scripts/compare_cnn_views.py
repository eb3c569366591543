"""Would test-time views help the CNNs, alone and in the ensemble? Measured on MNIST validation + held-out typefaces.

    python scripts/compare_cnn_views.py [cnn cnn2 ...] [--models-dir models] --data ../shared/data/mnist.npz

Each CNN (a `.keras` file in `--models-dir`) reads the validation split (seed 42, 5,000) and the held-out
typeface suite as is and moved a pixel up, down, left and right; a set of views is the mean of their raw
probabilities (as the ViT's `MeanOfViews` does inside the model), calibrated with a temperature fitted on
validation (as `digits calibrate` would). One JSON line per CNN and set of views: validation and typeface
accuracy and their sum (the choosing score); then, per set of views, the ensemble's best shares
(`training/calibrate.py` `fit_ensemble_shares`, the ViT as shipped) with every CNN reading those views.
Never the MNIST test set. (issue 26, round eight.)
"""

import argparse
import json
from pathlib import Path

import numpy as np

import models
from compare_vit_views import view_probabilities
from digits.engine import Engine, apply_temperature
from training.calibrate import accuracy, fit_ensemble_shares, fit_temperature, validation_images
from training.data import load_mnist
from training.typefaces import load_typeface_suite

VIEW_SETS = {"1 (image)": ("image",), "2 (image + up)": ("image", "up"), "2 (image + down)": ("image", "down"),
             "2 (image + left)": ("image", "left"), "3 (image + up + down)": ("image", "up", "down"),
             "5 (image + up, down, left, right)": ("image", "up", "down", "left", "right")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cnns", nargs="*", default=["cnn", *models.EXTRA_MEMBERS])
    parser.add_argument("--models-dir", type=Path, default=models.MODELS_DIR)
    parser.add_argument("--data")
    args = parser.parse_args()

    x_val, y_val = validation_images(models.load_card("cnn", args.models_dir), load_mnist(args.data))
    suite = load_typeface_suite()
    shifts = {"image": (0, 0), "up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
    views = {}  # cnn -> (validation, typefaces): view name -> raw probabilities
    for cnn in args.cnns:
        model = models.load_keras_model(cnn, args.models_dir)
        views[cnn] = (view_probabilities(model, x_val, shifts), view_probabilities(model, suite.images, shifts))
    with Engine(model_ids=("vit",), models_dir=args.models_dir) as engine:
        vit = (engine.predict_probabilities("vit", x_val), engine.predict_probabilities("vit", suite.images))
    for label, names in VIEW_SETS.items():
        calibrated = {}
        for cnn, (validation, typefaces) in views.items():
            val, typ = (np.mean([probabilities[n] for n in names], axis=0) for probabilities in (validation, typefaces))
            temperature = fit_temperature(val, y_val)
            calibrated[cnn] = (apply_temperature(val, temperature), apply_temperature(typ, temperature))
            scores = accuracy(val, y_val), accuracy(typ, suite.labels)
            print(json.dumps({"model": cnn, "views": label, "validation": scores[0], "typefaces": scores[1],
                              "sum": round(sum(scores), 5), "temperature": temperature}), flush=True)
        members = ("vit", *calibrated)
        answers = [vit[0], *(val for val, _ in calibrated.values())]
        held_out = [vit[1], *(typ for _, typ in calibrated.values())]
        shares = fit_ensemble_shares(answers, y_val, (held_out, suite.labels))
        scores = (accuracy(np.tensordot(shares, answers, axes=1), y_val),
                  accuracy(np.tensordot(shares, held_out, axes=1), suite.labels))
        print(json.dumps({"model": "ensemble", "views": label, "shares": dict(zip(members, shares)),
                          "validation": scores[0], "typefaces": scores[1], "sum": round(sum(scores), 5)}), flush=True)


if __name__ == "__main__":
    main()
