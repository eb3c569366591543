"""The reading pipeline, top to bottom: a decoded picture to the 28x28 digit a model reads, or "no digit".

    decode      bytes -> pixels at a working size (decode.py, working.py; done by `prepare_upload`)
    lighting    a photographed page's uneven light evened out (lighting.py)
    surface     the page, note, board or canvas the digit is on, cut out (locate/surface.py)
    ink         pixels -> ink signal: polarity, background, ruled lines (ink.py, polarity.py, rulings.py)
    locate      the ink's marks; what a layout or a hand put round the digit set aside; the digit's marks
                cropped, or why there is none (locate/)
    normalise   the digit in MNIST's form: fitted into 20x20, centred by mass in 28x28 (normalise.py)
    judge       the learned digit/not-digit judge, a small convolutional network on that 28x28 image
                and its shape measures (models/digit_scorer.py, shape_features.py), less a share of how
                far the CNN's own features lie from MNIST's digits (models/feature_distance.py), for
                every picture: is it a handwritten digit?

Each stage is a function with a typed result, and each adds a `Step` to the trace: what it decided and,
where one did, which rule. `prepare_upload(..., trace=[])` collects the trace (`digits classify --trace`
prints it) and every reading logs it at DEBUG as one line ("trace" on logger digits.preprocessing.pipeline).
A picture already in MNIST's form skips locate, judge and normalise: it is what the models were trained on.

A whole number (`prepare_number`) shares the stages up to locate (`read_number_ink`: decode, lighting,
ink), then locates a line of digits instead of one (number_line.py, segment.py). It reads the whole
picture, not a surface cut out of it: its digits' boxes are given in the upload's own pixels.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from digits.preprocessing.ink import MIN_INK_LEVEL, find_ink_and_side, noise_level
from digits.preprocessing.lighting import even_out_lighting
from digits.preprocessing.locate import NO_DIGIT_WARNING, Located, contrast_notes, locate_digit
from digits.preprocessing.locate.surface import cut_surface
from digits.preprocessing.locate.marks import (LOOP, clear_loop_against_the_digits, ink_pieces, loop_round_the_writing,
                                               with_soft_edge, without_the_loop)
from digits.preprocessing.normalise import IMAGE_SIZE, is_in_mnist_form, stretch, to_mnist_frame
from digits.preprocessing.shape_features import NOT_HANDWRITING, shape_features
from models.digit_scorer import load_digit_scorer
from models.feature_distance import load_feature_distance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JudgeSettings:
    # Pictures no longer than this (pixels) are a digit's crop (a 16-pixel 1-bit scan, a 28x28 CSV row), not
    # a photo of things: left unjudged, as judging them set aside 1% of 1-bit scans of MNIST test digits.
    smallest_judged: int = 32
    # Every other picture, a photo or a drawing, a PNG or a JPEG, is judged against one threshold: pen
    # drawings are among the digits it was chosen on. The judge's log-odds are the digit scorer's
    # (models/digit_scorer.py) less `distance_weight` times the squared Mahalanobis distance of the CNN's
    # own features to MNIST's digits (models/feature_distance.py; a median of about 75 for MNIST validation
    # digits, 680 for the held-out families' pictures). Both chosen by `python -m training.feature_distance`
    # (models/digit_scorer_features.json) on the scorer's choosing side: of weights 0-0.002, the one that
    # sets aside most of the held-out picture families (85.3% -> 90.6%, each family more; on fresh pictures
    # of them 82.1% -> 87.9%), each threshold calling at most 0.5% of each group of validation digits
    # (scenes, styles and pens; MNIST as found; held-out typefaces) "no digit". The judge retrained at stop
    # 45 (circled training digits as the judge sees them, three more families) keeps that weight; its
    # threshold is the highest at which no kind of MNIST validation digit through the whole pipeline
    # (scripts/judge_inputs.py: 1,480 in 34 kinds) is called "no digit" more often than by the judge before
    # it at (0.0005, -0.591): -0.6456, a pen drawing's log-odds, rounded down (models/digit_scorer.json's
    # judge_settings; the same at stop 46, with the readings inside a loop chosen by `reads_surer_than`).
    # Digits lost 8 -> 7 of 1,480, everyday photos set aside 90.0% -> 93.5% (stop 46's tree).
    # Since stop 48 the distance is counted over the share of the ink's pieces that the marks judged hold
    # (`Located.ink_share`: 1 for a digit alone on its page, less for a find with other ink round it: a
    # photo of things, a texture, printed matter): a find among other ink is judged as if its features lay
    # that much further from MNIST's digits. No number added: the weight and the threshold as they
    # were, as by the rule above no kind of the 1,480 validation digits is called "no digit" more often at
    # -0.646 (8 -> 8, the same kinds); of the forms measured (the distance over the share, over its square
    # root, plus 0.1-1.0 times its log with the threshold by the rule) it sets aside the held-out picture
    # families within one picture of the best (92.3% -> 93.7%, 60 each; 0.4 x log: 94.0%, a number more).
    # Everyday photos 93.25% -> 94.5% (docs/reading-pipeline.md, "Stop 48").
    distance_weight: float = 0.0005
    threshold: float = -0.646


JUDGE = JudgeSettings()


@dataclass(frozen=True)
class Step:
    stage: str
    decided: str

    def to_dict(self) -> dict:
        return {"stage": self.stage, "decided": self.decided}


@dataclass(frozen=True, eq=False)
class Lit:
    pixels: np.ndarray  # float32 (H, W, C) 0-255
    evened: bool  # the light was evened out (a light page under uneven light)


@dataclass(frozen=True, eq=False)
class Surface:
    pixels: np.ndarray  # float32 (h, w, C): the picture cut to the surface the digit is on (or the whole)
    evenly_lit: bool  # the light on these pixels has been evened out already
    cut_out: bool  # a surface was found and the picture cut to it
    top: int = 0  # where the cut lies in the picture
    left: int = 0


@dataclass(frozen=True, eq=False)
class Ink:
    signal: np.ndarray  # float32 (h, w): about 0 on the background, up to 255 on the ink
    noise: float  # the background's noise (0-255)
    light_on_dark: bool = False  # light ink on a dark ground (chalk on a board)


@dataclass(frozen=True)
class Judgement:
    log_odds: float  # the judge's that this is a handwritten digit (inf where no scorer is trained)
    threshold: float
    is_digit: bool
    distance: float = math.nan  # how far the CNN's own features lie from MNIST's digits (nan: not fitted)
    ink_share: float = 1.0  # the share of the ink's pieces the marks judged hold (`Located.ink_share`)

    def reads_surer_than(self, other: "Judgement") -> bool:
        """Of two readings of one picture (close_loops_or_not), whether this one reads more surely as a
        digit: its CNN features lie nearer MNIST's digits. Not the judge's log-odds: the judge is trained
        to tell digits from pictures without one, and its fine ranking of two readings of one digit moves
        with every retraining (stop 45's retrained judge kept the wrong reading inside a touching circle
        more often: 36 -> 35 of 40 MNIST validation digits read right, held-out typefaces 37 -> 36; by the
        distance, 38 and 39). The log-odds where no distance is fitted."""
        if math.isnan(self.distance) or math.isnan(other.distance):
            return self.log_odds > other.log_odds
        return self.distance < other.distance


@dataclass(frozen=True, eq=False)
class Reading:
    pixels: np.ndarray  # uint8 (28, 28), read-only: what the model sees (all 0: no digit)
    warnings: tuple[str, ...]
    has_digit: bool
    trace: tuple[Step, ...]


def read(pixels: np.ndarray, lossy: bool, judged: bool = True, trace: list[Step] | None = None) -> Reading:
    """Decoded pixels (float32 (H, W, C) 0-255) -> the digit in MNIST's form, or "no digit", with the trace.

    `lossy`: the file was a photo (JPEG, WebP...): faint marks in it are compression and grain.
    `judged`: the digit scorer judges what locate found (off only to train the scorer)."""
    steps = [] if trace is None else trace
    lit = lighting(pixels, steps)
    on = surface(pixels, lit, steps)
    found = ink(on, steps)
    if (is_in_mnist_form(found.signal) and found.noise == 0
            and (strongest := float(found.signal.max())) >= MIN_INK_LEVEL):
        steps.append(Step("locate", "already in MNIST's form: read as it is"))
        reading = _reading(stretch(found.signal), contrast_notes(strongest, 0.0), True, steps)
    else:
        located = locate(found, lossy, steps)
        if located.digit is None:
            reading = _reading(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8), located.warnings, False, steps)
        else:
            digit = normalise(located, steps)
            judging = judged and max(pixels.shape[:2]) > JUDGE.smallest_judged
            judgement = judge(digit, steps, located.ink_share) if judging else None
            if judgement is not None and located.close_loop:
                located, digit, judgement = close_loops_or_not(found, lossy, located, digit, judgement, steps)
            if judgement is not None and not judgement.is_digit:
                reading = _reading(np.zeros_like(digit), (NO_DIGIT_WARNING.format(NOT_HANDWRITING),), False, steps)
            else:
                reading = _reading(digit, located.warnings, True, steps)
    log_trace(reading.trace, reading.has_digit)
    return reading


def log_trace(steps: tuple[Step, ...] | list[Step], has_digit: bool) -> None:
    """The trace as one line at DEBUG ("trace" on logger digits.preprocessing.pipeline)."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("trace", extra={"fields": {"stages": [step.to_dict() for step in steps], "has_digit": has_digit}})


