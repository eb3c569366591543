"""What the digit judge is asked about through the whole pipeline, recorded once, then scored offline with
any judge card, weight and threshold: how many real digits each would call "no digit" and how many
pictures without one it would set aside, without reading everything again per candidate.

Recorded (`record`): MNIST *validation* digits (40 a kind) in the proxy's plain paper, circled, chalkboard
and ruled notebook (training/proxy_scenes.py; the worn chalkboard left to its own work), the scenes
suite's 11 scenes (training/scenes.py), the 19 style-shift styles and 120 pen drawings (1,480 digits); the
everyday photographs (training/everyday_photos.py, 40 a kind) and, with --pictures, the proxy's 6 kinds of
photos and the scenes suite's 17 kinds without a digit (40 each), and with --held-out, the digit scorer's
held-out picture families (training/digit_scorer.py's HELD_OUT, 60 each, its choosing side's seeds from
index 5000: pictures it was not trained or thresholded on). Per upload: the 28x28 images the judge was
asked about (the first as found; after it, where a loop is drawn close round the marks, those inside),
the squared feature distance of each, the share of the ink's pieces the marks judged hold
(`Located.ink_share`; 1 in records made before it), and whether the pipeline as it stands found a digit.

Scored (`score`): the decision of pipeline.read and close_loops_or_not, offline: the marks as found pass
if their log-odds meet the threshold, else the mean of theirs and the inside reading's must (of the
readings inside, the one whose CNN features lie nearer MNIST's digits; that one too is read where it lies
nearer than the marks as found).

Held-out typeface digits in the upload styles (`record-typeface-styles`, then `score` on its file): the
uploads of `python -m training.upload_styles --digits typefaces --per-style 150` (its renderer and seed),
recorded as `record` does: how many each card calls "no digit", per style, without reading them again.

Circled digits (`record-circled`, then `score` on its file): tests/test_proxy_scenes.py's touching circle
(its renderer and seed) and the proxy's circled scene, on MNIST *validation* digits and held-out typeface
digits, with the CNN's answer for each image asked: how many each card and setting reads right.

    python scripts/judge_inputs.py record /tmp/judge_inputs.npz --data ../shared/data/mnist.npz [--pictures] [--held-out]
    python scripts/judge_inputs.py score /tmp/judge_inputs.npz models/digit_scorer.json /tmp/new.json \
        --weight 0.0005 --threshold -0.591 [--weight W --threshold T ...] [--ink-share]
    python scripts/judge_inputs.py record-typeface-styles /tmp/judge_styles.npz [--digits typefaces] [--per-style 150]
    python scripts/judge_inputs.py record-circled /tmp/judge_circled.npz --data ../shared/data/mnist.npz
    python scripts/judge_inputs.py score /tmp/judge_circled.npz models/digit_scorer.json --weight 0.0005 --threshold -0.591
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from digits.preprocessing import prepare_upload
from digits.preprocessing.shape_features import shape_features
from models.digit_scorer import load_digit_scorer
from models.feature_distance import load_feature_distance
from training import everyday_photos, proxy_scenes, scenes
from training.data import load_mnist
from training.digit_scorer import FAMILIES, HELD_OUT, SIDES, ScorerConfig, judge_inputs, pen_drawing
from training.scene_suite import BLANK_SEED_OFFSET
from training.style_shift import SEED, render_style, validation_digits
from training.styles import STYLES

COUNT = 40
PENS = 120
PEN_SEED = 4500
PROXY_KINDS = ("plain paper", "circled", "chalkboard", "ruled notebook")
HELD_OUT_COUNT = 60
HELD_OUT_FROM = 5000  # past the indices training.digit_scorer renders (NEGATIVE_COUNTS: at most 500)


def uploads(data: str | None, pictures: bool, held_out: bool = False):
    """(group, kind, is_digit, bytes, filename) for every upload recorded."""
    mnist = load_mnist(data)
    x_val, y_val = validation_digits(mnist)
    inks, _ = proxy_scenes.digit_source("validation", COUNT, data)
    for kind in PROXY_KINDS:
        for upload in proxy_scenes.render(kind, inks):
            yield "proxy digits", kind, True, upload, None
    for index, (name, make) in enumerate(scenes.SCENES.items()):
        rng = np.random.default_rng(index)
        for digit in x_val[:COUNT]:
            yield "scene digits", name, True, make(digit, rng), None
    for name in STYLES:
        for _, upload in render_style(name, x_val, y_val, COUNT, SEED):
            yield "styles", name, True, upload.data, upload.filename
    rng = np.random.default_rng(PEN_SEED)
    for digit in x_val[:PENS]:
        yield "pens", "pen drawing", True, pen_drawing(digit, rng, ScorerConfig.pens), None
    for kind in everyday_photos.KINDS:
        for upload in everyday_photos.render(kind, COUNT):
            yield "everyday", kind, False, upload, None
    if pictures:
        for kind in proxy_scenes.PHOTOS:
            for upload in proxy_scenes.render_photos(kind, COUNT):
                yield "proxy photos", kind, False, upload, None
        for index, (name, make) in enumerate(scenes.BLANKS.items()):
            rng = np.random.default_rng(BLANK_SEED_OFFSET + index)
            for _ in range(COUNT):
                yield "no-digit scenes", name, False, make(rng), None
    if held_out:
        for name in HELD_OUT:
            for index in range(HELD_OUT_FROM, HELD_OUT_FROM + HELD_OUT_COUNT):
                rng = np.random.default_rng([ScorerConfig.seed, SIDES.index("choose"), sum(map(ord, "blank" + name)), index])
                yield "held-out families", name, False, FAMILIES[name](rng), None


def typeface_style_uploads(suite: str, per_style: int):
    """(group, kind, is_digit, bytes, filename): a held-out typeface suite's digits in every upload style,
    the uploads of `python -m training.upload_styles --digits SUITE --per-style N` (its renderer and seed)."""
    from training.upload_styles import SEED as UPLOAD_SEED
    from training.upload_styles import UPLOAD_STYLES, digits_of

    x, y = digits_of(suite)
    for name in UPLOAD_STYLES:
        for _, upload in render_style(name, x, y, per_style, UPLOAD_SEED):
            yield f"{suite} in styles", name, True, upload.data, upload.filename


def record(out: Path, recorded) -> None:
    """Per upload of `recorded` (`uploads` or `typeface_style_uploads`): as the module says."""
    rows, views, shares, started = [], [], [], time.time()
    for number, (group, kind, is_digit, upload, filename) in enumerate(recorded, 1):
        with judge_inputs() as asked:
            has_digit = prepare_upload(upload, filename).has_digit
        rows.append((group, kind, is_digit, has_digit, len(views), len(asked)))
        views += [view for view, _ in asked]
        shares += [judgement.ink_share for _, judgement in asked]
        if number % 200 == 0:
            print(json.dumps({"event": "recorded", "uploads": number, "seconds": round(time.time() - started)}), flush=True)
    group, kind, is_digit, has_digit, first, calls = (np.array(column) for column in zip(*rows))
    images = np.stack(views)
    distance = load_feature_distance().distance(images)
    np.savez_compressed(out, group=group, kind=kind, is_digit=is_digit, has_digit=has_digit, first=first, calls=calls,
                        images=images, distance=distance, share=np.array(shares))


def decide(log_odds: np.ndarray, distance: np.ndarray, first: np.ndarray, calls: np.ndarray, has_digit: np.ndarray,
           threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per upload, whether the pipeline finds a digit and which image asked it reads (an index into the
    images), its judge's log-odds per image asked being `log_odds` (pipeline.close_loops_or_not: of the
    readings inside a loop, the one whose features lie nearer MNIST's digits, `distance`)."""
    found, kept = has_digit.copy(), first.copy()
    for row in np.flatnonzero(calls):
        own, near = log_odds[first[row]:first[row] + calls[row]], distance[first[row]:first[row] + calls[row]]
        found[row] = own[0] >= threshold
        if calls[row] > 1:
            inside = 2 if calls[row] > 2 and near[2] < near[1] else 1
            chosen = near[inside] < near[0] if found[row] else (own[0] + own[inside]) / 2 >= threshold
            found[row] |= chosen
            kept[row] += inside if chosen else 0
    return found, kept


