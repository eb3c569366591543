"""Train the digit/not-digit scorer (models/digit_scorer.py): a tiny MLP on the shape measures of the
28x28 image the upload pipeline hands the models, and that image at a coarse size
(digits/preprocessing/shape_features.py).

Digits: MNIST digits rendered into the scenes of training/scenes.py, into the style-shift styles (as
saved and as a phone's photo of them), drawn with a pen as the sketch pad draws (training/digit_strokes.py,
pens 8-26 px on a 280 px canvas) and uploaded as they are, read by `prepare_upload`. Not digits: pictures
from procedurally varied generator *families* (training/scenes.py, training/not_digits.py: tables and
what lies on them, empty pages and boards, textures, gradients, noise, shapes, printed and handwritten
words, icons, pictograms, portraits, animals, food, landscapes, line art, patterns, photos of things)
that the locate stage's rules still read as a digit. Every kind of file is used, photos and saved
pictures alike: the scorer judges every upload not already in MNIST's form.

Two sides, never mixed: the scorer trains on MNIST *training* digits and the training families; it is
chosen (its coarse size, its threshold) on MNIST *validation* digits in the same scenes, styles and pens
and on the HELD_OUT families, which it never sees. MNIST test digits are never read here.

    python -m training.digit_scorer --data ../shared/data/mnist.npz [--cache /tmp/scorer_data.npz] [--workers 2]
"""

import argparse
import io
import json
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from digits.preprocessing import prepare_upload
from digits.preprocessing.shape_features import FEATURES, coarse_view, shape_features
from models.digit_scorer import SCORER_PATH, DigitScorer
from training.data import load_mnist
from training.digit_strokes import drawn_on_pad, skeleton_strokes
from training.style_shift import split_digits
from training.styles import STYLES

from training import not_digits, scenes

# Generator families without a digit, and how many pictures of each to render. The HELD_OUT families
# are never trained on: the scorer is chosen on them (one of each broad kind the maintainers name: shapes,
# icons, printed text, textures, photos of things), so its figures there are those of pictures it never saw.
FAMILIES = {**scenes.BLANKS, **not_digits.FAMILIES}
NEGATIVE_COUNTS = {"table": 150, "empty page on a table": 150, "table with things on it": 500, "empty page close up": 250,
                   "noise": 80, "solid colour": 20, "empty screenshot": 60, "empty board": 100, "empty ruled page": 100,
                   "gradient": 120, "pictogram": 400, "handwritten words": 300, "portrait": 300, "animal": 300,
                   "food": 300, "landscape": 250, "line art": 300, "pattern": 150, "scattered things": 300,
                   "blank page": 0, "white picture": 0,
                   "shapes": 150, "icon": 150, "printed text": 150, "texture": 150, "photo of things": 150}
HELD_OUT = ("shapes", "icon", "printed text", "texture", "photo of things")
TURNS = (lambda images: images[:, :, ::-1], lambda images: images[:, ::-1, :], lambda images: np.rot90(images, 1, (1, 2)))


@dataclass(frozen=True)
class ScorerConfig:
    digits_per_scene: int = 100  # MNIST training digits per scene (validation digits: a third of these)
    digits_per_style: int = 30
    drawings: int = 600  # pen drawings of training digits (validation: half)
    pens: tuple[int, int] = (8, 26)  # pen widths drawn with, px on a 280 px canvas (the sketch pad's is 20)
    # Chosen on the held-out side among: the image read at 7x7 or 14x14 beside the shape measures; pictures
    # without a digit trained on as they are, or also mirrored and turned (a mirrored digit is no digit,
    # a mirrored picture without one still is none)
    coarse_sizes: tuple[int, ...] = (7, 14)
    turned_negatives: tuple[bool, ...] = (False, True)
    hidden: int = 64
    steps: int = 1500
    learning_rate: float = 0.01
    weight_decay: float = 1e-3
    # The threshold: at most this share of the validation digits (every scene, style and pen) said "no digit"
    max_digits_rejected: float = 0.005
    seed: int = 13


