"""Train one model on MNIST and write `<model>.keras`, its LiteRT export `<model>.tflite` and its model
card `<model>.json`.

    python -m training.train cnn --epochs 18 --data ../shared/data/mnist.npz

(the same as `digits train cnn ...`). The model with the best validation accuracy is kept; the test
set is only read once, at the end, for the figure on the card.
"""

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import models
from digits.preprocessing import to_model_input
from training.calibrate import accuracy, fit_temperature
from training.config import DEFAULTS, TrainConfig
from training.data import load_mnist, make_dataset, validation_split
from training.export import export_litert


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


def train(model_id: str, epochs: int | None = None, data: str | None = None, out: str | Path = models.MODELS_DIR,
          seed: int | None = None, limit: int | None = None, log_dir: str | Path = "runs",
          command: str = "", verbose: int = 1) -> dict:
    """Trains `model_id`, saves the best-on-validation model and its card in `out`; returns the card.

    `limit` trains on only the first N training images (for smoke tests).
    """
    import keras
    import tensorflow as tf

    config = DEFAULTS[model_id]
    config = replace(config, epochs=epochs or config.epochs, seed=config.seed if seed is None else seed)
    keras.utils.set_random_seed(config.seed)
    mnist = load_mnist(data)
    (x_train, y_train), (x_val, y_val) = validation_split(
        mnist.x_train, mnist.y_train, min(config.validation_size, len(mnist.x_train) // 10), config.seed)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    model = models.build_model(model_id)
    steps_per_epoch = -(-len(x_train) // config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model_file = models.model_path(model_id, out)
    callbacks = [
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema_momentum else []),  # before the checkpoint
        keras.callbacks.ModelCheckpoint(model_file, monitor="val_accuracy", mode="max", save_best_only=True),
        keras.callbacks.TensorBoard(Path(log_dir) / model_id / time.strftime("%Y%m%d-%H%M%S")),
    ]
    started = time.perf_counter()
    history = model.fit(
        make_dataset(x_train, y_train, config.batch_size, augment=config.augment, seed=config.seed),
        validation_data=make_dataset(x_val, y_val, 500),
        epochs=config.epochs, callbacks=callbacks, verbose=verbose,
        shuffle=False,  # the dataset shuffles itself each epoch
    )
    training_seconds = time.perf_counter() - started

    best = keras.saving.load_model(model_file, compile=False)
    best.save(model_file)  # without the optimizer's state: a third of the size, and all serving needs
    history = {name: [round(float(v), 5) for v in values] for name, values in history.history.items()}
    validation_probabilities = predict(best, x_val)
    card = {
        "model": model_id,
        "display_name": models.DISPLAY_NAMES[model_id],
        "description": models.DESCRIPTIONS[model_id],
        "test_accuracy": accuracy(predict(best, mnist.x_test), mnist.y_test),
        "test_size": len(mnist.x_test),
        "validation_accuracy": accuracy(validation_probabilities, y_val),
        "validation_size": len(x_val),
        "training_size": len(x_train),
        "parameters": best.count_params(),
        "epochs": config.epochs,
        "best_epoch": int(np.argmax(history["val_accuracy"])) + 1,
        "temperature": fit_temperature(validation_probabilities, y_val),
        "training_seconds": round(training_seconds, 1),
        "seed": config.seed,
        "data_sha256": mnist.sha256,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "file_bytes": model_file.stat().st_size,
        "command": command or " ".join(["python -m training.train", *sys.argv[1:]]),
        "model_config": models.ARCHITECTURES[model_id][1]().__dict__,
        "train_config": config.to_dict(),
        "history": history,
        "machine": f"{os.cpu_count()} CPU cores",
        "tflite": export_litert(model_id, out, x_val, best),
    }
    models.card_path(model_id, out).write_text(json.dumps(card, indent=2) + "\n")
    return card


if __name__ == "__main__":
    from digits.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
