"""Fine-tune a shipped model on what people corrected, and keep it only if nothing got worse.

    digits feedback export --out feedback.npz
    digits finetune cnn --feedback feedback.npz --out /tmp/candidate

Starts from the shipped model, holds part of the corrections aside, trains a few epochs on the rest
mixed with MNIST training digits (so it does not forget MNIST), then compares before and after on the
MNIST validation split and on the held-out corrections. The new model and its card are written only
if neither got worse (the accept-or-refuse rule); its card records how many corrections it learned from.
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import models
from digits.preprocessing import IMAGE_SIZE
from training.calibrate import accuracy, fit_temperature
from training.config import DEFAULTS, FinetuneConfig
from training.data import DataError, load_mnist, make_dataset, validation_split
from training.train import make_optimizer, predict


@dataclass(frozen=True)
class Corrections:
    x: np.ndarray  # uint8 (N, 28, 28)
    y: np.ndarray  # uint8 (N,)
    sha256: str


@dataclass(frozen=True)
class Verdict:
    """Before and after on the two sets that judge a fine-tuned model, and what was done with it."""

    model: str
    accepted: bool
    reason: str
    corrections_learned: int
    corrections_held_out: int
    mnist_validation_before: float
    mnist_validation_after: float
    held_out_before: float
    held_out_after: float
    written_to: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        return (f"{self.model}: {'ACCEPTED' if self.accepted else 'REFUSED'}: {self.reason}\n"
                f"  MNIST validation  {self.mnist_validation_before:.4f} -> {self.mnist_validation_after:.4f}\n"
                f"  held-out corrections ({self.corrections_held_out})  "
                f"{self.held_out_before:.4f} -> {self.held_out_after:.4f}\n"
                f"  learned from {self.corrections_learned} corrections"
                + (f"; written to {self.written_to}" if self.written_to else "; nothing written"))


def read_corrections(path: str | Path) -> Corrections:
    """An export of `digits feedback export`: arrays x (N, 28, 28) uint8 and y (N,) with digits 0-9."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"feedback file not found: {path} (write one with `digits feedback export --out FILE`)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            x, y = npz["x"], npz["y"]
    except KeyError:
        raise DataError(f"{path} has no 'x' and 'y' arrays; is it from `digits feedback export`?") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from None
    if x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or x.dtype != np.uint8 or y.shape != (len(x),):
        raise DataError(f"{path}: x must be uint8 (N, 28, 28) and y (N,); they are {x.dtype} {x.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{path}: y holds labels outside 0-9")
    return Corrections(x, y.astype(np.uint8), hashlib.sha256(path.read_bytes()).hexdigest())


def finetune(model_id: str, feedback: str | Path, data: str | None = None, models_dir: Path = models.MODELS_DIR,
             out: str | Path = models.MODELS_DIR, config: FinetuneConfig = FinetuneConfig(),
             mnist_limit: int | None = None, command: str = "", verbose: int = 1) -> Verdict:
    """Fine-tune `model_id` from `models_dir` on the corrections in `feedback`; write to `out` if accepted.

    `mnist_limit` caps each MNIST set used: the training digits mixed in, the validation and the test
    digits (for smoke tests; a real run judges on the whole validation split).
    """
    import keras

    corrections = read_corrections(feedback)
    if len(corrections.y) < config.min_corrections:
        raise DataError(f"{feedback} holds {len(corrections.y)} corrections; fine-tuning needs at least "
                        f"{config.min_corrections} (some are held out to judge the result)")
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    (x_learn, y_learn), (x_held, y_held) = split_corrections(corrections, config.holdout_fraction, rng)
    mnist = load_mnist(data)
    (x_train, y_train), (x_val, y_val) = validation_split(  # the split the shipped model was chosen on
        mnist.x_train, mnist.y_train, DEFAULTS[model_id].validation_size, DEFAULTS[model_id].seed)
    x_test, y_test = mnist.x_test, mnist.y_test
    if mnist_limit:
        x_val, y_val, x_test, y_test = (a[:mnist_limit] for a in (x_val, y_val, x_test, y_test))
    mixed = rng.choice(len(x_train), min(len(x_train), mnist_limit or len(x_train),
                                         config.mnist_per_correction * len(x_learn)), replace=False)
    x_mix = np.concatenate([x_train[mixed], *[x_learn] * config.correction_repeats])
    y_mix = np.concatenate([y_train[mixed], *[y_learn] * config.correction_repeats])

    model = models.load_keras_model(model_id, models_dir)
    before = (accuracy(predict(model, x_val), y_val), accuracy(predict(model, x_held), y_held))
    steps_per_epoch = -(-len(x_mix) // config.batch_size)
    model.compile(optimizer=make_optimizer(config, steps_per_epoch),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing))
    started = time.perf_counter()
    model.fit(make_dataset(x_mix, y_mix, config.batch_size, augment=config.augment, seed=config.seed),
              epochs=config.epochs, verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - started
    validation_probabilities = predict(model, x_val)
    after = (accuracy(validation_probabilities, y_val), accuracy(predict(model, x_held), y_held))

    accepted, reason = judge(before, after)
    written_to = None
    if accepted:
        card = {**models.load_card(model_id, models_dir),
                "validation_accuracy": after[0],
                "test_accuracy": accuracy(predict(model, x_test), y_test),
                "temperature": fit_temperature(validation_probabilities, y_val),
                "fine_tuned": {"from_sha256": _sha256(models.model_path(model_id, models_dir)),
                               "feedback_sha256": corrections.sha256, "corrections_learned": len(y_learn),
                               "corrections_held_out": len(y_held), "held_out_accuracy": after[1],
                               "held_out_accuracy_before": before[1],
                               "validation_accuracy_before": before[0], "seconds": round(seconds, 1),
                               "config": config.to_dict(), "command": command}}
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model.save(models.model_path(model_id, out))
        card["file_bytes"] = models.model_path(model_id, out).stat().st_size
        models.card_path(model_id, out).write_text(json.dumps(card, indent=2) + "\n")
        written_to = str(models.model_path(model_id, out))
    return Verdict(model_id, accepted, reason, len(y_learn), len(y_held), before[0], after[0], before[1],
                   after[1], written_to)


def split_corrections(corrections: Corrections, holdout_fraction: float, rng: np.random.Generator):
    """(learn from, held out): a seeded shuffle, at least one held out."""
    order = rng.permutation(len(corrections.y))
    held = max(1, round(holdout_fraction * len(order)))
    return ((corrections.x[order[held:]], corrections.y[order[held:]]),
            (corrections.x[order[:held]], corrections.y[order[:held]]))


def judge(before: tuple[float, float], after: tuple[float, float]) -> tuple[bool, str]:
    """The accept-or-refuse rule: neither the MNIST validation split nor the held-out corrections worse."""
    (val_before, held_before), (val_after, held_after) = before, after
    if val_after < val_before:
        return False, f"MNIST validation accuracy fell ({val_before:.4f} -> {val_after:.4f})"
    if held_after < held_before:
        return False, f"held-out corrections got worse ({held_before:.4f} -> {held_after:.4f})"
    return True, "neither the MNIST validation split nor the held-out corrections got worse"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
