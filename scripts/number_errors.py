"""Where whole numbers go wrong: the two choosing suites (MNIST validation, held-out typefaces) read through
`read_number`, each wrong number put down to a stage, so a fix goes where the numbers are lost.

    python scripts/number_errors.py --data ../shared/data/mnist.npz [--models models] [--per-spacing 300]

Per suite and spacing it prints:
  served / reader / straight   numbers read right as served (the classifier confirming digits apart), by
                               the number reader alone on the served line (its readings as served, crowded
                               lines read again widened: digits.numbers.reader_digits), and by the reader
                               on the composed ink fitted straight into its frame, as in training (no
                               paper, no upload pipeline): served < reader is the confirming step's loss,
                               reader < straight the line finding's, crop's or normalisation's
  ceiling                      every digit read right by the classifier alone
  kinds                        the served errors: a digit misread (same count), a digit dropped (a repeated
                               digit merged: "611" read "61"), other shorter answers, extra digits
  confusions                   the misread digits, truth->read, most common first
The MNIST test digits are not read here: choose on these.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine
from digits.number_reader import read_line
from digits.numbers import read_number, reader_digits
from digits.preprocessing import prepare_number
from digits.preprocessing.number_line import fit_line
from training import number_suite
from training.data import load_mnist
from training.number_data import SPACINGS


def error_kind(truth: str, read: str) -> str:
    if read == truth:
        return "right"
    if len(read) > len(truth):
        return "extra digit"
    if len(read) == len(truth):
        return "digit misread"
    for i in range(len(truth)):
        if truth[:i] + truth[i + 1:] == read:
            repeated = truth[i] in (truth[i - 1 : i] + truth[i + 1 : i + 2])
            return "repeated digit merged" if repeated else "digit dropped"
    return "shorter, misread too"


def text(digits) -> str:
    return "".join(str(d.digit) for d in digits)


def analyse(engine, numbers) -> dict:
    report = {}
    for spacing in SPACINGS:
        rows = []
        for number in numbers:
            if number.spacing != spacing:
                continue
            prepared = prepare_number(number.data)
            marks = [mark[0][0].box for mark in prepared.marks]
            reader = "".join(str(d.digit) for d in reader_digits(engine, prepared.line, marks)) if prepared.line else ""
            straight = text(read_line(engine.read_line, fit_line(number.ink).pixels))
            alone = "".join(map(str, engine.predict_probabilities("cnn", number.digits).argmax(axis=1)))
            rows.append((number.truth, read_number(engine, number.data).number, reader, straight, alone))
        confusions = Counter(f"{t}->{r}" for truth, served, *_ in rows if len(served) == len(truth)
                             for t, r in zip(truth, served) if t != r)
        report[spacing] = {
            **{name: round(float(np.mean([row[0] == row[i] for row in rows])), 4)
               for i, name in ((1, "served"), (2, "reader"), (3, "straight"), (4, "ceiling"))},
            "kinds": dict(Counter(error_kind(row[0], row[1]) for row in rows if row[1] != row[0])),
            "confusions": dict(confusions.most_common(8)),
        }
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST .npz (else $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--models", type=Path, default=models.MODELS_DIR, help="a folder with the models to read with")
    parser.add_argument("--per-spacing", type=int, default=number_suite.PER_SPACING)
    args = parser.parse_args(argv)
    suites = {"numbers": number_suite.validation_numbers(load_mnist(args.data), args.per_spacing),
              "typeface-numbers": number_suite.typeface_numbers(args.per_spacing)}
    with Engine(models_dir=args.models) as engine:
        for name, numbers in suites.items():
            print(json.dumps({"suite": name, **analyse(engine, numbers)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
