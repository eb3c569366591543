"""Fine-tuning the shipped CNN on exported corrections (tiny limits: one epoch, a few hundred images).

The export comes from a real feedback store, the model is the shipped one, and the verdict must follow
the accept-or-refuse rule: a model is written only if neither the MNIST validation split nor the
held-out corrections got worse, and its card says how many corrections it learned from.
"""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import models
from digits.feedback_store import FeedbackStore
from training.config import FinetuneConfig
from training.data import DataError
from training.finetune import finetune, judge
from uplink_server.feedback import FeedbackDesk
from uplink_server.result_tokens import ResultSigner

REPO = Path(__file__).resolve().parents[1]
TINY = FinetuneConfig(epochs=1, batch_size=64)


class Result:
    def __init__(self, digit, pixels):
        self.model, self.digit, self.probabilities, self.pixels = "cnn", digit, None, pixels


@pytest.fixture(scope="module")
def shipped_cnn():
    assert models.card_path("cnn").exists(), "no trained CNN in models/: `digits train cnn` writes it"
    return models.MODELS_DIR


def export(tmp_path: Path, images: np.ndarray, labels: np.ndarray, answered: np.ndarray) -> Path:
    """Save each (image, the person's label) through the feedback desk, then export as the CLI does."""
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")
    desk = FeedbackDesk(ResultSigner("finetune-test"), store, {"cnn": "0" * 64})
    for pixels, label, digit in zip(images, labels, answered):
        desk.record(desk.result_id(Result(int(digit), pixels)), int(label))
    path = tmp_path / "feedback.npz"
    np.savez_compressed(path, **store.export())
    store.close()
    return path


def test_the_rule_accepts_only_when_neither_set_gets_worse():
    assert judge((0.995, 0.40), (0.995, 0.80))[0]
    assert judge((0.995, 0.40), (0.996, 0.40))[0]
    refused, reason = judge((0.995, 0.40), (0.994, 0.90))
    assert not refused and reason == "MNIST validation accuracy fell (0.9950 -> 0.9940)"
    refused, reason = judge((0.995, 0.80), (0.997, 0.70))
    assert not refused and reason == "held-out corrections got worse (0.8000 -> 0.7000)"


@pytest.mark.slow  # fine-tunes
def test_a_vandals_labels_are_refused_and_nothing_is_written(shipped_cnn, mnist_path, mnist_train_digits, tmp_path):
    images, labels = mnist_train_digits
    vandal = (labels[:200] + 1) % 10  # every digit called the next one
    feedback = export(tmp_path, images[:200], vandal, labels[:200])
    out = tmp_path / "candidate"
    verdict = finetune("cnn", feedback, data=str(mnist_path), models_dir=shipped_cnn, out=out,
                       config=replace(TINY, learning_rate=3e-3, correction_repeats=8, mnist_per_correction=1),
                       mnist_limit=500, verbose=0)
    assert not verdict.accepted and verdict.written_to is None and not out.exists()
    assert verdict.mnist_validation_after < verdict.mnist_validation_before
    assert verdict.reason.startswith("MNIST validation accuracy fell")
    assert (verdict.corrections_learned, verdict.corrections_held_out) == (150, 50)


@pytest.mark.slow  # fine-tunes
def test_an_accepted_model_is_written_with_a_card_that_counts_its_corrections(shipped_cnn, mnist_path,
                                                                              mnist_train_digits, tmp_path):
    images, labels = mnist_train_digits
    feedback = export(tmp_path, images[:120], labels[:120], labels[:120])
    out = tmp_path / "candidate"
    verdict = finetune("cnn", feedback, data=str(mnist_path), models_dir=shipped_cnn, out=out,
                       config=replace(TINY, learning_rate=1e-6), mnist_limit=500, verbose=0, command="test")
    assert verdict.accepted == judge((verdict.mnist_validation_before, verdict.held_out_before),
                                     (verdict.mnist_validation_after, verdict.held_out_after))[0]
    if not verdict.accepted:
        pytest.fail(f"a learning rate of 1e-6 changed the model for the worse: {verdict.reason}")
    card = json.loads(models.card_path("cnn", out).read_text())
    assert verdict.written_to == str(models.model_path("cnn", out)) and Path(verdict.written_to).is_file()
    assert card["fine_tuned"]["corrections_learned"] == verdict.corrections_learned == 90
    assert card["fine_tuned"]["corrections_held_out"] == 30
    assert card["validation_accuracy"] == verdict.mnist_validation_after
    assert not (shipped_cnn / "candidate").exists()  # the shipped folder is untouched


@pytest.mark.parametrize("content, expected", [
    (None, "feedback file not found"),
    (b"not a zip", "is not a readable .npz file"),
    ({"images": np.zeros((3, 28, 28), np.uint8)}, "has no 'x' and 'y' arrays"),
    ({"x": np.zeros((20, 28, 28), np.uint8), "y": np.full(20, 11, np.uint8)}, "labels outside 0-9"),
    ({"x": np.zeros((3, 28, 28), np.uint8), "y": np.zeros(3, np.uint8)}, "fine-tuning needs at least 8"),
])
def test_a_feedback_file_it_cannot_use_is_explained(shipped_cnn, tmp_path, content, expected):
    path = tmp_path / "feedback.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    with pytest.raises(DataError, match=expected):
        finetune("cnn", path, models_dir=shipped_cnn, out=tmp_path / "out", config=TINY)


@pytest.mark.slow  # fine-tunes
def test_digits_finetune_says_what_it_decided(shipped_cnn, mnist_path, mnist_train_digits, tmp_path):
    images, labels = mnist_train_digits
    feedback = export(tmp_path, images[:40], labels[:40], labels[:40])
    result = subprocess.run(
        [sys.executable, "-m", "digits.cli", "finetune", "cnn", "--feedback", str(feedback), "--out",
         str(tmp_path / "candidate"), "--epochs", "1", "--mnist-limit", "50", "--data", str(mnist_path), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdict["model"] == "cnn" and (verdict["corrections_learned"], verdict["corrections_held_out"]) == (30, 10)
    assert verdict["accepted"] == (verdict["written_to"] is not None)
