"""Choose the occlusion settings of digits/explain.py on validation digits (never the test set).

For each setting: the deletion ratio (probability lost erasing the quarter of ink the map ranks
highest / lost erasing a random quarter), for the CNN and the ViT, and the squares a map runs
(docs/explanations.md has the table).
    python scripts/choose_explanation.py [--data mnist.npz] [--count 300]
"""

import argparse
import time

import numpy as np

from digits.engine import Engine
from digits.explain import OcclusionConfig, deletion_costs, evidence_map, occlusion_windows
from training.config import TrainConfig
from training.data import load_mnist, validation_split

ANY_INK = 64  # every square with any ink run, as the first rounds of the choice did
SETTINGS = [*(OcclusionConfig(patch=p, stride=s, min_ink=ANY_INK) for p, s in ((4, 2), (4, 4), (6, 3), (6, 4), (7, 4),
                                                                               (8, 4))),
            OcclusionConfig()]  # the shipped settings: only squares with about 8 pixels' worth of ink


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    mnist = load_mnist(args.data)
    config = TrainConfig(epochs=1)  # only its split: validation_size, seed
    _, (x_val, _) = validation_split(mnist.x_train, mnist.y_train, config.validation_size, config.seed)
    images = x_val[:args.count]
    with Engine() as engine:
        for model in engine.model_ids:
            def predict(batch, model=model):
                return engine.predict_probabilities(model, batch)
            digits = predict(images).argmax(axis=1)
            for setting in SETTINGS:
                started = time.perf_counter()
                maps = np.stack([evidence_map(predict, image, digit, setting) for image, digit in zip(images, digits)])
                seconds = (time.perf_counter() - started) / len(images)
                top, random = deletion_costs(predict, images, digits, maps)
                squares = np.mean([len(occlusion_windows(image, setting)) for image in images])
                print(f"{model} patch {setting.patch} stride {setting.stride}: ratio {top.mean() / random.mean():.2f} "
                      f"(top {top.mean():.3f}, random {random.mean():.3f}), {squares:.0f} squares, "
                      f"{seconds * 1000:.0f} ms a map", flush=True)


if __name__ == "__main__":
    main()