SIDES = ("train", "choose")  # MNIST training digits and training families; validation digits and HELD_OUT
_DIGITS: dict = {}  # per worker: side -> (x, y)


def _load_digits(data: str | None) -> None:
    mnist = load_mnist(data)
    _DIGITS.update({"train": split_digits(mnist, "train"), "choose": split_digits(mnist, "validation")})


def tasks(config: ScorerConfig) -> list[tuple]:
    """Every picture to render, as (what, name, side, index): seeded by these alone, so the renders are
    the same whatever the order or the number of workers."""
    todo = []
    for side, share in (("train", 1.0), ("choose", 1 / 3)):
        todo += [("scene", name, side, i) for name in scenes.SCENES for i in range(round(share * config.digits_per_scene))]
        todo += [("style", name, side, i) for name in STYLES for i in range(round(share * config.digits_per_style))]
        todo += [("drawing", "pen drawing", side, i) for i in range(round(share * config.drawings / (1 if side == "train" else 1.5)))]
    todo += [("uploaded", "MNIST digit as uploaded", "train", i) for i in range(config.digits_per_style)]
    todo += [("blank", name, "choose" if name in HELD_OUT else "train", i)
             for name, count in NEGATIVE_COUNTS.items() for i in range(count)]
    return todo


def render_task(task: tuple, seed: int = ScorerConfig.seed, pens: tuple[int, int] = ScorerConfig.pens) -> list[tuple]:
    """[(pixels uint8 (28, 28), is_digit, kind, side)] for what the rules alone let through of one task."""
    what, name, side, index = task
    rng = np.random.default_rng([seed, SIDES.index(side), sum(map(ord, what + name)), index])
    uploads = []
    if what == "blank":
        uploads.append((FAMILIES[name](rng), None, False, name))
    else:
        x, y = _DIGITS[side]
        if what == "style":
            applies_to, render = STYLES[name]
            candidates = np.flatnonzero(np.isin(y, applies_to)) if applies_to else np.arange(len(y))
            upload = render(x[rng.choice(candidates)], rng)
            if upload is not None:
                uploads += [(upload.data, upload.filename, True, f"style: {name}"),
                            (as_photo(upload.data), None, True, f"style: {name}, photographed")]
        else:
            digit = x[rng.integers(len(x))]
            if what == "scene":
                uploads.append((scenes.SCENES[name](digit, rng), None, True, name))
            elif what == "drawing":
                uploads.append((pen_drawing(digit, rng, pens), None, True, name))
            else:
                uploads.append((scenes.encode(Image.fromarray(digit)), "digit.png", True, name))
    found = []
    for data, filename, is_digit, kind in uploads:
        prepared = prepare_upload(data, filename, judged=False)  # what the rules alone let through
        if prepared.has_digit:
            found.append((np.array(prepared.pixels), is_digit, kind, side))
    return found


def pen_drawing(digit: np.ndarray, rng, pens: tuple[int, int]) -> bytes:
    """The digit's strokes drawn with a pen on a 280 px canvas as the sketch pad draws them, at a size
    and place a person might draw it, on white or transparent, mostly saved as PNG (sometimes a JPEG)."""
    scale, side = rng.uniform(0.55, 1.1), 280
    dx, dy = rng.uniform(0, 1 - scale, 2) if scale < 1 else (0.5 - scale / 2, 0.5 - scale / 2)
    strokes = [[(dx + x * scale, dy + y * scale) for x, y in stroke] for stroke in skeleton_strokes(digit)]
    image = drawn_on_pad(strokes, side, pen=float(rng.uniform(*pens)))
    if rng.random() < 0.15:
        return scenes.encode(image, "JPEG", quality=int(rng.integers(70, 95)))
    if rng.random() < 0.5:  # a transparent canvas: the ink alone, opaque
        ink = 255 - np.asarray(image.convert("L"))
        rgba = np.dstack([np.full(ink.shape + (3,), 20, np.uint8), ink])
        image = Image.fromarray(rgba, "RGBA")
    return scenes.encode(image)


