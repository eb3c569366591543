"""Where the upload path loses digits: the same digits read clean and read in each upload style.

    python -m training.upload_styles --digits typefaces [--per-style 200] [--model cnn] [--json]
    python -m training.upload_styles --digits validation

Each digit (a held-out typeface family's digit as the typeface suite holds it in MNIST's form, or an
MNIST validation digit) is rendered in each upload style of training/styles.py (phone and lamp photos,
grey/JPEG scans, pencil, marker, ballpoint, transparent drawings, light on dark, tiny 16x16 scans, ...),
saved as the file's bytes and read back through `prepare_upload` with its trace. Against the same
digits read as they are (the 28x28 array: "clean"), each style's lost digits are put down to the stage
that lost them: locate found no digit, the judge said "no digit", a loop drawn round the digit was set
aside (where that loop is the digit's own outline, a piece of it is read), or the digit reached the model as
found and was misread; for the misread ones, how its 28x28 differs from the clean one (ink: stroke thickness; box:
the fitted size; centre: the centre of mass). Choose on `validation` and the typefaces, never the test set.
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import time
from dataclasses import dataclass, field

import numpy as np

import models
from digits.preprocessing import prepare_upload
from training.evaluate import load_style_suite, open_engine
from training.style_shift import render_style, validation_digits
from training.styles import STYLES

GLYPH_STYLES = [name for name, (only, _) in STYLES.items() if only]  # they redraw a digit's shape: not an upload
UPLOAD_STYLES = [name for name in STYLES if name not in GLYPH_STYLES]
DIGIT_SETS = ("typefaces", "typefaces-2", "validation")
PER_STYLE = 200  # digits per style: a loss of 2-3 points shows (binomial s.e. ~1.5 points at 95%)
SEED = 26


@dataclass(frozen=True)
class StyleLoss:
    """One style on one set of digits: how many the clean reading got right, how many the style's did,
    and where the style's lost ones were lost."""

    style: str
    n: int
    clean_right: int
    style_right: int
    lost: int  # right clean, wrong in the style
    gained: int  # wrong clean, right in the style
    lost_at: dict[str, int] = field(default_factory=dict)  # "no digit" (locate / judge), misread after a loop
    # round it was set aside (loop), or misread as found (misread)
    misread_shift: dict[str, float] = field(default_factory=dict)  # medians over the misread lost digits

    def to_dict(self) -> dict:
        return {"style": self.style, "n": self.n, "clean": round(self.clean_right / max(self.n, 1), 4),
                "styled": round(self.style_right / max(self.n, 1), 4), "lost": self.lost, "gained": self.gained,
                "lost_at": self.lost_at, "misread_shift": {k: round(v, 3) for k, v in self.misread_shift.items()}}


LOOP_SET_ASIDE = "drawn round the digit set aside"  # pipeline.close_loops_or_not's step when it peels a loop


def stage_of(trace, found: bool) -> str:
    """Where the reading went its way: "" (read as found), "loop" (read with a loop round it set aside,
    which may be the digit's own outline), or, for "no digit", "judge" (a digit found and turned down) or
    "locate" (none found)."""
    if found:
        return "loop" if any(step.stage == "locate" and LOOP_SET_ASIDE in step.decided for step in trace) else ""
    if any(step.stage == "judge" and step.decided.endswith("not a handwritten digit") for step in trace):
        return "judge"
    return "locate"


def read_style(name: str, x: np.ndarray, y: np.ndarray, count: int, seed: int) -> tuple[list, list, list]:
    """(sources, 28x28 images, stage) of `count` digits of x in style `name` read through prepare_upload;
    stage: `stage_of` its trace."""
    sources, images, stages = [], [], []
    for index, upload in render_style(name, x, y, count, seed):
        trace = []
        prepared = prepare_upload(upload.data, upload.filename, trace=trace)
        sources.append(index)
        images.append(prepared.pixels)
        stages.append(stage_of(trace, bool(prepared.pixels.any())))
    return sources, images, stages


def frame_measures(image: np.ndarray) -> tuple[float, float, float]:
    """(ink: the sum of ink over 255, box: the longer side of the ink's box, centre: distance of the
    centre of mass from the frame's centre), of a 28x28 digit."""
    ink = image.astype(np.float64)
    total = ink.sum()
    if total == 0:
        return 0.0, 0.0, 0.0
    mask = ink > 0.2 * ink.max()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    cy = ink.sum(axis=1) @ np.arange(28) / total
    cx = ink.sum(axis=0) @ np.arange(28) / total
    return total / 255.0, float(box), float(np.hypot(cy - 13.5, cx - 13.5))


