"""How far a 28x28 image lies from MNIST's digits in the CNN's own features: the judge's second view,
which needs no pictures without a digit. The shipped CNN (models/cnn.keras) up to its global pooling,
exported to LiteRT as `digit_scorer_features.tflite`, gives 96 features; their squared Mahalanobis
distance to the nearest of the ten digits' means (one covariance shared by the ten), fitted on MNIST
*training* digits as the pipeline hands a found digit on, is large for a shape, an icon, a texture.
Fitted and measured by `python -m training.feature_distance`; the weight the judge gives it and the
threshold are the judge stage's settings (digits/preprocessing/pipeline.py, JudgeSettings). LiteRT and
NumPy only.
"""

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from models import MODELS_DIR

FEATURES_MODEL_PATH = MODELS_DIR / "digit_scorer_features.tflite"  # the CNN up to its global pooling
STATISTICS_PATH = MODELS_DIR / "digit_scorer_features.npz"  # the ten means and the shared precision matrix

@dataclass(frozen=True, eq=False)
class FeatureDistance:
    model_path: Path
    means: np.ndarray  # (10, F): each digit's mean features on MNIST training digits
    precision: np.ndarray  # (F, F): the inverse of the covariance the ten share
    # One interpreter, taken in turn (an interpreter is not thread-safe). Not one per thread: the Uplink
    # reads each call in a thread of its own, and making an interpreter costs 3-5 ms against 0.7 ms to
    # run it; only pictures that reach the judge use it, so the turns are rarely waited for.
    _interpreter: list = field(default_factory=list, repr=False)
    _turn: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def features(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, F) for uint8 (N, 28, 28) images in MNIST's form."""
        inputs = (np.asarray(images, np.float32) / 255.0)[..., None]
        with self._turn:
            if not self._interpreter:
                from ai_edge_litert.interpreter import Interpreter

                self._interpreter.append(Interpreter(model_path=str(self.model_path), num_threads=1))
                self._interpreter[0].allocate_tensors()
            interpreter = self._interpreter[0]
            (image,), (output,) = interpreter.get_input_details(), interpreter.get_output_details()
            if tuple(image["shape"]) != inputs.shape:  # allocated once for a lone upload's batch of 1
                interpreter.resize_tensor_input(image["index"], list(inputs.shape), strict=True)
                interpreter.allocate_tensors()
            interpreter.set_tensor(image["index"], inputs)
            interpreter.invoke()
            return interpreter.get_tensor(output["index"]).copy()

    def distance(self, images: np.ndarray) -> np.ndarray:
        """(N,) the squared Mahalanobis distance of each image's features to the nearest digit's mean."""
        return self.distance_of(self.features(images))

    def distance_of(self, features: np.ndarray) -> np.ndarray:
        apart = np.asarray(features, np.float64)[:, None, :] - self.means[None]
        return np.einsum("nkf,fg,nkg->nk", apart, self.precision, apart).min(axis=1)


@lru_cache(maxsize=1)
def load_feature_distance(model_path: Path = FEATURES_MODEL_PATH,
                          statistics_path: Path = STATISTICS_PATH) -> FeatureDistance | None:
    """The shipped feature distance, or None where it has not been fitted (the judge is then the scorer alone)."""
    if not (Path(model_path).is_file() and Path(statistics_path).is_file()):
        return None
    with np.load(statistics_path) as statistics:
        return FeatureDistance(Path(model_path), statistics["means"].astype(np.float64),
                               statistics["precision"].astype(np.float64))