def render(config: ScorerConfig, data: str | None, workers: int, cache: Path) -> None:
    """Renders every task, in a seeded random order, into `cache` (images uint8 (N, 28, 28), labels
    (is a digit), kinds, sides), saved as it goes: a run cut short leaves an even sample of all of them."""
    todo, results, started = tasks(config), [], time.time()
    todo = [todo[i] for i in np.random.default_rng(config.seed).permutation(len(todo))]
    with Pool(workers, initializer=_load_digits, initargs=(data,)) as pool:
        for done, found in enumerate(pool.imap(render_task, todo, chunksize=4), 1):
            results += found
            if done % 250 == 0 or done == len(todo):
                print(f"{time.time() - started:7.0f} s  {done} of {len(todo)} rendered", flush=True)
                images, labels, kinds, sides = zip(*results)
                np.savez_compressed(cache, images=np.stack(images), labels=np.array(labels), kinds=np.array(kinds),
                                    sides=np.array(sides), tasks_done=done, tasks=len(todo))


def as_photo(data: bytes) -> bytes:
    """The picture as a phone would send it: a JPEG (a picture with transparency stays as it is)."""
    image = Image.open(io.BytesIO(data))
    if image.mode not in ("L", "RGB"):
        return data
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def fit(features: np.ndarray, labels: np.ndarray, config: ScorerConfig, coarse: int) -> DigitScorer:
    """Full-batch Adam on the weighted log-loss (both classes weigh the same in all), in float32."""
    rng = np.random.default_rng(config.seed)
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    inputs, target = ((features - mean) / scale).astype(np.float32), labels.astype(np.float32)
    weight = np.where(labels, 0.5 / labels.mean(), 0.5 / (1 - labels.mean())) / len(labels)
    weight = weight.astype(np.float32)
    params = [rng.normal(0, 1 / np.sqrt(inputs.shape[1]), (inputs.shape[1], config.hidden)).astype(np.float32),
              np.zeros(config.hidden, np.float32), rng.normal(0, 1 / np.sqrt(config.hidden), config.hidden).astype(np.float32),
              np.zeros(1, np.float32)]
    moments = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for step in range(1, config.steps + 1):
        w1, b1, w2, b2 = params
        before = inputs @ w1 + b1
        hidden = np.maximum(before, 0)
        score = 1 / (1 + np.exp(-np.clip(hidden @ w2 + b2, -30, 30)))
        error = weight * (score - target)
        back = np.outer(error, w2) * (before > 0)
        grads = [inputs.T @ back + config.weight_decay * w1, back.sum(axis=0), hidden.T @ error + config.weight_decay * w2,
                 np.array([error.sum()])]
        for param, grad, first, second in zip(params, grads, *moments):
            first[:] = 0.9 * first + 0.1 * grad
            second[:] = 0.999 * second + 0.001 * grad**2
            param -= config.learning_rate * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    w1, b1, w2, b2 = (param.astype(np.float64) for param in params)
    return DigitScorer(mean, scale, w1, b1, w2, float(b2[0]), threshold=0.5, coarse=coarse)


def threshold_for(digit_scores: np.ndarray, config: ScorerConfig) -> float:
    """The score below which a picture is "no digit": that of the lowest `max_digits_rejected` of the
    validation digits."""
    return float(np.sort(digit_scores)[int(np.floor(config.max_digits_rejected * len(digit_scores)))])


