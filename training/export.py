"""Export a trained `.keras` model to LiteRT (`<model>.tflite`), the file the server runs.

    digits export cnn            # models/cnn.keras -> models/cnn.tflite, checked, checksum on the card

The `.keras` file stays the source of truth (training, calibration, reports); the `.tflite` is made
from it with TensorFlow's own converter (`model.export` to a SavedModel, then
`tf.lite.TFLiteConverter.from_saved_model`) and kept only if, on the validation split, it gives the
same digit as the Keras model for every image and every probability within `TOLERANCE`.
"""

import json
import tempfile
from pathlib import Path

import numpy as np

import models
from digits.litert import LiteRTModel
from digits.preprocessing import to_model_input
from training.config import DEFAULTS
from training.data import Mnist, load_mnist, validation_split

TOLERANCE = 1e-4


class ExportError(Exception):
    pass


def convert(keras_model) -> bytes:
    """The Keras model as a LiteRT flatbuffer (float32, batch size left open)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved_model:
        keras_model.export(saved_model, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(saved_model).convert()


def export_litert(model_id: str, directory: Path, x_val: np.ndarray, keras_model=None) -> dict:
    """Writes `<model>.tflite` beside `<model>.keras` if it agrees with it on `x_val`; returns what the
    card records of it. A file that disagrees is not kept."""
    keras_model = keras_model or models.load_keras_model(model_id, directory)
    path = models.litert_path(model_id, directory)
    staged = path.with_suffix(".tflite.partial")
    staged.write_bytes(convert(keras_model))
    inputs = to_model_input(x_val)
    expected = keras_model.predict(inputs, batch_size=500, verbose=0)
    got = LiteRTModel(staged).predict(inputs)
    difference = float(np.max(np.abs(expected - got)))
    disagreements = int(np.count_nonzero(np.argmax(expected, axis=1) != np.argmax(got, axis=1)))
    if disagreements or difference > TOLERANCE:
        staged.unlink()
        raise ExportError(f"{model_id}: the LiteRT model differs from {models.model_path(model_id, directory)} on "
                          f"the validation split ({disagreements} digits differ, probabilities by up to "
                          f"{difference:.2g}, allowed {TOLERANCE:g}); not written.")
    staged.replace(path)
    return {
        "sha256": models.file_sha256(path),
        "bytes": path.stat().st_size,
        "keras_sha256": models.file_sha256(models.model_path(model_id, directory)),
        "checked_images": len(x_val),
        "max_probability_difference": float(f"{difference:.3g}"),
    }


def validation_images(model_id: str, card: dict, mnist: Mnist) -> np.ndarray:
    """The validation images the model was trained without: its card's split, else its config's."""
    config = DEFAULTS[model_id]
    size = card.get("validation_size", min(config.validation_size, len(mnist.x_train) // 10))
    seed = card.get("train_config", {}).get("seed", config.seed)
    _, (x_val, _) = validation_split(mnist.x_train, mnist.y_train, size, seed)
    return x_val


def export(model_id: str, data=None, directory: Path = models.MODELS_DIR) -> dict:
    """`digits export MODEL`: re-exports a trained model and records the new file on its card."""
    directory = Path(directory)
    if not models.model_path(model_id, directory).is_file():
        raise FileNotFoundError(f"No trained {model_id} model at {models.model_path(model_id, directory)}; "
                                f"train it with `digits train {model_id}`.")
    card_file = models.card_path(model_id, directory)
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    card["tflite"] = export_litert(model_id, directory, validation_images(model_id, card, load_mnist(data)))
    if card_file.is_file():
        card_file.write_text(json.dumps(card, indent=2) + "\n")
    return card["tflite"]