def score(records: Path, cards: list[str], settings: list[tuple[float, float]], ink_share: bool) -> None:
    with np.load(records) as recorded:
        r = {key: recorded[key] for key in recorded.files}
    counted = r["distance"] / r.get("share", 1.0) if ink_share else r["distance"]  # as pipeline.judge counts it
    features = np.stack([shape_features(image) for image in r["images"]])
    for card in cards:
        scorer = load_digit_scorer(Path(card))
        logit = np.concatenate([scorer.logit(r["images"][i:i + 512], features[i:i + 512]) for i in range(0, len(features), 512)])
        for weight, threshold in settings:
            found, kept = decide(logit - weight * counted, r["distance"], r["first"], r["calls"], r["has_digit"], threshold)
            if "label" in r:  # record-circled's: read right, and "no digit", per group
                right = found & (r["probabilities"][kept].argmax(axis=1) == r["label"])
                print(json.dumps({"card": card, "weight": weight, "threshold": threshold, "ink_share": ink_share, **{
                    group: {"read_right": int(right[r["group"] == group].sum()), "of": int(np.sum(r["group"] == group)),
                            "no_digit": int(np.sum(~found[r["group"] == group]))} for group in dict.fromkeys(r["group"])}}),
                      flush=True)
                continue
            lost = r["is_digit"] & ~found
            figures = {"card": card, "weight": weight, "threshold": threshold, "ink_share": ink_share,
                       "digits_no_digit": int(lost.sum()), "digits": int(r["is_digit"].sum()),
                       "differ_from_recorded": int(np.sum(found != r["has_digit"]))}  # 0 for the judge recorded with
            for group in dict.fromkeys(r["group"]):
                rows = r["group"] == group
                per_kind = {kind: round(float(np.mean(~found[rows & (r["kind"] == kind)])), 4)
                            for kind in dict.fromkeys(r["kind"][rows])}
                figures[group] = ({kind: int(np.sum(lost[rows & (r["kind"] == kind)])) for kind in per_kind
                                   if np.any(lost[rows & (r["kind"] == kind)])} if r["is_digit"][rows].all() else
                                  {"no_digit": round(float(np.mean(list(per_kind.values()))), 4), "per_kind": per_kind})
            print(json.dumps(figures), flush=True)


