"""CSV files of digits as grey images: many digits, one per row, or the original project's single digit.

Layouts read (the dialect sniffed: commas, semicolons, tabs or spaces; values may be quoted):
  one digit per row    784 values (28 x 28, row by row), optionally after a label column ("label,pixel0,...,
                       pixel783", the common layout) and pandas' index column; a header row or not
  one digit, 28 rows   28 rows of 28 values (a header row, or pandas' index column and header, allowed)
Empty rows (a spreadsheet's ",,,,") are skipped; rows are numbered counting data rows only, from 1.
Values are 0-255, or 0-1 for the whole file. Anything else raises InputError naming the row and what
was expected. The file is read row by row, so memory stays near the size of the digits themselves.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from digits.preprocessing.errors import MB, QUOTED, InputError, in_megabytes, not_readable
from digits.preprocessing.normalise import IMAGE_SIZE

PIXEL_COUNT = IMAGE_SIZE * IMAGE_SIZE
MAX_CSV_BYTES = 24 * MB  # the 10,000 MNIST test digits with labels take 18 MB
MAX_CSV_ROWS = 10_000

LABEL_COLUMNS = ("label", "labels", "digit", "class", "target", "y")
INDEX_COLUMNS = ("", "unnamed: 0", "index", "id")  # pandas' to_csv() leaves its index column unnamed
_HEAD_BYTES = 16 * 1024  # the head of a file: printable text in a CSV, whole rows in it the dialect is sniffed from
_DELIMITERS = ",;\t"  # what a CSV's values may be split by (else spaces)
_QUOTES = "\"'"  # the sniffer takes either for a quote; the reader, the first
_LAYOUTS = "784 values per row (28 x 28), after an optional label column, or 28 rows of 28 values"


@dataclass(frozen=True, eq=False)
class DigitTable:
    """The digits a CSV holds: float32 (N, 28, 28) on 0-255, and their labels when it has a label column."""

    images: np.ndarray
    labels: np.ndarray | None  # int64 (N,), each 0-9
    one_per_row: bool  # False: the original single digit written as 28 rows


@dataclass(frozen=True)
class _Layout:
    skip: int  # leading columns that are not pixels or the label (pandas' index)
    has_label: bool
    width: int  # values per row

    @property
    def pixels(self) -> int:
        return self.width - self.skip - self.has_label


def looks_like_text(data: bytes) -> bool:
    """Printable ASCII at the start (a UTF-8 byte order mark allowed): a CSV, not an image."""
    head = bytes(data[:_HEAD_BYTES]).removeprefix(b"\xef\xbb\xbf").translate(None, b"\t\r\n")
    return head.isascii() and head.decode("ascii").isprintable()


def read_digit_table(data: bytes, label: str) -> DigitTable:
    """The digits of a CSV file; `label` names the file in messages ("'train.csv'")."""
    if len(data) > MAX_CSV_BYTES:
        raise InputError(f"{label} is {in_megabytes(len(data))}; the limit for a CSV is {MAX_CSV_BYTES // MB} MB.")
    text = bytes(data).decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), **_dialect(text), skipinitialspace=True)
    try:
        return _read_rows(_data_rows(reader), label)
    except csv.Error as error:
        raise InputError(f"{label} is not a CSV file we can read: line {reader.line_num}: {error}.") from None


def _dialect(text: str) -> dict:
    """The dialect sniffed from the file's head; when the sniffer cannot tell, the commonest of , ; and tab,
    else spaces."""
    sample = text[:_HEAD_BYTES]
    sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    present = [delimiter for delimiter in _DELIMITERS if delimiter in sample]
    if len(present) <= 1 and not any(quote in text for quote in _QUOTES):
        # What the sniffer comes to, without its 0.6 ms a 28x28 CSV (its table of every character's count on
        # every line): with no quotes, it picks among the delimiters present, and where it finds none the
        # commonest (the only one), else spaces. Its other choices (quote character, doubled quotes) only
        # matter to a file that holds a quote.
        return {"delimiter": present[0] if present else " "}
    try:
        return {"dialect": csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)}
    except csv.Error:
        counts = {delimiter: sample.count(delimiter) for delimiter in _DELIMITERS}
        return {"delimiter": max(counts, key=counts.get) if any(counts.values()) else " "}


def _data_rows(reader) -> Iterator[list[str]]:
    """Each row's values, stripped, trailing empty values dropped; empty rows skipped."""
    for row in reader:
        values = [value.strip() for value in row]
        while values and not values[-1]:
            values.pop()
        if values:
            yield values


