"""Would the single-digit classifier help the number reader on touching and overlapping digits? On the two
choosing suites (MNIST validation, held-out typefaces), each crowded number (its digits not each in a mark of
their own, where `read_number` leaves the reader's digits as they are) is read as served up to the boxes, and
the chosen classifier reads each digit's crop (the segmenter's part where it could cut the mark, else the ink
in the reader's columns, as `read_number` boxes it). Each digit is then re-chosen as

    argmax over the ten digits of  log p_reader + weight * log p_classifier

for the digits the reader is less sure of than `gate` (a gate above 1: every digit). Numbers whose digits
stand apart keep their served answer (the classifier already confirms those). It prints the choosing
figures (whole numbers right per suite and spacing, and their mean) for each weight and gate, against the
reader as served, and how often each reads a crowded digit right that the other misreads.

    python scripts/number_confirmation.py --data ../shared/data/mnist.npz [--model cnn] [--models models] [--seeds 2025 2026]

docs/numbers.md has the result: weight 0.5 on the digits below 0.5 gained a little and is served
(`digits.numbers.CrowdedDigitSettings`); more helps less, the crops of crowded digits holding their
neighbours' ink. The MNIST test digits are not read here.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import models
from digits.engine import Engine
from digits.numbers import MOST_DIGITS, _boxed_by_marks, _classified, _confirmed, _stand_apart, reader_digits
from digits.preprocessing import prepare_number
from training import number_suite
from training.config import NumberReaderTrainConfig
from training.data import load_mnist, validation_split
from training.number_data import SPACINGS

WEIGHTS = (0.25, 0.5, 1.0)
GATES = (0.5, 0.6, 1.1)  # 0.6: read_number's UNSURE; 1.1: every digit


def read_as_served(engine, number, model: str) -> dict:
    """The served answer, and for a crowded number the reader's digits with the classifier's probabilities."""
    prepared = prepare_number(number.data)
    if prepared.line is None:
        return {"served": ""}
    marks = [mark[0][0] for mark in prepared.marks]
    readings = reader_digits(engine, prepared.line, [m.box for m in marks])
    if readings and 0 < len(marks) <= MOST_DIGITS and _stand_apart(readings, [m.box for m in marks]):
        return {"served": "".join(str(r.digit) for r in _confirmed(engine, model, readings, marks))}
    boxed = _boxed_by_marks(readings, prepared.marks)
    return {"served": "".join(str(r.digit) for r in boxed), "reader": np.array([r.probabilities for r in boxed]),
            "sure": np.array([r.confidence for r in boxed]),
            "classifier": _classified(engine, model, [r.crop for r in boxed]) if boxed else np.zeros((0, 10))}


def combined(row: dict, weight: float, gate: float) -> str:
    if "reader" not in row:
        return row["served"]
    score = np.log(np.maximum(row["reader"], 1e-6)) + weight * np.log(np.maximum(row["classifier"], 1e-6))
    return "".join(str(int(np.argmax(s)) if sure < gate else d)
                   for s, sure, d in zip(score, row["sure"], row["served"]))


def figures(rows: list[dict], answer) -> dict:
    scores = {f"{suite} {spacing}": float(np.mean([answer(r) == r["truth"] for r in rows
                                                   if r["suite"] == suite and r["spacing"] == spacing]))
              for suite in ("numbers", "typeface-numbers") for spacing in SPACINGS}
    return {"mean": round(float(np.mean(list(scores.values()))), 4), **{k: round(v, 4) for k, v in scores.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MNIST .npz (else $DIGITS_MNIST_NPZ, else Keras' download)")
    parser.add_argument("--model", default="cnn", choices=["cnn", "vit", "ensemble"])
    parser.add_argument("--models", type=Path, default=models.MODELS_DIR)
    parser.add_argument("--seeds", type=int, nargs=2, default=(number_suite.SUITE_SEED, number_suite.TYPEFACE_SEED),
                        help="the two suites' seeds (others: fresh numbers to confirm a choice on)")
    args = parser.parse_args(argv)
    mnist = load_mnist(args.data)
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, NumberReaderTrainConfig().validation_size,
                                         NumberReaderTrainConfig().seed)
    suites = {"numbers": number_suite.suite_numbers(x_val, y_val, seed=args.seeds[0]),
              "typeface-numbers": number_suite.typeface_numbers(seed=args.seeds[1])}
    rows = []
    with Engine(models_dir=args.models) as engine:
        for suite, numbers in suites.items():
            rows += [{"suite": suite, "spacing": n.spacing, "truth": n.truth, **read_as_served(engine, n, args.model)}
                     for n in numbers]
    print(json.dumps({"reader as served": figures(rows, lambda r: r["served"])}))
    for weight in WEIGHTS:
        for gate in GATES:
            print(json.dumps({"weight": weight, "gate": gate, **figures(rows, lambda r: combined(r, weight, gate))}))
    who = Counter()  # crowded digits of numbers read with the right count: who reads each right
    for r in rows:
        if "reader" in r and len(r["served"]) == len(r["truth"]):
            for truth, read, p in zip(r["truth"], r["served"], r["classifier"]):
                who[("reader right" if read == truth else "reader wrong") + ", " +
                    ("classifier right" if str(int(np.argmax(p))) == truth else "classifier wrong")] += 1
    print(json.dumps({"crowded digits": dict(who)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
