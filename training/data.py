"""MNIST: loading (from a local .npz or Keras' download), the validation split and the tf.data pipeline."""

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits.preprocessing import IMAGE_SIZE, to_model_input
from training.config import AugmentConfig

DATA_ENV = "DIGITS_MNIST_NPZ"
ARRAYS = {  # name: (shape after the count, dtype)
    "x_train": (IMAGE_SIZE, IMAGE_SIZE),
    "y_train": (),
    "x_test": (IMAGE_SIZE, IMAGE_SIZE),
    "y_test": (),
}


class DataError(Exception):
    """The MNIST file is missing or not an MNIST .npz; the message says which and how to fix it."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # uint8 (N, 28, 28), 0 = background, 255 = ink
    y_train: np.ndarray  # uint8 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # the file it came from
    sha256: str


def resolve_data_path(path: str | os.PathLike | None = None) -> Path | None:
    """The --data flag wins, then $DIGITS_MNIST_NPZ; None means 'download with Keras'."""
    chosen = path or os.environ.get(DATA_ENV)
    return Path(chosen).expanduser() if chosen else None


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    data_path = resolve_data_path(path)
    if data_path is None:
        import keras

        keras.datasets.mnist.load_data()  # downloads once, into Keras' cache
        data_path = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets" / "mnist.npz"
    return read_mnist_npz(data_path)


def read_mnist_npz(path: Path) -> Mnist:
    if not path.is_file():
        raise DataError(f"MNIST file not found: {path} (pass --data PATH or set {DATA_ENV})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAYS if name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from None
    for name, shape in ARRAYS.items():
        if name not in arrays:
            raise DataError(f"{path} has no array '{name}'; an MNIST .npz holds {', '.join(ARRAYS)}")
        if arrays[name].shape[1:] != shape or len(arrays[name]) == 0:
            raise DataError(f"{path}: '{name}' has shape {arrays[name].shape}, expected (N, {', '.join(map(str, shape))})".replace(", )", ")"))
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataError(f"{path}: x_{split} and y_{split} have different lengths")
        labels = arrays[f"y_{split}"]
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(f"{path}: y_{split} holds labels outside 0-9")
    return Mnist(
        **{name: arrays[name].astype(np.uint8) for name in ARRAYS},
        source=str(path),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def validation_split(x: np.ndarray, y: np.ndarray, size: int, seed: int):
    """A fixed, seeded split of the training set: (x_train, y_train), (x_val, y_val)."""
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:size], order[size:]
    return (x[train], y[train]), (x[val], y[val])


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, augment: AugmentConfig | None = None,
                 seed: int | None = None, targets_from=None):
    """Batches of (model input, one-hot label); shuffled and augmented on the fly when training.
    `y`: labels (N,), or targets (N, 10) that already sum to one. `targets_from(images, targets)`, if
    given, turns each augmented batch's targets into new ones (a teacher's, in distillation)."""
    import tensorflow as tf

    from training.augment import augment_batch

    targets = np.asarray(y, np.float32) if np.ndim(y) == 2 else tf.one_hot(y, 10)
    dataset = tf.data.Dataset.from_tensor_slices((to_model_input(x), targets))
    if augment is not None:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if augment is not None:
        dataset = dataset.map(lambda images, labels: (augment_batch(images, augment), labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    if targets_from is not None:
        dataset = dataset.map(lambda images, labels: (images, targets_from(images, labels)))
    return dataset.prefetch(tf.data.AUTOTUNE)
