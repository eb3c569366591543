"""Feedback on the page: the result card's "Right" / "Wrong? It's a [0-9]", driven as a person would in
Anvil's real runtime in Chromium (tests/web_page.py), through `digits serve` and its real SQLite store;
and what the page shows, worked out in plain Python (presentation.py)."""

import pytest
from test_anvil_app import presentation
from harness.web_page import CARDS, REPO, open_app, wait_until_read

SAMPLES = REPO / "samples"
FEEDBACK_NOTE = "28 x 28 image the model saw (never your upload)"


@pytest.fixture
def card_of_a_seven(page, uplink_server, app_server):
    open_app(page, app_server.url)
    page.locator("input[type=file]").set_input_files([SAMPLES / "seven-paper.png"])
    wait_until_read(page)
    return page.locator(CARDS).first


def summary(uplink_stand_in) -> dict:
    return uplink_stand_in.call("feedback_summary", "cnn")


def test_right_saves_the_models_answer_and_thanks(card_of_a_seven, uplink_stand_in):
    before = summary(uplink_stand_in)
    assert FEEDBACK_NOTE in card_of_a_seven.inner_text()
    card_of_a_seven.get_by_role("button", name="Right").click()
    card_of_a_seven.get_by_text("Thank you! Noted that 7 was right.").wait_for(timeout=30_000)
    after = summary(uplink_stand_in)
    assert after["confirmed"] == before["confirmed"] + 1 and after["corrected"] == before["corrected"]


def test_wrong_saves_the_persons_digit(card_of_a_seven, uplink_stand_in):
    before = summary(uplink_stand_in)
    card_of_a_seven.get_by_role("combobox", name=presentation.WRONG_DIGIT_NAME).select_option(label="1")
    card_of_a_seven.get_by_text("Thank you! Noted that it is a 1; the models will learn from it.").wait_for(
        timeout=30_000)
    after = summary(uplink_stand_in)
    assert after["corrected"] == before["corrected"] + 1 and after["confirmed"] == before["confirmed"]


def test_corrections_text_before_anyone_answered():
    assert presentation.corrections_text({"confirmed": 0, "corrected": 0, "common_mistakes": []}).startswith(
        "Nobody has told us yet")


def test_feedback_fields_for_a_result_with_no_digit():
    fields = presentation.feedback_fields([{"digit": None, "result_id": "abc"}])
    assert fields["result_ids"] == ["abc"] and fields["confirm_digit"] is None  # "Wrong? It's a" only
