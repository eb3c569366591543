"""Whole numbers: a picture of several digits read as the number they write, digit by digit.

The number reader (digits/number_reader.py, a CTC model over the whole line of ink) reads the line
without cutting it first, so digits that touch or overlap read like digits apart. Each digit it reads
gets the columns around where it was read (halfway to its neighbours), its box tightened to the ink
there. Where the digits stand apart (each read digit in a mark of its own, as many marks as digits),
the chosen classifier (CNN, ViT or ensemble) also reads each mark on its own 28x28 crop: where the two
disagree the surer one is kept, and the digit's box is its mark's. Where they do not (touching or
overlapping digits), the reader reads the line again widened across and keeps the likelier of its two
readings (`reader_digits`), and the classifier weighs in only on the digits the reader is unsure of,
reading each one's crop, its vote counting less than the reader's (`weigh_crowded_digits`): the crop
holds some of the neighbours' ink. docs/numbers.md has the figures behind these choices. The classifier
reads the marks while the number reader reads the line (on another core): its answer is used when the
digits turn out to stand apart, and dropped otherwise.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from digits.number_reader import COLUMN_WIDTH, MODEL_ID, WIDENED, decode_views, likelier_reading, read_views
from digits.preprocessing import (
    NO_DIGIT_WARNING,
    InputError,
    NumberDigit,
    PreparedNumber,
    Step,
    prepare_number,
    preview_png,
)
from digits.preprocessing.number_line import LINE_WIDTH, fit_line

READER = MODEL_ID
CONFIRM = "weighed"  # docs/numbers.md: measured against "apart", "every" and "none" on the choosing suites
UNSURE = 0.6  # a digit read with less confidence than this gets the warning below
UNSURE_DIGIT_WARNING = "Not sure of the {}: check what was read there."
NOTHING_READ = "the marks do not read as digits"
MOST_DIGITS = LINE_WIDTH // (2 * COLUMN_WIDTH)  # CTC needs a blank column between two digits: no more fit the line
# Threads that hand the marks to the classifier (the engine's worker runs it) while the caller's thread runs
# the number reader: for a number of 6 digits apart that hides the reader's ~2 ms behind the classifier's
# ~5 ms (28x28 images and the model) on a second core (docs/numbers.md, Speed). They mostly wait on the
# engine, which batches what they hand it: enough of them that concurrent callers do not queue here.
_AHEAD = ThreadPoolExecutor(max_workers=32, thread_name_prefix="marks-ahead")


@dataclass(frozen=True)
class CrowdedDigitSettings:
    """How the chosen classifier weighs in on touching and overlapping digits (`weigh_crowded_digits`). Chosen
    with the seventh run's reader on the two choosing suites and on 1,800 fresh numbers composed the same way
    (other seeds, validation digits and held-out typefaces): `scripts/number_confirmation.py`, docs/numbers.md."""

    # The classifier's log-probabilities count half as much as the reader's: on a crowded digit's crop, which
    # holds some of its neighbours' ink, the CNN misreads 14% of the digits the reader reads right, and the
    # reader misreads 1.6% (0.25 gained as much on the choosing suites and less on the fresh numbers; 1.0 lost
    # on the choosing suites, and weighing every digit at 1.0 lost 2 points on both).
    weight: float = 0.5
    # Only the digits the reader is less sure of than this are weighed (2.4% of the crowded digits): its
    # sure digits are nearly all right, and weighing every digit lost 5 numbers of 1,800 on the choosing
    # suites (gained 13 on the fresh ones); 0.6 gained less.
    below: float = 0.5


CROWDED = CrowdedDigitSettings()


@dataclass(frozen=True)
class DigitReading:
    digit: int
    confidence: float
    probabilities: tuple[float, ...]
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the upload's pixels
    crop: NumberDigit = field(repr=False)  # the digit's ink
    read_by: str = READER  # the number reader, or the classifier that confirmed it

    @property
    def pixels(self) -> np.ndarray:
        """The 28x28 uint8 image of this digit's ink (as a classifier sees it)."""
        return self.crop.pixels

    def to_dict(self) -> dict:
        return {"digit": self.digit, "confidence": round(self.confidence, 6),
                "probabilities": [round(p, 6) for p in self.probabilities], "box": list(self.box),
                "read_by": self.read_by}

    def preview_png(self, scale: int = 8) -> bytes:
        return preview_png(self.pixels, scale)


@dataclass(frozen=True)
class NumberReading:
    file: str | None
    model: str  # the classifier chosen to confirm digits that stand apart
    digits: tuple[DigitReading, ...]  # left to right
    warnings: tuple[str, ...]
    latency_ms: float
    size: tuple[int, int] = (0, 0)  # (width, height) of the upload, after its EXIF orientation: the boxes' frame
    reader: str = READER

    @property
    def number(self) -> str:
        return "".join(str(reading.digit) for reading in self.digits)

    @property
    def confidence(self) -> float:
        """How sure the models are of every digit at once: the product of the digits' confidences."""
        return _confidence(list(self.digits))

    def to_dict(self) -> dict:
        return {"file": self.file, "model": self.model, "reader": self.reader, "number": self.number,
                "confidence": round(self.confidence, 6), "digits": [reading.to_dict() for reading in self.digits],
                "warnings": list(self.warnings), "latency_ms": round(self.latency_ms, 3), "size": list(self.size)}


