"""The web page as people use it: Anvil's own client runtime in Chromium, through the real uplink server.

Anvil's runtime (Skulpt, its component classes, its websocket client) runs anvil_app/ in Debian's
Chromium, driven by Playwright; harness/anvil_app_server.py does the App Server's part and passes each
call to `digits serve`, connected to the Uplink stand-in. Nothing of the app is replaced. The test run
also takes the README's screenshots (into docs/ under `pytest --update-docs`).
"""

import re

import pytest
from client_code import load_client_module
from harness.web_page import CARDS, REPO, axe_violations, card_facts, console_problems, drop_files, open_app
from harness.web_page import missing_pieces, open_app_without_models, wait_until_read, wait_until_still
from harness.web_page import screenshots_dir

presentation = load_client_module("presentation")
SAMPLES = REPO / "samples"
DOCS = screenshots_dir()  # docs/ under `pytest --update-docs`, else outside the repository
CONFIDENCE = re.compile(r"(\d{1,2}\.\d|>99\.9)% sure")
NOT_CONNECTED = "The classifier is not connected"
# The three kinds of file a person brings: a scan, a phone photo of a digit on paper, a 28x28 CSV.
THREE_FILES = {"seven-paper.png": "7", "four-photo.jpg": "4", "nine.csv": "9"}


@pytest.fixture
def classify_page(page, uplink_server, app_server):
    open_app(page, app_server.url)
    return page


def choose_files(page, names) -> None:
    page.locator("input[type=file]").set_input_files([SAMPLES / name for name in names])


def cards(page) -> list[dict]:
    return [card_facts(card) for card in page.locator(CARDS).all()]


def assert_read(card: dict, name: str, digit: str) -> None:
    assert card["title"] == name and card["digit"] == digit, card
    assert CONFIDENCE.fullmatch(card["confidence"]) and not card["error"], card
    assert card["bars"] == 10, card  # the ten-bar chart drawn
    seen = [image for image in card["images"] if "model" in image["alt"]]
    assert len(seen) == 1 and seen[0]["loaded"], card  # "what the model saw", loaded
    assert all(image["loaded"] for image in card["images"]), card


def test_the_page_opens_without_errors_and_lists_the_models(classify_page, uplink_stand_in):
    models = uplink_stand_in.call("list_models")
    dropdown = classify_page.get_by_role("combobox", name="Model")
    options = dropdown.locator("option").all_inner_texts()
    assert [option.split(" (")[0] for option in options] == [m["name"] for m in models] + ["Compare both"]
    assert dropdown.locator("option:checked").inner_text().startswith(models[0]["name"])
    assert console_problems(classify_page.console_messages) == []


def test_three_files_chosen_at_once_each_get_their_card(classify_page, app_server):
    choose_files(classify_page, THREE_FILES)
    assert wait_until_read(classify_page) == "Done: 3 files read."
    shown = cards(classify_page)
    assert [card["title"] for card in shown] == list(THREE_FILES)
    for card, (name, digit) in zip(shown, THREE_FILES.items()):
        assert_read(card, name, digit)
    uploads = [image for card in shown for image in card["images"] if image["alt"].startswith("The file")]
    assert len(uploads) == 2  # the PNG and the photo are shown as uploaded; a CSV is no picture
    assert console_problems(classify_page.console_messages) == []
    DOCS.mkdir(exist_ok=True)
    classify_page.screenshot(path=DOCS / "classify-desktop.png", full_page=True)


def test_files_dropped_on_the_page_are_read(classify_page):
    drop_files(classify_page, ".content", [SAMPLES / name for name in THREE_FILES])
    assert wait_until_read(classify_page) == "Done: 3 files read."
    for card, (name, digit) in zip(cards(classify_page), THREE_FILES.items()):
        assert_read(card, name, digit)