def _read_rows(rows: Iterator[list[str]], label: str) -> DigitTable:
    first = next(rows, None)
    header = None
    if first is not None and (not all(map(_is_number, first)) or _counts_columns(first)):
        header, first = first, next(rows, None)
    if first is None:
        raise not_readable(label)  # text, but no row of numbers: prose, a stray file
    layout = _layout(header, len(first))
    if layout.pixels == IMAGE_SIZE and not layout.has_label:
        return _read_single_grid(first, rows, layout, label)
    if layout.pixels != PIXEL_COUNT:
        _numbers(first, 1, label, first_pixel=layout.skip)  # a word where a number belongs says more than the count
        second = next(rows, None)
        if second is None:  # one row: the original project's one-digit file, and its message
            raise InputError(f"{label} holds {len(first) - layout.skip} numbers; a digit CSV needs {PIXEL_COUNT} "
                             f"({IMAGE_SIZE} x {IMAGE_SIZE}, one row or {IMAGE_SIZE} rows).")
        raise InputError(f"{label}: row 1 holds {len(first)} values; a digit CSV has {_LAYOUTS}.")
    images, labels = [], []
    for number, values in enumerate(itertools.chain([first], rows), start=1):
        if number > MAX_CSV_ROWS:
            raise InputError(f"{label} holds more than {MAX_CSV_ROWS:,} digits; the limit is {MAX_CSV_ROWS:,} "
                             "rows per file. Please split it into smaller files.")
        if len(values) != layout.width:
            raise InputError(f"{label}: row {number} holds {len(values)} values; expected {layout.width} "
                             f"like row 1{_describe(layout)}.")
        if layout.has_label:
            labels.append(_label_of(values[layout.skip], number, label))
        images.append(_numbers(values, number, label, first_pixel=layout.skip + layout.has_label))
    return _table(np.stack(images), np.array(labels) if layout.has_label else None, True, label)


def _read_single_grid(first: list[str], rows: Iterator[list[str]], layout: _Layout, label: str) -> DigitTable:
    """The original project's layout: one digit as 28 rows of 28 values."""
    grid = [first]
    for values in rows:
        grid.append(values)
        if len(grid) > IMAGE_SIZE:
            raise InputError(f"{label} holds more than {IMAGE_SIZE} rows of {IMAGE_SIZE} values; a digit CSV "
                             f"has {_LAYOUTS}.")
    count = sum(len(values) - layout.skip for values in grid)
    if count != PIXEL_COUNT or any(len(values) != layout.width for values in grid):
        raise InputError(f"{label} holds {count} numbers; a digit CSV needs {PIXEL_COUNT} "
                         f"({IMAGE_SIZE} x {IMAGE_SIZE}, one row or {IMAGE_SIZE} rows).")
    return _table(_grid_numbers(grid, label, layout.skip)[np.newaxis], None, False, label)


def _grid_numbers(grid: list[list[str]], label: str, first_pixel: int) -> np.ndarray:
    """`_numbers` of every row, one after the other: read and checked at once (28 rows' checks cost more
    than their reading), and row by row where anything is wrong, for the message naming the first bad row."""
    try:
        pixels = np.fromiter(itertools.chain.from_iterable(map(float, values[first_pixel:]) for values in grid),
                             np.float64, count=sum(len(values) - first_pixel for values in grid))
        if np.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 255:
            return pixels.astype(np.float32)
    except ValueError:
        pass
    return np.concatenate([_numbers(values, number, label, first_pixel=first_pixel)
                           for number, values in enumerate(grid, start=1)])


def _layout(header: list[str] | None, width: int) -> _Layout:
    """Which leading columns are pandas' index and the label: from the header's names, else by count."""
    if header is not None:
        names = [name.lower() for name in header]
        skip = int(len(names) > 1 and names[0] in INDEX_COLUMNS)
        has_label = len(names) > skip and names[skip] in LABEL_COLUMNS
        return _Layout(skip, has_label, width)
    if width == PIXEL_COUNT + 2:
        return _Layout(1, True, width)
    return _Layout(0, width == PIXEL_COUNT + 1, width)


def _describe(layout: _Layout) -> str:
    parts = ["pandas' index"] * layout.skip + ["a label"] * layout.has_label
    return f" ({' and '.join(parts)}, then {layout.pixels} pixels)" if parts else f" ({layout.pixels} pixels)"


def _counts_columns(values: list[str]) -> bool:
    """A header of column numbers, as pandas writes for unnamed columns: 0, 1, 2, ... (or from 1)."""
    return len(values) > 2 and values[:3] in (["0", "1", "2"], ["1", "2", "3"]) and all(
        value == str(int(values[0]) + column) for column, value in enumerate(values))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _numbers(values: list[str], row: int, label: str, first_pixel: int = 0) -> np.ndarray:
    """The row's pixel values, those from `first_pixel` on; errors count columns from 1, as a spreadsheet."""
    try:
        pixels = np.fromiter(map(float, values[first_pixel:]), np.float64, count=len(values) - first_pixel)
    except ValueError:
        column, bad = next((column, value) for column, value in enumerate(values, start=1)
                           if column > first_pixel and not _is_number(value))
        what = "is empty" if not bad else f"holds {bad[:QUOTED]!r}, not a number"
        raise InputError(f"{label}: row {row}, column {column} {what}; a digit CSV holds numbers 0-255 "
                         "(or 0-1).") from None
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise InputError(f"{label}: row {row} has values outside 0-255; a digit CSV holds values 0-1 or 0-255.")
    return pixels.astype(np.float32)


def _label_of(value: str, row: int, label: str) -> int:
    try:
        digit = float(value)
    except ValueError:
        digit = math.nan
    if not (digit in range(10)):
        raise InputError(f"{label}: row {row} has the label {value[:QUOTED]!r}; a label is a digit 0-9.")
    return int(digit)


def _table(pixels: np.ndarray, labels: np.ndarray | None, one_per_row: bool, label: str) -> DigitTable:
    if pixels.max(initial=0) <= 1.0:
        pixels = pixels * 255.0  # fractions 0-1 for the whole file
    return DigitTable(pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32), labels, one_per_row)
