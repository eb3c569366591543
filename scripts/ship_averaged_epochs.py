"""Ship the mean of a CNN training run's epoch weights: its LiteRT export and the run's card with every
figure measured again for the averaged weights (issue 26, tenth round).

    python scripts/ship_averaged_epochs.py /tmp/run/cnn.json runs/cnn/RUN/epoch-0{1,2,3}.weights.h5 --data ../shared/data/mnist.npz
    digits calibrate ensemble
    python scripts/ship_averaged_epochs.py /tmp/run2/cnn.json runs/cnn/RUN2/epoch-0{1,2,3}.weights.h5 --member cnn2

`--member cnn2` ships a fine-tune of the ensemble's second CNN as models/cnn2.*, keeping the shipped card's
name, description and history (issue 26, twenty-third round); `--member vit` the mean of a ViT fine-tune's
epochs as models/vit.* (twenty-fourth round).

`digits train` keeps the epoch with the best validation + held-out typefaces; here no epoch beat the shipped
CNN on both, and the mean of the fine-tune's epochs (a candidate fixed before it was measured) did. The
choice is made on MNIST validation and the held-out typefaces; the MNIST test figure on the card is read
here, after it.
"""

import argparse
import json
import re
from pathlib import Path

import models
from score_averaged_epochs import averaged
from training.config import FINE_TUNES
from training.data import load_mnist, validation_split
from training.train import card_figures
from training.typefaces import SECOND_SPLIT, load_typeface_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_card", type=Path, help="the run's cnn.json (written by digits train)")
    parser.add_argument("weights", type=Path, nargs="+", help="the epochs' .weights.h5 to average")
    parser.add_argument("--data")
    parser.add_argument("--out", type=Path, default=models.MODELS_DIR)
    parser.add_argument("--member", choices=[*models.MODEL_IDS, *models.EXTRA_MEMBERS], default="cnn",
                        help="the shipped member the averaged weights replace")
    args = parser.parse_args()
    member = args.member

    model = averaged(args.weights, member)
    args.out.mkdir(parents=True, exist_ok=True)
    # The member's own card names it; the run (`digits train cnn`) wrote the CNN's name on its card
    identity = ({key: value for key, value in models.load_card(member, args.out).items()
                 if key in ("model", "display_name", "description", "shipped_as")} if member != "cnn" else {})
    model.save(models.model_path(member, args.out))

    mnist = load_mnist(args.data)
    config = FINE_TUNES["cnn"]
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    card = json.loads(args.run_card.read_text())
    averaged_epochs = [int(re.search(r"epoch-(\d+)", path.name).group(1)) for path in args.weights]
    card.update({
        **identity,
        **card_figures(member, model, mnist, x_val, y_val, args.out, load_typeface_suite(),
                       second_typeface_suite=load_typeface_suite(split=SECOND_SPLIT)),
        "best_epoch": max(averaged_epochs),
        "averaged_epochs": averaged_epochs,
        "file_bytes": models.model_path(member, args.out).stat().st_size,
    })
    models.card_path(member, args.out).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({"validation_accuracy": card["validation_accuracy"], "averaged_epochs": averaged_epochs,
                      "typefaces": card["typefaces"]["accuracy"], "typefaces_2": card["typefaces_2"]["accuracy"]}))


if __name__ == "__main__":
    main()
