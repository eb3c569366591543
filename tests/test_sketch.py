"""The sketch pad's decisions (anvil_app/client_code/sketch.py) in plain Python: the pen, the strokes kept
for redrawing, when a drawing is read, and what the pad shows. The pad itself, in Anvil's runtime in
Chromium, is tests/test_sketch_pad.py."""

import ast

from client_code import CLIENT_CODE, load_client_module


sketch = load_client_module("sketch")


def test_it_imports_nothing_so_it_runs_in_the_browser_as_it_runs_here():
    tree = ast.parse((CLIENT_CODE / "sketch.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_the_pen_is_a_fourteenth_of_the_side():
    assert sketch.pen_width(280) == 20  # the page's pad: MNIST's stroke once the drawing is 28 x 28
    assert sketch.pen_width(140) == 10  # a narrow phone's pad draws in proportion
    assert sketch.pen_width(7) == 1  # never thinner than a pixel


def test_drawings_are_named_as_cards():
    assert [sketch.drawing_name(n) for n in (1, 2, 12)] == ["Drawing 1", "Drawing 2", "Drawing 12"]


# --- strokes -------------------------------------------------------------------------------------------


def test_strokes_are_kept_in_fractions_and_drawn_again_at_any_size():
    strokes = sketch.Strokes()
    assert strokes.is_empty()
    strokes.start(28, 56, side=280)
    assert strokes.extend(56, 56, side=280) == ((28, 56), (56, 56))  # the segment to draw, in pixels
    assert strokes.extend(56, 84, side=280) == ((56, 56), (56, 84))
    assert strokes.end() is True
    assert strokes.in_pixels(140) == [[(14, 28), (28, 28), (28, 42)]]  # the canvas shrank: same drawing
    assert not strokes.is_empty()


def test_moving_without_the_button_down_draws_nothing():
    strokes = sketch.Strokes()
    assert strokes.extend(10, 10, side=280) is None
    strokes.start(10, 10, side=280)
    strokes.end()
    assert strokes.extend(20, 20, side=280) is None  # after the stroke ended
    assert strokes.end() is False  # leaving the pad with no stroke under way ends nothing
    assert strokes.in_pixels(280) == [[(10, 10)]]  # a click is a dot


def test_clear_forgets_every_stroke():
    strokes = sketch.Strokes()
    strokes.start(1, 1, side=280)
    strokes.clear()
    assert strokes.is_empty() and strokes.extend(5, 5, side=280) is None


# --- when to read ----------------------------------------------------------------------------------


def test_nothing_is_read_before_a_stroke_ends():
    scheduler = sketch.ReadScheduler()
    assert scheduler.tick() is None  # an empty pad
    scheduler.stroke_started()
    assert scheduler.tick() is None  # still drawing


def test_a_stroke_that_ends_is_read_once_when_the_timer_ticks():
    scheduler = sketch.ReadScheduler()
    scheduler.stroke_started()
    assert scheduler.stroke_ended() is True  # start the timer
    read = scheduler.tick()
    assert read is not None
    assert scheduler.tick() is None  # one read out at a time, and nothing new to read
    assert scheduler.read_finished(read) == (True, False)  # show it; nothing changed meanwhile
    assert scheduler.tick() is None


def test_two_quick_strokes_make_one_read():
    scheduler = sketch.ReadScheduler()
    scheduler.stroke_started()
    scheduler.stroke_ended()
    scheduler.stroke_started()  # the second stroke begins before the timer fires ...
    assert scheduler.tick() is None  # ... so its tick reads nothing
    scheduler.stroke_ended()  # and its end restarts the timer
    reads = [scheduler.tick(), scheduler.tick()]
    assert reads[0] is not None and reads[1] is None


def test_a_stroke_drawn_while_a_read_is_out_is_read_after_it():
    scheduler = sketch.ReadScheduler()
    scheduler.stroke_started()
    scheduler.stroke_ended()
    first = scheduler.tick()
    scheduler.stroke_started()
    scheduler.stroke_ended()
    assert scheduler.tick() is None  # the first read is still out
    assert scheduler.read_finished(first) == (True, True)  # show it, and start the timer again
    second = scheduler.tick()
    assert second is not None and second != first
    assert scheduler.read_finished(second) == (True, False)


def test_a_reading_that_comes_back_after_clear_is_not_shown():
    scheduler = sketch.ReadScheduler()
    scheduler.stroke_started()
    scheduler.stroke_ended()
    read = scheduler.tick()
    scheduler.cleared()
    assert scheduler.read_finished(read) == (False, False)
    assert scheduler.tick() is None  # the empty pad is not read


# --- what the pad shows --------------------------------------------------------------------------------


def test_an_empty_pad_invites_drawing_and_offers_no_buttons():
    shown = sketch.view(sketch.EMPTY)
    assert shown == {"hint": "Draw a digit here with a mouse, a finger or a pen.", "clear_enabled": False,
                     "keep_enabled": False, "show_result": False}


def test_once_a_drawing_is_kept_the_empty_pad_says_under_what_name():
    assert sketch.view(sketch.EMPTY, kept=2)["hint"] == "Kept as Drawing 2. Draw another one."


def test_only_a_reading_on_screen_can_be_kept():
    assert sketch.view(sketch.RESULT, has_result=True)["keep_enabled"]
    for state in (sketch.EMPTY, sketch.READING, sketch.ERROR):
        assert not sketch.view(state, has_result=True)["keep_enabled"], state


def test_while_a_newer_drawing_is_read_the_last_reading_stays():
    assert not sketch.view(sketch.READING)["show_result"]  # the first read: nothing to show yet
    assert sketch.view(sketch.READING, has_result=True)["show_result"]
    assert sketch.view(sketch.READING)["hint"] == "Reading your drawing..."
    assert sketch.view(sketch.READING)["clear_enabled"]


def test_a_drawing_that_could_not_be_read_shows_its_red_card_and_can_be_cleared():
    shown = sketch.view(sketch.ERROR, has_result=True)
    assert shown["show_result"] and shown["clear_enabled"] and not shown["keep_enabled"]
    assert "could not be read" in shown["hint"]