def test_compare_both_shows_both_models_side_by_side(classify_page, uplink_stand_in):
    names = [model["name"] for model in uplink_stand_in.call("list_models")]
    classify_page.get_by_role("combobox", name="Model").select_option(label="Compare both")
    choose_files(classify_page, ["seven-paper.png"])
    wait_until_read(classify_page)
    (card,) = cards(classify_page)
    assert card["digit"] == "7" and card["traces"] == 2 and card["bars"] == 20  # the small bars, both models
    assert card["legend"] == names
    classify_page.locator(CARDS).get_by_role("link", name="Show chart").click()
    classify_page.locator(f"{CARDS} .js-plotly-plot .legendtext").nth(3).wait_for()
    (card,) = cards(classify_page)
    assert card["traces"] == 4 and card["bars"] == 40 and card["legend"] == names * 2  # and the full chart
    classify_page.locator(CARDS).get_by_role("link", name="Why?").click()
    maps = classify_page.locator(f"{CARDS} .js-plotly-plot .heatmaplayer .hm")
    maps.nth(3).wait_for()  # each model: the image it saw, its evidence over it
    assert maps.count() == 4
    why = classify_page.locator(f"{CARDS} .anvil-role-text .label-text").filter(has_text="says 7").inner_text()
    assert [line.split(" says ")[0] for line in why.splitlines()] == [f"The {name}" for name in names]
    confidence = classify_page.locator(f"{CARDS} .anvil-role-confidence .label-text").inner_text().splitlines()
    assert [line.split(": ")[0] for line in confidence] == names
    assert all(CONFIDENCE.fullmatch(line.split(": ")[1]) for line in confidence)


CARD_HEIGHT = 260  # px at desktop width, chart folded: 20 results take a few screens, not twenty


def open_why(page, card) -> str:
    """Click a card's "Why?"; wait for its map over the image the model saw; return its line of words."""
    card.get_by_role("link", name="Why?").click()
    card.locator(".js-plotly-plot .heatmaplayer .hm").nth(1).wait_for()
    words = card.locator(".anvil-role-text .label-text").filter(has_text=" says ")
    words.wait_for()
    wait_until_still(page)
    return words.inner_text()


def test_why_overlays_the_evidence_on_what_the_model_saw_and_cards_stay_compact(classify_page):
    choose_files(classify_page, ["seven-paper.png", "four-photo.jpg", "nine.csv"])
    wait_until_read(classify_page)
    for card in classify_page.locator(CARDS).all():
        assert card.bounding_box()["height"] <= CARD_HEIGHT, card_facts(card)
        assert card.get_by_role("link", name="Show chart").is_visible()
    nine = classify_page.locator(CARDS).filter(has_text="nine.csv")
    assert nine.get_by_role("link", name="Why?").is_visible()
    words = open_why(classify_page, nine)
    assert words.startswith("The CNN says 9") and "closed loop at the top" in words
    plot = nine.locator(".js-plotly-plot[role=img]").filter(has=classify_page.locator(".heatmaplayer"))
    assert "The CNN says 9" in plot.get_attribute("aria-label")
    assert nine.get_by_role("link", name="Hide why").is_visible()
    assert console_problems(classify_page.console_messages) == []
    assert our_violations(classify_page) == []
    nine.scroll_into_view_if_needed()
    nine.screenshot(path=DOCS / "why-desktop.png")
    nine.get_by_role("link", name="Hide why").click()
    assert not nine.locator(".heatmaplayer").is_visible()


def test_why_on_a_phone_fits_the_screen(phone_page, uplink_server, app_server):
    open_app(phone_page, app_server.url)
    choose_files(phone_page, ["four-photo.jpg"])
    wait_until_read(phone_page)
    card = phone_page.locator(CARDS).filter(has_text="four-photo.jpg")
    words = open_why(phone_page, card)
    assert words.startswith("The CNN says 4")
    width = phone_page.viewport_size["width"]
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= width
    box = card.locator(".js-plotly-plot").filter(has=phone_page.locator(".heatmaplayer")).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    hide = card.get_by_role("link", name="Hide why")
    ring = "e => document.activeElement === e && [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineOffset]"
    assert hide.evaluate(ring)[0] == "none"  # the tap left no focus ring over "Hide why"
    card.scroll_into_view_if_needed()
    card.screenshot(path=DOCS / "why-phone.png")
    phone_page.keyboard.press("Shift+Tab")
    phone_page.keyboard.press("Tab")
    assert hide.evaluate(ring) == ["solid", "1px"]  # the keyboard's ring goes round the words, not over them


