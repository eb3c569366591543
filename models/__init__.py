"""The digit models: their architectures, and the trained artefacts shipped beside this file.

Importing this package registers the custom layers, so `keras.saving.load_model` reads the files.
"""

import json
from pathlib import Path

from models.cnn import CNNConfig, build_cnn
from models.vit import ClassTokenAndPosition, ViTConfig, build_vit

MODELS_DIR = Path(__file__).resolve().parent
REPORTS_DIR = MODELS_DIR / "reports"

ARCHITECTURES = {
    "cnn": (build_cnn, CNNConfig),
    "vit": (build_vit, ViTConfig),
}
DISPLAY_NAMES = {"cnn": "CNN", "vit": "Vision Transformer"}
DESCRIPTIONS = {
    "cnn": "A small convnet: seven conv-BN-ReLU layers, global pooling, trained with augmentation.",
    "vit": "A Vision Transformer: conv-stem patch embedding, class token, 4 pre-norm attention blocks.",
}
MODEL_IDS = tuple(ARCHITECTURES)

__all__ = ["ARCHITECTURES", "MODEL_IDS", "ClassTokenAndPosition", "build_model", "card_path", "ensemble_weights",
           "load_card", "model_path"]


def build_model(model_id: str):
    build, config = ARCHITECTURES[model_id]
    return build(config())


def model_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return Path(directory) / f"{model_id}.keras"


def card_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return Path(directory) / f"{model_id}.json"


def load_card(model_id: str, directory: Path = MODELS_DIR) -> dict:
    return json.loads(card_path(model_id, directory).read_text())


def ensemble_weights(directory: Path = MODELS_DIR) -> dict[str, float]:
    """Each model's share of the ensemble's vote, as fitted on the validation split by
    `digits calibrate ensemble` (ensemble.json); equal shares until it has been fitted."""
    path = card_path("ensemble", directory)
    if not path.is_file():
        return {model_id: 1 / len(MODEL_IDS) for model_id in MODEL_IDS}
    return json.loads(path.read_text())["weights"]