CIRCLED_SEED = 2743  # tests/test_proxy_scenes.py's touching circle, here on validation and typeface digits
CIRCLED_MORE = 200  # more MNIST validation digits in a touching circle (another seed), for a finer count


def circled_uploads(data: str | None):
    """(group, label, bytes): the touching circle of tests/test_proxy_scenes.py (its renderer and seed) on
    40 MNIST validation digits and 40 held-out typeface digits, the proxy's circled scene (every mark in
    turn) on the same, and CIRCLED_MORE more validation digits in each of those two."""
    for source in ("validation", "typefaces"):
        inks, labels = proxy_scenes.digit_source(source, COUNT, data)
        rng = np.random.default_rng(CIRCLED_SEED)
        for ink, label in zip(inks, labels):
            yield f"touching circle, {source}", int(label), proxy_scenes.circled(ink, rng, "touching circle")
        for upload, label in zip(proxy_scenes.render("circled", inks), labels):
            yield f"proxy circled, {source}", int(label), upload
    inks, labels = proxy_scenes.digit_source("validation", COUNT + CIRCLED_MORE, data)
    rng = np.random.default_rng(CIRCLED_SEED + 1)
    for ink, label in zip(inks[COUNT:], labels[COUNT:]):
        yield "touching circle, more validation", int(label), proxy_scenes.circled(ink, rng, "touching circle")
    for upload, label in list(zip(proxy_scenes.render("circled", inks), labels))[COUNT:]:
        yield "proxy circled, more validation", int(label), upload


def record_circled(out: Path, data: str | None) -> None:
    """Per circled upload: the images the judge was asked about (as `record`), the CNN's answer for each
    (what the reader says where that image is the one kept), and the digit's label."""
    from digits.engine import Engine

    rows, views, shares = [], [], []
    for group, label, upload in circled_uploads(data):
        with judge_inputs() as asked:
            has_digit = prepare_upload(upload).has_digit
        rows.append((group, label, has_digit, len(views), len(asked)))
        views += [view for view, _ in asked]
        shares += [judgement.ink_share for _, judgement in asked]
    group, label, has_digit, first, calls = (np.array(column) for column in zip(*rows))
    images = np.stack(views)
    with Engine(model_ids=("cnn",), processes=0) as engine:
        probabilities = engine.predict_probabilities("cnn", images)
    np.savez_compressed(out, group=group, label=label, has_digit=has_digit, first=first, calls=calls, images=images,
                        probabilities=probabilities, distance=load_feature_distance().distance(images), share=np.array(shares))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["record", "score", "record-circled", "record-typeface-styles"])
    parser.add_argument("records")
    parser.add_argument("cards", nargs="*")
    parser.add_argument("--data")
    parser.add_argument("--pictures", action="store_true")
    parser.add_argument("--held-out", action="store_true", help="the digit scorer's held-out picture families too")
    parser.add_argument("--digits", choices=["typefaces", "typefaces-2"], default="typefaces",
                        help="record-typeface-styles: the held-out typeface suite")
    parser.add_argument("--per-style", type=int, default=150, help="record-typeface-styles: digits a style")
    parser.add_argument("--weight", type=float, action="append", default=[])
    parser.add_argument("--threshold", type=float, action="append", default=[])
    parser.add_argument("--ink-share", action="store_true",
                        help="the distance over the marks' share of the ink's pieces, as pipeline.judge counts it")
    args = parser.parse_args()
    if args.mode == "record-circled":
        record_circled(Path(args.records), args.data)
    elif args.mode == "record":
        record(Path(args.records), uploads(args.data, args.pictures, args.held_out))
    elif args.mode == "record-typeface-styles":
        record(Path(args.records), typeface_style_uploads(args.digits, args.per_style))
    else:
        score(Path(args.records), args.cards, list(zip(args.weight, args.threshold)), args.ink_share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