def test_a_broken_file_gets_a_red_card_and_the_others_are_read(classify_page, tmp_path):
    broken = tmp_path / "notes.png"
    broken.write_text("this is not a picture")
    classify_page.locator("input[type=file]").set_input_files(
        [SAMPLES / "seven-paper.png", broken, SAMPLES / "nine.csv"])
    assert wait_until_read(classify_page) == "Done: 2 of 3 files read; the red cards say what went wrong."
    seven, notes, nine = cards(classify_page)
    assert_read(seven, "seven-paper.png", "7")
    assert_read(nine, "nine.csv", "9")
    assert "notes.png" in notes["error"] and "Traceback" not in notes["error"]
    assert notes["digit"] == "" and notes["bars"] == 0
    red = classify_page.locator(f"{CARDS} .anvil-role-error").first
    assert red.evaluate("e => getComputedStyle(e).color") == "rgb(198, 40, 40)"  # theme colour "Error"


def test_a_picture_with_no_digit_gets_a_card_that_says_so(classify_page, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank-page.jpg"
    Image.new("RGB", (640, 480), (236, 233, 225)).save(blank, quality=85)
    classify_page.locator("input[type=file]").set_input_files([blank, SAMPLES / "seven-paper.png"])
    assert wait_until_read(classify_page) == "Done: 2 files read."
    nothing, seven = cards(classify_page)
    assert nothing["digit"] == "No digit found" and nothing["confidence"] == "" and not nothing["error"]
    assert nothing["bars"] == 0 and "No digit found: the picture looks blank." in nothing["warnings"]
    assert_read(seven, "seven-paper.png", "7")


def test_without_the_uplink_server_the_page_says_so_and_recovers(page, uplink_server, app_server):
    uplink_server.stop()
    try:
        open_app_without_models(page, app_server.url)
        choose_files(page, ["seven-paper.png"])
        wait_until_read(page)
        (card,) = cards(page)
        assert card["error"].startswith(NOT_CONNECTED) and "digits serve" in card["error"]
    finally:
        uplink_server.start()
        uplink_server.wait_until_ready()
    choose_files(page, ["seven-paper.png"])  # the same page, not reloaded
    page.locator(CARDS).nth(1).wait_for()
    wait_until_read(page)
    assert_read(cards(page)[0], "seven-paper.png", "7")
    assert page.get_by_role("combobox", name="Model").locator("option").count() >= 1


def test_the_model_page_shows_every_figure_and_leads_back(classify_page, uplink_stand_in):
    models = uplink_stand_in.call("list_models")
    choose_files(classify_page, ["seven-paper.png"])
    wait_until_read(classify_page)
    classify_page.get_by_role("link", name="Models").click()
    headlines = classify_page.locator(".anvil-role-headline .label-text")
    headlines.nth(len(models) - 1).wait_for()
    assert headlines.all_inner_texts() == [model["name"] for model in models]
    figures = classify_page.locator(".anvil-role-card img")
    figures.last.wait_for()
    expected = sum(len(uplink_stand_in.call("model_report", model["id"])["figures"]) for model in models)
    assert figures.count() == expected > 0
    for figure in figures.all():
        figure.scroll_into_view_if_needed()
        assert figure.evaluate("img => img.complete && img.naturalWidth > 0"), figure.get_attribute("src")
        assert figure.get_attribute("alt")
    text = classify_page.locator(".anvil-role-card").first.inner_text()
    assert re.search(r"\d{2}\.\d{2}% of the MNIST test digits", text) and "parameters" in text
    corrections = presentation.corrections_text(uplink_stand_in.call("feedback_summary", models[0]["id"]))
    assert text.index("What people corrected") < text.index(corrections)  # the heading, then its text
    classify_page.evaluate("window.scrollTo(0, 0)")
    wait_until_still(classify_page)
    classify_page.screenshot(path=DOCS / "models-desktop.png")

    classify_page.get_by_role("link", name="Classify").click()
    classify_page.locator(CARDS).first.wait_for()
    assert [card["digit"] for card in cards(classify_page)] == ["7"]  # the results are still there


def test_on_a_phone_nothing_is_wider_than_the_screen(phone_page, uplink_server, app_server):
    open_app(phone_page, app_server.url)
    width = phone_page.viewport_size["width"]
    chooser = phone_page.locator(".file-loader")
    assert chooser.is_visible() and chooser.bounding_box()["width"] <= width
    choose_files(phone_page, ["seven-paper.png", "four-photo.jpg"])
    wait_until_read(phone_page)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= width
    # The chooser and the model dropdown stack instead of sitting side by side.
    dropdown = phone_page.get_by_role("combobox", name="Model").bounding_box()
    assert dropdown["y"] >= chooser.bounding_box()["y"] + chooser.bounding_box()["height"]
    for card in phone_page.locator(CARDS).all():
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    # The cards land below the sketch pad, out of sight on a phone: the page scrolls to the first (as far
    # as the page goes: compact cards near its end may stay in the lower half, wholly in sight).
    phone_page.wait_for_function("""selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= 0 && (box.top < window.innerHeight / 2 || box.bottom <= window.innerHeight);
    }""", arg=CARDS)
    wait_until_still(phone_page)
    phone_page.screenshot(path=DOCS / "classify-phone.png")

    phone_page.get_by_role("link", name="Models").click()
    phone_page.locator(".anvil-role-headline .label-text").first.wait_for()  # the models page, not the result cards
    phone_page.locator(".anvil-role-headline").first.locator("xpath=ancestor::*[contains(@class, 'anvil-role-card')]") \
        .locator("img").first.wait_for()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= width
    assert phone_page.evaluate("window.scrollY") == 0  # the models page opens at its top
    wait_until_still(phone_page)  # every section's call answered
    phone_page.screenshot(path=DOCS / "models-phone.png")


def test_the_file_chooser_opens_from_the_keyboard(classify_page):
    # Listen before pressing: a chooser opened while Playwright is still arming its interception is missed.
    opened = []
    classify_page.on("filechooser", lambda chooser: opened.append(chooser))
    chooser = classify_page.get_by_role("button", name="Choose files")
    for _ in range(10):  # Tab from the top of the page, as a keyboard user does
        classify_page.keyboard.press("Tab")
        if chooser.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reaches the file chooser")
    classify_page.keyboard.press("Enter")
    for _ in range(50):
        if opened:
            break
        classify_page.wait_for_timeout(100)
    assert opened, "Enter on the file chooser opened no file dialog"
    opened[0].set_files([SAMPLES / "seven-paper.png"])
    wait_until_read(classify_page)
    assert_read(cards(classify_page)[0], "seven-paper.png", "7")


# Anvil's runtime itself adds the "made with Anvil" badge, a link around an image without alt text
# (runner2.html's #anvil-badge); it is not the app's, and the App Server sends it to every page.
FROM_ANVILS_RUNTIME = {("link-name", "#anvil-badge")}


def our_violations(page) -> list[dict]:
    """axe's findings on the page, of any impact, less those that come from Anvil's runtime itself."""
    ours = []
    for violation in axe_violations(page):
        targets = [t for t in violation["targets"] if (violation["id"], t) not in FROM_ANVILS_RUNTIME]
        if targets:
            ours.append({**violation, "targets": targets})
    return ours


def test_both_pages_pass_an_accessibility_audit(classify_page):
    choose_files(classify_page, ["seven-paper.png", "nine.csv"])
    wait_until_read(classify_page)
    assert our_violations(classify_page) == []

    classify_page.get_by_role("link", name="Models").click()
    classify_page.locator(".anvil-role-card img").first.wait_for()
    assert our_violations(classify_page) == []


def test_without_the_runtime_the_browser_tests_say_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ANVIL_RUNTIME_DIR", str(tmp_path))
    (runtime,) = [piece for piece in missing_pieces() if "runtime" in piece]
    assert str(tmp_path) in runtime and "scripts/build_anvil_runtime.sh" in runtime
