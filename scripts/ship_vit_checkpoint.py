"""Ship one epoch of a ViT training run with the test-time views chosen for it (scripts/compare_vit_views.py):
its weights in today's architecture (models/vit.py, ViTConfig.test_time_shifts), its LiteRT export, and the
run's card with every figure measured again for that epoch and those views.

    python scripts/ship_vit_checkpoint.py /tmp/run/vit.json runs/vit/RUN/epoch-06.weights.h5 --data ../shared/data/mnist.npz
    digits calibrate ensemble

`digits train` keeps the epoch with the best validation + held-out typefaces as its model reads them then;
this ships the epoch and views chosen afterwards on the same two suites (issue 26, round six).
"""

import argparse
import json
import re
from pathlib import Path

import models
from models.vit import ViTConfig, build_vit
from training.config import DEFAULTS
from training.data import load_mnist, validation_split
from training.train import card_figures
from training.typefaces import load_typeface_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_card", type=Path, help="the run's vit.json (written by digits train)")
    parser.add_argument("weights", type=Path, help="the chosen epoch's .weights.h5")
    parser.add_argument("--data")
    parser.add_argument("--out", type=Path, default=models.MODELS_DIR)
    args = parser.parse_args()

    config = ViTConfig()  # its test_time_shifts are the chosen views
    model = build_vit(config)
    model.load_weights(args.weights)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(models.model_path("vit", args.out))

    mnist = load_mnist(args.data)
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, DEFAULTS["vit"].validation_size,
                                         DEFAULTS["vit"].seed)
    card = json.loads(args.run_card.read_text())
    card.update({
        "description": models.DESCRIPTIONS["vit"],
        **card_figures("vit", model, mnist, x_val, y_val, args.out, load_typeface_suite()),
        "best_epoch": int(re.search(r"epoch-(\d+)", args.weights.name).group(1)),
        "file_bytes": models.model_path("vit", args.out).stat().st_size,
        "model_config": config.__dict__,
    })
    models.card_path("vit", args.out).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({key: card[key] for key in ("validation_accuracy", "best_epoch", "temperature")}))


if __name__ == "__main__":
    main()
