"""The sketch pad on the classify page, in Anvil's runtime in Chromium, read by the real `digits serve`.

Strokes of MNIST test digits (their skeletons traced, training/digit_strokes.py) are drawn with the mouse
and with a finger on a touch screen, as a person draws; every reading goes through the same server
functions as an upload. The run takes docs/sketch-pad.png (`pytest --update-docs`).
"""

import re

import pytest
from training.digit_strokes import skeleton_strokes
from harness.web_page import KEPT_CARDS, LIVE_CARD, SKETCH_CANVAS, card_facts, console_problems, draw_with_finger
from harness.web_page import draw_with_mouse, open_app, swipe, wait_until_still
from harness.web_page import screenshots_dir

DOCS = screenshots_dir()  # docs/ under `pytest --update-docs`, else outside the repository
CONFIDENCE = re.compile(r"(\d{1,2}\.\d|>99\.9)% sure")
SEVEN, TWO, ONE, FOUR = 0, 1, 2, 4  # MNIST test digits by index: what they are


@pytest.fixture
def strokes(mnist_test):
    images, labels = mnist_test.first(10)

    def of(index):
        return skeleton_strokes(images[index]), str(labels[index])

    return of


@pytest.fixture
def sketch_page(page, uplink_server, app_server):
    open_app(page, app_server.url)
    page.locator(SKETCH_CANVAS).wait_for()
    return page


def classify_calls(app_server) -> int:
    return sum(1 for name, _ in app_server.calls if name in ("classify_digit", "compare_models", "read_number"))


def live_reading(page, digit: str) -> dict:
    """Wait until the live card under the pad says `digit`; what it shows."""
    page.locator(LIVE_CARD).locator(".anvil-role-digit .label-text").filter(has_text=digit).wait_for(timeout=60_000)
    return card_facts(page.locator(LIVE_CARD))


def hint(page) -> str:
    return page.get_by_test_id("sketch-hint").inner_text()


def button(page, name: str):
    """The pad's button: its accessible name also holds its icon's glyph, and "Clear results" is another."""
    return page.get_by_role("button", name=re.compile(rf"(^|\W){name}$"))


def test_a_digit_drawn_with_the_mouse_is_read_in_place(sketch_page, app_server, strokes):
    assert hint(sketch_page) == "Draw a digit here with a mouse, a finger or a pen."
    assert button(sketch_page, "Keep").is_disabled() and button(sketch_page, "Clear").is_disabled()
    drawing, digit = strokes(SEVEN)
    before = classify_calls(app_server)
    draw_with_mouse(sketch_page, drawing)
    card = live_reading(sketch_page, digit)
    assert card["title"] == "Drawing 1" and card["digit"] == digit, card
    assert CONFIDENCE.fullmatch(card["confidence"]) and card["bars"] == 10 and not card["error"], card
    seen = [image for image in card["images"] if "model" in image["alt"]]
    assert len(seen) == 1 and seen[0]["loaded"], card  # the 28 x 28 the model saw
    assert button(sketch_page, "Keep").is_enabled() and button(sketch_page, "Clear").is_enabled()
    assert sketch_page.locator(KEPT_CARDS).count() == 0  # shown in place, not yet among the results
    sketch_page.wait_for_timeout(800)  # long enough for a second call, were one to be sent
    assert classify_calls(app_server) - before == 1
    assert console_problems(sketch_page.console_messages) == []


def test_the_pen_is_round_dark_on_white_and_suits_the_box(sketch_page):
    box = sketch_page.locator(SKETCH_CANVAS).bounding_box()
    assert box["width"] == box["height"] == 280
    draw_with_mouse(sketch_page, [[(0.2, 0.5), (0.8, 0.5)]])  # one straight horizontal stroke
    pixels = sketch_page.locator(SKETCH_CANVAS).evaluate("""canvas => {
        const context = canvas.getContext("2d");
        const column = x => Array.from({length: canvas.height}, (_, y) => context.getImageData(x, y, 1, 1).data[0]);
        return {size: [canvas.width, canvas.height], middle: column(canvas.width / 2),
                end: column(Math.round(canvas.width * 0.8 + 8)),
                corner: Array.from(context.getImageData(2, 2, 1, 1).data)};
    }""")
    assert pixels["size"] == [280, 280] and pixels["corner"] == [255, 255, 255, 255]  # white paper, not transparent
    inked = [value for value in pixels["middle"] if value < 128]
    assert 18 <= len(inked) <= 22 and min(inked) < 40  # a 20 px pen (1/14 of the side), dark ink
    assert 0 < sum(value < 128 for value in pixels["end"]) < len(inked)  # the end is rounded, not square


