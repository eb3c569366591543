"""Fit and choose the judge's second view (models/feature_distance.py): how far the shipped CNN's own
features of a 28x28 image lie from MNIST's digits, a squared Mahalanobis distance that needs no pictures
without a digit.

1. The CNN (models/cnn.keras) up to its global pooling is exported to LiteRT
   (models/digit_scorer_features.tflite), checked against Keras on MNIST validation digits.
2. The ten digits' means and the covariance they share are fitted on MNIST *training* digits, cropped
   and normalised as the pipeline hands a found digit on (models/digit_scorer_features.npz).
3. The judge's log-odds become the digit scorer's less `weight` times the distance. The weight is chosen,
   and for each its threshold, on the digit scorer's choosing side (training/digit_scorer.py): MNIST
   *validation* digits in the scenes, styles and pens and as found, the held-out typeface families'
   digits, and the HELD_OUT picture families, which neither the scorer nor this fit ever saw. The
   threshold calls at most `max_digits_rejected` of each group of digits "no digit", as the scorer's
   did; the weight chosen sets aside the most of the held-out families (their mean), no family fewer
   than the scorer alone. Fresh pictures of the held-out families (new seeds) check the choice.

    python -m training.feature_distance --data ../shared/data/mnist.npz --choose /tmp/choose.npz \
        --fresh /tmp/fresh.npz [--workers 2]

The chosen weight and threshold are copied into JudgeSettings (digits/preprocessing/pipeline.py) with
the measurement; models/digit_scorer_features.json records it, and a test holds the two together.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import models
from digits.preprocessing.shape_features import shape_features
from models.digit_scorer import load_digit_scorer
from models.feature_distance import FEATURES_MODEL_PATH, STATISTICS_PATH, FeatureDistance
from training.data import load_mnist
from training.digit_scorer import (HELD_OUT, MNIST_AS_FOUND, TYPEFACE, ScorerConfig, as_located,
                                   render, shares, tasks, threshold_for)
from training.export import convert
from training.style_shift import split_digits

from training import typefaces

CARD_PATH = FEATURES_MODEL_PATH.with_suffix(".json")
FIT_DIGITS = 20000  # MNIST training digits the means and covariance are fitted on (of 55,000)
WEIGHTS = (0.0, 1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 7e-4, 1e-3, 2e-3)  # log-odds per unit of squared distance
FRESH = 150  # fresh pictures of each held-out family, to check the choice
FRESH_SEED = ScorerConfig.seed + 64
RIDGE = 1e-6  # of the covariance's mean variance, added to its diagonal before it is inverted


def export_features_model(check: np.ndarray) -> FeatureDistance:
    """models/digit_scorer_features.tflite: the CNN up to its global pooling, checked against Keras on
    the uint8 (N, 28, 28) images `check`; the extractor, its statistics not yet fitted."""
    import keras

    cnn = models.load_keras_model("cnn")
    pooled = keras.Model(cnn.input, cnn.get_layer(index=-3).output)  # before the dropout and the softmax layer
    assert isinstance(cnn.get_layer(index=-3), keras.layers.GlobalAveragePooling2D)
    FEATURES_MODEL_PATH.write_bytes(convert(pooled))
    expected = pooled.predict(check[..., None].astype(np.float32) / 255.0, verbose=0)
    got = FeatureDistance(FEATURES_MODEL_PATH, np.zeros((10, expected.shape[1])), np.eye(expected.shape[1])).features(check)
    difference = float(np.max(np.abs(expected - got)) / np.max(np.abs(expected)))
    assert difference < 1e-4, f"the LiteRT features differ from Keras's by {difference:.2g} of their range"
    return FeatureDistance(FEATURES_MODEL_PATH, np.zeros((10, got.shape[1])), np.eye(got.shape[1]))


def fit_statistics(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ten digits' mean features and the precision matrix of the covariance they share."""
    means = np.stack([features[labels == digit].mean(axis=0) for digit in range(10)])
    apart = features - means[labels]
    covariance = apart.T @ apart / len(features)
    ridge = RIDGE * np.trace(covariance) / len(covariance)
    return means, np.linalg.inv(covariance + ridge * np.eye(len(covariance)))


def choosing_side(args) -> tuple[np.ndarray, ...]:
    """images, labels (is a digit), kinds of the digit scorer's choosing side; and the fresh pictures."""
    config = ScorerConfig()
    if not Path(args.choose).is_file():
        render([task for task in tasks(config) if task[2] == "choose"], args.data, args.workers, Path(args.choose), config.seed)
    if not Path(args.fresh).is_file():
        fresh = [("blank", name, "choose", 1000 + i) for name in HELD_OUT for i in range(FRESH)]  # past every index rendered before
        render(fresh, args.data, args.workers, Path(args.fresh), FRESH_SEED)
    with np.load(args.choose) as rendered, np.load(args.fresh) as fresh:
        suite = typefaces.load_typeface_suite().images
        suite = suite[suite.reshape(len(suite), -1).max(axis=1) > 0]  # those the judge of the time kept
        validation = as_located(split_digits(load_mnist(args.data), "validation")[0])
        images = np.concatenate([rendered["images"], validation, suite])
        labels = np.concatenate([rendered["labels"], np.ones(len(validation) + len(suite), bool)])
        kinds = np.concatenate([rendered["kinds"], np.full(len(validation), MNIST_AS_FOUND), np.full(len(suite), TYPEFACE)])
        return images, labels, kinds, fresh["images"], fresh["kinds"]


