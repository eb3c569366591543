"""Train one model on MNIST and write `<model>.keras`, its LiteRT export `<model>.tflite` and its model
card `<model>.json`.

    digits train cnn --epochs 18 --data ../shared/data/mnist.npz

(digits/cli.py is this module's door; nothing here imports it). After each epoch the model also reads
the held-out typeface families (training/typefaces.py: digits in hands no training digit was drawn in);
the epoch with the best validation + held-out typeface accuracy (the mean of both held-out sets) is kept. The style-shift suite
(training/style_shift.py) is read once, for the card: its styles come from the renderers that draw
styled training digits, so it is no longer chosen on. The test set is only read once, at the end, for
the figure on the card.
"""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import models
from digits.preprocessing import to_model_input
from training.calibrate import accuracy, fit_temperature
from training.config import DEFAULTS, DISTILLED_MEMBERS, FINE_TUNES, MEMBER_ARCHITECTURES, MEMBERS, TrainConfig
from training.data import load_mnist, make_dataset, validation_split
from training.evaluate import StyleShiftEvaluation
from training.export import export_litert
from training.hand_variants import load_variant_suite, variant_training_digits
from training.style_shift import StyleShiftSuite, load_suite, styled_training_digits
from training.typefaces import (SECOND_SPLIT, family_list, heavy_typeface_training_digits, load_typeface_suite,
                                typeface_training_digits)


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        warmup_target=config.learning_rate,
        warmup_steps=min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch,
        decay_steps=max(config.epochs - config.warmup_epochs, 1) * steps_per_epoch,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=config.weight_decay,
        use_ema=config.ema_momentum is not None, ema_momentum=config.ema_momentum or 0.99,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "class_token", "position"])
    return optimizer


def predict(model, x: np.ndarray) -> np.ndarray:
    return model.predict(to_model_input(x), batch_size=500, verbose=0)


def selection_callback(mnist, suite_per_style: int | None, typefaces: StyleShiftSuite | None,
                       second_typefaces: StyleShiftSuite | None = None, reported: StyleShiftSuite | None = None):
    """Adds `selection_score` to each epoch's logs: validation + held-out typeface accuracy
    (`typefaces_accuracy`; with the second held-out set, the mean of the two sets' accuracies, the second
    logged as `typefaces_2_accuracy`), or without typefaces (smoke runs) validation + style-shift accuracy
    (`style_shift_accuracy`), as before the typefaces. `reported` (the held-out hand variants) is logged as
    `hand_variants_accuracy`, not chosen on."""
    import keras

    suite = load_suite(mnist, per_style=suite_per_style) if typefaces is None else None
    held_out = {"typefaces_accuracy": typefaces, "typefaces_2_accuracy": second_typefaces}
    held_out = {name: chosen for name, chosen in held_out.items() if chosen is not None and len(chosen.labels)}

    class SelectionScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for name, chosen in held_out.items():
                logs[name] = accuracy(predict(self.model, chosen.images), chosen.labels)
            if reported is not None:
                logs["hand_variants_accuracy"] = accuracy(predict(self.model, reported.images), reported.labels)
            if not held_out:
                logs["style_shift_accuracy"] = accuracy(predict(self.model, suite.images), suite.labels)
            typeface_score = np.mean([logs[name] for name in held_out]) if held_out else logs["style_shift_accuracy"]
            logs["selection_score"] = logs["val_accuracy"] + float(typeface_score)

    return SelectionScore()


def distilled_targets(config: TrainConfig):
    """For each augmented batch: (1 - w) * the one-hot labels + w * the teachers' mean probabilities for
    those very images, softened by the temperature: the student learns how sure better readers are, and
    which digits they find alike, not only the right answer."""
    import tensorflow as tf

    teachers = [models.load_keras_file(models.model_path(model_id)) for model_id in config.teachers]

    def targets(images, one_hot):
        images = tf.ensure_shape(images, (None, 28, 28, 1))  # the ViT's test-time views need its size known
        probabilities = tf.add_n([teacher(images, training=False) for teacher in teachers]) / len(teachers)
        soft = tf.nn.softmax(tf.math.log(probabilities + 1e-7) / config.distill_temperature)
        return (1 - config.distill_weight) * one_hot + config.distill_weight * soft

    return targets


def typeface_figures(model, suite: StyleShiftSuite, name: str = "typefaces", families: bool = True) -> dict:
    """The held-out typeface figures a card records, with every family and its licence (on the first set's)."""
    scored = StyleShiftEvaluation(model="", labels=suite.labels, probabilities=predict(model, suite.images),
                                  data_sha256="", seconds=0.0, styles=suite.styles, suite=name)
    return {**scored.figures(), **({"families": family_list()} if families else {})}


