"""A fine-tuned model's training curves show its whole training: the runs it was fine-tuned from, joined."""

import json

import pytest
from PIL import Image

import models
from training.report import plot_whole_curves, training_runs, whole_history


def run_card(epochs: int, start: float, init_from: dict | None = None, history: bool = True) -> dict:
    card = {"epochs": epochs, "validation_accuracy": start + epochs / 100, "best_epoch": epochs}
    if history:
        card["history"] = {"accuracy": [start + e / 100 for e in range(epochs)],
                           "val_accuracy": [start + e / 100 for e in range(1, epochs + 1)],
                           "loss": [1.0] * epochs, "val_loss": [1.0] * epochs}
    if init_from is not None:
        card["init_from"] = init_from
    return card


def test_the_runs_are_joined_oldest_first_with_each_fine_tune_marked():
    scratch = run_card(10, 0.5)
    first = run_card(3, 0.7, init_from=scratch)
    lost = run_card(2, 0.75, init_from=first, history=False)  # a fine-tune whose card was not kept
    shipped = run_card(4, 0.8, init_from=lost)
    assert [run.epochs for run in training_runs(shipped)] == [10, 3, 2, 4]
    history, starts, kept = whole_history(shipped)
    assert len(history["val_accuracy"]) == 19 and starts == [11, 14, 16] and kept == 19
    assert history["val_accuracy"][:10] == scratch["history"]["val_accuracy"]
    assert history["val_accuracy"][-4:] == shipped["history"]["val_accuracy"]
    assert history["accuracy"][13:15] == [None, None]  # the lost run: no curve ...
    assert history["val_accuracy"][14] == lost["validation_accuracy"]  # ... but its final figure


def test_a_model_trained_once_has_just_its_own_history():
    card = run_card(5, 0.9)
    history, starts, kept = whole_history(card)
    assert history == card["history"] and starts == [] and kept == 5


@pytest.mark.parametrize("model_id", models.MODEL_IDS)
def test_the_shipped_cards_carry_their_whole_training(model_id, tmp_path):
    card = models.load_card(model_id)
    runs = training_runs(card)
    history, starts, _ = whole_history(card)
    assert card.get("init_from") is None or len(runs) > 1
    # a fine-tuned model's history is longer than its last run; the CNN was trained in one run (issue 26)
    assert len(history["val_accuracy"]) == sum(run.epochs for run in runs) >= card["epochs"]
    assert (len(runs) > 1) == ("init_from" in card)
    assert runs[0].history is not None and not runs[0].fine_tune  # it starts from scratch, with its curves
    plot_whole_curves(card, tmp_path / "curves.png")
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("model_id", models.MODEL_IDS)
def test_the_models_page_report_says_its_curves_are_the_whole_training(model_id):
    summary = json.loads((models.REPORTS_DIR / model_id / "summary.json").read_text())
    (curves,) = [figure for figure in summary["figures"] if figure["file"] == "curves.png"]
    runs = training_runs(models.load_card(model_id))
    total = sum(run.epochs for run in runs)
    assert curves["caption"].startswith(f"The whole training, {total} epochs" if len(runs) > 1 else
                                        f"Accuracy and loss after each of the {total} training epochs")