def test_two_quick_strokes_send_one_call_and_a_later_stroke_reads_again(sketch_page, app_server, strokes):
    drawing, digit = strokes(FOUR)
    assert len(drawing) == 2  # a 4 drawn as two strokes
    before = classify_calls(app_server)
    draw_with_mouse(sketch_page, drawing, pause_ms=150)  # the second begun well within the 400 ms
    live_reading(sketch_page, digit)
    sketch_page.wait_for_timeout(800)
    assert classify_calls(app_server) - before == 1
    chart = sketch_page.locator(f"{LIVE_CARD} .js-plotly-plot[role=img]")
    first_reading = chart.get_attribute("aria-label")
    # The drawing grows: a bar across the bottom changes what the model sees; it is read once more, in place.
    draw_with_mouse(sketch_page, [[(0.15, 0.9), (0.85, 0.9)]])
    sketch_page.wait_for_function("""([selector, before]) => {
        const chart = document.querySelector(selector);
        return chart && chart.getAttribute("aria-label") !== before;
    }""", arg=[f"{LIVE_CARD} .js-plotly-plot[role=img]", first_reading], timeout=60_000)
    assert classify_calls(app_server) - before == 2
    assert sketch_page.locator(LIVE_CARD).count() == 1


def test_in_whole_number_mode_a_drawn_number_is_read_digit_by_digit(sketch_page, app_server, strokes):
    sketch_page.get_by_role("combobox", name="Read").select_option(label="Whole number")
    four, _ = strokes(FOUR)
    two, _ = strokes(TWO)
    side_by_side = [[(0.04 + x * 0.48, 0.25 + y * 0.5) for x, y in stroke] for stroke in four]
    side_by_side += [[(0.5 + x * 0.48, 0.25 + y * 0.5) for x, y in stroke] for stroke in two]
    before = sum(1 for name, _ in app_server.calls if name == "read_number")
    draw_with_mouse(sketch_page, side_by_side)
    live = sketch_page.locator(LIVE_CARD)
    live.locator(".anvil-role-digit .label-text").filter(has_text="42").wait_for(timeout=60_000)
    assert live.locator(".anvil-role-subheading .label-text").inner_text() == "Drawing 1"
    boxes = live.locator(".js-plotly-plot .shapelayer path")
    boxes.first.wait_for(state="attached")
    assert boxes.count() == 2  # a box per digit, over the drawing
    assert sum(1 for name, _ in app_server.calls if name == "read_number") - before == 1


def test_clear_empties_the_pad_and_its_reading(sketch_page, strokes):
    drawing, digit = strokes(TWO)
    draw_with_mouse(sketch_page, drawing)
    live_reading(sketch_page, digit)
    button(sketch_page, "Clear").click()
    assert sketch_page.locator(LIVE_CARD).count() == 0
    assert hint(sketch_page) == "Draw a digit here with a mouse, a finger or a pen."
    assert button(sketch_page, "Keep").is_disabled() and button(sketch_page, "Clear").is_disabled()
    blank = sketch_page.locator(SKETCH_CANVAS).evaluate("""canvas => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return data.every(value => value === 255);
    }""")
    assert blank


def test_keep_adds_the_drawing_to_the_results_as_a_card(sketch_page, strokes):
    for number, index in enumerate((SEVEN, TWO), start=1):
        drawing, digit = strokes(index)
        draw_with_mouse(sketch_page, drawing)
        live_reading(sketch_page, digit)
        button(sketch_page, "Keep").click()
        assert hint(sketch_page) == f"Kept as Drawing {number}. Draw another one."
        assert sketch_page.locator(LIVE_CARD).count() == 0
    kept = [card_facts(card) for card in sketch_page.locator(KEPT_CARDS).all()]
    assert [(card["title"], card["digit"]) for card in kept] == [("Drawing 2", "2"), ("Drawing 1", "7")]
    for card in kept:
        assert CONFIDENCE.fullmatch(card["confidence"]) and card["bars"] == 10, card
        assert all(image["loaded"] for image in card["images"]) and len(card["images"]) == 2, card
    drawing, digit = strokes(FOUR)  # a third drawing, left on the pad for the README's screenshot
    draw_with_mouse(sketch_page, drawing)
    live_reading(sketch_page, digit)
    DOCS.mkdir(exist_ok=True)
    wait_until_still(sketch_page)
    sketch_page.screenshot(path=DOCS / "sketch-pad.png", full_page=True)


