"""Several digits in one file on the web page, in Anvil's runtime in Chromium: a whole number read digit
by digit (Read: Whole number), and a CSV of many MNIST digits, one card per row. The run takes
docs/whole-number.png and docs/csv-rows.png (written there under `pytest --update-docs`)."""

import re

import numpy as np
import pytest
from number_images import build_number, rendered
from harness.web_page import CARDS, card_facts, console_problems, open_app, wait_until_read, wait_until_still
from harness.web_page import screenshots_dir

DOCS = screenshots_dir()  # docs/ under `pytest --update-docs`, else outside the repository


@pytest.fixture
def classify_page(page, uplink_server, app_server):
    open_app(page, app_server.url)
    return page


def first_of_each(labels: np.ndarray, digits: str) -> list[int]:
    """Indices of MNIST test digits writing `digits`: for each digit, its next unused occurrence."""
    used, chosen = set(), []
    for digit in digits:
        index = next(i for i, label in enumerate(labels) if label == int(digit) and i not in used)
        used.add(index)
        chosen.append(index)
    return chosen


def year_2026(mnist_test, touching: bool):
    """2026 in MNIST test digits on paper; `touching`: a pair of neighbours joined (the first seed that joins)."""
    images, labels = mnist_test.first(200)
    chosen = first_of_each(labels, "2026")
    if not touching:
        return build_number(images[chosen], labels[chosen], np.random.default_rng(7))
    return next(number for seed in range(7, 100)
                for number in [build_number(images[chosen], labels[chosen], np.random.default_rng(seed), touch=True)]
                if number.touching)


@pytest.mark.parametrize("touching", [False, True], ids=["apart", "touching"])
def test_a_whole_number_card_shows_the_number_in_large_type_and_a_box_per_digit(classify_page, mnist_test,
                                                                                   tmp_path, touching):
    number = year_2026(mnist_test, touching)
    upload = tmp_path / "year.png"
    upload.write_bytes(rendered(number, "paper"))
    classify_page.get_by_role("combobox", name="Read").select_option(label="Whole number")
    classify_page.locator("input[type=file]").set_input_files(upload)
    assert wait_until_read(classify_page) == "Done: 1 file read."
    card = classify_page.locator(CARDS).first
    card.locator(".js-plotly-plot .shapelayer path").first.wait_for(state="attached", timeout=30_000)
    number_label = card.locator(".anvil-role-digit .label-text")
    assert number_label.inner_text() == "2026"
    assert float(number_label.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 48  # large type
    boxes = card.locator(".js-plotly-plot .shapelayer path")
    assert boxes.count() == 4  # one box per digit
    labels_drawn = card.locator(".js-plotly-plot .annotation-text").evaluate_all(
        "texts => texts.map(t => t.textContent)")
    assert labels_drawn == list("2026")  # each box labelled with its digit
    detail = "Read by the number reader, the CNN checking digits that stand apart or that the reader is unsure of"
    assert card.get_by_text(detail).count() == 1
    # The boxes are drawn over the upload itself: the plot's picture is the file, each box inside it.
    picture = card.locator(".js-plotly-plot .layer-below image, .js-plotly-plot .imagelayer image")
    assert picture.count() == 1 and picture.get_attribute("href").startswith("blob:")
    frame = picture.bounding_box()
    placed = [box.bounding_box() for box in boxes.all()]
    assert [b["x"] for b in placed] == sorted(b["x"] for b in placed)  # left to right
    for box in placed:
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (box, frame)
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1, (box, frame)
    for box, truth in zip(placed, number.boxes):  # where the digits are, to a few percent of the picture
        scale = frame["width"] / number.ink.shape[1]
        assert abs(box["x"] - frame["x"] - truth[0] * scale) < 0.03 * frame["width"], (box, truth)
    assert card.locator("img[alt^='The file you uploaded']:visible").count() == 0  # not shown twice
    assert console_problems(classify_page.console_messages) == []
    if touching:
        return
    DOCS.mkdir(exist_ok=True)
    wait_until_still(classify_page)
    card.screenshot(path=DOCS / "whole-number.png")


def test_a_csv_of_many_digits_gets_a_card_per_row_and_the_accuracy(classify_page, mnist_test, tmp_path):
    images, labels = mnist_test
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{label}," + ",".join(map(str, image.ravel())) for image, label in zip(images[:60], labels[:60])]
    upload = tmp_path / "digit-recognizer.csv"
    upload.write_text("\n".join(rows) + "\n")
    classify_page.locator("input[type=file]").set_input_files(upload)
    assert wait_until_read(classify_page, timeout=120_000) == "Done: 1 file read."
    shown = classify_page.locator(CARDS)
    assert shown.count() == 1 + 50  # the summary, then the first 50 rows
    summary = shown.first.inner_text()
    assert re.search(r"60 digits read, one per row\. (5\d|60) of the 60 labelled rows read as labelled "
                     r"\(\d+\.\d%\)", summary)
    assert "The first 50 rows are shown" in summary
    for index in (1, 2, 50):
        card = card_facts(shown.nth(index))
        assert card["title"] == f"digit-recognizer.csv, row {index} (label {labels[index - 1]})", card
        assert card["digit"] == str(labels[index - 1]) and card["bars"] == 10, card
    assert console_problems(classify_page.console_messages) == []
    wait_until_still(classify_page)
    top, second = shown.first.bounding_box(), shown.nth(2).bounding_box()
    classify_page.screenshot(path=DOCS / "csv-rows.png", full_page=True,
                             clip={"x": top["x"] - 16, "y": top["y"] - 16, "width": top["width"] + 32,
                                   "height": second["y"] + second["height"] - top["y"] + 32})
