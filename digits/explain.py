"""Why the model gave its answer: an evidence map over the 28x28 image it saw, by occlusion.

The models run on LiteRT, which has no gradients, so the map is measured the plain way: copies of the
image, each with one small square of it blacked out (the background of an MNIST digit), go through the
model in one batch, and each square's evidence is how much the answered digit's log-probability falls
without it. A square's evidence is shared among its ink, pixel by pixel, in proportion to how bright
each is (blacking out a black pixel changes nothing), and a pixel's evidence adds up over the squares
that cover it. Positive: that ink supports the answer; negative: without it the answer would be
surer, so it pushes towards another digit. Squares with no ink are never run: they cannot change the
answer, and skipping them (and those that only graze a stroke) keeps a map to one batch of 16 for
most digits.

Faithfulness is measured, not assumed (`deletion_costs`): erasing the quarter of the ink the map ranks
highest must cost the answer far more probability than erasing a random quarter (tests/test_explain.py;
the settings below were chosen on validation digits, scripts/choose_explanation.py).
"""

from dataclasses import dataclass

import numpy as np

from models.frame import IMAGE_SIZE


@dataclass(frozen=True)
class OcclusionConfig:
    # 6 px is about a stroke's width plus its edges in MNIST's 20x20 box: a square takes out a piece of
    # one stroke, not a whole part of the digit. A stride of 4 kept most of what stride 3 (46 squares
    # with ink) gave: on 200 validation digits the deletion ratio was 6.3 (CNN) and 5.2 (ViT) against
    # 6.6 and 5.7; 4 px squares gave 5.7 and 4.2, 8 px 5.5 and 4.9 (scripts/choose_explanation.py).
    patch: int = 6
    stride: int = 4
    # A square is run only if it holds this much ink (0-255 summed, about 8 full pixels of its 36): the
    # squares that only graze a stroke move the answer least. It leaves a digit about 14 squares (one
    # batch of 16 with the image itself) instead of 27 for any ink at all, at the same deletion ratio
    # (6.4 and 5.2 on the same validation digits).
    min_ink: int = 2000


def _starts(config: OcclusionConfig) -> list[int]:
    last = IMAGE_SIZE - config.patch
    starts = list(range(0, last + 1, config.stride))
    return starts if starts[-1] == last else starts + [last]


def occlusion_windows(pixels: np.ndarray, config: OcclusionConfig = OcclusionConfig()) -> list[tuple[int, int]]:
    """The (top, left) of each square that holds ink, the squares blacked out one at a time."""
    return [(top, left) for top in _starts(config) for left in _starts(config)
            if int(pixels[top:top + config.patch, left:left + config.patch].sum()) >= config.min_ink]


def evidence_map(predict, pixels: np.ndarray, digit: int, config: OcclusionConfig = OcclusionConfig()) -> np.ndarray:
    """The evidence for `digit` in a 28x28 uint8 image, float32 (28, 28); positive supports it.

    `predict(uint8 (N, 28, 28)) -> probabilities (N, 10)`, e.g. Engine.predict_probabilities bound to a
    model: the occluded copies go through it as one batch.
    """
    pixels = np.asarray(pixels, np.uint8)
    windows = occlusion_windows(pixels, config)
    evidence = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float64)
    if not windows:
        return evidence.astype(np.float32)
    copies = np.repeat(pixels[np.newaxis], len(windows) + 1, axis=0)
    for copy, (top, left) in zip(copies[1:], windows):
        copy[top:top + config.patch, left:left + config.patch] = 0
    probabilities = np.asarray(predict(copies), np.float64)[:, digit]
    log_p = np.log(np.clip(probabilities, 1e-12, None))
    drops = log_p[0] - log_p[1:]
    ink = pixels.astype(np.float64)
    for drop, (top, left) in zip(drops, windows):
        square = ink[top:top + config.patch, left:left + config.patch]
        evidence[top:top + config.patch, left:left + config.patch] += drop * square / square.sum()
    return evidence.astype(np.float32)


# --- faithfulness: does erasing what the map ranks highest cost the answer most? ------------------------

INK_LEVEL = 64  # a pixel brighter than this (of 255) is ink, for the deletion check
DELETED_SHARE = 0.25


def deletion_costs(predict, images: np.ndarray, digits: np.ndarray, maps: np.ndarray, seed: int = 0,
                   share: float = DELETED_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the answered digit's probability lost when its `share` of ink pixels that the map
    ranks highest is erased, and when a random `share` of them is: (top costs, random costs)."""
    rng = np.random.default_rng(seed)
    top, random = images.copy(), images.copy()
    for index, (image, evidence) in enumerate(zip(images, maps)):
        ink = np.flatnonzero(image.ravel() > INK_LEVEL)
        count = max(1, int(round(share * len(ink))))
        ranked = ink[np.argsort(-evidence.ravel()[ink], kind="stable")[:count]]
        top[index].ravel()[ranked] = 0
        random[index].ravel()[rng.choice(ink, count, replace=False)] = 0
    rows = np.arange(len(images))
    before = predict(images)[rows, digits]
    return before - predict(top)[rows, digits], before - predict(random)[rows, digits]


def explanation_fields(pixels: np.ndarray, evidence: np.ndarray) -> dict:
    """What `classify --json --explain` and the uplink's explain() add to a result: "seen" (28 rows of 28
    ints 0-255, light ink on dark as MNIST) and "explanation" (28 rows of 28 floats, positive supporting)."""
    return {"seen": np.asarray(pixels, np.uint8).tolist(),
            "explanation": [[float(f"{value:.4g}") for value in row] for row in evidence]}
