"""The learned number reader at serving time: its LiteRT model, and CTC decoding in NumPy.

The model (models/number_reader.py) gives each of the line's 64 columns (4 frame pixels each) the
probabilities of the digits 0-9 and of a blank. Greedy decoding takes the likeliest class per column,
merges runs of the same class and drops blanks: each run left is one digit. A digit's confidence is
the product over its run of the chosen class's probability, times the probability that the columns
around it say "not this digit" (blank or another): low where the reader hesitated between reading a
digit once or twice, or not at all. Its probabilities are the mean over its run, renormalised to the
ten digits.

As served, the line is read twice, as is and moved one pixel to the right (VIEW_SHIFTS): the reader's
columns are 4 pixels wide and where a digit falls on them sways the answer. Where the two readings
disagree, their probabilities are averaged; an average of two column grids is not one clean path, so it
is decoded by CTC prefix beam search (the likeliest digit string summed over all its paths,
`beam_decode`), and the string's digits are placed on their likeliest columns (`aligned`) for their
confidence and boxes.
docs/numbers.md has the figures (+0.8 points of whole numbers on the choosing suites).

Digits that touch or overlap (not each in a mark of its own) are read once more, on the line stretched
across (WIDENED): there each digit spans more columns, while the line as fitted keeps the digits at the
width the reader was trained on. Where the two readings differ, the digit string likelier under both
together (CTC likelihood, `likelier_reading`) is kept, on the line's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import models

MODEL_ID = "number_reader"
BLANK = 10
COLUMN_WIDTH = 4  # frame pixels per output column
# The views of the line read and averaged (frame pixels to the right). One pixel apart: on the choosing suites
# 0+1 and 0-1 gained 14-15 numbers of 1,800, 0+2 (half a column) 5, four views 0..3 15 for twice the time.
VIEW_SHIFTS = (0, 1)
BEAM_WIDTH = 8  # prefixes kept; 4 and 16 gave the same answers on the choosing suites
# Crowded digits (not each in a mark of its own) are read again on the line stretched across by this much
# (`likelier_reading`). Of 1.1 / 1.15 / 1.2 / 0.85 beside the line as fitted, 1.15 read the most of the
# choosing suites' numbers (+0.55 points of whole numbers) and 0.50 points more of 1,800 fresh ones
# (docs/numbers.md); a third view, or the widened line alone, gained no more.
WIDENED = 1.15


@dataclass(frozen=True)
class DecodedDigit:
    digit: int
    confidence: float
    probabilities: tuple[float, ...]  # the ten digits'
    columns: tuple[int, int]  # the output columns it was read on, [start, stop)


def greedy_decode(probabilities: np.ndarray) -> list[DecodedDigit]:
    """(columns, 11) probabilities -> the digits read, left to right."""
    best = probabilities.argmax(axis=1)
    digits, start = [], 0
    for column in range(1, len(best) + 1):
        if column == len(best) or best[column] != best[start]:
            label = int(best[start])
            if label != BLANK:
                digits.append(_digit_read(probabilities, label, start, column))
            start = column
    return digits


def _digit_read(probabilities: np.ndarray, label: int, start: int, stop: int) -> DecodedDigit:
    """`label` read on the columns [start, stop): sure as the product of its probability over them, times
    its neighbours' saying it has ended; its probabilities the mean over them, renormalised to the ten digits."""
    run = probabilities[start:stop]
    sure = float(np.prod(run[:, label]))
    for edge in (start - 1, stop):
        if 0 <= edge < len(probabilities):
            sure *= 1.0 - float(probabilities[edge, label])
    mean = run[:, :BLANK].mean(axis=0)
    return DecodedDigit(label, sure, tuple(float(p) for p in mean / mean.sum()), (start, stop))


def shifted_right(line: np.ndarray, pixels: int) -> np.ndarray:
    """The line moved `pixels` to the right in its frame (fit_line leaves a margin of background there)."""
    if pixels == 0:
        return line
    moved = np.zeros_like(line)
    moved[:, pixels:] = line[:, :-pixels]
    return moved


def beam_decode(probabilities: np.ndarray, width: int = BEAM_WIDTH) -> list[DecodedDigit]:
    """(columns, 11) probabilities -> the digits of the likeliest string (CTC prefix beam search: each
    prefix's probability summed over the paths that write it), placed on their likeliest columns."""
    beams = {(): (1.0, 0.0)}  # prefix -> (probability ending in a blank, ending in its last digit)
    for column in probabilities:
        grown: dict[tuple[int, ...], list[float]] = {}
        likely = np.flatnonzero(column > 1e-3)
        for prefix, (blank, digit) in beams.items():
            for label in likely:
                p = float(column[label])
                if label == BLANK:
                    grown.setdefault(prefix, [0.0, 0.0])[0] += (blank + digit) * p
                elif prefix and prefix[-1] == label:  # the same digit again needs a blank between
                    grown.setdefault(prefix + (int(label),), [0.0, 0.0])[1] += blank * p
                    grown.setdefault(prefix, [0.0, 0.0])[1] += digit * p
                else:
                    grown.setdefault(prefix + (int(label),), [0.0, 0.0])[1] += (blank + digit) * p
        kept = sorted(grown.items(), key=lambda item: -sum(item[1]))[:width]
        total = sum(sum(v) for _, v in kept) or 1.0  # rescaled each column: 64 products underflow otherwise
        beams = {prefix: (v[0] / total, v[1] / total) for prefix, v in kept}
    best = max(beams, key=lambda prefix: sum(beams[prefix]))
    return aligned(probabilities, best)


