"""The style-shift suite: MNIST validation digits as people MNIST never met would upload them.

Each digit of a seeded sample of the validation split (never the test set, never trained on) is
rendered in each style of training/styles.py, saved as a file's bytes and read back through
`prepare_upload`, exactly as the page would read it. The suite is what augmentations and checkpoints
are chosen on; `digits evaluate MODEL --suite style-shift` scores a model on it.

The same renderers, applied to training digits, give styled training images (`styled_training_digits`,
switched on by TrainConfig.styled): the upload pipeline's own output, mixed into training.

Building takes minutes (photos are slow to render and to read), so the prepared 28x28 arrays are
cached, keyed by everything they depend on: the MNIST file, the split, the sample's sizes and seed,
the source of the styles and of the upload pipeline, and VERSION.
"""

import concurrent.futures
import hashlib
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import digits.preprocessing
import models.digit_scorer
import models.feature_distance
import training.styles
from digits.preprocessing import prepare_upload
from training.config import DEFAULTS, StyledDigits
from training.data import Mnist, load_mnist, validation_split
from training.styles import STYLES

SUITE = "style-shift"
DIGITS_PER_STYLE = 300
SEED = 14
TRAINING_SEED = 15  # styled training digits: another sample, from the other split
CONTINENTAL_ONES_SEED = 16  # StyledDigits.continental_ones: not the same 1s as TRAINING_SEED's
VERSION = 1  # of the way digits are chosen and rendered here: part of the cache key
CACHE_ENV = "DIGITS_CACHE"


@dataclass(frozen=True, eq=False)
class StyledSet:
    images: np.ndarray = field(repr=False)  # uint8 (N, 28, 28): what prepare_upload made of each file
    labels: np.ndarray = field(repr=False)  # (N,) the true digits
    styles: np.ndarray = field(repr=False)  # (N,) the style each image was rendered in
    sources: np.ndarray = field(repr=False)  # (N,) the digit's index in its split
    data_sha256: str

    @property
    def n(self) -> int:
        return len(self.labels)


StyleShiftSuite = StyledSet


def split_digits(mnist: Mnist, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The training or validation part of the seeded split the models are trained with (training/config.py)."""
    config = DEFAULTS["cnn"]
    training_part, validation_part = validation_split(mnist.x_train, mnist.y_train, config.validation_size,
                                                      config.seed)
    return {"train": training_part, "validation": validation_part}[split]


def validation_digits(mnist: Mnist) -> tuple[np.ndarray, np.ndarray]:
    return split_digits(mnist, "validation")


def render_style(name: str, x: np.ndarray, y: np.ndarray, count: int, seed: int):
    """Yields (index, Upload) for `count` digits of `x` in style `name`: a seeded sample of the
    digits the style applies to, skipping those it cannot be drawn on."""
    labels, render = STYLES[name]
    rng = np.random.default_rng([seed, list(STYLES).index(name)])
    candidates = np.flatnonzero(np.isin(y, labels)) if labels else np.arange(len(y))
    made = 0
    for index in rng.permutation(candidates):
        upload = render(x[index], rng)
        if upload is not None:
            yield int(index), upload
            made += 1
            if made == count:
                return


def render_one_style(name: str, x: np.ndarray, y: np.ndarray, count: int, seed: int) -> tuple[list, list]:
    """(images, sources): `count` digits in style `name`, as files read back through prepare_upload."""
    images, sources = [], []
    for index, upload in render_style(name, x, y, count, seed):
        images.append(prepare_upload(upload.data, upload.filename).pixels)
        sources.append(index)
    return images, sources


def render_set(x: np.ndarray, y: np.ndarray, counts: dict[str, int], seed: int, data_sha256: str) -> StyledSet:
    """counts[style] digits of (x, y) in each style, as files read back through prepare_upload; the
    styles on every core (each style has its own seeded generator, so the set is the same either way)."""
    names = list(counts)
    # spawned, not forked: the caller may have TensorFlow's threads running
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(render_one_style, names, [x] * len(names), [y] * len(names),
                              [counts[name] for name in names], [seed] * len(names)))
    images = [image for part_images, _ in parts for image in part_images]
    sources = np.array([index for _, part_sources in parts for index in part_sources], np.int64)
    styles = np.array([name for name, (part_images, _) in zip(names, parts) for _ in part_images])
    return StyledSet(np.stack(images), y[sources].astype(np.int64), styles, sources, data_sha256)


def build_suite(mnist: Mnist, per_style: int = DIGITS_PER_STYLE, seed: int = SEED) -> StyledSet:
    x_val, y_val = validation_digits(mnist)
    return render_set(x_val, y_val, {name: per_style for name in STYLES}, seed, mnist.sha256)


def rendering_sources() -> list[Path]:
    """The source files a styled set depends on: the styles, every stage of the upload pipeline, and the
    judge of what it finds (the digit scorer and the CNN's feature distance: their code and weights)."""
    pipeline = Path(digits.preprocessing.__file__).parent
    judge = [Path(models.digit_scorer.__file__), models.digit_scorer.SCORER_PATH, Path(models.feature_distance.__file__),
             models.feature_distance.FEATURES_MODEL_PATH, models.feature_distance.STATISTICS_PATH]
    return [Path(training.styles.__file__), *sorted(pipeline.rglob("*.py")), *judge]


def cache_key(*parts) -> str:
    """Changes whenever the set would: other data, split or sample, styles, or upload pipeline."""
    digest = hashlib.sha256(" ".join(map(str, (*parts, VERSION))).encode())
    for source in rendering_sources():
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, "~/.cache/digits")).expanduser()