def shares(said_no: np.ndarray, kinds: np.ndarray, chosen: np.ndarray) -> dict[str, dict]:
    """Per kind among `chosen`: how many pictures and the share said "no digit"."""
    return {kind: {"pictures": int(np.sum(chosen & (kinds == kind))),
                   "said_no_digit": round(float(np.mean(said_no[chosen & (kinds == kind)])), 4)}
            for kind in sorted(set(kinds[chosen]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    parser.add_argument("--cache", required=True, help="the .npz of rendered images (rendered into it if missing)")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering at once")
    parser.add_argument("--out", default=str(SCORER_PATH))
    args = parser.parse_args()
    config = ScorerConfig()
    started = time.time()
    if not Path(args.cache).is_file():
        render(config, args.data, args.workers, Path(args.cache))
    with np.load(args.cache) as cached:
        images, labels, kinds, sides = cached["images"], cached["labels"], cached["kinds"], cached["sides"]
        rendered_share = f"{int(cached['tasks_done'])} of {int(cached['tasks'])} renders"
    train, choose = sides == "train", sides == "choose"
    assert not set(kinds[train & ~labels]) & set(kinds[choose & ~labels]), "a family on both sides"
    turned = np.concatenate([transform(images[train & ~labels]) for transform in TURNS])  # more pictures without a digit
    shapes = np.stack([shape_features(image) for image in images])
    turned_shapes = np.stack([shape_features(image) for image in turned])
    candidates = {}
    for coarse in config.coarse_sizes:  # chosen on the held-out side: validation digits, held-out families
        features = np.concatenate([shapes, coarse_view(images, coarse).reshape(len(images), -1)], axis=1)
        turned_features = np.concatenate([turned_shapes, coarse_view(turned, coarse).reshape(len(turned), -1)], axis=1)
        for with_turned in config.turned_negatives:
            inputs, targets = features[train], labels[train]
            if with_turned:
                inputs, targets = np.concatenate([inputs, turned_features]), np.concatenate([targets, np.zeros(len(turned), bool)])
            scorer = fit(inputs, targets, config, coarse)
            scores = scorer.score(features)
            scorer = DigitScorer(**{**scorer.__dict__, "threshold": threshold_for(scores[choose & labels], config)})
            said_no = scores < scorer.threshold
            held_out = shares(said_no, kinds, choose & ~labels)
            name = f"{coarse}x{coarse}" + (", turned pictures without a digit" if with_turned else "")
            candidates[name] = (float(np.mean([kind["said_no_digit"] for kind in held_out.values()])), scorer, said_no)
            print(f"{time.time() - started:7.0f} s  {name}: held-out families said no digit {candidates[name][0]:.2%}", flush=True)
    chosen = max(candidates, key=lambda name: candidates[name][0])
    _, scorer, said_no = candidates[chosen]
    coarse = scorer.coarse
    card = {
        "what": "digit/not-digit scorer: an MLP on shape measures of the 28x28 image and the image at a coarse size, "
                "judging every upload not in MNIST's form",
        "features": list(FEATURES) + [f"the image at {coarse}x{coarse} ({coarse * coarse} values)"],
        "config": asdict(config),
        "held_out_families": list(HELD_OUT),
        "chosen": {"candidate": chosen, "held_out_families_said_no_digit": {
            name: round(candidate[0], 4) for name, candidate in candidates.items()}},
        "rendered": rendered_share,
        "training": {"digits": int(np.sum(labels & train)), "not_digits": int(np.sum(~labels & train)),
                     "per_kind": shares(said_no, kinds, train)},  # in-sample
        "validation": {
            "what": "MNIST validation digits and the held-out families, never trained on",
            "digits": int(np.sum(labels & choose)), "not_digits": int(np.sum(~labels & choose)),
            "digits_said_no_digit": round(float(np.mean(said_no[choose & labels])), 4),
            "not_digits_said_no_digit": round(float(np.mean(said_no[choose & ~labels])), 4),
            "per_kind": shares(said_no, kinds, choose),
        },
        "seconds": round(time.time() - started, 1),
        "command": "python -m training.digit_scorer " + " ".join(sys.argv[1:]),
        "weights": scorer.to_dict(),
    }
    Path(args.out).write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps({key: value for key, value in card.items() if key != "weights"}, indent=1))


if __name__ == "__main__":
    main()
