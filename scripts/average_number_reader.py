"""A number reader whose weights are the mean of several checkpoints of one training run (and, if asked, of
the reader it went on from): checkpoints late in a run, at a low learning rate, lie in one basin, and their
mean reads better than any one of them (docs/numbers.md, the seventh run).

    python scripts/average_number_reader.py --run /tmp/run --steps 2400 2600 2800 [--with models/number_reader.keras]
        --data ../shared/data/mnist.npz --out models

`--run` is the folder a `python -m training.number_reader ... --out RUN --keep-checks RUN/checks` run wrote:
its card (number_reader.json) and its checks' weights (checks/step<N>.weights.h5). The mean is checked on
the run's own validation lines (MNIST validation digits and the held-out typeface families, as the run
checked each checkpoint) and written to --out as number_reader.{keras,tflite,json}: the run's card, with the
averaged steps and their checks' figures, the mean's figures, and the new files' checksums.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import models
from digits.number_reader import MODEL_ID


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="the training run's --out folder")
    parser.add_argument("--steps", type=int, nargs="+", required=True, help="the checks to average")
    parser.add_argument("--with", dest="also", type=Path, help="a reader (.keras) to average in as well")
    parser.add_argument("--data", help="MNIST .npz (else $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--out", type=Path, default=models.MODELS_DIR)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from models.number_reader import NumberReaderConfig, build_number_reader
    from training.config import NumberReaderTrainConfig
    from training.data import load_mnist, validation_split
    from training.number_reader import export, rounded, typeface_hands, validation_lines, whole_number_accuracy

    card = json.loads((args.run / "number_reader.json").read_text())
    model = build_number_reader(NumberReaderConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                      for k, v in card["architecture"].items()}))
    weights = []
    for step in args.steps:
        model.load_weights(args.run / "checks" / f"step{step}.weights.h5")
        weights.append(model.get_weights())
    if args.also:
        weights.append(keras.saving.load_model(args.also, compile=False).get_weights())  # the softmax adds none
    model.set_weights([np.mean(layer, axis=0) for layer in zip(*weights)])

    config = NumberReaderTrainConfig(**card["train_config"])  # the run's validation lines, as it checked them
    mnist = load_mnist(args.data)
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    lines = validation_lines(x_val, y_val, config.validation_per_spacing, config.seed)

    def predict(images):
        return tf.nn.softmax(model.predict(images, batch_size=256, verbose=0)).numpy()

    scores = whole_number_accuracy(predict, lines)
    if "typefaces" in card:  # the run checked the held-out families' lines too
        scores["typefaces"] = whole_number_accuracy(predict, validation_lines(
            x_val, y_val, config.validation_per_spacing, config.seed, typeface_hands(held_out=True)))
        scores["mnist_mean"] = scores["mean"]
        scores["mean"] = (scores["mnist_mean"] + scores["typefaces"]["mean"]) / 2
    checks = {check["step"]: check for check in card["history"]}
    card.update({
        "averaged": {"steps": args.steps, "with": str(args.also) if args.also else None,
                     "checks": [checks[step] for step in args.steps if step in checks],
                     "command": "python scripts/average_number_reader.py " + " ".join(sys.argv[1:] if argv is None
                                                                                    else argv)},
        "validation_whole_number_accuracy": rounded(scores),
        "tflite": export(model, lines["touching"][0][:100], args.out),
    })
    models.card_path(MODEL_ID, args.out).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({"event": "averaged", "steps": args.steps, **rounded(scores)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