def cached(name: str, key: str, build, data_sha256: str, cache: bool = True) -> StyledSet:
    path = cache_dir() / f"{name}-{key}.npz"
    if cache and path.is_file():
        with np.load(path, allow_pickle=False) as arrays:
            return StyledSet(**{part: arrays[part] for part in ("images", "labels", "styles", "sources")},
                             data_sha256=data_sha256)
    built = build()
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.npz")
        np.savez_compressed(partial, images=built.images, labels=built.labels, styles=built.styles,
                            sources=built.sources)
        partial.replace(path)
    return built


def load_suite(data: Mnist | str | os.PathLike | None = None, per_style: int | None = None,
               seed: int = SEED, cache: bool = True) -> StyledSet:
    """The suite for this MNIST file (DIGITS_PER_STYLE digits per style unless told), from the cache
    when it is there, else built (and cached)."""
    mnist = data if isinstance(data, Mnist) else load_mnist(data)
    per_style = per_style or DIGITS_PER_STYLE
    return cached("style-shift", cache_key(mnist.sha256, per_style, seed),
                  lambda: build_suite(mnist, per_style, seed), mnist.sha256, cache)


def styled_training_digits(mnist: Mnist, styled: StyledDigits, limit: int | None = None) -> StyledSet:
    """Training-split digits (the first `limit` only, if given) rendered in the suite's styles:
    `styled.glyph_per_style` in each glyph style, `styled.other_per_style` in each of the others."""
    x_train, y_train = split_digits(mnist, "train")
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    counts = {name: styled.glyph_per_style if only else styled.other_per_style for name, (only, _) in STYLES.items()}
    counts = {name: count for name, count in counts.items() if count}
    parts = [(counts, TRAINING_SEED), ({"continental_1": styled.continental_ones}, CONTINENTAL_ONES_SEED)]
    sets = [cached("styled-training", cache_key(mnist.sha256, "train", limit, sorted(part.items()), seed),
                   lambda part=part, seed=seed: render_set(x_train, y_train, part, seed, mnist.sha256), mnist.sha256)
            for part, seed in parts if any(part.values())]
    if len(sets) == 1:
        return sets[0]
    return StyledSet(*(np.concatenate([getattr(one, name) for one in sets])
                       for name in ("images", "labels", "styles", "sources")), data_sha256=mnist.sha256)
