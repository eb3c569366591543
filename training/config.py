"""Training hyperparameters: one small object per model, chosen on the validation split."""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_degrees: float = 12.0
    max_shear_degrees: float = 10.0
    scale_range: tuple[float, float] = (0.85, 1.1)
    max_shift_pixels: float = 2.5
    max_stroke_change: float = 0.5  # fraction of the way towards a 3x3 dilation (+) or erosion (-)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    ema_momentum: float | None = None  # validate and keep an exponential moving average of the weights
    validation_size: int = 5000
    seed: int = 42
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULTS = {
    "cnn": TrainConfig(epochs=24, learning_rate=3e-3, weight_decay=5e-2),
    "vit": TrainConfig(epochs=56, learning_rate=1e-3, weight_decay=5e-2, ema_momentum=0.999),
}


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning a shipped model on people's corrections (training/finetune.py)."""

    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 1e-4  # a nudge, not a retraining: the shipped weights are already good
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    ema_momentum: float | None = None
    label_smoothing: float = 0.1
    holdout_fraction: float = 0.25  # corrections kept aside to judge the result
    mnist_per_correction: int = 8  # MNIST training digits mixed in per correction, so nothing is forgotten
    correction_repeats: int = 2  # each correction seen this many times per epoch
    min_corrections: int = 8
    seed: int = 42
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        return asdict(self)
