"""Training hyperparameters: one small object per model, chosen on the validation split."""

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_degrees: float = 12.0
    max_shear_degrees: float = 10.0
    scale_range: tuple[float, float] = (0.85, 1.1)
    max_shift_pixels: float = 2.5
    max_stroke_change: float = 0.5  # fraction of the way towards a 3x3 dilation (+) or erosion (-)
    # Styles MNIST rarely shows, each given to this share of the images (0 switches it off):
    elastic_share: float = 0.0  # elastic distortion (Simard et al. 2003) ...
    elastic_alpha: float = 2.0  # ... moving pixels up to this many pixels ...
    elastic_sigma: float = 3.0  # ... in a field this smooth (pixels)
    box_stretch_share: float = 0.0  # stretched across, part of the way to a square box
    bold_share: float = 0.0  # strokes 1 to `boldest_stroke` 3x3 dilations bolder (markers)
    boldest_stroke: float = 2.0
    low_resolution_share: float = 0.0  # drawn at a side in `low_resolution_sides` and scaled back up
    low_resolution_sides: tuple[int, int] = (12, 16)
    blur_share: float = 0.0  # Gaussian blur (a soft pencil, an out-of-focus photo)
    blur_sigma: float = 0.8
    binarise_share: float = 0.0  # thresholded to pure ink and paper (1-bit scans)
    erase_share: float = 0.0  # a square up to `erase_side` pixels erased (a gap in the stroke)
    erase_side: int = 5


@dataclass(frozen=True)
class StyledDigits:
    """Training digits drawn in the style-shift suite's styles (training/styles.py) and read through the
    upload pipeline, added to the training set: this many per glyph style (continental 1, barred 7,
    closed 4, straight-tailed 9) and per other style (pens, scans, photos). 0 adds none."""
    glyph_per_style: int = 0
    other_per_style: int = 0
    # More continental 1s (a long up-stroke from the top), drawn with their own seed so none repeats the
    # ones above: against the commonest mistake on held-out typefaces, a 1 with a long flag read as 7.
    continental_ones: int = 0

    def scaled(self, fraction: float) -> "StyledDigits":
        """As many for a training set `fraction` of the size (smoke runs), at least one where any."""
        def part(count: int) -> int:
            return max(1, round(count * fraction)) if count else 0

        return StyledDigits(part(self.glyph_per_style), part(self.other_per_style), part(self.continental_ones))


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
    seed: int = 42  # draws the validation split, and (without member_seed) the weights, shuffling and augmentation
    # An ensemble member's own seed for its weights, shuffling and augmentation, so it learns differently
    # from the model beside it while keeping the same validation split (`seed`) the ensemble is chosen on.
    member_seed: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    styled: StyledDigits = field(default_factory=StyledDigits)
    # Digits from the training typeface families (training/typefaces.py): renders of each digit per family
    typeface_per_digit: int = 0
    # Training digits redrawn from their own pen strokes as other people write them (training/hand_variants.py:
    # hooked 9s, flagged 1s, crossed and curved 7s, open 4s, bold and slanted pens): renders per variant
    hand_variants: int = 0
    # Heavy digits of the training typeface families (training/typefaces.py's render_heavy_family: each
    # family's boldest weight with a pen widened until strokes touch, against the hidden set's "bold digits
    # that fill their box"): renders of each digit per family. Off (0) for the shipped models.
    heavy_typeface_per_digit: int = 0
    # Those heavy digits from the bold and marker faces alone (training/typefaces.py's bold_or_marker: 30 of
    # the 107 families), not every family: the twenty-second round's fewer heavy digits. Off for the shipped models.
    heavy_bold_and_marker_only: bool = False
    # Distillation: train towards (1 - w) * the true label + w * the shipped `teachers`' answer (model ids:
    # their files in models/; the mean of their probabilities), read on each augmented batch as the student
    # sees it, at `distill_temperature` (their log-probabilities divided by it, Hinton et al. 2015). The
    # CNNs were trained with label smoothing, which flattens their raw answers (about 90% when sure) and
    # squeezes how much likelier one wrong digit is than another; about 0.5 (their cards' fitted
    # temperatures, 0.49-0.50) gives their calibrated probabilities, where those differences are restored.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.0
    distill_temperature: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


STYLE_SHIFT = AugmentConfig(
    elastic_share=0.3, box_stretch_share=0.2, bold_share=0.1, low_resolution_share=0.1, blur_share=0.1,
    binarise_share=0.1, erase_share=0.05,
)

STYLED = StyledDigits(glyph_per_style=1000, other_per_style=400)
# The typeface fine-tune (issue 26) keeps a quarter of them, so the models keep the styles their last
# fine-tune taught while the typeface digits teach new hands (and, on 2 shared cores, so they render in time).
STYLED_REMINDER = StyledDigits(glyph_per_style=250, other_per_style=100)

DEFAULTS = {
    "cnn": TrainConfig(epochs=24, learning_rate=3e-3, weight_decay=5e-2),
    "vit": TrainConfig(epochs=56, learning_rate=1e-3, weight_decay=5e-2, ema_momentum=0.999),
}