@dataclass(frozen=True, eq=False)
class NumberInk:
    ink: Ink  # the ink of the surface the number is on (of the whole picture where there is none)
    top: int  # where the surface lies in the picture: the digits' boxes are given in the picture's pixels
    left: int
    other_readings: tuple[Ink, ...] = ()  # `ink` with the loop drawn close round the number left in, or with
    # the end digits' strokes a clear loop's soft edge took given back, ... (read too: `layout_set_aside`)


def read_number_ink(pixels: np.ndarray, lossy: bool, trace: list[Step] | None = None) -> NumberInk:
    """Decoded pixels (float32 (H, W, C) 0-255) -> a whole number's ink: the stages up to locate, and
    locate's first part, shared with a single digit: what a layout puts round writing set aside."""
    steps = [] if trace is None else trace
    lit = lighting(pixels, steps)
    on = surface(pixels, lit, steps)
    kept, other_readings = layout_set_aside(ink(on, steps), lossy, steps)
    return NumberInk(kept, on.top, on.left, other_readings)


def layout_set_aside(found: Ink, lossy: bool, steps: list[Step]) -> tuple[Ink, tuple[Ink, ...]]:
    """A whole number's ink: the pieces `ink_pieces` keeps (what a layout puts round writing set aside: a
    ruled page's margin line, a frame, a form's lines, a board's edge; grain and dust with no clear ink
    in them, faint smears beyond a stroke's reach), less a loop drawn round the number; and the other
    readings for the reader to choose among (digits/numbers.py), none where there is no loop: where the
    loop is drawn close round it (or is the number's own outline: `loop_round_the_writing`), the ink with
    it left in, and where that close loop is a clear loop in the clear ink that an end digit touches
    (`clear_loop_against_the_digits`), the ink less that clear loop too; where it is clear of it, the end
    digits' strokes that its soft edge took given back (`without_the_loop`)."""
    if not found.signal.any():
        return found, ()
    pieces = ink_pieces(found.signal, found.noise, drawn=not lossy)
    set_aside = int(np.count_nonzero(pieces.set_aside))
    loop = loop_round_the_writing(pieces)
    kept = pieces.mask if loop is None else pieces.mask & ~with_soft_edge(loop.pixels)
    if set_aside:
        steps.append(Step("locate", f"set aside: {set_aside} marks of a layout round the writing (lines, blocks, "
                                    "what it lies on)"))
    if loop is not None:
        steps.append(Step("locate", f"set aside: {LOOP.replace('digit', 'number')}" if loop.clear else
                                    "a loop drawn close round the number or across it (or the number's own outline): "
                                    "read with it and without it"))

    def cleared(mask: np.ndarray) -> Ink:
        return dataclasses.replace(found, signal=np.where(mask, found.signal, 0).astype(found.signal.dtype))
    if loop is None:
        return cleared(kept), ()
    if loop.clear:
        others = [without_the_loop(pieces, loop)]
    else:
        touching = clear_loop_against_the_digits(pieces, loop)
        others = [pieces.mask] + ([] if touching is None else [without_the_loop(pieces, touching)])
    return cleared(kept), tuple(cleared(other) for other in others if (other != kept).any())