def read_number(engine, data: bytes, model: str = "cnn", filename: str | None = None,
                confirm: str = CONFIRM, trace: list[Step] | None = None,
                prepared: PreparedNumber | None = None) -> NumberReading:
    """Upload bytes -> the number they show. Raises InputError for a file a person must fix.

    `confirm`: which digits the chosen classifier confirms: "weighed" (digits that stand apart, on their
    marks, and the unsure digits of the others: `weigh_crowded_digits`), "apart" (only those apart), "every"
    (also touching digits, on the reader's columns, the surer one standing) or "none" (the reader alone).
    `prepared`: the upload as `prepare_number` made it already (in a preparation pool: `prepare_each_number`)."""
    started = time.perf_counter()
    engine.check_model(model)
    prepared = prepare_number(data, filename, trace=trace) if prepared is None else prepared
    readings = _digits_read(engine, model, prepared, confirm)
    first = readings
    for other in prepared.other_readings:  # read other ways (`layout_set_aside`, `finer_reading`): the surest
        read_so = _digits_read(engine, model, other, confirm)
        # a loop's peel that leaves fewer digits took one with it (an end digit's stem along a clear loop
        # that it touches: `339` read `33`), however sure the reader is of what is left; the number's region
        # read at full size stands over the shrunk picture's readings however sure the reader is of those
        # (`87973`: 0.66 against `87773` at 0.88; docs/numbers.md, stop 51)
        finer = other.at_full_size and not prepared.at_full_size
        surer = (finer or _confidence(read_so) > _confidence(readings)) and len(read_so) >= len(first)
        if trace is not None:
            how = other.read_as or ("with the loop drawn close round it left in, less a clear loop an end digit "
                                     "touches, or the strokes a clear loop's edge took given back")
            chose = ("the number read from its region at full size, which stands over the shrunk picture's readings"
                     if finer and surer else f"the reader is surer of the number {'read another way' if surer else 'as it was'}")
            trace.append(Step("read", f"{chose} ({how}: {_confidence(read_so):.2f}; as it was: {_confidence(readings):.2f})"))
        if surer:
            prepared, readings = other, read_so
    unsure = [str(i + 1) for i, r in enumerate(readings) if r.confidence < UNSURE]
    notes = prepared.warnings + ((UNSURE_DIGIT_WARNING.format(_ordinals(unsure)),) if unsure else ())
    if not readings and not notes:
        notes = (NO_DIGIT_WARNING.format(NOTHING_READ),)
    return NumberReading(filename, model, tuple(readings), notes, (time.perf_counter() - started) * 1000,
                         prepared.source_size)


def _digits_read(engine, model: str, prepared: PreparedNumber, confirm: str) -> list[DigitReading]:
    """The number reader's digits on a prepared number, confirmed by the chosen classifier as `confirm` says."""
    if prepared.line is None:
        return []
    marks = [mark[0][0] for mark in prepared.marks]
    ahead = _AHEAD.submit(_classified, engine, model, marks) \
        if confirm != "none" and 0 < len(marks) <= MOST_DIGITS else None
    readings = reader_digits(engine, prepared.line, [m.box for m in marks])
    apart = ahead is not None and bool(readings) and _stand_apart(readings, [m.box for m in marks])
    if apart:
        readings = _confirmed(engine, model, readings, marks, ahead)
    else:
        if ahead is not None:
            ahead.cancel()  # its answer is not needed: spare the work if it has not started yet
        if confirm == "every" and readings:
            readings = _confirmed(engine, model, readings, readings)
    readings = _boxed_by_marks(readings, prepared.marks)
    if confirm == "weighed" and not apart:
        readings = weigh_crowded_digits(engine, model, readings)
    return readings


def _confidence(readings: list[DigitReading]) -> float:
    """How sure the models are of every digit at once (NumberReading.confidence)."""
    return float(np.prod([reading.confidence for reading in readings])) if readings else 0.0


def reader_digits(engine, line, marks: list[tuple[int, int, int, int]] | None = None) -> list[DigitReading]:
    """The number reader's digits on a prepared line of ink: each read digit gets the line's columns around
    where it was read (halfway to its neighbours), its piece of ink there as its crop and box. `marks`: the
    boxes of the line's marks; where the digits read do not each stand in one of them (touching or
    overlapping digits), the line is read again widened across and the likelier reading kept
    (digits/number_reader.py, `likelier_reading`)."""
    views = read_views(engine.read_line, line.fitted.pixels)
    decoded = decode_views(views)
    readings = _placed(line, decoded)
    if marks is not None and readings and not _stand_apart(readings, marks):
        widened = read_views(engine.read_line, fit_line(line.located.ink, WIDENED).pixels)
        readings = _placed(line, likelier_reading(views, widened, decoded))
    return readings


