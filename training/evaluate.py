"""How well a model reads the MNIST test set, or a style suite, through the engine that serves the app.

    digits evaluate cnn --json
    digits evaluate cnn --suite style-shift
    digits evaluate cnn --suite typefaces

Predictions come from `digits.engine.Engine.predict_probabilities`, so the number printed here is the
number the served model earns, preprocessing included.
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import models
from digits.engine import ENSEMBLE, MODEL_CHOICES, Engine, UnknownModelError
from training.data import Mnist, load_mnist

if TYPE_CHECKING:
    from training.style_shift import StyledSet


@dataclass(frozen=True, eq=False)
class Evaluation:
    model: str  # "cnn", "vit" or "ensemble"
    labels: np.ndarray = field(repr=False)  # (N,) the true digits
    probabilities: np.ndarray = field(repr=False)  # (N, 10) what the model said
    data_sha256: str  # the MNIST file the test images came from
    seconds: float  # time spent predicting

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1)

    @property
    def confidences(self) -> np.ndarray:
        """The probability of the predicted digit, per image."""
        return np.max(self.probabilities, axis=1)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def errors(self) -> int:
        return int(self.n - np.count_nonzero(self.correct))

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))

    def confusion_matrix(self) -> np.ndarray:
        """counts[true digit, predicted digit], (10, 10)."""
        counts = np.zeros((10, 10), dtype=np.int64)
        np.add.at(counts, (self.labels, self.predictions), 1)
        return counts

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "accuracy": round(self.accuracy, 6),
            "n": self.n,
            "errors": self.errors,
            "data_sha256": self.data_sha256,
            "seconds": round(self.seconds, 2),
        }

    def summary_line(self) -> str:
        return (f"{self.model}: accuracy {self.accuracy:.4f} on {self.n:,} MNIST test images "
                f"({self.errors:,} wrong), {self.seconds:.1f} s")

    def to_text(self, as_json: bool = False) -> str:
        """What `digits evaluate` prints: one JSON object, or one readable line."""
        return json.dumps(self.to_dict()) if as_json else self.summary_line()


def member_models(model: str) -> tuple[str, ...]:
    """The trained models `model` needs: itself, or both for the ensemble."""
    if model not in MODEL_CHOICES:
        raise UnknownModelError(f"Unknown model {model!r}; choose one of: {', '.join(MODEL_CHOICES)}.")
    return models.MODEL_IDS if model == ENSEMBLE else (model,)


def open_engine(model: str, models_dir: str | os.PathLike = models.MODELS_DIR) -> Engine:
    """An engine holding exactly the models that `model` needs; a clear error if one is not trained."""
    needed = member_models(model)
    for model_id in needed:
        path = models.model_path(model_id, Path(models_dir))
        if not path.is_file():
            raise FileNotFoundError(f"No trained {model_id} model at {path}; train it with `digits train {model_id}`.")
    return Engine(model_ids=needed, models_dir=Path(models_dir))


def load_test_images(data: Mnist | str | os.PathLike | None,
                     limit: int | None = None) -> tuple[Mnist, np.ndarray, np.ndarray]:
    """The MNIST test images and labels, the first `limit` of them if given (for quick checks)."""
    mnist = data if isinstance(data, Mnist) else load_mnist(data)
    count = len(mnist.y_test) if limit is None else limit
    return mnist, mnist.x_test[:count], mnist.y_test[:count].astype(np.int64)


def evaluate_with(engine: Engine, model: str, images: np.ndarray, labels: np.ndarray, data_sha256: str) -> Evaluation:
    started = time.perf_counter()
    probabilities = engine.predict_probabilities(model, images)
    return Evaluation(model=model, labels=labels, probabilities=probabilities, data_sha256=data_sha256,
                      seconds=time.perf_counter() - started)


def evaluate(model: str, data: Mnist | str | os.PathLike | None = None,
             models_dir: str | os.PathLike = models.MODELS_DIR, limit: int | None = None,
             engine: Engine | None = None) -> Evaluation:
    """Scores `model` ("cnn", "vit" or "ensemble") on the MNIST test set (`data`: a path, a loaded
    Mnist, or None for the default file). `engine` reuses models already loaded; `limit` scores only
    the first N test images.
    """
    member_models(model)
    mnist, images, labels = load_test_images(data, limit)
    if engine is not None:
        return evaluate_with(engine, model, images, labels, mnist.sha256)
    with open_engine(model, models_dir) as own_engine:
        return evaluate_with(own_engine, model, images, labels, mnist.sha256)


@dataclass(frozen=True, eq=False)
class StyleShiftEvaluation(Evaluation):
    styles: np.ndarray = field(default=None, repr=False)  # (N,) the style of each image
    suite: str = "style-shift"

    def per_style(self) -> dict[str, dict]:
        """{style: {"accuracy", "n"}}, in the suite's order of styles."""
        names = list(dict.fromkeys(self.styles.tolist()))
        return {name: {"accuracy": round(float(np.mean(self.correct[self.styles == name])), 6),
                       "n": int(np.count_nonzero(self.styles == name))} for name in names}

    def worst_style(self) -> str:
        return min(self.per_style().items(), key=lambda item: item[1]["accuracy"])[0]

    def figures(self) -> dict:
        """What a model card and a report record: accuracy, n, errors, per_style and worst_style."""
        return {"accuracy": round(self.accuracy, 6), "n": self.n, "errors": self.errors,
                "per_style": self.per_style(), "worst_style": self.worst_style()}

    def to_dict(self) -> dict:
        return {**super().to_dict(), "suite": self.suite, **self.figures()}

    def summary_line(self) -> str:
        lines = [f"{self.model}: accuracy {self.accuracy:.4f} on the {self.suite} suite "
                 f"({self.n:,} images, {self.errors:,} wrong), {self.seconds:.1f} s"]
        lines += [f"  {name:26s} {scores['accuracy']:7.2%}  of {scores['n']}"
                  for name, scores in self.per_style().items()]
        return "\n".join(lines)