def lighting(pixels: np.ndarray, steps: list[Step]) -> Lit:
    lit = even_out_lighting(pixels)  # first, as a shadow is not a surface
    evened = lit is not pixels
    steps.append(Step("lighting", "uneven light on a light page evened out" if evened else "left as it is"))
    return Lit(lit, evened)


def surface(pixels: np.ndarray, lit: Lit, steps: list[Step]) -> Surface:
    """The surface looked for in the evenly lit picture; where none is found there after the light was
    evened out, in the picture as it came (evening out a light desk can hide a note of another colour)."""
    found = cut_surface(lit.pixels)
    if found is not None:
        steps.append(Step("surface", f"a page, note or canvas found: cut to {found.pixels.shape[1]}x{found.pixels.shape[0]}"))
        return Surface(found.pixels, lit.evened, True, found.top, found.left)  # not evened: the light is evened out on the page alone
    if lit.evened:
        note = cut_surface(pixels, of_another_colour=True)
        if note is not None:
            steps.append(Step("surface", f"a surface of another colour found: cut to {note.pixels.shape[1]}x{note.pixels.shape[0]}"))
            return Surface(note.pixels, False, True, note.top, note.left)
    steps.append(Step("surface", "none found: the whole picture"))
    return Surface(lit.pixels, True, False)


