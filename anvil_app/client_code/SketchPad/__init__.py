from ._anvil_designer import SketchPadTemplate
import anvil
import anvil.js
import anvil.server

from .. import sketch
from ..ResultCard import ResultCard


class SketchPad(SketchPadTemplate):
    """A square to draw a digit on, read as it is drawn; Keep adds the reading to the results.

    `read_drawing(media)` gives the card for a PNG Media (the classify page reads it as it reads an
    upload); `keep_card(card)` adds a card to the results. When to read and what to show is decided in
    sketch.py; this form draws, and wires the Canvas, the buttons and the Timer to it.
    """

    def __init__(self, read_drawing, keep_card, **properties):
        self.init_components(**properties)
        self.read_drawing, self.keep_card = read_drawing, keep_card
        self.strokes = sketch.Strokes()
        self.scheduler = sketch.ReadScheduler()
        self.kept = 0
        self.card = None
        canvas = anvil.js.get_dom_node(self.canvas)
        canvas.setAttribute("role", "img")
        canvas.setAttribute("aria-label", "Drawing area: draw one digit")
        hint = anvil.js.get_dom_node(self.hint_label)
        hint.setAttribute("aria-live", "polite")  # "Reading your drawing...", "Kept as Drawing 1. ..."
        hint.setAttribute("data-testid", "sketch-hint")
        self.show(sketch.EMPTY)

    # --- drawing ---------------------------------------------------------------------------------

    def canvas_reset(self, **event_args):
        # The runtime empties the canvas whenever its size is set (added to the page, resized): paint it again.
        self.paint()

    def canvas_mouse_down(self, x, y, **event_args):
        self.strokes.start(x, y, self.canvas.get_width())
        self.scheduler.stroke_started()
        self.read_timer.interval = 0
        self.pen()
        self.segment((x, y), (x, y))  # a dot, even if the pen does not move

    def canvas_mouse_move(self, x, y, **event_args):
        segment = self.strokes.extend(x, y, self.canvas.get_width())
        if segment is not None:
            self.segment(*segment)

    def canvas_mouse_up(self, **event_args):
        self.end_stroke()

    def canvas_mouse_leave(self, **event_args):
        self.end_stroke()

    def end_stroke(self):
        if self.strokes.end() and self.scheduler.stroke_ended():
            self.restart_timer()
            self.show(sketch.READING)

    def pen(self):
        side = self.canvas.get_width()
        self.canvas.stroke_style = sketch.INK
        self.canvas.line_width = sketch.pen_width(side)
        self.canvas.line_cap = "round"
        self.canvas.line_join = "round"

    def segment(self, start, end):
        self.canvas.begin_path()
        self.canvas.move_to(*start)
        self.canvas.line_to(*end)
        self.canvas.stroke()

    def paint(self):
        side = self.canvas.get_width()
        self.canvas.fill_style = sketch.PAPER
        self.canvas.fill_rect(0, 0, side, self.canvas.get_height())
        self.pen()
        for stroke in self.strokes.in_pixels(side):
            self.canvas.begin_path()
            self.canvas.move_to(*stroke[0])
            for point in stroke:
                self.canvas.line_to(*point)
            self.canvas.stroke()

    # --- reading ---------------------------------------------------------------------------------

    def restart_timer(self):
        self.read_timer.interval = 0
        self.read_timer.interval = sketch.READ_DELAY

    def read_timer_tick(self, **event_args):
        self.read_timer.interval = 0
        read = self.scheduler.tick()
        if read is None:
            return
        image = self.canvas.get_image().get_bytes()
        drawing = anvil.BlobMedia("image/png", image, name=sketch.drawing_name(self.kept + 1))
        try:
            with anvil.server.no_loading_indicator:  # no spinner over the page at every stroke
                card = self.read_drawing(drawing)
        finally:  # whatever happened, this read is no longer out
            shown, again = self.scheduler.read_finished(read)
        if again:
            self.restart_timer()
        if shown:
            self.card = card
            self.live_panel.clear()
            self.live_panel.add_component(ResultCard(card=card))
            self.show(sketch.READING if again else sketch.ERROR if card["error"] else sketch.RESULT)

    # --- buttons ---------------------------------------------------------------------------------

    def clear_sketch_button_click(self, **event_args):
        self.clear()

    def keep_button_click(self, **event_args):
        self.keep_card(self.card)
        self.kept += 1
        self.clear()

    def clear(self):
        self.read_timer.interval = 0
        self.strokes.clear()
        self.scheduler.cleared()
        self.card = None
        self.live_panel.clear()
        self.paint()
        self.show(sketch.EMPTY)

    def show(self, state):
        shown = sketch.view(state, self.kept, has_result=self.card is not None)
        self.hint_label.text = shown["hint"]
        self.clear_sketch_button.enabled = shown["clear_enabled"]
        self.keep_button.enabled = shown["keep_enabled"]
        self.live_panel.visible = shown["show_result"]