def aligned(probabilities: np.ndarray, labels: tuple[int, ...]) -> list[DecodedDigit]:
    """The digits `labels` on their likeliest columns (the best CTC path that writes them, Viterbi), each
    with greedy_decode's confidence and probabilities over its run."""
    if not labels:
        return []
    states = [BLANK]
    for label in labels:
        states += [label, BLANK]
    states = np.array(states)
    log = np.log(np.maximum(probabilities[:, states], 1e-30))
    n = len(states)
    skip = np.zeros(n, bool)  # a digit may follow the digit before it without a blank, if they differ
    skip[3::2] = states[3::2] != states[1:-2:2]
    choices = np.full((3, n), -np.inf)  # staying in a state, stepping from the one before, jumping a blank
    choices[0, :2] = log[0, :2]
    back = np.zeros((len(probabilities), n), np.int8)
    for column in range(1, len(probabilities)):
        score = choices[0]
        choices[1, 1:] = score[:-1]
        choices[2, 2:] = np.where(skip[2:], score[:-2], -np.inf)
        back[column] = choices.argmax(axis=0)
        choices[0] = choices.max(axis=0) + log[column]
    score = choices[0]
    state = n - 1 if score[n - 1] >= score[n - 2] else n - 2
    path = np.empty(len(probabilities), int)
    for column in range(len(probabilities) - 1, -1, -1):
        path[column] = state
        state -= back[column, state]
    runs = [np.flatnonzero(path == 2 * index + 1) for index in range(len(labels))]
    return [_digit_read(probabilities, label, int(run[0]), int(run[-1]) + 1) for label, run in zip(labels, runs)]


def read_line(read, line: np.ndarray) -> list[DecodedDigit]:
    """The digits on a fitted line, as served: `read` (a (32, 256) line -> (64, 11) probabilities) on each
    view (VIEW_SHIFTS), decoded by `decode_views`."""
    return decode_views(read_views(read, line))


def read_views(read, line: np.ndarray) -> list[np.ndarray]:
    """The reader's (64, 11) probabilities for each view of a fitted line (VIEW_SHIFTS)."""
    return [read(shifted_right(line, shift)) for shift in VIEW_SHIFTS]


def decode_views(readings: list[np.ndarray]) -> list[DecodedDigit]:
    """The digits the views read. Where every view reads the same digits (greedily: 94% of the choosing
    suites' numbers), they are the first view's; otherwise the views' probabilities are averaged and
    beam-decoded (the same answers as beam-decoding every number, 1.3 ms sooner where the views agree)."""
    first = greedy_decode(readings[0])
    text = "".join(str(d.digit) for d in first)
    if all(decode_text(reading) == text for reading in readings[1:]):
        return first
    return beam_decode(np.mean(readings, axis=0))


def likelier_reading(line: list[np.ndarray], widened: list[np.ndarray],
                     own: list[DecodedDigit] | None = None) -> list[DecodedDigit]:
    """Crowded digits read twice, on the line's views and on its views widened across (WIDENED): of the
    two digit strings, the one likelier under both readings together (each string's CTC likelihood on
    each reading's averaged views, multiplied) is read, placed on the line's columns. Widened, crowded
    digits get more columns each; the line as fitted keeps the digits the reader was trained at. `own`:
    the line's views decoded already (`decode_views(line)`), where the caller has them."""
    own = decode_views(line) if own is None else own
    labels = tuple(d.digit for d in own), tuple(d.digit for d in decode_views(widened))
    if labels[0] == labels[1]:
        return own
    means = np.mean(line, axis=0), np.mean(widened, axis=0)
    likelier = max(labels, key=lambda text: sum(ctc_log_likelihood(mean, text) for mean in means))
    return own if likelier == labels[0] else aligned(means[0], likelier)


def ctc_log_likelihood(probabilities: np.ndarray, labels: tuple[int, ...]) -> float:
    """log P(labels | (columns, 11) probabilities) under CTC: summed over every path that writes them
    (the forward algorithm, rescaled each column)."""
    states = np.array([BLANK] + [s for label in labels for s in (label, BLANK)])
    p = probabilities[:, states]
    skip = np.zeros(len(states), bool)  # a digit may follow the digit before it without a blank, if they differ
    skip[3::2] = states[3::2] != states[1:-2:2]
    alpha = np.zeros(len(states))
    alpha[:2] = p[0, :2]
    log_scale = 0.0
    for column in range(1, len(p)):
        stepped = alpha.copy()
        stepped[1:] += alpha[:-1]
        stepped[2:] += np.where(skip[2:], alpha[:-2], 0.0)
        alpha = stepped * p[column]
        total = alpha.sum()
        if total <= 0:
            return -np.inf
        alpha /= total
        log_scale += np.log(total)
    ends = alpha[-1] + (alpha[-2] if len(states) > 1 else 0.0)
    return float(log_scale + np.log(ends)) if ends > 0 else -np.inf


def decode_text(probabilities: np.ndarray) -> str:
    return "".join(str(d.digit) for d in greedy_decode(probabilities))


class NumberReaderModel:
    """The LiteRT number reader: one line (32x256) at a time, on one thread (it belongs to its caller's)."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        (line,), (output,) = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        self._line, self._output, self.shape = line["index"], output["index"], tuple(line["shape"])

    def predict(self, line: np.ndarray) -> np.ndarray:
        """float32 (32, 256) in [0, 1] -> (64, 11) probabilities."""
        self._interpreter.set_tensor(self._line, np.ascontiguousarray(line, np.float32).reshape(self.shape))
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)[0].copy()


def load_number_reader(models_dir: Path = models.MODELS_DIR) -> NumberReaderModel:
    from digits.litert import MissingModelError

    path = models.litert_path(MODEL_ID, models_dir)
    if not path.is_file():
        raise MissingModelError(f"No number reader at {path}; train it with `python -m training.number_reader`.")
    return NumberReaderModel(path)
