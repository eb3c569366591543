"""The digit models: their architectures, and the trained artefacts shipped beside this file.

Serving needs only the paths and cards here and the `.tflite` files; it never imports Keras. The
architectures (`models.cnn`, `models.vit`, which import Keras) load on first use of `build_model`,
`ARCHITECTURES` or `load_keras_model`; loading them registers the custom layers the `.keras` files need.
"""

import hashlib
import importlib
import json
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
REPORTS_DIR = MODELS_DIR / "reports"

MODEL_IDS = ("cnn", "vit")
# Models the ensemble may also count that are not offered on their own: more CNNs, each trained with its own seed
# (`digits train cnn --member-seed N`, then copied in by scripts/add_ensemble_member.py), kept only if they err
# where the CNN does not. Each one found in models/ is offered to `digits calibrate ensemble`; the engine loads
# only those it gave a share (ensemble.json). A next member gets its name here (issue 26's eighth round tried a
# third, seed 13, as cnn3: no share, docs/typefaces.md).
EXTRA_MEMBERS = ("cnn2",)
DISPLAY_NAMES = {"cnn": "CNN", "vit": "Vision Transformer"}
DESCRIPTIONS = {
    "cnn": "A small convnet: seven conv-BN-ReLU layers, global pooling, trained with augmentation on MNIST and on digits rendered from handwriting typefaces.",
    "vit": "A Vision Transformer: conv-stem patch embedding, class token, 4 pre-norm attention blocks; it reads each digit as given and moved a pixel up, and averages the two.",
}
_KERAS_NAMES = {"CNNConfig": "models.cnn", "build_cnn": "models.cnn", "ViTConfig": "models.vit",
                "build_vit": "models.vit", "ClassTokenAndPosition": "models.vit",
                "TestTimeViews": "models.vit", "MeanOfViews": "models.vit",
                "DenseHeadCNNConfig": "models.dense_head_cnn", "build_dense_head_cnn": "models.dense_head_cnn"}

__all__ = ["ARCHITECTURES", "EXTRA_MEMBERS", "MODEL_IDS", "ClassTokenAndPosition", "build_model", "card_path", "ensemble_weights",
           "file_sha256", "litert_path", "load_card", "load_keras_file", "load_keras_model", "model_path"]


def __getattr__(name: str):
    """The Keras side of the package, imported only when asked for (PEP 562)."""
    if name == "ARCHITECTURES":
        from models.cnn import CNNConfig, build_cnn
        from models.vit import ViTConfig, build_vit

        from models.dense_head_cnn import DenseHeadCNNConfig, build_dense_head_cnn

        # dense_head_cnn: an ensemble member's architecture only (`digits train cnn --member-seed N
        # --architecture dense_head_cnn`), never offered on its own
        return {"cnn": (build_cnn, CNNConfig), "vit": (build_vit, ViTConfig),
                "dense_head_cnn": (build_dense_head_cnn, DenseHeadCNNConfig)}
    if name in _KERAS_NAMES:
        return getattr(importlib.import_module(_KERAS_NAMES[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


def build_model(model_id: str):
    build, config = __getattr__("ARCHITECTURES")[model_id]
    return build(config())


def load_keras_model(model_id: str, directory: Path = MODELS_DIR):
    """The trained `.keras` model (training, evaluation against Keras, export); needs the train extra."""
    return load_keras_file(model_path(model_id, directory))


def load_keras_file(path: str | Path):
    """A `.keras` file of either architecture, wherever it lies (a run's output, `--init-from`)."""
    import keras

    import models.vit  # noqa: F401  (registers the ViT's custom layer)

    return keras.saving.load_model(path, compile=False)


def model_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return Path(directory) / f"{model_id}.keras"


def litert_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    """The model as the server runs it: LiteRT, exported from the `.keras` file by `digits export`."""
    return Path(directory) / f"{model_id}.tflite"


def card_path(model_id: str, directory: Path = MODELS_DIR) -> Path:
    return Path(directory) / f"{model_id}.json"


def load_card(model_id: str, directory: Path = MODELS_DIR) -> dict:
    return json.loads(card_path(model_id, directory).read_text())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ensemble_weights(directory: Path = MODELS_DIR) -> dict[str, float]:
    """Each member's share of the ensemble's vote, as fitted on the validation split by
    `digits calibrate ensemble` (ensemble.json); equal shares of MODEL_IDS until it has been fitted.
    Its keys are the ensemble's members: MODEL_IDS, and any of EXTRA_MEMBERS that was fitted a share."""
    path = card_path("ensemble", directory)
    if not path.is_file():
        return {model_id: 1 / len(MODEL_IDS) for model_id in MODEL_IDS}
    return json.loads(path.read_text())["weights"]