def digits_of(name: str, data=None) -> tuple[np.ndarray, np.ndarray]:
    """The digits measured: a held-out typeface suite's (less any the pipeline lost) or MNIST validation's."""
    if name == "validation":
        from training.data import load_mnist
        return validation_digits(load_mnist(data))
    suite = load_style_suite(name)
    kept = suite.images.reshape(len(suite.labels), -1).max(axis=1) > 0
    return suite.images[kept], suite.labels[kept]


def measure(digit_set: str, model: str = "cnn", per_style: int = PER_STYLE, styles: list[str] | None = None,
            seed: int = SEED, data=None, engine=None) -> list[StyleLoss]:
    x, y = digits_of(digit_set, data)
    styles = styles or UPLOAD_STYLES
    with concurrent.futures.ProcessPoolExecutor(min(os.cpu_count(), 2),
                                                mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(read_style, styles, [x] * len(styles), [y] * len(styles), [per_style] * len(styles),
                              [seed] * len(styles)))
    if engine is None:
        with open_engine(model, models.MODELS_DIR) as own_engine:
            return losses(styles, parts, x, y, model, own_engine)
    return losses(styles, parts, x, y, model, engine)


def losses(styles, parts, x, y, model, engine) -> list[StyleLoss]:
    clean_says = engine.predict_probabilities(model, x).argmax(axis=1)
    figures = []
    for name, (sources, images, stages) in zip(styles, parts):
        sources, stages = np.array(sources), np.array(stages)
        says = engine.predict_probabilities(model, np.stack(images)).argmax(axis=1)
        says[(stages == "locate") | (stages == "judge")] = -1
        truth, clean_right = y[sources], clean_says[sources] == y[sources]
        style_right = says == truth
        lost = clean_right & ~style_right
        lost_at = {"locate": int(np.sum(lost & (stages == "locate"))), "judge": int(np.sum(lost & (stages == "judge"))),
                   "loop": int(np.sum(lost & (stages == "loop"))), "misread": int(np.sum(lost & (stages == "")))}
        shift = {}
        misread = np.flatnonzero(lost & (stages == ""))
        if len(misread):
            styled = np.array([frame_measures(images[i]) for i in misread])
            clean = np.array([frame_measures(x[sources[i]]) for i in misread])
            shift = {"ink_ratio": float(np.median(styled[:, 0] / np.maximum(clean[:, 0], 1e-6))),
                     "box_change": float(np.median(styled[:, 1] - clean[:, 1])),
                     "centre_offset": float(np.median(styled[:, 2]))}
        figures.append(StyleLoss(name, len(sources), int(clean_right.sum()), int(style_right.sum()), int(lost.sum()),
                                 int(np.sum(~clean_right & style_right)), lost_at, shift))
    return figures


def to_text(digit_set: str, model: str, figures: list[StyleLoss], seconds: float) -> str:
    lines = [f"{model}: {digit_set} digits read clean and in each upload style, {seconds:.0f} s",
             f"  {'style':26s} {'n':>4s} {'clean':>7s} {'styled':>7s} {'lost':>5s} {'gained':>6s}  lost at (locate/judge/loop/misread)"]
    for one in sorted(figures, key=lambda f: f.gained - f.lost):
        lines.append(f"  {one.style:26s} {one.n:4d} {one.clean_right / max(one.n, 1):7.2%} {one.style_right / max(one.n, 1):7.2%}"
                     f" {one.lost:5d} {one.gained:6d}  {one.lost_at['locate']}/{one.lost_at['judge']}/{one.lost_at['loop']}/{one.lost_at['misread']}"
                     + (f"  misread: ink x{one.misread_shift['ink_ratio']:.2f}, box {one.misread_shift['box_change']:+.0f},"
                        f" centre {one.misread_shift['centre_offset']:.1f} px" if one.misread_shift else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", choices=DIGIT_SETS, default="typefaces")
    parser.add_argument("--model", choices=["cnn", "vit", "ensemble"], default="cnn")
    parser.add_argument("--per-style", type=int, default=PER_STYLE)
    parser.add_argument("--styles", nargs="*", choices=UPLOAD_STYLES, help="these styles only (default: all upload styles)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = measure(args.digits, args.model, args.per_style, args.styles)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"digits": args.digits, "model": args.model, "per_style": args.per_style,
                          "styles": [one.to_dict() for one in figures]}))
    else:
        print(to_text(args.digits, args.model, figures, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
