"""CSV files of many digits, as people bring MNIST: one row per digit, with or without a label and a header.

The files are written the way people write them: by hand with the csv module, by pandas' to_csv(), as
a spreadsheet saves them (quoted values, empty ",,,," rows), from the real MNIST test digits.
"""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from digits.cli import main
from digits.engine import Classification, ClassificationError
from digits.preprocessing import MAX_CSV_BYTES, MAX_CSV_ROWS, InputError, prepare_file, prepare_upload
from digits.preprocessing.csv_digits import read_digit_table

PIXELS = [f"pixel{i}" for i in range(784)]


def written(rows, header=None, **dialect) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, **dialect)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def labelled_rows(images, labels) -> list[list[int]]:
    return [[int(label), *image.ravel().tolist()] for image, label in zip(images, labels)]


def read_table(data: bytes):
    return read_digit_table(data, "'digits.csv'")


def assert_same_digits(table, images, labels=None):
    assert np.array_equal(table.images, images.astype(np.float32))
    assert (table.labels is None) if labels is None else np.array_equal(table.labels, labels)


# --- the layouts people arrive with -------------------------------------------------------------------


def test_the_digit_recognizer_layout_with_a_label_column(mnist_test):
    images, labels = mnist_test[0][:50], mnist_test[1][:50]
    assert_same_digits(read_table(written(labelled_rows(images, labels), ["label", *PIXELS])), images, labels)


def test_pixels_alone_with_or_without_a_header(mnist_test):
    images = mnist_test[0][:20]
    rows = [image.ravel().tolist() for image in images]
    assert_same_digits(read_table(written(rows, PIXELS)), images)
    assert_same_digits(read_table(written(rows)), images)


def test_a_label_column_without_a_header(mnist_test):
    images, labels = mnist_test[0][:20], mnist_test[1][:20]
    assert_same_digits(read_table(written(labelled_rows(images, labels))), images, labels)


def test_pandas_to_csv_with_its_index_column(mnist_test):
    images, labels = mnist_test[0][:30], mnist_test[1][:30]
    frame = pd.DataFrame(images.reshape(-1, 784), columns=PIXELS)
    frame.insert(0, "label", labels)
    assert_same_digits(read_table(frame.to_csv().encode()), images, labels)  # ",label,pixel0,...", index first
    assert_same_digits(read_table(frame.to_csv(index=False).encode()), images, labels)
    unnamed = pd.DataFrame(images.reshape(-1, 784))  # columns 0..783: a header of numbers
    assert_same_digits(read_table(unnamed.to_csv().encode()), images)
    assert_same_digits(read_table(unnamed.to_csv(index=False).encode()), images)


def test_pandas_to_csv_of_one_28x28_digit_gives_the_digit_back(mnist_test):
    digit = mnist_test[0][0]
    prepared = prepare_upload(pd.DataFrame(digit).to_csv().encode(), "seven.csv")  # was "holds 840 numbers"
    assert np.array_equal(prepared.pixels, digit) and prepared.row is None


def test_quoted_values_semicolons_tabs_and_empty_spreadsheet_rows(mnist_test):
    images, labels = mnist_test[0][:10], mnist_test[1][:10]
    rows = labelled_rows(images, labels)
    with_gaps = [rows[0], [""] * 785, *rows[1:5], [""] * 785, [""] * 785, *rows[5:], [""] * 785]
    for data in (written(rows, ["label", *PIXELS], quoting=csv.QUOTE_ALL),
                 written(with_gaps, ["label", *PIXELS]),  # Excel keeps the blank rows as ",,,,"
                 written(rows, ["label", *PIXELS], delimiter=";"),
                 written(rows, delimiter="\t"),
                 "\r\n".join(" ".join(map(str, row)) for row in rows).encode(),
                 b"\xef\xbb\xbf" + written(rows, ["label", *PIXELS])):
        assert_same_digits(read_table(data), images, labels)


def test_values_from_0_to_1_are_scaled_for_the_whole_file(mnist_test):
    images = mnist_test[0][:10]
    data = written([[f"{value / 255:.6f}" for value in image.ravel()] for image in images], PIXELS)
    assert np.abs(read_table(data).images - images).max() < 0.01


# --- what is wrong with a malformed file, in words -----------------------------------------------------


def _rows(count: int = 5) -> list[list]:
    return [[row % 10] + [0] * 784 for row in range(count)]


