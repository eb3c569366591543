from ._anvil_designer import MainFormTemplate
from anvil import *
import anvil.js
import anvil.server

from .. import presentation
from ..accessibility import mark_as_page_heading, name_dropdown
from ..ModelForm import ModelForm
from ..ResultCard import ResultCard
from ..SketchPad import SketchPad


class MainForm(MainFormTemplate):
    """The classify page: files in (chosen, or dropped anywhere on the page), one result card per file out.

    Every decision about what to show is made in presentation.py; this form only calls the uplink server
    and puts presentation's answers on screen.
    """

    def __init__(self, **properties):
        self.init_components(**properties)
        self.read_dropdown.items = presentation.READ_ITEMS
        self.busy = False
        self.model_names = {}
        self.model_page = None
        self.load_models()
        self.sketch_slot.add_component(SketchPad(read_drawing=self.read_drawing, keep_card=self.keep_card))
        self.accept_dropped_files()
        self.make_inputs_accessible()

    # --- events ----------------------------------------------------------------------------------

    def file_loader_change(self, files, **event_args):
        self.classify_files(files)
        self.file_loader.clear()  # so that choosing the same file again is a change again

    def clear_button_click(self, **event_args):
        self.results_panel.clear()
        self.clear_button.visible = False
        self.status_label.text = ""

    def models_link_click(self, **event_args):
        if self.model_page is None:
            self.model_page = ModelForm(classify_page=self)
        open_form(self.model_page)
        anvil.js.window.scrollTo(0, 0)  # a new page starts at its top, wherever the results had been scrolled to

    def file_loader_keydown(self, event):
        if event.key in ("Enter", " "):
            event.preventDefault()
            self.file_loader.open_file_selector()

    def page_dragover(self, event):
        event.preventDefault()  # without this the browser would open the file in place of the app
        self.drop_zone.role = "drop-zone-active"

    def page_dragleave(self, event):
        self.drop_zone.role = "drop-zone"

    def page_drop(self, event):
        event.preventDefault()
        self.drop_zone.role = "drop-zone"
        dropped = event.dataTransfer.files
        files = [dropped.item(i) for i in range(dropped.length)]
        self.classify_files([anvil.js.to_media(file, name=file.name) for file in files])

    # --- work ------------------------------------------------------------------------------------

    def accept_dropped_files(self):
        # The FileLoader itself only opens a file chooser; files dropped anywhere on the page land here.
        page = anvil.js.get_dom_node(self)
        page.addEventListener("dragover", self.page_dragover)
        page.addEventListener("dragleave", self.page_dragleave)
        page.addEventListener("drop", self.page_drop)

    def make_inputs_accessible(self):
        # Anvil's DropDown carries no label of its own, and its FileLoader is a link around a hidden file
        # input that Enter does not open: name the one, make the other a button the keyboard can press,
        # and let screen readers hear the status line change.
        name_dropdown(self.model_dropdown, self.model_prompt_label.text)
        name_dropdown(self.read_dropdown, self.read_prompt_label.text)
        chooser = anvil.js.get_dom_node(self.file_loader)
        chooser.addEventListener("keydown", self.file_loader_keydown)
        chooser.setAttribute("role", "button")
        anvil.js.get_dom_node(self.status_label).setAttribute("aria-live", "polite")
        mark_as_page_heading(self.title_label)

    def load_models(self):
        try:
            models = anvil.server.call("list_models")
        except Exception as error:  # most often: the uplink server is not running yet
            self.status_label.text = presentation.error_text(type(error).__name__, str(error))
            return
        self.model_names = presentation.model_names(models)
        self.model_dropdown.items = presentation.model_dropdown_items(models)
        self.status_label.text = ""

    def classify_files(self, files):
        """One server call per file, in turn, each card added as soon as its answer is back."""
        if self.busy or not files:
            return
        failed = 0
        self.set_busy(True)
        try:
            place = 0  # the newest files go on top, in the order they were given
            for index, file in enumerate(files):
                self.status_label.text = presentation.progress_text(index, len(files), file.name)
                cards = self.read_file(file)
                failed += 1 if cards[0]["error"] else 0
                for card in cards:
                    shown = ResultCard(card=card)
                    self.results_panel.add_component(shown, index=place)
                    if place == 0:
                        self.reveal(shown)
                    place += 1
        finally:
            self.set_busy(False)
        self.clear_button.visible = True
        self.status_label.text = presentation.finished_text(len(files), failed)

    def reveal(self, card):
        node = anvil.js.get_dom_node(card)
        if presentation.out_of_sight(node.getBoundingClientRect().top, anvil.js.window.innerHeight):
            node.scrollIntoView({"behavior": "smooth", "block": "start"})

    def read_drawing(self, drawing):
        """The sketch pad's drawing (a PNG Media), read as an uploaded file."""
        return self.read_file(drawing)[0]

    def keep_card(self, card):
        self.results_panel.add_component(ResultCard(card=card), index=0)
        self.clear_button.visible = True

    def read_file(self, file):
        """The cards for one file, read as the model and read dropdowns say: one, or a CSV's rows."""
        if not self.model_dropdown.items:
            self.load_models()  # the uplink server may have been started since the page opened
        choice = self.model_dropdown.selected_value
        if self.read_dropdown.selected_value == presentation.WHOLE_NUMBER:
            return [self.read_number(file, choice)]
        if presentation.is_csv(file.name, file.content_type):
            return self.read_rows(file, choice)
        return [self.classify_file(file, choice)]

    def read_rows(self, file, choice):
        """A CSV, one digit per row (or the original single 28 x 28 digit), by each model asked."""
        models = list(self.model_names) if choice == presentation.COMPARE_BOTH else [choice]
        try:
            answers = [anvil.server.call("classify_digits", [file], model) for model in models]
        except Exception as error:
            return [presentation.error_card(file.name, type(error).__name__, str(error))]
        return presentation.table_cards(answers, self.model_names, file.name)

    def classify_file(self, file, choice):
        try:
            try:
                answer = self.ask_server(file, choice)
            except Exception as error:  # once more if the server that had it went away or was restarting
                if not presentation.worth_retrying(type(error).__name__, str(error)):
                    raise
                answer = self.ask_server(file, choice)
        except Exception as error:  # this file gets a red card saying why; the others are still read
            return presentation.error_card(file.name, type(error).__name__, str(error))
        if choice == presentation.COMPARE_BOTH:
            return presentation.comparison_card(answer, self.model_names, upload=file)
        return presentation.result_card(answer, self.model_names, upload=file)

    def read_number(self, file, choice):
        try:
            answer = anvil.server.call("read_number", file, presentation.number_model(choice))
        except Exception as error:
            return presentation.error_card(file.name, type(error).__name__, str(error))
        return presentation.number_card(answer, self.model_names, upload=file)

    def ask_server(self, file, choice):
        if choice == presentation.COMPARE_BOTH:
            return anvil.server.call("compare_models", file)
        return anvil.server.call("classify_digit", file, choice)

    def set_busy(self, busy):
        # Anvil shows its spinner during each server call; between calls the inputs stay off.
        self.busy = busy
        self.file_loader.enabled = not busy
        self.model_dropdown.enabled = not busy
        self.read_dropdown.enabled = not busy
        self.clear_button.enabled = not busy
