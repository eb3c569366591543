"""The digit/not-digit judge: two small learned views of the 28x28 image the reading pipeline hands the
models, averaged. A convolutional network reads the image itself (strokes of even width, their bends
and ends); an MLP reads a few shape measures of it (digits/preprocessing/shape_features.py) and the
image at 7x7. Each says how likely the image is a handwritten digit rather than something else a
picture holds (a face, a cup, an icon, a texture, a shape); they err on different pictures, so their
mean sets aside more of them at the same share of real digits lost. Trained by
`python -m training.digit_scorer` on digits rendered from MNIST training digits and training typeface
families, against procedurally varied pictures without a digit; the weights, the threshold and how they
were chosen are in `digit_scorer.json` beside this file. NumPy only.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SCORER_PATH = Path(__file__).resolve().parent / "digit_scorer.json"


def conv_same(images: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, H, W, C) * (k, k, C, O) -> (N, H, W, O): a stride-1 convolution, zero-padded ('same'), as Keras's:
    the k x k shifted copies side by side, times the kernel as one matrix."""
    k, (n, h, w, c) = kernel.shape[0], images.shape
    padded = np.zeros((n, h + 2 * (k // 2), w + 2 * (k // 2), c), images.dtype)  # np.pad's zeros, without its overhead
    padded[:, k // 2 : k // 2 + h, k // 2 : k // 2 + w] = images
    columns = np.concatenate([padded[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)], axis=3)
    return columns @ kernel.reshape(k * k * c, -1) + bias


def max_pool(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H // 2, W // 2, C): the largest of each 2x2 block."""
    n, h, w, c = images.shape
    return images[:, : h - h % 2, : w - w % 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def coarse_view(images: np.ndarray, coarse: int) -> np.ndarray:
    """float32 (N, coarse * coarse) 0-1: each pixel the mean of a block of the uint8 (N, 28, 28) images."""
    block = images.shape[-1] // coarse
    blocks = np.asarray(images, np.float32).reshape(len(images), coarse, block, coarse, block)
    return blocks.mean(axis=(2, 4)).reshape(len(images), -1) / 255.0


@dataclass(frozen=True, eq=False)
class ConvJudge:
    kernels: tuple[np.ndarray, ...]  # (3, 3, C_in, C_out) each: conv, ReLU, then a 2x2 max-pool but after the last
    kernel_biases: tuple[np.ndarray, ...]
    mean: np.ndarray  # (F,): the shape measures' mean and spread on the training split, to standardise them
    scale: np.ndarray
    hidden_weights: np.ndarray  # (2 * C_last + F, H): the last maps' mean and max, then the shape measures
    hidden_bias: np.ndarray  # (H,)
    output_weights: np.ndarray  # (H,)
    output_bias: float

    def logit(self, images: np.ndarray, features: np.ndarray) -> np.ndarray:
        maps = np.asarray(images, np.float32)[..., None] / 255.0
        for index, (kernel, bias) in enumerate(zip(self.kernels, self.kernel_biases)):
            maps = np.maximum(conv_same(maps, kernel, bias), 0.0)
            if index < len(self.kernels) - 1:
                maps = max_pool(maps)
        pooled = np.concatenate([maps.mean(axis=(1, 2)), maps.max(axis=(1, 2)), (features - self.mean) / self.scale],
                                axis=1)
        hidden = np.maximum(pooled @ self.hidden_weights + self.hidden_bias, 0.0)
        return hidden @ self.output_weights + self.output_bias


@dataclass(frozen=True, eq=False)
class ShapeJudge:
    mean: np.ndarray  # (F + coarse**2,): the inputs' mean and spread on the training split
    scale: np.ndarray
    hidden_weights: np.ndarray  # (F + coarse**2, H)
    hidden_bias: np.ndarray  # (H,)
    output_weights: np.ndarray  # (H,)
    output_bias: float
    coarse: int = 7  # the image is read at coarse x coarse beside the shape measures

    def logit(self, images: np.ndarray, features: np.ndarray) -> np.ndarray:
        inputs = np.concatenate([features, coarse_view(images, self.coarse)], axis=1)
        hidden = np.maximum(((inputs - self.mean) / self.scale) @ self.hidden_weights + self.hidden_bias, 0.0)
        return hidden @ self.output_weights + self.output_bias


@dataclass(frozen=True, eq=False)
class DigitScorer:
    conv: ConvJudge
    shape: ShapeJudge
    conv_share: float  # of the mean of the two logits, each divided by its spread on the training images
    spreads: tuple[float, float]  # (conv, shape)
    threshold: float  # scores below this are "no digit"

    def logit(self, images: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The log-odds that each uint8 (N, 28, 28) image in MNIST's form, with its shape measures (N, F),
        is a handwritten digit."""
        return (self.conv_share * self.conv.logit(images, features) / self.spreads[0]
                + (1 - self.conv_share) * self.shape.logit(images, features) / self.spreads[1])

    def score(self, images: np.ndarray, features: np.ndarray) -> np.ndarray:
        """How likely each image is a handwritten digit (0-1): the logit's sigmoid."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.logit(images, features), -30, 30)))

    def to_dict(self) -> dict:
        arrays = lambda judge: {key: (value.tolist() if isinstance(value, np.ndarray) else  # noqa: E731
                                      [v.tolist() for v in value] if isinstance(value, tuple) else value)
                                for key, value in judge.__dict__.items()}
        return {"conv": arrays(self.conv), "shape": arrays(self.shape), "conv_share": self.conv_share,
                "spreads": list(self.spreads), "threshold": self.threshold}

    @classmethod
    def from_dict(cls, weights: dict) -> "DigitScorer":
        as_array = lambda value: np.asarray(value, np.float32)  # noqa: E731
        conv, shape = weights["conv"], weights["shape"]
        layers = ("mean", "scale", "hidden_weights", "hidden_bias", "output_weights")
        return cls(conv=ConvJudge(kernels=tuple(map(as_array, conv["kernels"])),
                                  kernel_biases=tuple(map(as_array, conv["kernel_biases"])),
                                  **{key: as_array(conv[key]) for key in layers}, output_bias=float(conv["output_bias"])),
                   shape=ShapeJudge(**{key: as_array(shape[key]) for key in layers},
                                    output_bias=float(shape["output_bias"]), coarse=int(shape["coarse"])),
                   conv_share=float(weights["conv_share"]), spreads=tuple(map(float, weights["spreads"])),
                   threshold=float(weights["threshold"]))


@lru_cache(maxsize=1)
def load_digit_scorer(path: Path = SCORER_PATH) -> DigitScorer | None:
    """The shipped judge, or None where it has not been trained (then no picture is judged by it)."""
    if not Path(path).is_file():
        return None
    return DigitScorer.from_dict(json.loads(Path(path).read_text())["weights"])