MALFORMED = {
    "a short row": (lambda rows: rows[:3] + [rows[3][:700]] + rows[4:], "row 4 holds 700 values; expected 785"),
    "a label over 9": (lambda rows: rows[:2] + [[12] + rows[2][1:]] + rows[3:], "row 3 has the label '12'"),
    "a word among the pixels": (lambda rows: rows[:1] + [rows[1][:100] + ["dark"] + rows[1][101:]] + rows[2:],
                                "row 2, column 101 holds 'dark', not a number"),
    "an empty value": (lambda rows: rows[:4] + [rows[4][:9] + [""] + rows[4][10:]], "row 5, column 10 is empty"),
    "a value over 255": (lambda rows: rows[:1] + [rows[1][:50] + [256] + rows[1][51:]] + rows[2:],
                         "row 2 has values outside 0-255"),
    "rows of the wrong width": (lambda rows: [row[:500] for row in rows], "row 1 holds 500 values"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_file_says_which_row_and_what_was_expected(case):
    change, message = MALFORMED[case]
    with pytest.raises(InputError) as raised:
        read_table(written(change(_rows()), ["label", *PIXELS]))
    assert message in str(raised.value) and "'digits.csv'" in str(raised.value)


def test_an_unclosed_quote_is_refused_in_words():
    data = b'label,' + ",".join(PIXELS).encode() + b'\n5,"0' + b",0" * 200_000
    with pytest.raises(InputError, match="is not a CSV file we can read: line"):
        read_table(data)


def test_limits_on_bytes_and_rows():
    with pytest.raises(InputError, match=f"the limit for a CSV is {MAX_CSV_BYTES // 2**20} MB"):
        read_table(b"0," * (MAX_CSV_BYTES // 2 + 1))
    assert MAX_CSV_ROWS >= 10_000  # the whole MNIST test set fits in one file
    many = written(_rows(MAX_CSV_ROWS + 1))
    with pytest.raises(InputError, match=f"holds more than {MAX_CSV_ROWS:,} digits; the limit is"):
        read_table(many)


# --- one result per row: the core, the command line -----------------------------------------------------


def test_each_row_is_prepared_like_a_single_csv_of_that_digit(mnist_test):
    images, labels = mnist_test[0][:40], mnist_test[1][:40]
    prepared = prepare_file(written(labelled_rows(images, labels), ["label", *PIXELS]), "train.csv")
    assert [(image.row, image.label) for image in prepared] == [(row, int(label)) for row, label in
                                                                 enumerate(labels, start=1)]
    for image, digit in zip(prepared, images):
        alone = prepare_upload(",".join(map(str, digit.ravel())).encode(), "one.csv")
        assert np.array_equal(image.pixels, alone.pixels) and image.warnings == alone.warnings
        assert image.source_format == "CSV"


def test_a_one_digit_file_without_labels_is_read_as_today(mnist_test):
    single = ",".join(map(str, mnist_test[0][0].ravel())).encode()
    [image] = prepare_file(single, "seven.csv")
    assert image.row is None and image.label is None and "row" not in image.to_dict()
    [labelled] = prepare_file(b"7," + single, "seven.csv")
    assert (labelled.row, labelled.label) == (1, 7)


def test_the_engine_reads_every_row_in_batches_as_well_as_the_raw_digits(engine, mnist_test):
    images, labels = mnist_test.first(2000)
    data = written(labelled_rows(images, labels), ["label", *PIXELS])
    before = engine.batching_stats()["cnn"]["batches"]
    results = engine.classify_batch([("test.csv", data), ("seven.png", b"not an image")])
    rows, broken = results[:-1], results[-1]
    assert isinstance(broken, ClassificationError) and "'seven.png'" in broken.error
    assert [(r.file, r.row, r.label) for r in rows] == [("test.csv", n, int(label))
                                                          for n, label in enumerate(labels, start=1)]
    assert all(isinstance(r, Classification) for r in rows)
    raw = engine.predict_probabilities("cnn", images).argmax(axis=1)
    from_csv = np.array([r.digit for r in rows])
    assert np.mean(from_csv == raw) >= 0.995
    assert np.mean(from_csv == labels) >= np.mean(raw == labels) - 0.002
    assert engine.batching_stats()["cnn"]["batches"] - before <= len(images) // 8  # batched calls, not one per row


def test_the_engine_bounds_the_rows_of_one_call(engine):
    small, big = written(_rows(3)), written(_rows(8))
    results = engine.classify_batch([("small.csv", small), ("big.csv", big), ("last.csv", small)], max_rows=10)
    assert [(r.file, getattr(r, "row", None)) for r in results] == [
        ("small.csv", 1), ("small.csv", 2), ("small.csv", 3), ("big.csv", None), ("last.csv", 1),
        ("last.csv", 2), ("last.csv", 3)]
    assert "Too many digits in one call" in results[3].error


def test_digits_classify_json_lines_carry_row_and_label(tmp_path, mnist_test, capsys):
    images, labels = mnist_test[0][:300], mnist_test[1][:300]
    path = tmp_path / "train.csv"
    path.write_bytes(written(labelled_rows(images, labels), ["label", *PIXELS]))
    assert main(["classify", "--json", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["file"], line["row"], line["label"]) for line in lines] == [
        (str(path), row, int(label)) for row, label in enumerate(labels, start=1)]
    assert sum(line["digit"] == line["label"] for line in lines) >= 0.98 * len(lines)


def test_digits_classify_text_ends_with_the_accuracy(tmp_path, mnist_test, capsys):
    images, labels = mnist_test[0][:200], mnist_test[1][:200]
    (tmp_path / "a.csv").write_bytes(written(labelled_rows(images[:120], labels[:120]), ["label", *PIXELS]))
    (tmp_path / "b.csv").write_bytes(pd.DataFrame(images[120:].reshape(-1, 784)).assign(
        label=labels[120:]).pipe(lambda f: f[["label", *range(784)]]).to_csv().encode())
    assert main(["classify", str(tmp_path)]) == 0
    *lines, last = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 200 and lines[0].startswith(f"{tmp_path / 'a.csv'} row 1: ")
    assert lines[120].startswith(f"{tmp_path / 'b.csv'} row 1: ")
    right = sum(" (wrong)" not in line for line in lines)
    assert last == f"accuracy: {right / 200:.2%} ({right:,} of 200 labelled rows right)"
    assert right >= 196
