"""What the reading pipeline makes of the uploads of the suites record_readings.py leaves out: held-out
typefaces, tight crops, drawings (through `prepare_upload`) and whole numbers (through `prepare_number`:
the number reader's frame and every mark's readings, boxes and 28x28 images), recorded to compare a
change that must not change a single answer (a rule taken out of the pipeline, say).

    python scripts/record_more_readings.py before.json --data ../shared/data/mnist.npz [--count 40]
    (make the change)
    python scripts/record_more_readings.py after.json --data ../shared/data/mnist.npz --compare before.json
"""

import hashlib
import sys

import numpy as np

from digits.preprocessing import prepare_number
from scripts.record_readings import main, reading
from training.data import load_mnist
from training.figure_suites import suite_uploads
from training.number_suite import validation_numbers
from training.style_shift import validation_digits
from training.typefaces import font_files, held_out_families, install_fonts, render_digit


def _hash(array: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def number_reading(data: bytes) -> list:
    prepared = prepare_number(data)
    line = prepared.line
    marks = [[[list(digit.box), _hash(digit.pixels)] for digit in reading] for mark in prepared.marks
             for reading in mark]
    return [list(prepared.warnings), None if line is None else _hash(line.fitted.pixels), marks]


def record(data: str | None, count: int) -> dict[str, list]:
    mnist = load_mnist(data)
    x_val, _ = validation_digits(mnist)
    readings = {}
    for suite in ("tight-crops", "drawings"):
        for form, uploads in suite_uploads(suite, x_val[:count]).items():
            for number, upload in enumerate(uploads):
                readings[f"{suite}/{form}/{number}"] = reading(upload)
    folder = install_fonts()
    for family in held_out_families():
        files = font_files(family, folder)
        rng = np.random.default_rng([26, int(hashlib.sha256(family.name.encode()).hexdigest()[:8], 16)])
        for number in range(max(1, count // 10)):
            for digit in range(10):
                upload = render_digit(files[number % len(files)], digit, rng)
                readings[f"typeface/{family.name}/{digit}/{number}"] = reading(upload.data, upload.filename)
    for index, number in enumerate(validation_numbers(mnist, per_spacing=count)):
        readings[f"number/{number.spacing}/{index}"] = number_reading(number.data)
    return readings


if __name__ == "__main__":
    sys.exit(main(record, __doc__))
