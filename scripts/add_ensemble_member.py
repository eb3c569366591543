"""Copy a CNN trained as an ensemble member into models/ as one of models.EXTRA_MEMBERS, its card saying what it is:

    digits train cnn --member-seed 13 --out /tmp/member13    # or also --architecture dense_head_cnn
    # add "cnn3" to models.EXTRA_MEMBERS, then:
    python scripts/add_ensemble_member.py /tmp/member13 cnn3
    digits calibrate ensemble      # fits its share (none: the engine never loads it)

The run's cnn.keras, cnn.tflite and cnn.json become MEMBER.keras, .tflite, .json; the card keeps every figure
and the command that made it, and gains the member's name, what it is and where it is shipped (`shipped_as`).
(issue 26, round eight.)
"""

import argparse
import json
import shutil
from pathlib import Path

import models


def add_member(run: Path, member: str, models_dir: Path = models.MODELS_DIR) -> dict:
    if member not in models.EXTRA_MEMBERS:
        raise SystemExit(f"{member!r} is not one of models.EXTRA_MEMBERS {models.EXTRA_MEMBERS}: add it there first.")
    card = models.load_card("cnn", run)
    seed = card["train_config"].get("member_seed")
    if seed is None:
        raise SystemExit(f"{run} holds no ensemble member: train it with `digits train cnn --member-seed N`.")
    teachers = card["train_config"].get("teachers") or []
    made = f"taught by {' and '.join(teachers)}" if teachers else "no teacher"
    architecture = card.get("architecture")  # `--architecture`: another of models.ARCHITECTURES than the CNN's
    built = f"A CNN of another architecture (models/{architecture}.py)" if architecture else "A CNN"
    card.update({
        "model": member,
        "display_name": f"CNN ({member})",
        "description": (f"{built} trained from scratch with its own seed ({seed}) and {made}, {card['epochs']} epochs "
                        f"on the typeface mix; the ensemble counts it, it is not offered on its own."),
        "shipped_as": (f"An extra member of the ensemble (models.EXTRA_MEMBERS: {member}), issue 26; its share is "
                       f"models/ensemble.json's."),
    })
    for source, target in ((models.model_path("cnn", run), models.model_path(member, models_dir)),
                           (models.litert_path("cnn", run), models.litert_path(member, models_dir))):
        shutil.copyfile(source, target)
    models.card_path(member, models_dir).write_text(json.dumps(card, indent=2) + "\n")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the training run's --out folder (cnn.keras, cnn.tflite, cnn.json)")
    parser.add_argument("member", help=f"its name in models/: one of {', '.join(models.EXTRA_MEMBERS)}")
    parser.add_argument("--models-dir", type=Path, default=models.MODELS_DIR)
    args = parser.parse_args()
    card = add_member(args.run, args.member, args.models_dir)
    print(json.dumps({"member": args.member, "validation": card["validation_accuracy"],
                      "typefaces": card.get("typefaces", {}).get("accuracy")}))


if __name__ == "__main__":
    main()