def _placed(line, decoded) -> list[DigitReading]:
    """Each decoded digit with the line's ink in its columns (halfway to its neighbours) as crop and box."""
    centres = [(d.columns[0] + d.columns[1]) / 2 * COLUMN_WIDTH for d in decoded]
    edges = [0.0] + [(a + b) / 2 for a, b in zip(centres, centres[1:])] + [float(LINE_WIDTH)]
    return [DigitReading(d.digit, d.confidence, d.probabilities, piece.box, piece)
            for d, start, stop in zip(decoded, edges, edges[1:])
            if (piece := line.digit(start, stop)) is not None]


def prepare_each_number(uploads: list[tuple[str | None, bytes]]) -> list[PreparedNumber | InputError]:
    """`prepare_number` for each of a few (filename, bytes) uploads, or the InputError that says why it
    cannot be read: one task of a preparation pool (`digits read DIR`)."""
    prepared: list[PreparedNumber | InputError] = []
    for filename, data in uploads:
        try:
            prepared.append(prepare_number(data, filename))
        except InputError as error:
            prepared.append(error)
    return prepared


def _stand_apart(readings: list[DigitReading], marks: list[tuple[int, int, int, int]]) -> bool:
    """Each digit read lies in a mark of its own, and there are as many marks as digits."""
    if len(marks) != len(readings):
        return False
    return all(mark[0] <= (r.box[0] + r.box[2]) / 2 < mark[2] for r, mark in zip(readings, marks))


def _classified(engine, model: str, crops) -> np.ndarray:
    return engine.predict_probabilities(model, np.stack([crop.pixels for crop in crops]))


def _confirmed(engine, model: str, readings: list[DigitReading], crops,
               ahead: Future | None = None) -> list[DigitReading]:
    """The classifier reads each digit's crop alone (or has read them: `ahead`); where it disagrees with
    the reader, the surer one stands. The digit's box and image become its crop's."""
    crops = [crop.crop if isinstance(crop, DigitReading) else crop for crop in crops]
    probabilities = ahead.result() if ahead is not None else _classified(engine, model, crops)
    confirmed = []
    for reading, crop, p in zip(readings, crops, probabilities):
        best = int(np.argmax(p))
        if best == reading.digit or float(p[best]) > reading.confidence:
            confirmed.append(DigitReading(best, float(p[best]), tuple(float(v) for v in p), crop.box, crop, model))
        else:
            confirmed.append(DigitReading(reading.digit, reading.confidence, reading.probabilities, crop.box, crop))
    return confirmed


def weigh_crowded_digits(engine, model: str, readings: list[DigitReading],
                         settings: CrowdedDigitSettings = CROWDED) -> list[DigitReading]:
    """Digits that touch or overlap, after the reader: each one the reader is unsure of (below
    `settings.below`) is read again by the classifier on its crop (its mark's part where the segmenter
    cut the mark, else the ink in the reader's columns), and becomes the likeliest digit under
    log p_reader + `settings.weight` * log p_classifier, with those probabilities (renormalised). It
    keeps the reader's confidence (under UNSURE: still named in the warning); a digit the classifier
    changed says so (`read_by`)."""
    unsure = [i for i, r in enumerate(readings) if r.confidence < settings.below and r.read_by == READER]
    if not unsure:
        return readings
    weighed = list(readings)
    probabilities = _classified(engine, model, [readings[i].crop for i in unsure])
    for i, classifier in zip(unsure, probabilities):
        reading = readings[i]
        log = np.log(np.maximum(reading.probabilities, 1e-6)) + settings.weight * np.log(np.maximum(classifier, 1e-6))
        both = np.exp(log - log.max())
        both /= both.sum()
        digit = int(np.argmax(both))
        weighed[i] = replace(reading, digit=digit, probabilities=tuple(float(p) for p in both),
                             read_by=READER if digit == reading.digit else model)
    return weighed


def _boxed_by_marks(readings: list[DigitReading], marks) -> list[DigitReading]:
    """The boxes of the reader's digits, from the marks they were read in: a digit alone in its mark gets
    the mark's box, and where the segmenter can cut a mark into as many digits as were read in it (at
    the thinnest ink), each gets its part's box and crop. The reader's columns only say roughly where
    a digit ends."""
    boxed = list(readings)
    for mark in marks:
        whole = mark[0][0].box
        inside = [i for i, r in enumerate(readings) if whole[0] <= (r.box[0] + r.box[2]) / 2 < whole[2]
                  and r.read_by == READER]
        parts = next((reading for reading in mark if len(reading) == len(inside)), None)
        for index, part in zip(inside, parts or ()):
            boxed[index] = replace(readings[index], box=part.box, crop=part)
    return boxed


def _ordinals(positions: list[str]) -> str:
    names = {"1": "1st", "2": "2nd", "3": "3rd"}
    named = [names.get(p, p + "th") for p in positions]
    return (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]) + \
        (" digits" if len(named) > 1 else " digit")
