"""Refit the ensemble's shares on MNIST validation alone for candidate CNNs, and score it against the shipped
ensemble on what the choice is made on, without the MNIST test set: digits wrong on the validation split and
both held-out typeface sets, through the engine as served (issue 26, twenty-third round).

    python scripts/score_refitted_ensemble.py --cnn /tmp/copy1 --cnn2 /tmp/copy2 --out /tmp/both

`--cnn` and `--cnn2` name copies of models/ that scripts/score_averaged_epochs.py wrote a candidate into
(cnn.* and cnn2.* respectively); the others are taken from models/. The shares are fitted by
training/calibrate.py's `calibrate_ensemble` (what `digits calibrate ensemble` runs) on validation alone
(`typefaces=False`), so that both held-out sets judge an ensemble not fitted on them. `--vit` names a copy
holding a candidate ViT (twenty-fourth round); `--fit-typefaces` fits the shares as the shipped ones were
(validation + the first held-out set, `digits calibrate ensemble` as is), so that only the second set judges.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine
from score_averaged_epochs import choosing_sets
from training.calibrate import calibrate_ensemble
from training.data import load_mnist

MEMBER_FILES = ("{}.keras", "{}.tflite", "{}.json")


def ensemble_wrong(folder: Path, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, int]:
    """Digits the ensemble in `folder` gets wrong in each set, weighted as its ensemble.json says."""
    weights = models.ensemble_weights(folder)
    with Engine(model_ids=(*models.MODEL_IDS, *(m for m in weights if m not in models.MODEL_IDS)),
                models_dir=folder) as engine:
        answers = {name: np.average([engine.predict_probabilities(m, images) for m in weights], axis=0,
                                    weights=list(weights.values())) for name, (images, _) in sets.items()}
    return {name: int(np.sum(np.argmax(answers[name], axis=1) != labels)) for name, (_, labels) in sets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn", type=Path, help="a copy of models/ holding the candidate CNN")
    parser.add_argument("--cnn2", type=Path, help="a copy of models/ holding the candidate second CNN")
    parser.add_argument("--vit", type=Path, help="a copy of models/ holding the candidate ViT")
    parser.add_argument("--fit-typefaces", action="store_true",
                        help="fit the shares on validation + the first held-out set, as the shipped ones were")
    parser.add_argument("--out", type=Path, required=True, help="the folder to assemble the candidate models/ in")
    parser.add_argument("--data")
    args = parser.parse_args()

    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(models.MODELS_DIR, args.out, ignore=shutil.ignore_patterns("__pycache__"))
    for member, source in (("cnn", args.cnn), ("cnn2", args.cnn2), ("vit", args.vit)):
        for pattern in MEMBER_FILES if source else ():
            shutil.copy2(source / pattern.format(member), args.out / pattern.format(member))
    card = calibrate_ensemble(data=args.data, models_dir=args.out, typefaces=args.fit_typefaces)
    print(json.dumps({"refitted": card["weights"], "validation_accuracy": card["validation_accuracy"]}), flush=True)

    sets = choosing_sets(load_mnist(args.data))
    report = {"n": {name: len(labels) for name, (_, labels) in sets.items()},
              "shipped": {"weights": models.ensemble_weights(), "wrong": ensemble_wrong(models.MODELS_DIR, sets)},
              "refitted": {"weights": card["weights"], "wrong": ensemble_wrong(args.out, sets)}}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
