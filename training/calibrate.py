"""Temperature scaling: make a model's confidence mean what it says, fitted on the validation split.
Then the ensemble's weights: how much each (calibrated) member counts in the vote, fitted there too.

Label smoothing (training/config.py) teaches a model to say about 90% even when it is certain, so its
raw confidence understates what it knows. One number per model, the temperature T, divides the
log-probabilities before a softmax (Guo et al. 2017, "On Calibration of Modern Neural Networks"); it
is chosen to minimise the negative log-likelihood on the validation images, stored on the model card
and applied by the engine. It never changes which digit wins.

    digits calibrate cnn        # (re)fits the temperature of a trained model and writes it on its card
    digits calibrate ensemble   # fits the models' shares of the ensemble and writes models/ensemble.json
"""

import itertools
import json
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine, apply_temperature
from digits.preprocessing import to_model_input
from training.data import load_mnist, validation_split


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 5] that minimises the negative log-likelihood, to about 0.5%."""
    candidates = np.geomspace(0.05, 5.0, 400)
    losses = [negative_log_likelihood(apply_temperature(probabilities, t), labels) for t in candidates]
    return round(float(candidates[int(np.argmin(losses))]), 4)


def validation_images(card: dict, mnist) -> tuple[np.ndarray, np.ndarray]:
    """The validation split a model was trained without, rebuilt from its card's seed and size."""
    _, validation = validation_split(mnist.x_train, mnist.y_train, card["validation_size"],
                                     card["train_config"]["seed"])
    return validation


def calibrate_card(model_id: str, data=None, models_dir: Path = models.MODELS_DIR) -> float:
    """Fits the temperature of a trained model on its own validation split and writes it on its card."""
    card = models.load_card(model_id, models_dir)
    x_val, y_val = validation_images(card, load_mnist(data))
    model = models.load_keras_model(model_id, models_dir)
    card["temperature"] = fit_temperature(model.predict(to_model_input(x_val), batch_size=500, verbose=0), y_val)
    models.card_path(model_id, models_dir).write_text(json.dumps(card, indent=2) + "\n")
    return card["temperature"]


def share_grid(members: int, step: float = 0.05) -> list[tuple[float, ...]]:
    """Every way to share 1 among `members` in steps of `step`, the first member's share rising slowest."""
    units = round(1 / step)
    firsts = (c for c in itertools.product(range(units + 1), repeat=members - 1) if sum(c) <= units)
    return [tuple(round(k * step, 2) for k in (*c, units - sum(c))) for c in firsts]


def fit_ensemble_shares(answers: list[np.ndarray], labels: np.ndarray,
                        held_out: tuple[list[np.ndarray], np.ndarray] | None = None) -> tuple[float, ...]:
    """Each member's share of the weighted mean of their `answers`, on a grid of 0.05: the shares with the
    best accuracy (validation, plus the held-out typefaces' when given as (answers, labels)), then (among
    equals) the lowest negative log-likelihood on validation."""
    def score(shares: tuple[float, ...]) -> tuple[float, float]:
        mixed = np.tensordot(shares, answers, axes=1)
        held_out_accuracy = accuracy(np.tensordot(shares, held_out[0], axes=1), held_out[1]) if held_out else 0.0
        return accuracy(mixed, labels) + held_out_accuracy, -negative_log_likelihood(mixed, labels)

    return max(share_grid(len(answers)), key=score)


def cross_fitted_accuracy(answers: list[np.ndarray], labels: np.ndarray, held_out: list[np.ndarray],
                          held_out_labels: np.ndarray, held_out_groups: np.ndarray) -> tuple[float, float]:
    """How the ensemble would read digits its shares were not fitted on: the shares fitted (fit_ensemble_shares)
    on half of the validation digits and half of the held-out groups (typeface families), scored on the other
    halves, both ways; returns validation and held-out accuracy over both. The share grid finds a digit or two in
    noise (it fitted a share to a member that reads nothing, docs/typefaces.md's ninth round); this does not."""
    validation_half = np.arange(len(labels)) % 2 == 0
    held_out_half = np.isin(held_out_groups, sorted(set(held_out_groups))[::2])
    right = np.zeros(2)
    for fold in (True, False):
        fit_val, fit_held = validation_half == fold, held_out_half == fold
        shares = fit_ensemble_shares([a[fit_val] for a in answers], labels[fit_val],
                                     ([a[fit_held] for a in held_out], held_out_labels[fit_held]))
        for i, (split, split_labels, fitted) in enumerate(((answers, labels, fit_val),
                                                           (held_out, held_out_labels, fit_held))):
            mixed = np.tensordot(shares, [a[~fitted] for a in split], axes=1)
            right[i] += np.sum(np.argmax(mixed, axis=1) == split_labels[~fitted])
    return right[0] / len(labels), right[1] / len(held_out_labels)


def calibrate_ensemble(data=None, models_dir: Path = models.MODELS_DIR, typefaces: bool = True) -> dict:
    """Fits the calibrated members' shares of the ensemble on their validation split and the held-out
    typefaces (training/typefaces.py; `typefaces=False`: validation only, no fonts to fetch); writes
    ensemble.json. The members: models.MODEL_IDS, and each of models.EXTRA_MEMBERS found in `models_dir`
    (a member given no share is left out)."""
    from training.typefaces import load_typeface_suite

    members = (*models.MODEL_IDS, *(m for m in models.EXTRA_MEMBERS if models.litert_path(m, models_dir).is_file()))
    cards = {model_id: models.load_card(model_id, models_dir) for model_id in members}
    if len({(card["validation_size"], card["train_config"]["seed"]) for card in cards.values()}) != 1:
        raise ValueError("The models were validated on different splits; train them with the same --seed.")
    mnist = load_mnist(data)
    x_val, y_val = validation_images(cards[members[0]], mnist)
    with Engine(model_ids=members, models_dir=Path(models_dir)) as engine:
        answers = [engine.predict_probabilities(model_id, x_val) for model_id in members]
        suite = load_typeface_suite() if typefaces else None
        held_out = [engine.predict_probabilities(model_id, suite.images) for model_id in members] if suite else []
    shares = fit_ensemble_shares(answers, y_val, (held_out, suite.labels) if suite else None)
    kept = [i for i, (member, share) in enumerate(zip(members, shares)) if share or member in models.MODEL_IDS]
    card = {
        "model": "ensemble",
        "weights": {members[i]: shares[i] for i in kept},
        "validation_accuracy": round(accuracy(np.tensordot(shares, answers, axes=1), y_val), 6),
        "member_validation_accuracy": {members[i]: round(accuracy(answers[i], y_val), 6) for i in kept},
        **({"typefaces_accuracy": round(accuracy(np.tensordot(shares, held_out, axes=1), suite.labels), 6)}
           if suite else {}),
        "validation_size": len(y_val),
        "seed": cards[members[0]]["train_config"]["seed"],
        "data_sha256": mnist.sha256,
        "command": "digits calibrate ensemble",
    }
    models.card_path("ensemble", models_dir).write_text(json.dumps(card, indent=2) + "\n")
    return card