def ink(on: Surface, steps: list[Step]) -> Ink:
    signal, ink_is_dark = find_ink_and_side(on.pixels, evenly_lit=on.evenly_lit)
    noise = noise_level(signal)
    steps.append(Step("ink", f"{'dark ink on a light ground' if ink_is_dark else 'light ink on a dark ground'}: "
                             f"strongest ink {float(signal.max()):.0f} of 255, background noise {noise:.1f}"))
    return Ink(signal, noise, not ink_is_dark)


def locate(found: Ink, lossy: bool, steps: list[Step]) -> Located:
    located = locate_digit(found.signal, lossy=lossy, light_on_dark=found.light_on_dark)
    for decision in located.decisions:
        steps.append(Step("locate", f"set aside: {decision}"))
    if located.digit is None:
        steps.append(Step("locate", located.warnings[0]))
    else:
        steps.append(Step("locate", f"the digit's marks: {located.digit.shape[1]}x{located.digit.shape[0]} pixels"
                                    + ("; a loop drawn close round them or across them" if located.close_loop else "")
                                    + (f"; {'; '.join(located.warnings)}" if located.warnings else "")))
    return located


def normalise(located: Located, steps: list[Step]) -> np.ndarray:
    digit = to_mnist_frame(located.digit, chalk=located.chalk)
    pen = "chalk, its line drawn at least at MNIST's median pen; " if located.chalk else ""
    steps.append(Step("normalise", f"{pen}fitted into 20x20, centred by mass in 28x28"))
    return digit


def judge(digit: np.ndarray, steps: list[Step], ink_share: float = 1.0) -> Judgement:
    """`ink_share`: of the ink's pieces locate kept, the share the marks judged hold (`Located.ink_share`;
    1: the 28x28 alone)."""
    scorer, features = load_digit_scorer(), load_feature_distance()
    if scorer is None:
        steps.append(Step("judge", "no digit scorer trained: not judged"))
        return Judgement(np.inf, 0.0, True)
    log_odds = float(scorer.logit(digit[None], shape_features(digit)[None])[0])
    if features is None:  # the scorer alone, at the threshold it was chosen with
        threshold, decided = float(np.log(scorer.threshold / (1 - scorer.threshold))), f"digit scorer {log_odds:.2f}"
    else:
        distance = float(features.distance(digit[None])[0])
        threshold = JUDGE.threshold
        decided = (f"digit scorer {log_odds:.2f}, the CNN's features {distance:.0f} from MNIST's digits, "
                   f"the marks hold {ink_share:.0%} of the ink's pieces")
        log_odds -= JUDGE.distance_weight * distance / ink_share
    judgement = Judgement(log_odds, threshold, log_odds >= threshold, math.nan if features is None else distance, ink_share)
    steps.append(Step("judge", f"{decided}: log-odds {log_odds:.2f} (threshold {threshold:.2f}): "
                               + ("a handwritten digit" if judgement.is_digit else "not a handwritten digit")))
    return judgement


