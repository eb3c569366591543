"""Score the mean of a CNN fine-tune's epoch weights against the shipped CNN on what the choice is made on,
without the MNIST test set: digits wrong on the validation split and both held-out typeface sets (Keras, as
`digits train` scores its epochs), and the held-out sets' uploads lost in the chosen upload styles, through
the engine as served (the candidate's LiteRT file in a copy of models/) (issue 26, twenty-second round).
`--member cnn2` scores a fine-tune of the ensemble's second CNN against the shipped models/cnn2.* the same way
(twenty-third round); `--member vit` a fine-tune of the ViT against models/vit.* (twenty-fourth round). The copy's card gets the candidate's temperature, fitted on validation as `digits train`
fits it, so that the ensemble refitted on the copy (scripts/score_refitted_ensemble.py) weighs it as shipped.

    python scripts/score_averaged_epochs.py runs/cnn/RUN/epoch-0{1,2,3}.weights.h5 --copy /tmp/models-copy
    python scripts/score_averaged_epochs.py runs/cnn/RUN2/epoch-0{1,2,3}.weights.h5 --member cnn2 --copy /tmp/copy2

Only a candidate that passes its rule here goes on to scripts/ship_averaged_epochs.py, which reads MNIST test.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine
from training import upload_styles
from training.calibrate import accuracy, fit_temperature
from training.config import FINE_TUNES
from training.data import load_mnist, validation_split
from training.export import export_litert
from training.train import predict
from training.typefaces import SECOND_SPLIT, load_typeface_suite


def averaged(weight_files: list[Path], member: str = "cnn"):
    """The member with the mean of these epochs' weights (the second CNN is the CNN's architecture)."""
    model = models.build_model("vit" if member == "vit" else "cnn")
    epochs = []
    for path in weight_files:
        model.load_weights(path)
        epochs.append(model.get_weights())
    model.set_weights([np.mean(weights, axis=0).astype(weights[0].dtype) for weights in zip(*epochs)])
    return model


def choosing_sets(mnist) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What a candidate is chosen on: the fine-tunes' MNIST validation split and both held-out typeface sets."""
    config = FINE_TUNES["cnn"]
    _, validation = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    return {"validation": validation,
            **{name: (suite.images, suite.labels) for name, suite in
               (("typefaces", load_typeface_suite()), ("typefaces-2", load_typeface_suite(split=SECOND_SPLIT)))}}


def wrong(model, images: np.ndarray, labels: np.ndarray) -> int:
    return int(round((1 - accuracy(predict(model, images), labels)) * len(labels)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, nargs="+", help="the epochs' .weights.h5 to average")
    parser.add_argument("--member", choices=[*models.MODEL_IDS, *models.EXTRA_MEMBERS], default="cnn",
                        help="the shipped member the candidate would replace")
    parser.add_argument("--copy", type=Path, required=True, help="a folder to hold a copy of models/ with the candidate")
    parser.add_argument("--styles", nargs="*", default=["bold", "marker"], choices=upload_styles.UPLOAD_STYLES)
    parser.add_argument("--per-style", type=int, default=150)
    parser.add_argument("--data")
    args = parser.parse_args()

    mnist = load_mnist(args.data)
    sets = choosing_sets(mnist)
    x_val, y_val = sets["validation"]
    member = args.member
    candidate = averaged(args.weights, member)
    shipped = models.load_keras_model(member, models.MODELS_DIR)
    report = {name: {"n": len(labels), "shipped_wrong": wrong(shipped, images, labels),
                     "candidate_wrong": wrong(candidate, images, labels)} for name, (images, labels) in sets.items()}

    print(json.dumps(report), flush=True)
    if args.copy.exists():
        shutil.rmtree(args.copy)
    shutil.copytree(models.MODELS_DIR, args.copy, ignore=shutil.ignore_patterns("__pycache__"))
    candidate.save(models.model_path(member, args.copy))
    card = models.load_card(member, args.copy)  # the engine loads only the LiteRT file its card records
    card["tflite"] = export_litert(member, args.copy, x_val, candidate)
    card["temperature"] = fit_temperature(predict(candidate, x_val), y_val)
    card["validation_accuracy"] = accuracy(predict(candidate, x_val), y_val)  # the ensemble's fit checks it
    models.card_path(member, args.copy).write_text(json.dumps(card, indent=2) + "\n")
    for digit_set in ("typefaces", "typefaces-2"):
        for who, folder in (("shipped", models.MODELS_DIR), ("candidate", args.copy)):
            with Engine(model_ids=(member,), models_dir=folder) as engine:
                figures = upload_styles.measure(digit_set, member, args.per_style, args.styles, data=args.data,
                                                engine=engine)
            report[f"upload {digit_set} {who}"] = {one.style: {"lost": one.lost, "lost_at": one.lost_at}
                                                   for one in figures}
            print(json.dumps({f"upload {digit_set} {who}": report[f"upload {digit_set} {who}"]}), flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
