"""The scenes suite: how well the product reads pictures of the places people write, through the engine
that serves the app (the whole reading pipeline included).

    digits evaluate cnn --suite scenes [--count 40] [--styles 40] [--json]

Per scene (training/scenes.py draws each from MNIST test digits: a page on a table, a circled digit, a
chalkboard, ...), the share of digits read right and the share called "no digit"; per kind of picture
without a digit (textures, icons, empty pages, ...), the share answered "no digit". With `--styles N`,
also the share of N validation digits in each style-shift style called "no digit": a clear digit never
should be. Scenes and pictures are seeded, so a run is repeatable.
"""

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

import models
from digits.engine import Engine
from training import scenes
from training.data import Mnist, load_mnist
from training.evaluate import open_engine

DEFAULT_COUNT = 40  # digits or pictures per kind: a figure to a few points in a few minutes
BLANK_SEED_OFFSET = 100  # pictures without a digit are drawn from other seeds than the scenes


@dataclass(frozen=True)
class SceneFigures:
    model: str
    count: int
    scenes: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> right, no_digit, ms
    blanks: dict[str, float] = field(default_factory=dict)  # name -> share answered "no digit"
    styles: dict[str, float] = field(default_factory=dict)  # style -> share of real digits called "no digit"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"suite": "scenes", "model": self.model, "count": self.count,
                "scenes": {name: {key: round(value, 4) for key, value in figure.items()}
                           for name, figure in self.scenes.items()},
                "no_digit": {name: round(value, 4) for name, value in self.blanks.items()},
                "styles_called_no_digit": {name: round(value, 4) for name, value in self.styles.items()},
                "seconds": round(self.seconds, 1)}

    def to_text(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(self.to_dict())
        lines = [f"{self.model}: {self.count} MNIST test digits per scene, {self.count} pictures per kind without a "
                 f"digit, {self.seconds:.0f} s", "  scene                          read right  no digit   ms"]
        lines += [f"  {name:30s} {f['right']:9.1%} {f['no_digit']:9.1%} {f['ms']:6.1f}" for name, f in self.scenes.items()]
        lines += ["  picture without a digit        answered 'no digit'"]
        lines += [f"  {name:30s} {share:9.1%}" for name, share in self.blanks.items()]
        if self.styles:
            lines += ["  style-shift style              real digits called 'no digit'"]
            lines += [f"  {name:30s} {share:9.1%}" for name, share in self.styles.items()]
        return "\n".join(lines)


def no_digit_by_style(mnist: Mnist, per_style: int) -> dict[str, float]:
    """Per style-shift style: the share of its validation digits that the pipeline calls "no digit"."""
    from digits.preprocessing import prepare_upload
    from training.style_shift import SEED, render_style, validation_digits
    from training.styles import STYLES

    x_val, y_val = validation_digits(mnist)
    return {name: float(np.mean([not prepare_upload(upload.data, upload.filename).has_digit
                                 for _, upload in render_style(name, x_val, y_val, per_style, SEED)]))
            for name in STYLES}


def evaluate_scenes(model: str, data: Mnist | str | os.PathLike | None = None, count: int | None = None,
                    styles: int = 0, only: tuple[str, ...] = (), models_dir: str | os.PathLike = models.MODELS_DIR,
                    engine: Engine | None = None) -> SceneFigures:
    """Every scene and kind of picture without a digit (or `only` those named), `count` of each."""
    mnist = data if isinstance(data, Mnist) else load_mnist(data)
    count = count or DEFAULT_COUNT
    if engine is None:
        with open_engine(model, models_dir) as own_engine:
            return evaluate_scenes(model, mnist, count, styles, only, models_dir, own_engine)
    started = time.perf_counter()
    figures: dict[str, dict[str, float]] = {}
    for index, (name, make) in enumerate(scenes.SCENES.items()):
        if only and name not in only:
            continue
        rng = np.random.default_rng(index)
        uploads = [make(digit, rng) for digit in mnist.x_test[:count]]
        begun = time.perf_counter()
        results = [engine.classify(upload, model) for upload in uploads]
        figures[name] = {"right": float(np.mean([r.digit == label for r, label in zip(results, mnist.y_test)])),
                         "no_digit": float(np.mean([r.digit is None for r in results])),
                         "ms": 1000 * (time.perf_counter() - begun) / count}
    blanks = {}
    for index, (name, make) in enumerate(scenes.BLANKS.items()):
        if only and name not in only:
            continue
        rng = np.random.default_rng(BLANK_SEED_OFFSET + index)
        blanks[name] = float(np.mean([engine.classify(make(rng), model).digit is None for _ in range(count)]))
    by_style = no_digit_by_style(mnist, styles) if styles else {}
    return SceneFigures(model, count, figures, blanks, by_style, time.perf_counter() - started)
