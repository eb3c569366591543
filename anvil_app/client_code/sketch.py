"""The sketch pad's decisions, in plain Python: the pen, the strokes, when to read, and what it shows.

Like presentation.py this runs both in the browser (Anvil's Skulpt) and under pytest, so it imports
nothing; the SketchPad form only wires the Canvas, its buttons and its Timer to these.
"""

SIDE = 280  # the drawing area's side in CSS pixels (smaller on a narrow phone)
PEN_SHARE = 14  # pen width = side / 14: 20 px on 280, so strokes match MNIST's once scaled to 28 x 28
INK = "#141414"
PAPER = "#FFFFFF"
READ_DELAY = 0.4  # seconds after the last stroke ends: a quick next stroke joins the same read

EMPTY, READING, RESULT, ERROR = "empty", "reading", "result", "error"

HINTS = {
    EMPTY: "Draw a digit here with a mouse, a finger or a pen.",
    READING: "Reading your drawing...",
    RESULT: "Keep drawing to change it, Keep to add it to the results, or Clear to start again.",
    ERROR: "Your drawing could not be read; Clear and try again.",
}


def pen_width(side: float) -> float:
    return max(1.0, side / PEN_SHARE)


def drawing_name(number: int) -> str:
    """The card name of the number-th drawing kept: "Drawing 1"."""
    return "Drawing {}".format(number)


def view(state: str, kept: int = 0, has_result: bool = False) -> dict:
    """What the pad shows in `state`: the hint under it, which buttons work, whether the live card shows.

    `kept`: drawings kept so far (once one is kept, an empty pad says so); `has_result`: a reading of
    this drawing is on screen, which stays while a newer one is being read.
    """
    hint = HINTS[state]
    if state == EMPTY and kept:
        hint = "Kept as {}. Draw another one.".format(drawing_name(kept))
    return {"hint": hint, "clear_enabled": state != EMPTY, "keep_enabled": state == RESULT,
            "show_result": state in (RESULT, ERROR) or (state == READING and has_result)}


class Strokes:
    """What has been drawn, as strokes of points in fractions of the side (0..1), so the drawing can be
    drawn again at another size when the canvas is reset (a resize, a phone turned)."""

    def __init__(self):
        self.strokes = []
        self.drawing = False

    def start(self, x, y, side):
        self.strokes.append([(x / side, y / side)])
        self.drawing = True

    def extend(self, x, y, side):
        """Add a point to the stroke under way; returns the segment to draw ((x0, y0), (x1, y1)) in pixels."""
        if not self.drawing:
            return None
        stroke = self.strokes[-1]
        last = stroke[-1]
        stroke.append((x / side, y / side))
        return (last[0] * side, last[1] * side), (x, y)

    def end(self) -> bool:
        """The stroke under way is finished; whether there was one."""
        ended, self.drawing = self.drawing, False
        return ended

    def clear(self):
        self.strokes, self.drawing = [], False

    def is_empty(self) -> bool:
        return not self.strokes

    def in_pixels(self, side):
        """Every stroke's points in pixels for a canvas `side` wide."""
        return [[(x * side, y * side) for x, y in stroke] for stroke in self.strokes]


class ReadScheduler:
    """Decides when the drawing is sent to be read: when the Timer ticks READ_DELAY after a stroke ended,
    never while a stroke is under way or another read is out, and again after a read if the drawing
    changed meanwhile. A stroke begun before the tick holds the read back until it ends, which restarts
    the delay: two quick strokes make one call.

    The form restarts its Timer whenever stroke_ended() or read_finished() answer True and calls
    tick() when it fires; tick() answering a number means "read now", the number naming that read.
    """

    def __init__(self):
        self.changes = 0  # strokes ended since the pad was last cleared
        self.sent = 0  # how many of them the last read sent saw
        self.stroking = False
        self.out = None  # the read out now, if any
        self.reads = 0

    def stroke_started(self):
        self.stroking = True

    def stroke_ended(self) -> bool:
        self.stroking = False
        self.changes += 1
        return True

    def tick(self):
        if self.stroking or self.out is not None or self.changes == self.sent:
            return None
        self.reads += 1
        self.out, self.sent = self.reads, self.changes
        return self.out

    def read_finished(self, read) -> tuple:
        """(show its answer?, restart the timer?) for the read numbered `read`, now answered. An answer
        to a drawing since cleared is not shown."""
        current = read == self.out
        if current:
            self.out = None
        return current, current and self.changes != self.sent

    def cleared(self):
        self.changes = self.sent = 0
        self.stroking = False
        self.out = None  # whatever is still out is for a drawing no longer there
