"""Train the number reader (models/number_reader.py) with CTC on whole numbers composed from MNIST
training digits, and write models/number_reader.{keras,tflite,json}.

    python -m training.number_reader --data ../shared/data/mnist.npz [--minutes M] [--out models]

Every step reads a fresh batch of composed lines (training/number_data.py), for a fixed time
(training/config.py says why). Every few minutes the model reads the validation lines, composed
from the held-out validation digits, an equal number at each spacing (apart, touching,
overlapping), and as many lines written by the held-out typeface families (training/typefaces.py);
the checkpoint that reads the most whole numbers right (the mean of the two) is kept. A share of
the training lines is written in the training families' hands (number_data.TYPEFACE_LINES;
`--no-typefaces`: MNIST's writers only). The MNIST test set is not read here. `--init-from` goes
on training a trained reader; the new card keeps the runs before it (`earlier_runs`, latest first)
and the total time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import models
from digits.number_reader import MODEL_ID, decode_text
from training.config import NumberReaderTrainConfig
from training.data import load_mnist, validation_split
from training.number_data import (SPACINGS, SURFACE_MARKS, TYPEFACE_DIGITS, TYPEFACE_LINES, by_family, line_batch,
                                  only_marks)
from training.typefaces import family_list


def validation_lines(x_val, y_val, per_spacing: int, seed: int, typefaces=None) -> dict:
    """spacing -> (images, truth strings), composed from the validation digits with a fixed seed, or
    with `typefaces` (by_family's list of held-out families) every line in one family's hand."""
    lines = {}
    for index, spacing in enumerate(SPACINGS):
        rng = np.random.default_rng([seed, index])
        images, targets, lengths, _ = line_batch(x_val, y_val, per_spacing, rng, spacing, lengths=(2, 3, 4, 5, 6),
                                                 weights=(1, 1, 1, 1, 1), typefaces=typefaces, typeface_lines=1.0,
                                                 typeface_digits=1.0)
        lines[spacing] = (images, ["".join(map(str, t[:n])) for t, n in zip(targets, lengths)])
    return lines


def whole_number_accuracy(predict, lines: dict) -> dict:
    scores = {}
    for spacing, (images, truths) in lines.items():
        probabilities = predict(images)
        scores[spacing] = float(np.mean([decode_text(p) == t for p, t in zip(probabilities, truths)]))
    scores["mean"] = float(np.mean([scores[s] for s in lines]))
    return scores


def typeface_hands(held_out: bool, heavy: bool = False):
    """The typeface families' digits (by_family): the held-out families', or the training families' (with
    `heavy`, the heavy renders of their bold and marker faces: training/typefaces.py's render_heavy_family,
    bold_or_marker)."""
    from training.typefaces import heavy_typeface_training_digits, load_typeface_suite, typeface_training_digits

    if heavy:
        rendered = heavy_typeface_training_digits(HEAVY_PER_DIGIT, bold_and_marker_only=True)
    else:
        rendered = load_typeface_suite() if held_out else typeface_training_digits(TYPEFACE_PER_DIGIT)
    return by_family(rendered.images, rendered.labels, rendered.styles)


TYPEFACE_PER_DIGIT = 16  # renders of each digit in each training family: the CNN/ViT fine-tunes' set, cached
# Heavy renders of each digit in each of the 30 bold and marker training faces (4,800 digits): the faces the
# misread bold uploads resemble, as many renders a digit as the plain set; every family's heavy renders were three
# times the renders (a render is ~0.13 s on the shared cores, and all are re-drawn when the upload pipeline changes).
HEAVY_PER_DIGIT = 16


def train(config: NumberReaderTrainConfig, data=None, out: Path = models.MODELS_DIR, log=print,
          init_from: Path | None = None, typefaces: bool = True, architecture=None,
          keep_checks: Path | None = None) -> dict:
    """`init_from`: a trained number_reader.keras to go on training (its softmax head dropped).
    `keep_checks`: a folder to save the weights at every check in (step<N>.weights.h5), to average later.
    `typefaces`: write a share of the lines in the training typeface families' hands, and choose on the
    held-out families' lines too. `architecture`: a NumberReaderConfig (default: the module's)."""
    import keras
    import tensorflow as tf

    from models.number_reader import BLANK, NumberReaderConfig, build_number_reader, is_context, load_weights_from

    run_seed = config.seed if config.run_seed is None else config.run_seed
    keras.utils.set_random_seed(run_seed)
    typeface_share = TYPEFACE_LINES if config.typeface_lines is None else config.typeface_lines
    mnist = load_mnist(data)
    (x_train, y_train), (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size,
                                                          config.seed)
    lines = validation_lines(x_val, y_val, config.validation_per_spacing, config.seed)
    hands = typeface_hands(held_out=False) if typefaces else None
    heavy_hands = typeface_hands(held_out=False, heavy=True) if typefaces and config.heavy_lines else None
    typeface_lines = (validation_lines(x_val, y_val, config.validation_per_spacing, config.seed,
                                       typeface_hands(held_out=True)) if typefaces else None)
    architecture = architecture or NumberReaderConfig()
    model = build_number_reader(architecture)
    new_layers = model.layers  # all of them, from scratch
    if init_from:
        trained = keras.saving.load_model(init_from, compile=False)
        load_weights_from(model, trained)
        if not any(is_context(layer) for layer in trained.layers):
            new_layers = [layer for layer in model.layers if is_context(layer)]
    # The layers trained before learn at `trunk_rate` of the peak rate, the new ones (the attention) at all of
    # it: two optimizers, as Adam's steps do not scale with the gradient.
    new_ids = {id(v) for layer in new_layers for v in layer.trainable_weights}
    groups = [[v for v in model.trainable_variables if id(v) in new_ids],
              [v for v in model.trainable_variables if id(v) not in new_ids]]
    optimizers = [keras.optimizers.AdamW(0.0, weight_decay=config.weight_decay, global_clipnorm=5.0)
                  for _ in groups]
    rates = [1.0, config.trunk_rate]
    columns = model.output_shape[1]

    @tf.function
    def step(images, targets, lengths):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = tf.reduce_mean(keras.ops.ctc_loss(tf.maximum(targets, 0), logits, lengths,
                                                     tf.fill([tf.shape(images)[0]], columns), mask_index=BLANK))
        gradients = tape.gradient(loss, groups)
        for optimizer, group, group_gradients in zip(optimizers, groups, gradients):
            if group:
                optimizer.apply_gradients(zip(group_gradients, group))
        return loss

    def predict(images):
        return tf.nn.softmax(model.predict(images, batch_size=256, verbose=0)).numpy()

    rng = np.random.default_rng(run_seed)
    marks = SURFACE_MARKS if config.surface_marks is None else only_marks(config.surface_marks)
    started, best, history, losses, number, checked = time.time(), None, [], [], 0, 0.0
    while True:
        number += 1
        spent = (time.time() - started) / 60 / config.minutes
        rate = config.learning_rate * min(1.0, number / config.warmup_steps) * \
            0.5 * (1 + np.cos(np.pi * min(spent, 1.0)))
        for optimizer, share in zip(optimizers, rates):
            optimizer.learning_rate = rate * share
        images, targets, lengths, _ = line_batch(x_train, y_train, config.batch_size, rng, typefaces=hands,
                                                 typeface_lines=typeface_share, heavy_typefaces=heavy_hands,
                                                 heavy_lines=config.heavy_lines, surface_lines=config.surface_lines,
                                                 surface_marks=marks,
                                                 elastic_digits=config.elastic_digits, widened_lines=config.widened_lines)
        losses.append(float(step(images, targets, lengths)))
        minutes = (time.time() - started) / 60
        if minutes - checked >= config.minutes_between_checks or spent >= 1:
            checked = minutes
            scores = whole_number_accuracy(predict, lines)
            if typeface_lines:
                scores["typefaces"] = whole_number_accuracy(predict, typeface_lines)
                scores["mnist_mean"] = scores["mean"]
                scores["mean"] = (scores["mnist_mean"] + scores["typefaces"]["mean"]) / 2
            history.append({"step": number, "loss": round(float(np.mean(losses)), 4), "minutes": round(minutes, 2),
                            **rounded(scores)})
            losses = []
            log(json.dumps({"event": "validation", **history[-1]}), flush=True)
            if keep_checks:
                keep_checks.mkdir(parents=True, exist_ok=True)
                model.save_weights(keep_checks / f"step{number}.weights.h5")
            if best is None or scores["mean"] > best["mean"]:
                best = {"step": number, **scores}
                weights = model.get_weights()
            if spent >= 1:
                break
    model.set_weights(weights)
    exported = export(model, lines["touching"][0][:100], out)
    card = {
        "model": MODEL_ID,
        "description": "CNN over the line of ink (32x256), dilated 1-D convolutions along it"
                       + (", self-attention over its 64 columns" if architecture.context_heads else "")
                       + ", CTC over 10 digits and a blank; trained on numbers composed from MNIST training digits "
                       "and, in a share of the lines, digits drawn from the training typeface families (card: "
                       "typefaces).",
        "architecture": asdict(architecture),
        "parameters": model.count_params(),
        "train_config": config.to_dict(),
        "init_from": str(init_from) if init_from else None,
        "chosen_step": best["step"],
        "steps": number,
        "validation_whole_number_accuracy": rounded({k: v for k, v in best.items() if k != "step"}),
        "history": history,
        "training_minutes": round((time.time() - started) / 60, 1),
        "mnist_sha256": mnist.sha256,
        "command": "python -m training.number_reader " + " ".join(sys.argv[1:]),
        **({"typefaces": {"training_lines": typeface_share, "digits_in_hand": TYPEFACE_DIGITS,
                          "renders_per_digit": TYPEFACE_PER_DIGIT, "training_digits": sum(len(i) for i, _ in hands),
                          "families": family_list(),
                          **({"heavy_lines": config.heavy_lines, "heavy_renders_per_digit": HEAVY_PER_DIGIT,
                              "heavy_training_digits": sum(len(i) for i, _ in heavy_hands)} if heavy_hands else {})}}
           if typefaces else {}),
        **({"surface_marks": asdict(marks)} if config.surface_lines else {}),
        "tflite": exported,
    }
    if init_from:
        card["earlier_runs"] = earlier_runs(init_from.with_suffix(".json"))
        card["total_training_minutes"] = round(card["training_minutes"] + sum(run["training_minutes"]
                                                                              for run in card["earlier_runs"]), 1)
    models.card_path(MODEL_ID, out).write_text(json.dumps(card, indent=2) + "\n")
    return card


def export(model, images: np.ndarray, out: Path) -> dict:
    """The reader as served (softmax added) to out/number_reader.{keras,tflite}; the LiteRT file's checksum,
    size and largest difference from Keras on `images` (lines (N, 32, 256, 1)), for the card."""
    from digits.number_reader import NumberReaderModel
    from models.number_reader import with_probabilities
    from training.export import convert

    served = with_probabilities(model)
    out.mkdir(parents=True, exist_ok=True)
    served.save(models.model_path(MODEL_ID, out))
    tflite = models.litert_path(MODEL_ID, out)
    tflite.write_bytes(convert(served))
    runtime = NumberReaderModel(tflite)
    served_probabilities = np.stack([runtime.predict(image[..., 0]) for image in images])
    difference = float(np.max(np.abs(served.predict(images, verbose=0) - served_probabilities)))
    return {"sha256": models.file_sha256(tflite), "bytes": tflite.stat().st_size,
            "keras_sha256": models.file_sha256(models.model_path(MODEL_ID, out)),
            "max_probability_difference": float(f"{difference:.3g}")}


def rounded(scores: dict) -> dict:
    return {k: rounded(v) if isinstance(v, dict) else round(v, 4) for k, v in scores.items()}


def earlier_runs(card_path: Path) -> list[dict]:
    """The runs that made the reader training goes on from, latest first, read from its card: each run's
    configuration, checks, choice, time and command (not the files' checksums, which the new run replaces)."""
    if not card_path.is_file():
        return []
    card = json.loads(card_path.read_text())
    older = card.get("earlier_runs") or ([card["first_run"]] if "first_run" in card else [])
    run_keys = ("architecture", "train_config", "init_from", "chosen_step", "steps", "validation_whole_number_accuracy",
                "history", "training_minutes", "command")
    return [{k: card[k] for k in run_keys if k in card}, *older]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST .npz (else $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--minutes", type=float, help="how long to train (default: the config's)")
    parser.add_argument("--out", type=Path, default=models.MODELS_DIR)
    parser.add_argument("--init-from", type=Path, help="go on training this number_reader.keras")
    parser.add_argument("--learning-rate", type=float, help="peak learning rate (default: the config's)")
    parser.add_argument("--trunk-rate", type=float,
                        help="share of the peak rate for the layers a --init-from reader already had "
                             "(default: the config's)")
    parser.add_argument("--context-heads", type=int,
                        help="attention heads over the line's columns, 0 for none (default: models/number_reader.py's)")
    parser.add_argument("--no-typefaces", dest="typefaces", action="store_false",
                        help="MNIST's writers only: no lines in the typeface families' hands")
    parser.add_argument("--keep-checks", type=Path, help="save the weights at every check in this folder")
    parser.add_argument("--elastic-digits", type=float, default=0.0,
                        help="share of the training digits wobbled by an elastic field (default: none)")
    parser.add_argument("--widened-lines", type=float, default=0.0,
                        help="share of the crowded training lines fitted widened as read_number reads them again")
    parser.add_argument("--typeface-lines", type=float,
                        help="share of the training lines in a typeface family's hand (default: the config's)")
    parser.add_argument("--heavy-lines", type=float, default=0.0,
                        help="share of the typeface lines in a training family's heavy hand (default: none)")
    parser.add_argument("--surface-lines", type=float, default=0.0,
                        help="share of the training lines marked as a surface marks the ink (default: none)")
    parser.add_argument("--surface-marks", nargs="+", metavar="KIND",
                        help="the kinds of mark drawn on those lines, of: grain uneven loop_pieces stray_stroke "
                             "line_through (default: every kind)")
    parser.add_argument("--run-seed", type=int,
                        help="seed of the run's lines and weights' noise (default: the config's seed; the "
                             "validation split keeps it)")
    args = parser.parse_args(argv)
    config = replace(NumberReaderTrainConfig(), elastic_digits=args.elastic_digits, widened_lines=args.widened_lines,
                     heavy_lines=args.heavy_lines, surface_lines=args.surface_lines, run_seed=args.run_seed,
                     surface_marks=tuple(args.surface_marks) if args.surface_marks else None)
    if args.typeface_lines is not None:
        config = replace(config, typeface_lines=args.typeface_lines)
    if args.minutes:
        config = replace(config, minutes=args.minutes, minutes_between_checks=min(config.minutes_between_checks,
                                                                                  args.minutes),
                         warmup_steps=min(config.warmup_steps, max(1, int(args.minutes * 20))))
    if args.learning_rate:
        config = replace(config, learning_rate=args.learning_rate)
    if args.trunk_rate:
        config = replace(config, trunk_rate=args.trunk_rate)
    from models.number_reader import NumberReaderConfig

    architecture = NumberReaderConfig() if args.context_heads is None else \
        NumberReaderConfig(context_heads=args.context_heads)
    card = train(config, args.data, args.out, init_from=args.init_from, typefaces=args.typefaces,
                 architecture=architecture, keep_checks=args.keep_checks)
    print(json.dumps({"event": "done", "chosen_step": card["chosen_step"],
                      **card["validation_whole_number_accuracy"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