def close_loops_or_not(found: Ink, lossy: bool, located: Located, digit: np.ndarray, judgement: Judgement,
                       steps: list[Step]) -> tuple[Located, np.ndarray, Judgement]:
    """Marks that hold a loop the ink inside does not keep clear of: a loop drawn close round the digit
    or across it (and every loop within it: a hand that went round twice), or the digit's own outline
    (a bold 0's edge, a 6's belly). Read with those loops set aside, or as found: of the two, the one that
    reads more surely as a digit (its CNN features nearer MNIST's digits: `Judgement.reads_surer_than`);
    whether it is a digit at all, the learned judge says.

    Where the marks as found are a digit, the surer of the two is read. Where they are not (a ring
    round a digit is no digit), the reading without the loops is a second look, and the better of two
    looks passes the judge's bar more often than one does, by chance too: shapes and photos of things
    have a ring or an outline to peel, and a bar or a blob inside it to show. So there the two readings'
    log-odds must meet the bar on average: the further the marks as found fell short, the more like a
    digit the marks inside must be. No new number: the judge's own threshold, once. The same where the
    marks as found are a digit and those inside read more surely but are judged no digit (a cloud's bumps
    or an overshooting loop's end peeled with a curve of the digit, a 2 or a 4 the judge turned down): the
    two readings disagree, and on average they decide whether the surer is read; where they fall short,
    the marks as found are read, as the judge passed them (whether there is a digit at all is its verdict
    on the marks as found: "no digit" was answered there before, a rough box's 3 and an overshooting
    loop's 0 of 320 circled validation digits lost, stop 52).

    Every loop within is set aside (a hand that went round twice), and where there were several, the
    outermost alone too: a digit's own outline (a 0, an 8's loops, a 3's curves) passes for a loop within
    once the loop round it is gone. The one of the two that reads more surely as a digit is kept."""
    peeled = locate_digit(found.signal, lossy=lossy, close_loops=math.inf, light_on_dark=found.light_on_dark)
    if peeled.digit is None:
        return located, digit, judgement
    peeled_digit = normalise(peeled, steps)
    inside = judge(peeled_digit, steps, peeled.ink_share)
    if peeled.loops_set_aside > 1:
        outermost = locate_digit(found.signal, lossy=lossy, close_loops=1)
        if outermost.digit is not None:
            outermost_digit = normalise(outermost, steps)
            outermost_judged = judge(outermost_digit, steps, outermost.ink_share)
            if outermost_judged.reads_surer_than(inside):
                peeled, peeled_digit, inside = outermost, outermost_digit, outermost_judged
    surer = inside.reads_surer_than(judgement)
    disagree = judgement.is_digit and surer and not inside.is_digit
    if judgement.is_digit and not disagree:
        better = surer
        chosen = inside
    else:
        mean = (inside.log_odds + judgement.log_odds) / 2
        better = mean >= judgement.threshold
        chosen = Judgement(mean, judgement.threshold, better, inside.distance, inside.ink_share)
        steps.append(Step("judge", ("the marks as found a digit, those inside surer but not: " if disagree else "")
                                   + f"the two readings' log-odds on average {mean:.2f} (threshold {judgement.threshold:.2f}): "
                                   + ("a handwritten digit in a loop" if better else
                                      "the marks as found read, as the judge passed them" if disagree else
                                      "not a handwritten digit")))
    if better:
        loops = peeled.loops_set_aside
        steps.append(Step("locate", f"{loops} loop{'s' if loops > 1 else ''} drawn round the digit set aside: "
                                    + ("the marks inside read more surely as a digit" if judgement.is_digit else
                                     "the marks inside pass the judge with those as found")))
        return peeled, peeled_digit, chosen
    steps.append(Step("locate", "the loop drawn close round the digit kept: those inside are not judged a digit, "
                                "nor pass on average with the marks as found, which the judge passed" if disagree else
                                "the loop drawn close round the digit kept: the marks with it read more surely as a "
                                "digit" if judgement.is_digit else
                                "the loop drawn close round the marks kept: those inside are not enough like a "
                                "handwritten digit"))
    return located, digit, judgement


def _reading(pixels: np.ndarray, warnings: tuple[str, ...], has_digit: bool, steps: list[Step]) -> Reading:
    pixels.setflags(write=False)
    return Reading(pixels, warnings, has_digit, tuple(steps))
