from ._anvil_designer import ResultCardTemplate
import anvil.js
import anvil.media
import anvil.server

from .. import presentation
from ..accessibility import name_dropdown


class ResultCard(ResultCardTemplate):
    """One uploaded file's card. `card` is a dict made by presentation.result_card, comparison_card or
    error_card; this form only copies it onto the components."""

    def __init__(self, card, **properties):
        self.init_components(**properties)
        failed = bool(card["error"])

        self.file_name_label.text = card["title"]
        self.uploaded_image.source = card["upload"]
        self.uploaded_image.visible = card["upload"] is not None and not failed and not card["chart_over_upload"]
        self.uploaded_image.alt_text = card["upload_alt"]

        self.digit_label.text = card["digit"]
        self.confidence_label.text = card["confidence"]
        self.digit_label.visible = not failed and bool(card["digit"])  # a CSV's summary card has none
        self.confidence_label.visible = not failed
        self.detail_label.text = card["detail"]
        self.detail_label.visible = bool(card["detail"])

        self.preview_image.source = card["preview"]
        self.preview_caption_label.text = card["preview_caption"]
        self.preview_image.visible = self.preview_caption_label.visible = card["preview"] is not None

        self.card = card
        chart = card["chart"]
        # With small bars beside the digit, the full chart is folded until asked for ("Show chart").
        folded = card["bars"] is not None
        self.probability_plot.visible = chart is not None and not folded
        if chart is not None and not folded:
            self.draw_chart()
        self.bars_plot.visible = folded
        self.chart_link.visible = folded
        if folded:
            self.draw(self.bars_plot, card["bars"], card["chart_description"])
        self.why_link.visible = bool(card["explain_ids"])
        self.links_panel.visible = folded or bool(card["explain_ids"])
        self.explanations = None  # fetched at the first "Why?", then kept

        self.warnings_label.text = card["warnings"]
        self.warnings_label.visible = bool(card["warnings"])
        self.error_label.text = card["error"]
        self.error_label.visible = failed

        self.result_ids = card["result_ids"]
        self.confirm_digit = card["confirm_digit"]
        self.feedback_panel.visible = bool(self.result_ids)
        self.right_button.visible = self.confirm_digit is not None
        self.wrong_dropdown.items = presentation.feedback_digit_items()
        name_dropdown(self.wrong_dropdown, presentation.WRONG_DIGIT_NAME)
        self.feedback_label.text = card["feedback_note"]
        self.feedback_label.visible = bool(card["feedback_note"])

    def draw(self, plot, chart, description):
        plot.data = chart["data"]
        plot.layout = chart["layout"]
        plot.config = chart["config"]
        # Plotly draws an SVG that says nothing to a screen reader: one image, described in words.
        node = anvil.js.get_dom_node(plot)
        node.setAttribute("role", "img")
        node.setAttribute("aria-label", description)

    def draw_chart(self):
        chart = self.card["chart"]
        if self.card["chart_over_upload"]:  # kept for the card's life: the chart shows it for as long
            chart = presentation.over_upload(chart, anvil.media.TempUrl(self.card["upload"]).url)
        self.draw(self.probability_plot, chart, self.card["chart_description"])

    def chart_link_click(self, **event_args):
        shown = not self.probability_plot.visible
        if shown and not self.probability_plot.data:
            self.draw_chart()
        self.probability_plot.visible = shown
        self.chart_link.text = presentation.chart_toggle_text(shown)

    def why_link_click(self, **event_args):
        if self.why_plot.visible or self.why_label.text == presentation.WORKING_OUT:
            self.why_plot.visible = self.why_label.visible = self.why_key_label.visible = False
            self.why_label.text = ""
            self.why_link.text = presentation.WHY
            return
        self.why_link.text = presentation.HIDE_WHY
        self.why_label.text = presentation.WORKING_OUT
        self.why_label.visible = True
        if self.explanations is None:
            try:
                self.explanations = [self.explain_with_one_retry(result_id) for result_id in self.card["explain_ids"]]
            except Exception as error:
                self.why_label.text = presentation.error_text(type(error).__name__, str(error))
                return
        view = presentation.why_view(self.explanations, self.card["model_names"])
        self.why_plot.visible = self.why_key_label.visible = True
        self.draw(self.why_plot, view["figure"], view["description"])
        self.why_label.text = view["text"]
        self.why_key_label.text = view["key"]

    def explain_with_one_retry(self, result_id):
        try:
            return anvil.server.call("explain", result_id)
        except Exception as error:
            if not presentation.worth_retrying(type(error).__name__, str(error)):
                raise
            return anvil.server.call("explain", result_id)

    def right_button_click(self, **event_args):
        self.send_feedback(self.confirm_digit)

    def wrong_dropdown_change(self, **event_args):
        if self.wrong_dropdown.selected_value is not None:
            self.send_feedback(self.wrong_dropdown.selected_value)

    def send_feedback(self, digit):
        """record_feedback for each result on the card (one per model when comparing), retried once
        if the server that took it went away; then a thank-you, or why it could not be saved."""
        self.feedback_label.text = presentation.SAVING
        try:
            for result_id in self.result_ids:
                answer = self.record_with_one_retry(result_id, digit)
        except Exception as error:
            self.feedback_label.text = presentation.error_text(type(error).__name__, str(error))
            return
        self.feedback_panel.visible = False
        self.feedback_label.text = presentation.feedback_thanks(answer)

    def record_with_one_retry(self, result_id, digit):
        try:
            return anvil.server.call("record_feedback", result_id, digit)
        except Exception as error:
            if not presentation.worth_retrying(type(error).__name__, str(error)):
                raise
            return anvil.server.call("record_feedback", result_id, digit)