def card_figures(model_id: str, model, mnist, x_val: np.ndarray, y_val: np.ndarray, out: str | Path,
                 typeface_suite: StyleShiftSuite | None, suite_per_style: int | None = None,
                 second_typeface_suite: StyleShiftSuite | None = None) -> dict:
    """What a card records of a trained model, measured afresh: the MNIST test set (read here, once, for
    the card's figure), the validation split, the style-shift suite, the held-out typefaces (when given; the
    second held-out set as `typefaces_2`),
    the temperature fitted on validation, and its LiteRT export (written to `out` beside the `.keras` file,
    checked against it on validation). `digits train` and scripts/ship_vit_checkpoint.py both call this."""
    validation = predict(model, x_val)
    suite = load_suite(mnist, per_style=suite_per_style)
    shifted = StyleShiftEvaluation(model=model_id, labels=suite.labels, probabilities=predict(model, suite.images),
                                   data_sha256=mnist.sha256, seconds=0.0, styles=suite.styles)
    return {
        "test_accuracy": accuracy(predict(model, mnist.x_test), mnist.y_test),
        "validation_accuracy": accuracy(validation, y_val),
        "style_shift": shifted.figures(),
        **({"typefaces": typeface_figures(model, typeface_suite)} if typeface_suite is not None else {}),
        **({"typefaces_2": typeface_figures(model, second_typeface_suite, "typefaces-2", families=False)}
           if second_typeface_suite is not None and len(second_typeface_suite.labels) else {}),
        "temperature": fit_temperature(validation, y_val),
        "tflite": export_litert(model_id, Path(out), x_val, model),
    }


def fine_tuned_from(path: str | Path) -> dict:
    """What a fine-tuned model started from: the file, and its card's figures if it has one beside it."""
    card_file = Path(path).with_suffix(".json")
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    # Its history and what it was fine-tuned from in turn: the report draws a model's whole training.
    keep = ("test_accuracy", "validation_accuracy", "epochs", "training_seconds", "command", "best_epoch",
            "history", "init_from")
    return {"file": Path(path).name, **{key: card[key] for key in keep if key in card}}


