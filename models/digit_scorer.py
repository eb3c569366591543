"""The digit/not-digit scorer: a tiny MLP on a 28x28 image's shape measures
and the image at a coarse size
(digits/preprocessing/shape_features.py), trained by `python -m training.digit_scorer` on scenes
rendered from MNIST training digits and on rendered pictures without a digit. Its weights, its
threshold and how they were chosen are in `digit_scorer.json` beside this file. NumPy only.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SCORER_PATH = Path(__file__).resolve().parent / "digit_scorer.json"


@dataclass(frozen=True, eq=False)
class DigitScorer:
    mean: np.ndarray  # (F,): the features' mean and spread on the training split, to standardise them
    scale: np.ndarray
    hidden_weights: np.ndarray  # (F, H)
    hidden_bias: np.ndarray  # (H,)
    output_weights: np.ndarray  # (H,)
    output_bias: float
    threshold: float  # scores below this are "no digit"
    coarse: int = 7  # the image is read at coarse x coarse beside the shape measures

    def score(self, features: np.ndarray) -> np.ndarray:
        """The probability that each row of features (N, F), or one (F,), is a handwritten digit."""
        hidden = np.maximum(((features - self.mean) / self.scale) @ self.hidden_weights + self.hidden_bias, 0.0)
        return 1.0 / (1.0 + np.exp(-(hidden @ self.output_weights + self.output_bias)))

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "hidden_weights": self.hidden_weights.tolist(),
                "hidden_bias": self.hidden_bias.tolist(), "output_weights": self.output_weights.tolist(),
                "output_bias": float(self.output_bias), "threshold": float(self.threshold), "coarse": self.coarse}

    @classmethod
    def from_dict(cls, weights: dict) -> "DigitScorer":
        arrays = {key: np.asarray(value, np.float64) for key, value in weights.items()
                  if key not in ("output_bias", "threshold", "coarse")}
        return cls(**arrays, output_bias=float(weights["output_bias"]), threshold=float(weights["threshold"]),
                   coarse=int(weights.get("coarse", 7)))


@lru_cache(maxsize=1)
def load_digit_scorer(path: Path = SCORER_PATH) -> DigitScorer | None:
    """The shipped scorer, or None where it has not been trained (then no picture is judged by it)."""
    if not Path(path).is_file():
        return None
    return DigitScorer.from_dict(json.loads(Path(path).read_text())["weights"])
