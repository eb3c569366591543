"""Feedback on the page: the result card's "Right" / "Wrong? It's a [0-9]" and the model page's
"What people corrected", driven as a person would (tests/anvil_browser.py) against the real uplink
functions, the real engine and a real SQLite feedback store.
"""

import pytest
from anvil_browser import Browser
from test_anvil_app import APP, SAMPLES, engine, presentation, registered, reports_dir, uplink  # noqa: F401


@pytest.fixture
def store(uplink):
    from uplink_server import functions

    return functions._service.feedback.store


def dropped(browser, sample: str, model: str = "cnn"):
    page = browser.start()
    page.model_dropdown.selected_value = model
    browser.drop_files(page, [Browser.file(SAMPLES / sample)])
    (card,) = page.results_panel.get_components()
    return card


def test_a_card_offers_right_and_wrong_and_says_what_is_kept(uplink):
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
    assert card.feedback_panel.visible and card.right_button.visible
    assert [label for label, _ in card.wrong_dropdown.items] == [str(d) for d in range(10)]
    assert card.wrong_dropdown.placeholder == "Wrong? It's a ..."
    assert card.feedback_label.visible and "28 x 28 image the model saw (never your upload)" in card.feedback_label.text


def test_right_saves_the_models_answer_and_thanks(uplink, store):
    before = store.summary().to_dict()
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
        card.right_button.raise_event("click")
        assert browser.calls[-1][0] == "record_feedback" and browser.calls[-1][1][1] == 7
    assert not card.feedback_panel.visible and card.feedback_label.text == "Thank you! Noted that 7 was right."
    after = store.summary().to_dict()
    assert after["confirmed"] == before["confirmed"] + 1 and after["corrected"] == before["corrected"]


def test_wrong_saves_the_persons_digit_with_the_image_the_model_saw(uplink, store):
    before = store.count()
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
        shown_preview = card.preview_image.source.get_bytes()
        card.wrong_dropdown.selected_value = 1
        card.wrong_dropdown.raise_event("change")
    assert card.feedback_label.text == "Thank you! Noted that it is a 1; the models will learn from it."
    exported = store.export()
    assert store.count() == before + 1 and exported["y"][-1] == 1 and exported["predicted"][-1] == 7
    from digits.preprocessing import preview_png

    assert preview_png(exported["x"][-1], 8) == shown_preview  # what was kept is what the person saw


def test_comparing_saves_the_answer_for_every_model(uplink, store):
    if len(uplink["list_models"]()) < 2:
        pytest.skip("needs both models")
    before = store.count()
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png", model=presentation.COMPARE_BOTH)
        card.wrong_dropdown.selected_value = 2
        card.wrong_dropdown.raise_event("change")
    assert store.count() == before + 2 and set(store.export()["model"][-2:]) == {"cnn", "vit"}


def test_a_lost_server_is_retried_once(uplink, store):
    class UplinkDisconnectedError(Exception):  # what Anvil raises on the page when the uplink went away
        pass

    failures = ["record_feedback"]

    def lose_the_first(name, args):
        if name in failures:
            failures.remove(name)
            raise UplinkDisconnectedError("the uplink disconnected")

    before = store.count()
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
        browser.on_call = lose_the_first
        card.right_button.raise_event("click")
    assert card.feedback_label.text.startswith("Thank you!") and store.count() == before + 1


def test_a_refused_answer_shows_why_and_keeps_the_buttons(uplink, store):
    before = store.count()
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
        card.result_ids = ["not-a-result-id"]
        card.right_button.raise_event("click")
    assert card.feedback_panel.visible and "not issued by this classifier" in card.feedback_label.text
    assert store.count() == before


def test_an_unreadable_file_asks_for_no_feedback(uplink, tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with Browser(APP, uplink) as browser:
        page = browser.start()
        browser.drop_files(page, [Browser.file(tmp_path / "notes.png")])
        (card,) = page.results_panel.get_components()
    assert not card.feedback_panel.visible and not card.feedback_label.visible


def test_the_model_page_says_what_people_corrected(uplink, store):
    with Browser(APP, uplink) as browser:
        card = dropped(browser, "seven-paper.png")
        card.wrong_dropdown.selected_value = 1
        card.wrong_dropdown.raise_event("change")
        browser.get_open_form().models_link.raise_event("click")
        sections = browser.get_open_form().reports_panel.get_components()
    summary = store.summary("cnn").to_dict()
    (cnn,) = [s for s in sections if s.name_label.text == "CNN"]
    assert cnn.corrections_heading.visible and cnn.corrections_heading.text == "What people corrected"
    assert cnn.corrections_label.text == presentation.corrections_text(summary)
    assert f"corrected {summary['corrected']}" in cnn.corrections_label.text
    assert "a 1 it read as 7" in cnn.corrections_label.text


def test_corrections_text_before_anyone_answered():
    assert presentation.corrections_text({"confirmed": 0, "corrected": 0, "common_mistakes": []}).startswith(
        "Nobody has told us yet")


def test_feedback_fields_for_a_result_with_no_digit():
    fields = presentation.feedback_fields([{"digit": None, "result_id": "abc"}])
    assert fields["result_ids"] == ["abc"] and fields["confirm_digit"] is None  # "Wrong? It's a" only


def test_a_classification_lost_with_its_server_is_retried_once(uplink):
    class UplinkDisconnectedError(Exception):
        pass

    failures = ["classify_digit"]

    def lose_the_first(name, args):
        if name in failures:
            failures.remove(name)
            raise UplinkDisconnectedError("the uplink disconnected")

    with Browser(APP, uplink) as browser:
        browser.on_call = lose_the_first
        card = dropped(browser, "seven-paper.png")
        assert [name for name, _ in browser.calls].count("classify_digit") == 2
    assert card.digit_label.text == "7" and not card.error_label.visible