def scorer_logits(images: np.ndarray) -> np.ndarray:
    scorer = load_digit_scorer()
    return np.concatenate([scorer.logit(images[i:i + 512], np.stack([shape_features(image) for image in images[i:i + 512]]))
                           for i in range(0, len(images), 512)])


def held_out_mean(said_no: np.ndarray, kinds: np.ndarray) -> tuple[float, dict]:
    per_family = {kind: share["said_no_digit"] for kind, share in shares(said_no, kinds, np.isin(kinds, HELD_OUT)).items()}
    return round(float(np.mean(list(per_family.values()))), 4), per_family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--choose", required=True, help="the .npz of the choosing side's renders (rendered if missing)")
    parser.add_argument("--fresh", required=True, help="the .npz of fresh held-out pictures (rendered if missing)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started, config = time.time(), ScorerConfig()
    images, labels, kinds, fresh_images, fresh_kinds = choosing_side(args)
    mnist = load_mnist(args.data)
    extractor = export_features_model(split_digits(mnist, "validation")[0][:500])
    train_x, train_y = split_digits(mnist, "train")
    pick = np.random.default_rng(config.seed).permutation(len(train_x))[:FIT_DIGITS]
    means, precision = fit_statistics(extractor.features(as_located(train_x[pick])), train_y[pick])
    np.savez_compressed(STATISTICS_PATH, means=means.astype(np.float32), precision=precision.astype(np.float32))
    fitted = FeatureDistance(FEATURES_MODEL_PATH, means.astype(np.float32).astype(np.float64),
                             precision.astype(np.float32).astype(np.float64))  # as served
    distance, logit = fitted.distance(images), scorer_logits(images)
    fresh_distance, fresh_logit = fitted.distance(fresh_images), scorer_logits(fresh_images)
    groups = {"scenes, styles and pens": labels & ~np.isin(kinds, (MNIST_AS_FOUND, TYPEFACE)),
              "MNIST as found": kinds == MNIST_AS_FOUND, "held-out typefaces": kinds == TYPEFACE}
    candidates = {}
    for weight in WEIGHTS:
        judged = logit - weight * distance
        threshold = threshold_for({name: judged[group] for name, group in groups.items()}, config)
        mean, per_family = held_out_mean(judged < threshold, kinds)
        fresh_mean, fresh_per_family = held_out_mean(fresh_logit - weight * fresh_distance < threshold, fresh_kinds)
        candidates[weight] = {"threshold": round(threshold, 4), "held_out_mean": mean, "held_out": per_family,
                              "digits_said_no_digit": {name: round(float(np.mean(judged[group] < threshold)), 4)
                                                       for name, group in groups.items()},
                              "fresh_held_out_mean": fresh_mean, "fresh_held_out": fresh_per_family}
        print(f"{time.time() - started:6.0f} s  weight {weight:g}: {json.dumps(candidates[weight])}", flush=True)
    alone = candidates[0.0]["held_out"]
    chosen = max((weight for weight, candidate in candidates.items()
                  if all(candidate["held_out"][kind] >= share for kind, share in alone.items())),
                 key=lambda weight: candidates[weight]["held_out_mean"])
    card = {
        "what": "the judge's second view: the squared Mahalanobis distance of the CNN's pooled features to the "
                "nearest MNIST digit's mean (one shared covariance); the judge's log-odds are the digit scorer's "
                "less weight x distance",
        "cnn_keras_sha256": models.file_sha256(models.model_path("cnn")),
        "tflite_sha256": models.file_sha256(FEATURES_MODEL_PATH),
        "fitted_on": f"{FIT_DIGITS} MNIST training digits, cropped and normalised as found (seed {config.seed})",
        "chosen_on": "MNIST validation digits (scenes, styles, pens; as found), the held-out typeface families' "
                     "digits and the held-out picture families, as training/digit_scorer.py chooses; "
                     f"at most {config.max_digits_rejected:.1%} of each group of digits said no digit",
        "fresh": f"{FRESH} new pictures of each held-out family (seed {FRESH_SEED}), what the rules let through: "
                 f"{json.dumps({kind: int(np.sum(fresh_kinds == kind)) for kind in HELD_OUT})}",
        "chosen": {"weight": chosen, "threshold": candidates[chosen]["threshold"]},
        "candidates": {str(weight): candidate for weight, candidate in candidates.items()},
        "seconds": round(time.time() - started, 1),
        "command": "python -m training.feature_distance " + " ".join(sys.argv[1:]),
    }
    CARD_PATH.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(card["chosen"]), flush=True)


if __name__ == "__main__":
    main()