def train(model_id: str, epochs: int | None = None, data: str | None = None, out: str | Path = models.MODELS_DIR,
          seed: int | None = None, limit: int | None = None, log_dir: str | Path = "runs",
          command: str = "", verbose: int = 1, init_from: str | Path | None = None,
          suite_per_style: int | None = None, typefaces: bool = True, member_seed: int | None = None,
          distill: bool = False, architecture: str | None = None, hand_variants: int | None = None,
          heavy_typefaces: int | None = None, heavy_bold_and_marker_only: bool | None = None) -> dict:
    """Trains `model_id`, saves the model of its best epoch (validation + held-out typefaces) and its card
    in `out`; returns the card.

    `init_from` fine-tunes a trained model file (with FINE_TUNES' settings) instead of starting from
    scratch; `limit` trains on only the first N training images and `suite_per_style` shrinks the
    style-shift suite (both for smoke tests); `typefaces=False` leaves the typeface families out (no
    fonts to fetch: smoke tests), choosing on validation + the style-shift suite as before. `member_seed`
    trains a second model for the ensemble from scratch (training/config.py's MEMBERS) with that seed for
    its weights, shuffling and augmentation, on the same validation split; with `distill`, a member that also
    learns from the shipped teachers' answers (DISTILLED_MEMBERS); with `architecture`, a member built by
    another of models.ARCHITECTURES, with its own settings (MEMBER_ARCHITECTURES), saved under `model_id`'s
    file names as every member is. `hand_variants` sets how many training digits redrawn as each hand variant
    (training/hand_variants.py) are added; with any, the held-out variants are logged each epoch.
    `heavy_typefaces` sets how many heavy renders of each digit per training typeface family are added
    (training/typefaces.py: strokes widened until they touch); `heavy_bold_and_marker_only`, of the bold and
    marker faces alone.
    """
    import keras
    import tensorflow as tf

    if distill and member_seed is None:
        raise ValueError("distill trains an ensemble member: give it a member_seed")
    if architecture and (member_seed is None or distill or init_from):
        raise ValueError("architecture trains an ensemble member from scratch: give it a member_seed alone")
    settings = (FINE_TUNES if init_from else DISTILLED_MEMBERS if distill else MEMBER_ARCHITECTURES if architecture
                else MEMBERS if member_seed is not None else DEFAULTS)
    config = settings[architecture or model_id]
    config = replace(config, epochs=epochs or config.epochs, seed=config.seed if seed is None else seed,
                     member_seed=member_seed,
                     hand_variants=config.hand_variants if hand_variants is None else hand_variants,
                     heavy_typeface_per_digit=(config.heavy_typeface_per_digit if heavy_typefaces is None
                                               else heavy_typefaces),
                     heavy_bold_and_marker_only=(config.heavy_bold_and_marker_only if heavy_bold_and_marker_only is None
                                                 else heavy_bold_and_marker_only))
    own_seed = config.seed if member_seed is None else member_seed  # weights, shuffling, augmentation
    keras.utils.set_random_seed(own_seed)
    mnist = load_mnist(data)
    (x_train, y_train), (x_val, y_val) = validation_split(
        mnist.x_train, mnist.y_train, min(config.validation_size, len(mnist.x_train) // 10), config.seed)
    styled = config.styled.scaled(limit / len(x_train)) if limit else config.styled
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    mnist_training_size = len(x_train)
    if styled.glyph_per_style or styled.other_per_style or styled.continental_ones:
        extra = styled_training_digits(mnist, styled, limit)
        x_train, y_train = np.concatenate([x_train, extra.images]), np.concatenate([y_train, extra.labels])
    styled_size = len(x_train) - mnist_training_size
    if typefaces and config.typeface_per_digit:
        extra = typeface_training_digits(config.typeface_per_digit)
        x_train, y_train = np.concatenate([x_train, extra.images]), np.concatenate([y_train, extra.labels])
    heavy_size = 0
    if typefaces and config.heavy_typeface_per_digit:
        extra = heavy_typeface_training_digits(config.heavy_typeface_per_digit,
                                               bold_and_marker_only=config.heavy_bold_and_marker_only)
        x_train, y_train = np.concatenate([x_train, extra.images]), np.concatenate([y_train, extra.labels])
        heavy_size = len(extra.labels)
    typeface_size = len(x_train) - mnist_training_size - styled_size  # the heavy ones among them
    if config.hand_variants:
        extra = variant_training_digits(mnist, config.hand_variants, limit)
        x_train, y_train = np.concatenate([x_train, extra.images]), np.concatenate([y_train, extra.labels])
    variant_suite = load_variant_suite(mnist) if config.hand_variants else None
    typeface_suite = load_typeface_suite() if typefaces else None
    second_typeface_suite = load_typeface_suite(split=SECOND_SPLIT) if typefaces else None

    targets_from = distilled_targets(config) if config.teachers and config.distill_weight else None
    source = fine_tuned_from(init_from) if init_from else None  # read before `out` may overwrite it
    model = models.load_keras_file(init_from) if init_from else models.build_model(architecture or model_id)
    steps_per_epoch = -(-len(x_train) // config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model_file = models.model_path(model_id, out)
    run_dir = Path(log_dir) / model_id / time.strftime("%Y%m%d-%H%M%S")
    callbacks = [
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema_momentum else []),  # before the scores
        selection_callback(mnist, suite_per_style, typeface_suite, second_typeface_suite, variant_suite),  # before the checkpoint that reads its score
        keras.callbacks.ModelCheckpoint(model_file, monitor="selection_score", mode="max", save_best_only=True),
        # Every epoch's weights too, beside its logs, to compare epochs afterwards (the ViT's test-time views)
        keras.callbacks.ModelCheckpoint(run_dir / "epoch-{epoch:02d}.weights.h5", save_weights_only=True),
        keras.callbacks.TensorBoard(run_dir),
    ]
    started = time.perf_counter()
    history = model.fit(
        make_dataset(x_train, y_train, config.batch_size, augment=config.augment, seed=own_seed,
                     targets_from=targets_from),
        validation_data=make_dataset(x_val, y_val, 500),
        epochs=config.epochs, callbacks=callbacks, verbose=verbose,
        shuffle=False,  # the dataset shuffles itself each epoch
    )
    training_seconds = time.perf_counter() - started

    best = models.load_keras_file(model_file)
    best.save(model_file)  # without the optimizer's state: a third of the size, and all serving needs
    history = {name: [round(float(v), 5) for v in values] for name, values in history.history.items()}
    # The style-shift suite is reported on the card, chosen on only without typefaces
    figures = card_figures(model_id, best, mnist, x_val, y_val, out, typeface_suite, suite_per_style,
                           second_typeface_suite)
    card = {
        "model": model_id,
        "display_name": models.DISPLAY_NAMES[model_id],
        "description": models.DESCRIPTIONS[model_id],
        "test_accuracy": figures["test_accuracy"],
        "test_size": len(mnist.x_test),
        "validation_accuracy": figures["validation_accuracy"],
        "validation_size": len(x_val),
        "training_size": mnist_training_size,
        "styled_training_size": styled_size,
        "typeface_training_size": typeface_size,
        **({"heavy_typeface_training_size": heavy_size} if heavy_size else {}),
        **({"hand_variant_training_size": len(x_train) - mnist_training_size - styled_size - typeface_size}
           if config.hand_variants else {}),
        "parameters": best.count_params(),
        "epochs": config.epochs,
        "best_epoch": int(np.argmax(history["selection_score"])) + 1,
        "style_shift": figures["style_shift"],
        **({"typefaces": figures["typefaces"]} if "typefaces" in figures else {}),
        **({"typefaces_2": figures["typefaces_2"]} if "typefaces_2" in figures else {}),
        "temperature": figures["temperature"],
        "training_seconds": round(training_seconds, 1),
        **({"init_from": source} if source else {}),
        "seed": config.seed,
        "data_sha256": mnist.sha256,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "file_bytes": model_file.stat().st_size,
        "command": command or f"train({model_id!r}) from Python",
        **({"architecture": architecture} if architecture else {}),
        "model_config": models.ARCHITECTURES[architecture or model_id][1]().__dict__,
        "train_config": config.to_dict(),
        "history": history,
        "machine": f"{os.cpu_count()} CPU cores",
        "tflite": figures["tflite"],
    }
    models.card_path(model_id, out).write_text(json.dumps(card, indent=2) + "\n")
    return card

