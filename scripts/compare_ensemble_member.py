"""Would a trained member help the ensemble? Whose mistakes it makes, and the ensemble's shares fitted with it.

    digits train cnn --member-seed 17 --architecture dense_head_cnn --out /tmp/dense17
    python scripts/compare_ensemble_member.py /tmp/dense17 [--models-dir models] --data ../shared/data/mnist.npz

The member (the run's cnn.tflite, calibrated by its card's temperature) and the shipped models (models/: the CNN,
the ViT and any of models.EXTRA_MEMBERS there) read the MNIST validation split and the held-out typefaces through
the engine. One JSON line per split: the member's mistakes and how many of them each shipped model makes too;
then, for the shipped ensemble's members with and without the member, the best shares on validation + held-out
typefaces (training/calibrate.py `fit_ensemble_shares`, as `digits calibrate ensemble` fits them) and the same
fitted on half the digits and families and scored on the other half (`cross_fitted_accuracy`). Never the MNIST
test set. (issue 26, round nine.)
"""

import argparse
import json
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine
from training.calibrate import accuracy, cross_fitted_accuracy, fit_ensemble_shares, validation_images
from training.data import load_mnist
from training.typefaces import load_typeface_suite

MEMBER = "member"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the member's training run (--out): cnn.tflite and cnn.json")
    parser.add_argument("--models-dir", type=Path, default=models.MODELS_DIR)
    parser.add_argument("--data")
    args = parser.parse_args()

    x_val, y_val = validation_images(models.load_card("cnn", args.models_dir), load_mnist(args.data))
    suite = load_typeface_suite()
    shipped = (*models.MODEL_IDS, *(m for m in models.EXTRA_MEMBERS if models.litert_path(m, args.models_dir).is_file()))
    answers = {}  # model -> (validation, typefaces) calibrated probabilities
    for folder, ids in ((args.models_dir, shipped), (args.run, ("cnn",))):
        with Engine(model_ids=ids, models_dir=folder) as engine:
            for model_id in ids:
                name = MEMBER if folder == args.run else model_id
                answers[name] = tuple(engine.predict_probabilities(model_id, images) for images in (x_val, suite.images))
    for i, (split, labels) in enumerate((("validation", y_val), ("typefaces", suite.labels))):
        wrong = {name: set(np.flatnonzero(np.argmax(a[i], axis=1) != labels)) for name, a in answers.items()}
        print(json.dumps({"split": split, "accuracy": accuracy(answers[MEMBER][i], labels),
                          "mistakes": len(wrong[MEMBER]),
                          "also": {m: len(wrong[MEMBER] & wrong[m]) for m in shipped},
                          "their_mistakes": {m: len(wrong[m]) for m in shipped}}), flush=True)
    base = tuple(models.ensemble_weights(args.models_dir))
    for members in (base, (*base, MEMBER)):
        val, typ = [answers[m][0] for m in members], [answers[m][1] for m in members]
        shares = fit_ensemble_shares(val, y_val, (typ, suite.labels))
        scores = accuracy(np.tensordot(shares, val, axes=1), y_val), accuracy(np.tensordot(shares, typ, axes=1), suite.labels)
        crossed = cross_fitted_accuracy(val, y_val, typ, suite.labels, suite.styles)
        print(json.dumps({"members": dict(zip(members, shares)), "validation": scores[0], "typefaces": scores[1],
                          "sum": round(sum(scores), 5), "cross_fitted": {"validation": crossed[0], "typefaces": crossed[1],
                                                                         "sum": round(sum(crossed), 5)}}), flush=True)


if __name__ == "__main__":
    main()
