"""Digits drawn on a sketch pad: MNIST test digits' skeletons replayed as pen strokes on a square canvas,
exported as the browser's canvas does (PNG, transparent or white), read as well as the originals."""

import numpy as np
import pytest
from upload_files import encode

from training.digit_strokes import drawn_on_pad, skeleton_strokes
from training.figure_suites import PEN_WIDTHS, drawn


@pytest.mark.slow  # 300 drawings each; the suite test below is the quick check
@pytest.mark.parametrize("pen", PEN_WIDTHS)
def test_drawn_digits_read_as_well_as_the_originals(engine, mnist_test, pen):
    images, labels = mnist_test.first(300)
    originals = engine.predict_probabilities("cnn", images).argmax(axis=1)
    uploads = [(f"drawing-{i}.png", drawn(image, pen, transparent=i % 2 == 0)) for i, image in enumerate(images)]
    results = engine.classify_batch(uploads)
    drawn_right = np.mean([result.digit == label for result, label in zip(results, labels)])
    called_no_digit = np.mean([result.digit is None for result in results])
    # every pen within 3.5 points: the thinnest (10 px on 280) reads 97.0% of these against 99.7%, 1 "no digit"
    # (96.0% and 4 before the scorer had pen drawings among its digits). The CNN offered since issue 26's
    # seventh round reads 290 of these 300 at 16 px (96.7%, against 100% unchanged), where the CNN before read
    # 291 or more; on 1,000 validation digits the two tie on every pen (`digits evaluate cnn --suite drawings
    # --split validation --count 1000`: 10 px 97.1 -> 96.7%, 16 px 96.9 -> 97.0%, 20 px 97.4 -> 97.3%, 24 px
    # 97.7 -> 97.8%), so the margin allows 300 digits' noise of a digit or so.
    assert drawn_right >= np.mean(originals == labels) - 0.035, (drawn_right, called_no_digit)
    assert called_no_digit <= 0.015, called_no_digit  # real digits are hardly ever "no digit"


@pytest.mark.slow  # 300 drawings each; the suite test below is the quick check
def test_strokes_traced_as_the_browser_tests_draw_them_read_as_well_as_the_originals(engine, mnist_test):
    """The strokes the sketch pad's browser tests replay, drawn as the page's canvas draws them (280 px,
    a 20 px round pen, dark on white): the preprocessing reads them as well as the MNIST originals."""
    images, labels = mnist_test.first(300)
    originals = engine.predict_probabilities("cnn", images).argmax(axis=1)
    uploads = [(f"Drawing {i}", encode(drawn_on_pad(skeleton_strokes(image)))) for i, image in enumerate(images)]
    drawn_right = np.mean([result.digit == label for result, label in zip(engine.classify_batch(uploads), labels)])
    assert drawn_right >= np.mean(originals == labels) - 0.03, drawn_right


def test_the_drawings_suite_reads_each_pen_from_the_command_line(mnist_path, capsys):
    from digits.cli import main

    assert main(["evaluate", "cnn", "--suite", "drawings", "--count", "30", "--split", "validation",
                 "--data", str(mnist_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cnn: the drawings suite on 30 MNIST validation digits")
    shares = {line[:36].strip(): float(line[36:].strip().rstrip("%")) / 100 for line in lines[1:]}
    assert list(shares) == ["original", *(f"pen {pen} px" for pen in PEN_WIDTHS), "sketch pad strokes"]
    assert min(shares.values()) >= 0.9, shares
