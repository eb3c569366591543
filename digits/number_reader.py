"""The learned number reader at serving time: its LiteRT model, and greedy CTC decoding in NumPy.

The model (models/number_reader.py) gives each of the line's 64 columns (4 frame pixels each) the
probabilities of the digits 0-9 and of a blank. Greedy decoding takes the likeliest class per column,
merges runs of the same class and drops blanks: each run left is one digit. A digit's confidence is
the product over its run of the chosen class's probability, times the probability that the columns
around it say "not this digit" (blank or another): low where the reader hesitated between reading a
digit once or twice, or not at all. Its probabilities are the mean over its run, renormalised to the
ten digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import models

MODEL_ID = "number_reader"
BLANK = 10
COLUMN_WIDTH = 4  # frame pixels per output column


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
                run = probabilities[start:column]
                sure = float(np.prod(run[:, label]))
                for edge in (start - 1, column):  # its neighbours say it has ended
                    if 0 <= edge < len(best):
                        sure *= 1.0 - float(probabilities[edge, label])
                mean = run[:, :BLANK].mean(axis=0)
                digits.append(DecodedDigit(label, sure, tuple(float(p) for p in mean / mean.sum()), (start, column)))
            start = column
    return digits


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
