from ._anvil_designer import ModelFormTemplate
from anvil import *
import anvil.js
import anvil.server

from .. import presentation
from ..accessibility import mark_as_page_heading
from ..ModelReportCard import ModelReportCard


class ModelForm(ModelFormTemplate):
    """The models page: for each model, how it learned and how it does on the MNIST test set."""

    def __init__(self, classify_page=None, **properties):
        self.init_components(**properties)
        self.classify_page = classify_page  # the classify page to go back to, results and all
        mark_as_page_heading(self.title_label)
        self.load_reports()

    def classify_link_click(self, **event_args):
        open_form(self.classify_page or "MainForm")
        anvil.js.window.scrollTo(0, 0)

    def load_reports(self):
        try:
            models = anvil.server.call("list_models")
        except Exception as error:  # most often: the uplink server is not running yet
            self.status_label.text = presentation.error_text(type(error).__name__, str(error))
            return
        for model in models:
            try:
                report = anvil.server.call("model_report", model["id"])
            except Exception as error:  # e.g. no report written for this model yet
                section = presentation.model_error_section(model, type(error).__name__, str(error))
            else:
                section = presentation.model_section(report, model.get("description", ""),
                                                     self.feedback_summary(model["id"]))
            self.reports_panel.add_component(ModelReportCard(section=section))

    def feedback_summary(self, model_id):
        """What people said of this model's answers, or None if the store cannot say just now."""
        try:
            return anvil.server.call("feedback_summary", model_id)
        except Exception:
            return None
