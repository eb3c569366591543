"""Fill a shipped card's `init_from` chain with the runs it was fine-tuned from, out of git's history of
models/<id>.json, so that its report draws the model's whole training (training/report.py).

`digits train --init-from` keeps that chain itself now (training/train.py, fine_tuned_from); this
script mends cards written before it did, once:
    python scripts/backfill_training_history.py cnn vit && digits report cnn && digits report vit
A run is recognised by its epochs, training time and validation accuracy. A fine-tune whose own card
was never committed keeps its figures without a per-epoch history, and is taken to have started from
the model shipped before it (what `--init-from models/<id>.keras` does).
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CARRIED = ("history", "best_epoch", "init_from")


def card_versions(model: str) -> list[dict]:
    """Every committed version of models/<model>.json, newest first, one per distinct training run."""
    path = f"models/{model}.json"
    commits = subprocess.run(["git", "log", "--format=%H", "--", path], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.split()
    versions = []
    for commit in commits:
        card = json.loads(subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, check=True,
                                         capture_output=True, text=True).stdout)
        if not versions or run_key(versions[-1]) != run_key(card):
            versions.append(card)
    return versions


def run_key(card: dict) -> tuple:
    return card.get("epochs"), card.get("training_seconds"), card.get("validation_accuracy")


def with_lineage(card: dict, older: list[dict]) -> dict:
    """`card` with its init_from filled in from `older` (the runs shipped before it, newest first)."""
    parent = card.get("init_from")
    if parent is None or parent.get("history"):
        return card
    for index, version in enumerate(older):
        if run_key(version) == run_key(parent):
            found = with_lineage(version, older[index + 1:])
            return {**card, "init_from": {**parent, **{key: found[key] for key in CARRIED if key in found}}}
    if not older:
        return card
    shipped_before = with_lineage(older[0], older[1:])  # the never-committed run started from this one
    before = {key: shipped_before[key] for key in ("file", "test_accuracy", "validation_accuracy", "epochs",
                                                   "training_seconds", "command", *CARRIED) if key in shipped_before}
    return {**card, "init_from": {**parent, "history": None, "init_from": {"file": parent.get("file"), **before}}}


def main(model_ids: list[str]) -> None:
    for model in model_ids:
        path = REPO / "models" / f"{model}.json"
        card = json.loads(path.read_text())
        versions = [version for version in card_versions(model) if run_key(version) != run_key(card)]
        mended = with_lineage(card, versions)
        path.write_text(json.dumps(mended, indent=2) + "\n")
        chain, step = [], mended
        while step:
            chain.append(f"{step.get('epochs')} epochs{'' if step.get('history') else ' (no history kept)'}")
            step = step.get("init_from")
        print(f"{model}: {' <- '.join(chain)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["cnn", "vit"])
