from ._anvil_designer import ModelReportCardTemplate
from anvil import *


class ModelReportCard(ModelReportCardTemplate):
    """One model's section of the models page. `section` is a dict made by presentation.model_section
    (or model_error_section); this form only copies it onto the components."""

    def __init__(self, section, **properties):
        self.init_components(**properties)
        self.name_label.text = section["name"]
        for label, text in ((self.description_label, section["description"]),
                            (self.facts_label, section["facts"]),
                            (self.mistakes_label, section["mistakes"]),
                            (self.error_label, section["error"])):
            label.text = text
            label.visible = bool(text)
        self.corrections_label.text = section["corrections"]
        self.corrections_label.visible = self.corrections_heading.visible = bool(section["corrections"])

        for figure in section["figures"]:
            self.figures_panel.add_component(Label(text=figure["title"], role="subheading", spacing_above="large"))
            self.figures_panel.add_component(Image(source=figure["image"], display_mode="fill_width",
                                                       alt_text=figure["alt"]))
            self.figures_panel.add_component(Label(text=figure["caption"], role="caption"))
