"""Temperature scaling: make a model's confidence mean what it says, fitted on the validation split.
Then the ensemble's weights: how much each (calibrated) model counts in the vote, fitted there too.

Label smoothing (training/config.py) teaches a model to say about 90% even when it is certain, so its
raw confidence understates what it knows. One number per model, the temperature T, divides the
log-probabilities before a softmax (Guo et al. 2017, "On Calibration of Modern Neural Networks"); it
is chosen to minimise the negative log-likelihood on the validation images, stored on the model card
and applied by the engine. It never changes which digit wins.

    digits calibrate cnn        # (re)fits the temperature of a trained model and writes it on its card
    digits calibrate ensemble   # fits the models' shares of the ensemble and writes models/ensemble.json
"""

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


def mix(first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    return weight * first + (1 - weight) * second


def fit_ensemble_weight(first: np.ndarray, second: np.ndarray, labels: np.ndarray,
                        held_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> float:
    """The first model's share w of `mix(first, second, w)`, on a grid of 0.05: the one with the best
    accuracy (validation, plus the held-out typefaces' when given as (first, second, labels)), then
    (among equals) the lowest negative log-likelihood on validation."""
    def score(weight: float) -> tuple[float, float]:
        mixed = mix(first, second, weight)
        held_out_accuracy = accuracy(mix(held_out[0], held_out[1], weight), held_out[2]) if held_out else 0.0
        return accuracy(mixed, labels) + held_out_accuracy, -negative_log_likelihood(mixed, labels)

    return max((round(float(w), 2) for w in np.linspace(0, 1, 21)), key=score)


def calibrate_ensemble(data=None, models_dir: Path = models.MODELS_DIR, typefaces: bool = True) -> dict:
    """Fits the two calibrated models' shares of the ensemble on their validation split and the held-out
    typefaces (training/typefaces.py; `typefaces=False`: validation only, no fonts to fetch); writes
    ensemble.json."""
    from training.typefaces import load_typeface_suite

    first, second = models.MODEL_IDS
    cards = {model_id: models.load_card(model_id, models_dir) for model_id in models.MODEL_IDS}
    if len({(card["validation_size"], card["train_config"]["seed"]) for card in cards.values()}) != 1:
        raise ValueError("The models were validated on different splits; train them with the same --seed.")
    mnist = load_mnist(data)
    x_val, y_val = validation_images(cards[first], mnist)
    with Engine(model_ids=models.MODEL_IDS, models_dir=Path(models_dir)) as engine:
        answers = {model_id: engine.predict_probabilities(model_id, x_val) for model_id in models.MODEL_IDS}
        suite = load_typeface_suite() if typefaces else None
        held_out = [engine.predict_probabilities(model_id, suite.images) for model_id in models.MODEL_IDS] if suite else []
    weight = fit_ensemble_weight(answers[first], answers[second], y_val, (*held_out, suite.labels) if suite else None)
    card = {
        "model": "ensemble",
        "weights": {first: weight, second: round(1 - weight, 2)},
        "validation_accuracy": round(accuracy(mix(answers[first], answers[second], weight), y_val), 6),
        "member_validation_accuracy": {m: round(accuracy(p, y_val), 6) for m, p in answers.items()},
        **({"typefaces_accuracy": round(accuracy(mix(*held_out, weight), suite.labels), 6)} if suite else {}),
        "validation_size": len(y_val),
        "seed": cards[first]["train_config"]["seed"],
        "data_sha256": mnist.sha256,
        "command": "digits calibrate ensemble",
    }
    models.card_path("ensemble", models_dir).write_text(json.dumps(card, indent=2) + "\n")
    return card
