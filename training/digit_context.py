"""Train the judge's context reader (models/digit_scorer.ContextJudge): a small MLP on the image judges'
logit (the convolutional network and the shape MLP of training/digit_scorer.py, kept as they are) and
the CONTEXT measures locate takes of each find in its picture (digits/preprocessing/locate: how faint,
how grained, what lies round it, how it sits among the picture's other marks), which the 28x28 crop
hides. It took the place of the locate stage's "no digit" rules on a find (a solid shape, text, a
straight bar, grain, a soft patch): it learns from everything the pipeline finds.

Pictures are rendered as training/digit_scorer.py renders them, with other seeds (the image judges never
saw these pictures, so their logit here is as it will be on an upload): MNIST *training* digits in the
scenes, styles and pens and digits in the *training* handwriting typeface families against the
*training* families without a digit. Chosen (the threshold: at most 0.5% of each group of digits) on
MNIST *validation* digits in the same scenes, styles and pens and the *held-out* typeface families'
digits, and measured on the HELD_OUT families without a digit, none of them trained on. Each picture's
render records whether the pipeline stopped before a find (no ink, specks), the find's 28x28 image and
its context; a cache rendered by the code before the rules went also records which of them fired
("fired"), so the pipeline as it was is measured on the same pictures.

    python -m training.digit_context --data ../shared/data/mnist.npz --cache /tmp/context.npz \
        --more /tmp/context_more.npz [--workers 2]
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from digits.preprocessing import _decoded
from digits.preprocessing.ink import MIN_INK_LEVEL
from digits.preprocessing.locate import CONTEXT, locate_digit
from digits.preprocessing.normalise import is_in_mnist_form, to_mnist_frame
from digits.preprocessing.pipeline import JUDGE, ink, lighting, surface
from digits.preprocessing.shape_features import shape_features
from models.digit_scorer import SCORER_PATH, ContextJudge, DigitScorer
from training import digit_scorer, scenes, typefaces
from training.figure_suites import CROP_SIDES, cropped_to_ink
from training.digit_scorer import FAMILIES, HELD_OUT, SIDES, TYPEFACE, _DIGITS, _load_digits, as_photo, pen_drawing
from training.styles import STYLES



@dataclass(frozen=True)
class ContextConfig:
    seed: int = 29  # not the image judges' (13, 14): pictures they never saw
    digits_per_scene: int = 60  # MNIST training digits per scene (validation: 45)
    digits_per_style: int = 15  # per style, each saved and photographed (validation: the same)
    drawings: int = 300  # pen drawings (validation: 150)
    negatives_share: float = 0.8  # of training/digit_scorer.NEGATIVE_COUNTS per training family
    held_out_per_family: int = 120
    typefaces_per_family: int = 15  # digits of each handwriting typeface family (training/typefaces.py), as
    # uploaded: the training families' are digits to learn, the held-out families' digits to choose on
    tight_crops: int = 400  # MNIST training digits cropped to their ink (training/figure_suites.py's crops):
    # a tight crop of a 1 is a long bar filling the picture, which the judge must still take for a digit
    hidden: int = 16
    steps: int = 2000
    learning_rate: float = 0.01
    weight_decay: float = 1e-3
    # The threshold: the judge calls at most this share of the validation digits it is shown "no digit"
    # (the image judge's own limit, training/digit_scorer.ScorerConfig.max_digits_rejected)
    max_digits_rejected: float = 0.005


def tasks(config: ContextConfig) -> list[tuple]:
    """(what, name, side, index) of every picture to render."""
    todo = []
    for side, scene_count, drawings in (("train", config.digits_per_scene, config.drawings),
                                        ("choose", config.digits_per_scene * 3 // 4, config.drawings // 2)):
        todo += [("scene", name, side, i) for name in scenes.SCENES for i in range(scene_count)]
        todo += [("style", name, side, i) for name in STYLES for i in range(config.digits_per_style)]
        todo += [("drawing", "pen drawing", side, i) for i in range(drawings)]
    todo += [("blank", name, "train", i) for name, count in digit_scorer.NEGATIVE_COUNTS.items() if name not in HELD_OUT
             for i in range(round(config.negatives_share * count))]
    todo += [("blank", name, "choose", i) for name in HELD_OUT for i in range(config.held_out_per_family)]
    return todo


def more_tasks(config: ContextConfig) -> list[tuple]:
    """Digits in the training and the held-out handwriting typeface families, and tight crops of MNIST
    training digits, as uploads."""
    return [("typeface", family.name, side, i) for side, chosen in (("train", typefaces.training_families()),
                                                                     ("choose", typefaces.held_out_families()))
            for family in chosen for i in range(config.typefaces_per_family)] + [
        ("tight crop", "tight crop", "train", i) for i in range(config.tight_crops)]


def render_task(task: tuple, seed: int = ContextConfig.seed) -> list[dict]:
    """What the pipeline finds in each upload of one task, before the judge."""
    what, name, side, index = task
    rng = np.random.default_rng([seed, SIDES.index(side), sum(map(ord, what + name)), index])
    uploads = []
    if what == "blank":
        uploads.append((FAMILIES[name](rng), None, False, name))
    elif what == "typeface":
        family = next(family for family in typefaces.families() if family.name == name)
        files = typefaces.font_files(family, typefaces.fonts_dir())
        upload = typefaces.render_digit(files[index % len(files)], index % 10, rng)
        uploads.append((upload.data, upload.filename, True, TYPEFACE))
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
            elif what == "tight crop":
                light_on_dark = bool(rng.random() < 0.5)
                uploads.append((cropped_to_ink(digit, int(rng.choice(CROP_SIDES)), light_on_dark), None, True, name))
            else:
                uploads.append((pen_drawing(digit, rng, digit_scorer.ScorerConfig.pens), None, True, name))
    found = []
    for data, filename, is_digit, kind in uploads:
        try:
            found.append({**find(data, filename), "is_digit": is_digit, "kind": kind, "side": side})
        except Exception as error:  # reported, not learned from
            print(f"pipeline failed on {task}: {error!r}", file=sys.stderr, flush=True)
    return found


def find(data: bytes, filename: str | None) -> dict:
    """The pipeline up to the judge (pipeline.read's stages): "stopped" (no ink, specks: no find to
    judge), "as it is" (MNIST's form, or too small to judge: never judged) or "found", with the image
    and its context."""
    decoded = _decoded(data, filename, None)
    pixels, steps = decoded.pixels, []
    found = ink(surface(pixels, lighting(pixels, steps), steps), steps)
    empty = {"image": np.zeros((28, 28), np.uint8), "context": np.zeros(len(CONTEXT), np.float32)}
    if is_in_mnist_form(found.signal) and found.noise == 0 and float(found.signal.max()) >= MIN_INK_LEVEL:
        return {**empty, "status": "as it is"}
    located = locate_digit(found.signal, lossy=decoded.lossy)
    if located.digit is None:
        return {**empty, "status": "stopped"}
    return {"image": to_mnist_frame(located.digit), "context": located.context,
            "status": "found" if max(pixels.shape[:2]) > JUDGE.smallest_judged else "as it is"}


def render(todo: list[tuple], data: str | None, workers: int, cache: Path, seed: int) -> None:
    results, started = [], time.time()
    todo = [todo[i] for i in np.random.default_rng(seed).permutation(len(todo))]
    with Pool(workers, initializer=_load_digits, initargs=(data,)) as pool:
        for done, found in enumerate(pool.imap(render_task, todo, chunksize=4), 1):
            results += found
            if done % 250 == 0 or done == len(todo):
                print(f"{time.time() - started:7.0f} s  {done} of {len(todo)} rendered", flush=True)
                np.savez_compressed(cache, **{key: np.stack([row[key] for row in results]) for key in results[0]},
                                    tasks_done=done, tasks=len(todo))


def load(cache: Path) -> dict[str, np.ndarray]:
    with np.load(cache) as cached:
        print(f"{cache}: {int(cached['tasks_done'])} of {int(cached['tasks'])} renders", flush=True)
        return {key: cached[key] for key in cached.files if key not in ("tasks_done", "tasks")}


def image_logits(scorer: DigitScorer, images: np.ndarray) -> np.ndarray:
    features = np.stack([shape_features(image) for image in images])
    return np.concatenate([scorer.image_logit(images[i:i + 512], features[i:i + 512]) for i in range(0, len(images), 512)])


def said_no_digit(sets: dict, judged_no: np.ndarray, rules: bool = False) -> np.ndarray:
    """Per picture: the pipeline's answer is "no digit" with this judge's verdicts on its finds; `rules`:
    with the "no digit" rules on a find that locate had before this judge too (a render of the code of
    that time records which fired, as "fired")."""
    found = sets["status"] == "found"
    fired = (sets["fired"] != "") if rules else np.zeros(len(found), bool)
    return (sets["status"] == "stopped") | (found & fired) | (found & judged_no)


def figures(sets: dict, said_no: np.ndarray) -> dict:
    """On the choosing side: each held-out family's share said "no digit", their mean, and the share of
    the validation digits (scenes, styles, pens) said so."""
    choose = sets["side"] == "choose"
    families = {name: round(float(np.mean(said_no[choose & (sets["kind"] == name)])), 4) for name in HELD_OUT}
    digits, typeface = choose & sets["is_digit"] & (sets["kind"] != TYPEFACE), choose & (sets["kind"] == TYPEFACE)
    return {"held_out_said_no_digit": round(float(np.mean(list(families.values()))), 4), "per_family": families,
            "validation_digits_said_no_digit": round(float(np.mean(said_no[digits])), 4),
            "validation_digits": int(digits.sum()),
            "held_out_typeface_digits_said_no_digit": round(float(np.mean(said_no[typeface])), 4),
            "held_out_typeface_digits": int(typeface.sum())}


def threshold_for(scores: np.ndarray, config: ContextConfig) -> float:
    """The highest score that calls at most `max_digits_rejected` of these digits' scores "no digit"."""
    return float(np.sort(scores)[int(np.floor(config.max_digits_rejected * len(scores)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--cache", required=True, help="the .npz of what the pipeline finds (rendered if missing)")
    parser.add_argument("--more", required=True, help="the .npz of typeface digits and tight crops found (rendered if missing)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--out", default=str(SCORER_PATH))
    args = parser.parse_args()
    config, started = ContextConfig(), time.time()
    if not Path(args.cache).is_file():
        render(tasks(config), args.data, args.workers, Path(args.cache), config.seed)
    if not Path(args.more).is_file():
        render(more_tasks(config), args.data, args.workers, Path(args.more), config.seed)
    if args.render_only:
        return
    main_sets, more_sets = load(Path(args.cache)), load(Path(args.more))
    sets = {key: np.concatenate([main_sets[key], more_sets[key]]) for key in more_sets}
    if "fired" in main_sets:  # rendered by the code before its rules went (the rest was rendered after)
        sets["fired"] = np.concatenate([main_sets["fired"], np.full(len(more_sets["status"]), "")])
    card = json.loads(Path(args.out).read_text())
    scorer = DigitScorer.from_dict({key: value for key, value in card["weights"].items()
                                    if key not in ("context", "context_threshold")})
    found, train, choose = sets["status"] == "found", sets["side"] == "train", sets["side"] == "choose"
    assert not set(sets["kind"][train & ~sets["is_digit"]]) & set(HELD_OUT), "a held-out family trained on"
    logits = np.zeros(len(found), np.float32)
    logits[found] = image_logits(scorer, sets["image"][found])
    inputs = np.concatenate([logits[:, None], sets["context"]], axis=1)
    fitted = train & found
    mean, scale, w1, b1, w2, b2 = digit_scorer.fit_mlp(inputs[fitted], sets["is_digit"][fitted], config.hidden, config.steps,
                                                       config.learning_rate, config.weight_decay, config.seed)
    context = ContextJudge(mean, scale, w1, b1, w2, b2)
    scores = 1 / (1 + np.exp(-np.clip(context.logit(logits, sets["context"]), -30, 30)))
    image_no = logits < np.log(scorer.threshold / (1 - scorer.threshold))
    groups = (choose & sets["is_digit"] & found & (sets["kind"] != TYPEFACE), choose & found & (sets["kind"] == TYPEFACE))
    threshold = min(threshold_for(scores[group], config) for group in groups)
    figured = {"the image judges alone": figures(sets, said_no_digit(sets, image_no)),
               "the judge with the context": figures(sets, said_no_digit(sets, scores < threshold))}
    if "fired" in sets:  # rendered by the code before: its rules with the image judges, as the pipeline was
        figured["the rules before and the image judges"] = figures(sets, said_no_digit(sets, image_no, rules=True))
    for name, measured in figured.items():
        print(f"{time.time() - started:7.0f} s  {name}: {json.dumps(measured)}", flush=True)
    card["weights"].update(DigitScorer(scorer.conv, scorer.shape, scorer.conv_share, scorer.spreads, scorer.threshold,
                                       context, threshold).to_dict())
    card["context"] = {
        "what": "an MLP on the image judges' logit and locate's CONTEXT measures of the find in its picture, "
                "in place of locate's 'no digit' rules on a find (a solid shape, text, a straight bar, grain, a soft patch)",
        "inputs": ["the image judges' logit"] + list(CONTEXT),
        "architecture": f"dense {config.hidden} (ReLU), logit",
        "config": asdict(config),
        "training": {"digits": int(np.sum(fitted & sets["is_digit"])), "not_digits": int(np.sum(fitted & ~sets["is_digit"]))},
        "threshold": threshold,
        "choosing": {"what": "the pipeline's answers on the choosing side (MNIST validation digits in the scenes, "
                             "styles and pens; the HELD_OUT families), with each judge", **figured},
        "seconds": round(time.time() - started, 1),
        "command": "python -m training.digit_context " + " ".join(sys.argv[1:]),
    }
    readable = json.dumps({key: value for key, value in card.items() if key != "weights"}, indent=1)
    Path(args.out).write_text(readable[:-2] + ',\n "weights": ' + json.dumps(card["weights"]) + "\n}\n")
    print(json.dumps(card["context"], indent=1))


if __name__ == "__main__":
    main()