STYLE_SUITES = ("style-shift", "typefaces", "typefaces-2", "hand-variants")  # suites of digits in styles, scored overall and per style


def load_style_suite(suite: str, data: Mnist | str | os.PathLike | None = None) -> "StyledSet":
    """The images of a style suite, built once, then cached: "style-shift" (training/style_shift.py, MNIST
    validation digits redrawn in styles MNIST rarely has), "typefaces" (training/typefaces.py, held-out
    handwriting typeface families; `data` is unused, as the suite draws no MNIST digit) or "typefaces-2"
    (the second held-out set, of the families added later) or "hand-variants" (training/hand_variants.py: MNIST
    validation digits redrawn from their strokes as the held-out ranges of the hand variants)."""
    if suite == "style-shift":
        from training.style_shift import load_suite
        return load_suite(data)
    if suite in ("typefaces", "typefaces-2"):
        from training.typefaces import SUITES, load_typeface_suite
        return load_typeface_suite(split=SUITES[suite])
    if suite == "hand-variants":
        from training.data import load_mnist
        from training.hand_variants import load_variant_suite
        return load_variant_suite(data if isinstance(data, Mnist) else load_mnist(data))
    raise ValueError(f"Unknown style suite {suite!r}; choose one of: {', '.join(STYLE_SUITES)}.")


def evaluate_styles(model: str, suite: str = "style-shift", data: Mnist | str | os.PathLike | None = None,
                    models_dir: str | os.PathLike = models.MODELS_DIR, engine: Engine | None = None,
                    styled: "StyledSet | None" = None) -> StyleShiftEvaluation:
    """Scores `model` on a style suite (see load_style_suite), overall and per style. `styled` reuses the
    suite's images already loaded; `engine` reuses models already loaded."""
    member_models(model)
    styled = styled if styled is not None else load_style_suite(suite, data)
    if engine is None:
        with open_engine(model, models_dir) as own_engine:
            return evaluate_styles(model, suite, models_dir=models_dir, engine=own_engine, styled=styled)
    started = time.perf_counter()
    probabilities = engine.predict_probabilities(model, styled.images)
    return StyleShiftEvaluation(model=model, labels=styled.labels, probabilities=probabilities,
                                data_sha256=styled.data_sha256, seconds=time.perf_counter() - started,
                                styles=styled.styles, suite=suite)