# Fine-tuning a trained model (`digits train MODEL --init-from FILE`) for the styles MNIST rarely shows:
# a few epochs at a lower peak rate, with the style-shift augmentation, styled training digits and digits
# from the training typeface families (16 renders per digit per family: about 7,700, 11% of the mix).
# The shipped ViT ran these settings twice: from the original ViT, then from that run (README, style shift).
TYPEFACE_PER_DIGIT = 16
FINE_TUNES = {
    "cnn": replace(DEFAULTS["cnn"], epochs=3, learning_rate=3e-4, augment=STYLE_SHIFT, styled=STYLED_REMINDER,
                   typeface_per_digit=TYPEFACE_PER_DIGIT),
    "vit": replace(DEFAULTS["vit"], epochs=5, learning_rate=1e-4, augment=STYLE_SHIFT, styled=STYLED_REMINDER,
                   typeface_per_digit=TYPEFACE_PER_DIGIT, teachers=("cnn", "cnn2"), distill_weight=0.5,
                   distill_temperature=0.5),
}
# A second CNN for the ensemble (`digits train cnn --member-seed N`, issue 26): trained from scratch, with its
# own seed, on the fine-tune's mix (style-shift augmentation, styled and typeface digits) from the first epoch,
# so it makes different mistakes from the shipped CNN. 16 epochs: what 2 shared cores train in about an hour.
MEMBERS = {
    "cnn": replace(DEFAULTS["cnn"], epochs=16, augment=STYLE_SHIFT, styled=STYLED_REMINDER,
                   typeface_per_digit=TYPEFACE_PER_DIGIT),
}
# A member of another architecture and a different mix (`digits train cnn --member-seed N --architecture
# dense_head_cnn`, issue 26's ninth round): models/dense_head_cnn.py (a 5x5 first layer, max-pooling, a dense
# head that keeps where strokes lie), with elastic wobble on half the images and bold strokes on a fifth (the
# CNN's 30% and 10%): a third CNN of the CNN's recipe and data, apart only in its seed, made the CNN's own
# mistakes. 12 epochs: what the shared cores train in about an hour beside another training run.
HEAVIER_STYLE_SHIFT = replace(STYLE_SHIFT, elastic_share=0.5, bold_share=0.2)
MEMBER_ARCHITECTURES = {
    "dense_head_cnn": replace(MEMBERS["cnn"], epochs=12, augment=HEAVIER_STYLE_SHIFT),
}
# A CNN member distilled from the shipped CNN and ViT (`digits train cnn --member-seed N --distill`, issue 26):
# the member's mix and schedule, learning towards its teachers' calibrated answers as the ViT's fine-tune does.
DISTILLED_MEMBERS = {
    "cnn": replace(MEMBERS["cnn"], teachers=("cnn", "vit"), distill_weight=0.5, distill_temperature=0.5),
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


@dataclass(frozen=True)
class NumberReaderTrainConfig:
    """The number reader (training/number_reader.py): lines composed afresh for every step, so no epochs
    of a fixed set. The run lasts a fixed time, not a fixed number of steps: on shared cores a step's
    time varies several-fold, so the learning rate follows a cosine over the time spent (after a warmup
    in steps), and the validation lines are read every `minutes_between_checks` to choose the checkpoint."""

    minutes: float = 40.0
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    minutes_between_checks: float = 4.0
    validation_per_spacing: int = 150  # validation lines per spacing (apart, touching, overlapping)
    validation_size: int = 5000  # the models' validation split (DEFAULTS["cnn"]): its digits are held out
    seed: int = 42
    # Going on from a trained reader that lacks a layer (the attention): the layers it has learn at this share
    # of the peak rate, the new layer at all of it, so the trained features drift slowly while the new one learns.
    trunk_rate: float = 1.0
    # Training lines' styles (training/number_data.py: `wobbled`, WIDENED): the share of digits wobbled by an
    # elastic field and of crowded lines fitted widened as read_number reads them again. Off for the shipped
    # reader; the ninth run (docs/numbers.md) tried 0.3 and 0.4 with typeface lines 0.6, not shipped.
    elastic_digits: float = 0.0
    widened_lines: float = 0.0
    typeface_lines: float | None = None  # share of lines in a typeface family's hand; None: number_data.TYPEFACE_LINES
    # Of those typeface lines, the share written in a training family's heavy hand (training/typefaces.py's
    # render_heavy_family, HEAVY_PER_DIGIT renders a digit: bold faces made bolder). Off for the runs before
    # stop 53; docs/numbers.md's stop-53 round says what it measured.
    heavy_lines: float = 0.0
    # The share of lines marked as a surface marks the ink the served path hands the reader (training/number_data.py's
    # surface_marked: grain, uneven strokes, a loop's pieces, a stray stroke, a faint line through). Off for the runs
    # before stop 55; docs/numbers.md's stop-55 round says what it measured.
    surface_lines: float = 0.0
    # The kinds of mark drawn on those lines (number_data.MARK_KINDS); None: every kind. Stop 55's second run drew
    # the grain alone (its first run's chalk numbers gained, its loop pieces did not carry onto circled numbers).
    surface_marks: tuple[str, ...] | None = None
    # The seed of the run's own draws (the lines, the weights' noise); None: `seed`. The validation split and the
    # validation lines stay on `seed` (42) whatever this is, so no run trains on the digits the suites read.
    run_seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)