def test_compare_both_reads_the_drawing_with_both_models(sketch_page, uplink_stand_in, strokes):
    names = [model["name"] for model in uplink_stand_in.call("list_models")]
    sketch_page.get_by_role("combobox", name="Model").select_option(label="Compare both")
    drawing, digit = strokes(SEVEN)
    draw_with_mouse(sketch_page, drawing)
    card = live_reading(sketch_page, digit)
    assert card["traces"] == 2 and card["legend"] == names, card


def test_on_a_phone_a_finger_draws_and_the_page_does_not_scroll(phone_page, uplink_server, app_server, strokes):
    open_app(phone_page, app_server.url)
    canvas = phone_page.locator(SKETCH_CANVAS)
    canvas.scroll_into_view_if_needed()
    assert phone_page.evaluate("getComputedStyle(document.querySelector('%s')).touchAction" % SKETCH_CANVAS) == "none"
    width = phone_page.viewport_size["width"]
    box = canvas.bounding_box()
    assert box["width"] == box["height"] and box["x"] >= 0 and box["x"] + box["width"] <= width

    # An upward swipe on the page beside the pad scrolls it: these touches do reach the page.
    session = phone_page.context.new_cdp_session(phone_page)
    before = phone_page.evaluate("window.scrollY")
    swipe(session, [(4, 700 - step * 25) for step in range(16)])
    phone_page.wait_for_timeout(500)
    assert phone_page.evaluate("window.scrollY") > before
    session.detach()
    canvas.scroll_into_view_if_needed()
    before = phone_page.evaluate("window.scrollY")

    drawing, digit = strokes(ONE)  # a 1: one long vertical stroke, the very gesture that scrolls a page
    draw_with_finger(phone_page, drawing)
    card = live_reading(phone_page, digit)
    assert card["title"] == "Drawing 1" and card["bars"] == 10
    assert phone_page.evaluate("window.scrollY") == before
    assert phone_page.evaluate("visualViewport.scale") == 1
    assert console_problems(phone_page.console_messages) == []


def ink_share(page) -> float:
    """The share of the pad's pixels that are ink."""
    return page.locator(SKETCH_CANVAS).evaluate("""canvas => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let i = 0; i < data.length; i += 4) ink += data[i] < 128;
        return ink / (data.length / 4);
    }""")


def test_a_drawing_survives_the_pad_being_resized(sketch_page, strokes):
    drawing, digit = strokes(SEVEN)
    draw_with_mouse(sketch_page, drawing)
    live_reading(sketch_page, digit)
    drawn = ink_share(sketch_page)
    sketch_page.set_viewport_size({"width": 300, "height": 800})  # narrower than the pad: it shrinks
    sketch_page.wait_for_function(f"document.querySelector('{SKETCH_CANVAS}').width < 280")
    sketch_page.wait_for_timeout(300)
    assert abs(ink_share(sketch_page) - drawn) < 0.25 * drawn  # painted again, to scale, not emptied


def test_without_the_classifier_the_drawing_gets_a_red_card_in_place(page, uplink_server, app_server, strokes):
    uplink_server.stop()
    try:
        page.goto(app_server.url)
        page.locator(SKETCH_CANVAS).wait_for()
        drawing, _ = strokes(SEVEN)
        draw_with_mouse(page, drawing)
        error = page.locator(f"{LIVE_CARD} .anvil-role-error .label-text")
        error.wait_for(timeout=60_000)
        assert error.inner_text().startswith("The classifier is not connected")
        assert hint(page) == "Your drawing could not be read; Clear and try again."
        assert button(page, "Keep").is_disabled() and button(page, "Clear").is_enabled()
    finally:
        uplink_server.start()
        uplink_server.wait_until_ready()
