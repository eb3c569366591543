"""Whole numbers: a picture of several digits read as the number they write, digit by digit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from digits.preprocessing import prepare_number, preview_png

TOUCHING_DIGITS_WARNING = (
    "Some digits touch: they were cut apart where the ink is thinnest, so check the digits read there."
)


@dataclass(frozen=True)
class DigitReading:
    digit: int
    confidence: float
    probabilities: tuple[float, ...]
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the upload's pixels
    pixels: np.ndarray = field(repr=False)  # the 28x28 uint8 image the model saw

    def to_dict(self) -> dict:
        return {"digit": self.digit, "confidence": round(self.confidence, 6),
                "probabilities": [round(p, 6) for p in self.probabilities], "box": list(self.box)}

    def preview_png(self, scale: int = 8) -> bytes:
        return preview_png(self.pixels, scale)


@dataclass(frozen=True)
class NumberReading:
    file: str | None
    model: str
    digits: tuple[DigitReading, ...]  # left to right
    warnings: tuple[str, ...]
    latency_ms: float
    size: tuple[int, int] = (0, 0)  # (width, height) of the upload, after its EXIF orientation: the boxes' frame

    @property
    def number(self) -> str:
        return "".join(str(reading.digit) for reading in self.digits)

    @property
    def confidence(self) -> float:
        """How sure the model is of every digit at once: the product of the digits' confidences."""
        return float(np.prod([reading.confidence for reading in self.digits])) if self.digits else 0.0

    def to_dict(self) -> dict:
        return {"file": self.file, "model": self.model, "number": self.number,
                "confidence": round(self.confidence, 6), "digits": [reading.to_dict() for reading in self.digits],
                "warnings": list(self.warnings), "latency_ms": round(self.latency_ms, 3), "size": list(self.size)}


def read_number(engine, data: bytes, model: str = "cnn", filename: str | None = None) -> NumberReading:
    """Upload bytes -> the number they show. Raises InputError for a file a person must fix.

    A mark that may be touching digits has several readings (whole, cut in 2, ...): the one kept is
    the one whose digits the model is surest of (the highest geometric mean of their confidences).
    """
    started = time.perf_counter()
    engine.check_model(model)
    prepared = prepare_number(data, filename)
    candidates = [digit for mark in prepared.marks for reading in mark for digit in reading]
    probabilities = iter(engine.predict_probabilities(model, np.stack([d.pixels for d in candidates]))
                         if candidates else [])
    readings, cut = [], False
    for mark in prepared.marks:
        options = [[_reading(digit, next(probabilities)) for digit in reading] for reading in mark]
        best = max(range(len(options)), key=lambda i: np.mean([np.log(r.confidence) for r in options[i]]))
        readings += options[best]
        cut |= best > 0
    notes = prepared.warnings + ((TOUCHING_DIGITS_WARNING,) if cut else ())
    return NumberReading(filename, model, tuple(readings), notes, (time.perf_counter() - started) * 1000,
                         prepared.source_size)


def _reading(digit, probabilities: np.ndarray) -> DigitReading:
    best = int(np.argmax(probabilities))
    return DigitReading(best, float(probabilities[best]), tuple(float(p) for p in probabilities), digit.box,
                        digit.pixels)
