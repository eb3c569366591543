"""The Anvil app in anvil_app/: its files, its presentation functions, and its pages driven end to end.

The browser side of Anvil cannot run here, so `anvil_browser.Browser` stands in for it (components built
from the form templates, anvil.server.call running the real uplink functions in this process). Everything
else is real: the uplink server's functions, the Engine with the trained models, the sample files.
"""

import ast
import contextlib
import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from PIL import Image

from anvil_browser import COMPONENT_SPECS, UNIVERSAL_EVENTS, Browser, form_class, form_templates, parse
from anvil_browser import self_attributes, server_calls, template_components

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "anvil_app"
CLIENT_CODE = APP / "client_code"
THEME = APP / "theme"
SAMPLES = REPO / "samples"
FORMS = form_templates(CLIENT_CODE)
FORM_API = {"init_components", "add_component", "get_components", "clear", "raise_event", "set_event_handler",
            "add_event_handler", "remove_from_parent", "parent", "item", "visible", "role"}


def form_code(form_name: str) -> ast.Module:
    return parse(CLIENT_CODE / form_name.replace(".", "/") / "__init__.py")


def load_presentation():
    """presentation.py as plain CPython imports it: on its own, no Anvil anywhere."""
    spec = importlib.util.spec_from_file_location("presentation", CLIENT_CODE / "presentation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


presentation = load_presentation()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- the app's files ---------------------------------------------------------------------------------


def anvil_yaml() -> dict:
    return yaml.safe_load((APP / "anvil.yaml").read_text())


def test_anvil_yaml_describes_a_classic_material_design_app():
    app = anvil_yaml()
    assert app["name"] and app["package_name"].isidentifier()
    assert app["runtime_options"]["version"] == 2 and app["runtime_options"]["client_version"] == "3"
    assert app["startup"]["type"] == "form"
    for key in ("services", "dependencies", "allow_embedding", "db_schema", "native_deps"):
        assert key in app


def test_startup_form_exists():
    startup = anvil_yaml()["startup"]["module"]
    assert startup in FORMS
    assert form_class(form_code(startup), startup)


def test_every_yaml_file_of_the_app_parses():
    files = [APP / "anvil.yaml", THEME / "parameters.yaml", THEME / "templates.yaml",
             *CLIENT_CODE.rglob("form_template.yaml")]
    for path in files:
        assert yaml.safe_load(path.read_text()), path
    assert len(FORMS) >= 4  # MainForm, ModelForm, ResultCard, ModelReportCard


@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_form_code_is_the_class_its_template_designs(form_name):
    module = form_code(form_name)
    cls = form_class(module, form_name)
    assert [ast.unparse(base) for base in cls.bases] == [f"{form_name}Template"]
    assert any(isinstance(node, ast.ImportFrom) and node.module == "_anvil_designer" and node.level == 1
               for node in module.body)


@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_template_components_are_real_anvil_components(form_name):
    template = FORMS[form_name]
    container = template["container"]
    assert container["type"] in COMPONENT_SPECS
    names = [c["name"] for c in template_components(template)]
    assert len(names) == len(set(names)) and all(name.isidentifier() for name in names)
    # Building the form's components checks every type, property and layout property against Anvil's.
    handlers = {handler: lambda self, **event_args: None
                for component in [container, *template_components(template)]
                for handler in component.get("event_bindings", {}).values()}
    with Browser(APP, {}) as browser:
        designer = sys.modules[f"{browser.package}.{form_name}._anvil_designer"]
        blank_form = type(form_name, (getattr(designer, f"{form_name}Template"),), handlers)
        blank_form().init_components()


@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_event_handlers_named_in_the_template_exist_on_the_form(form_name):
    template = FORMS[form_name]
    cls = form_class(form_code(form_name), form_name)
    methods = {node.name: node for node in cls.body if isinstance(node, ast.FunctionDef)}
    bound = [(template["container"]["type"], template["container"].get("event_bindings", {}))]
    bound += [(c["type"], c.get("event_bindings", {})) for c in template_components(template)]
    for component_type, bindings in bound:
        for event, handler in bindings.items():
            assert event in COMPONENT_SPECS[component_type][2] | UNIVERSAL_EVENTS, (component_type, event)
            assert handler in methods, f"{form_name}.{handler} is named in the template but not defined"
            assert methods[handler].args.kwarg is not None, f"{handler} must take **event_args"


@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_components_the_code_uses_are_declared_in_the_template(form_name):
    cls = form_class(form_code(form_name), form_name)
    read, assigned = self_attributes(cls)
    methods = {node.name for node in cls.body if isinstance(node, ast.FunctionDef)}
    declared = {c["name"] for c in template_components(FORMS[form_name])}
    undeclared = read - assigned - methods - declared - FORM_API
    assert not undeclared, f"{form_name} uses self.{', self.'.join(sorted(undeclared))}, which its template lacks"


def test_server_calls_name_functions_the_uplink_server_registers(registered):
    names = set()
    for path in CLIENT_CODE.rglob("*.py"):
        for argument in server_calls(parse(path)):
            assert isinstance(argument, ast.Constant), f"{path.name}: call a server function by its literal name"
            names.add(argument.value)
    assert names, "the app calls no server function"
    assert names <= set(registered), f"not registered by uplink_server: {names - set(registered)}"
    assert {"list_models", "classify_digit", "compare_models", "model_report"} <= names


def test_roles_used_are_declared_in_the_theme():
    roles = {role["name"]: set(role["components"])
             for role in yaml.safe_load((THEME / "parameters.yaml").read_text())["roles"]}
    for form_name, template in FORMS.items():
        for component in [template["container"], *template_components(template)]:
            role = component.get("properties", {}).get("role")
            if role:
                assert component["type"] in roles.get(role, ()), (form_name, component.get("name"), role)
    for path in CLIENT_CODE.rglob("*.py"):
        for node in ast.walk(parse(path)):
            value = None
            if isinstance(node, ast.Assign) and any(ast.unparse(t).endswith(".role") for t in node.targets):
                value = node.value
            elif isinstance(node, ast.keyword) and node.arg == "role":
                value = node.value
            if isinstance(value, ast.Constant):
                assert value.value in roles, f"{path.name}: role {value.value!r} is not in theme/parameters.yaml"


def test_theme_has_the_page_template_and_the_colours_its_css_names():
    for template in FORMS.values():
        html = template["container"].get("properties", {}).get("html", "")
        if html.startswith("@theme:"):
            assert (THEME / "assets" / html.removeprefix("@theme:")).is_file(), html
    page = (THEME / "assets" / "standard-page.html").read_text()
    for slot in ("title", "nav-right", "default"):
        assert f'anvil-slot="{slot}"' in page or f'anvil-slot-repeat="{slot}"' in page, slot
    scheme = yaml.safe_load((THEME / "parameters.yaml").read_text())["color_scheme"]
    colours = {colour["name"] for colour in scheme["colors"]}
    used = set(re.findall(r"%color:([^%]+)%", (THEME / "assets" / "theme.css").read_text()))
    assert used and used <= colours, used - colours


def test_client_code_imports_only_what_runs_in_the_browser():
    """Anvil's client Python (Skulpt) has no dataclasses, numpy or the like; presentation.py needs nothing."""
    imports = (ast.Import, ast.ImportFrom)
    assert not [node for node in ast.walk(parse(CLIENT_CODE / "presentation.py")) if isinstance(node, imports)]
    allowed = {"anvil", "anvil.server", "anvil.js"}
    for path in CLIENT_CODE.rglob("__init__.py"):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Import):
                assert {alias.name for alias in node.names} <= allowed, path
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module in allowed, path


# --- the real uplink server, in this process ---------------------------------------------------------


@pytest.fixture(scope="module")
def registered():
    """{name: function} of every function uplink_server registers with anvil.server.callable."""
    from anvil import _server as uplink_library

    from uplink_server import functions

    return {name: function for name, function in uplink_library.registrations.items()
            if function.__module__ == functions.__name__}


def models_dir() -> Path:
    """Where `digits serve` would load the models from: $DIGITS_MODELS_DIR, else the models package."""
    import models

    return Path(os.environ.get("DIGITS_MODELS_DIR") or models.MODELS_DIR)


@pytest.fixture(scope="module")
def engine():
    import models
    from digits.engine import Engine

    model_ids = tuple(m for m in models.MODEL_IDS if models.model_path(m, models_dir()).exists())
    if "cnn" not in model_ids:
        pytest.skip(f"no trained CNN in {models_dir()} yet")
    with Engine(model_ids, models_dir()) as engine:
        yield engine


@contextlib.contextmanager
def serving(engine, reports_dir):
    """The uplink functions attached to `engine`, as `digits serve` attaches them; detached afterwards."""
    from digits.feedback_store import FeedbackStore
    from uplink_server import functions
    from uplink_server.feedback import FeedbackDesk, model_checksums
    from uplink_server.inflight import InFlightCalls
    from uplink_server.result_tokens import ResultSigner

    before = functions._service  # no public way to detach; put back whatever was there
    data_dir = Path(tempfile.mkdtemp(prefix="digits-feedback-"))
    store = FeedbackStore(f"sqlite:///{data_dir / 'feedback.sqlite3'}")
    feedback = FeedbackDesk(ResultSigner("test-feedback-key"), store, model_checksums(models_dir(), engine.model_ids))
    functions.attach(engine, Path(reports_dir), InFlightCalls(), feedback=feedback)
    try:
        yield
    finally:
        functions._service = before
        store.close()
        shutil.rmtree(data_dir)


@pytest.fixture(scope="module")
def uplink(engine, registered, reports_dir):
    with serving(engine, reports_dir):
        yield registered


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory):
    """The models' reports as `digits serve` finds them, else a quick one made from MNIST if it is at
    hand, else none."""
    import models

    if (models_dir() / "reports" / "cnn" / "summary.json").is_file():
        return models_dir() / "reports"
    data = os.environ.get("DIGITS_MNIST_NPZ")
    if not data or not Path(data).is_file() or not models.card_path("cnn", models_dir()).is_file():
        return tmp_path_factory.mktemp("no-reports")
    from training.report import write_report

    folder = tmp_path_factory.mktemp("reports")
    write_report("cnn", folder / "cnn", data=data, models_dir=models_dir(), limit=600)
    return folder


def sample_media(name: str):
    import anvil

    path = SAMPLES / name
    return anvil.BlobMedia(Browser.file(path).content_type, path.read_bytes(), name=name)


def server_error(function, *args) -> tuple[str, str]:
    """(type name, message) of the exception a server function raises, as the page gets it."""
    with pytest.raises(Exception) as raised:
        function(*args)
    return "AnvilWrappedError", getattr(raised.value, "message", None) or str(raised.value)


# --- presentation, on real server results ------------------------------------------------------------


def test_result_card_of_a_real_classification(uplink):
    result = uplink["classify_digit"](sample_media("seven-paper.png"), "cnn")
    card = presentation.result_card(result, presentation.model_names(uplink["list_models"]()))

    assert card["digit"] == "7" == str(result["digit"])
    assert card["confidence"] == presentation.percent(result["confidence"]) + " sure"
    assert re.fullmatch(r"(\d{1,2}\.\d|>99\.9)% sure", card["confidence"])
    assert card["title"] == "seven-paper.png" and card["error"] == "" and card["warnings"] == ""
    assert card["preview"] is result["preview"] and card["preview"].get_bytes().startswith(b"\x89PNG")

    (trace,) = card["chart"]["data"]
    assert trace["type"] == "bar" and trace["x"] == [str(d) for d in range(10)]
    assert sum(trace["y"]) == pytest.approx(100, abs=0.1)
    assert max(range(10), key=trace["y"].__getitem__) == 7
    colours = trace["marker"]["color"]
    assert [d for d, colour in enumerate(colours) if colour == presentation.HIGHLIGHT_COLOR] == [7]


def test_warnings_text_of_a_real_blank_page(uplink):
    import anvil

    blank = anvil.BlobMedia("image/png", png(Image.new("L", (200, 150), 255)), name="blank.png")
    result = uplink["classify_digit"](blank, "cnn")
    card = presentation.result_card(result, {})
    assert result["warnings"]
    assert card["warnings"].splitlines() == [f"Note: {warning}" for warning in result["warnings"]]


def test_error_text_of_a_real_unreadable_file(uplink):
    import anvil

    broken = anvil.BlobMedia("image/png", b"\x89PNG\r\n\x1a\n but the rest is gone", name="broken.png")
    error_type, message = server_error(uplink["classify_digit"], broken, "cnn")
    card = presentation.error_card("broken.png", error_type, message)
    assert card["error"] == message.strip() and "broken.png" in message
    assert card["digit"] == "" and card["chart"] is None and card["preview"] is None
    assert "Traceback" not in message


def test_error_text_when_no_server_is_connected():
    message = 'No server function matching "classify_digit" has been registered'
    assert presentation.error_text("NoServerFunctionError", message) == presentation.NOT_CONNECTED
    assert "digits serve" in presentation.NOT_CONNECTED


def test_model_dropdown_items_from_real_list_models(uplink):
    models = uplink["list_models"]()
    items = presentation.model_dropdown_items(models)
    values = [value for _, value in items]
    assert values[:len(models)] == [model["id"] for model in models]
    assert (values[len(models):] == [presentation.COMPARE_BOTH]) == (len(models) >= 2)
    for (label, _), model in zip(items, models):
        assert label.startswith(model["name"])
        if model["test_accuracy"] is not None:
            assert presentation.percent(model["test_accuracy"]) in label


def test_comparison_card_of_real_results(uplink):
    comparison = uplink["compare_models"](sample_media("nine.csv"))
    names = presentation.model_names(uplink["list_models"]())
    card = presentation.comparison_card(comparison, names)
    results = comparison["results"]
    assert len(card["chart"]["data"]) == len(results)
    for trace, result in zip(card["chart"]["data"], results):
        assert trace["name"] == names[result["model"]]
        assert presentation.confidence_text(result["confidence"]) in card["confidence"]
        assert trace["marker"]["opacity"][result["digit"]] == 1.0 and sorted(trace["marker"]["opacity"])[-2] < 1.0
    assert card["digit"].split(" or ") == list(dict.fromkeys(str(r["digit"]) for r in results))
    assert card["upload"] is None  # a CSV is not a picture the page can show


def test_agreement_text_says_which_model_said_what(uplink):
    seven = uplink["classify_digit"](sample_media("seven-paper.png"), "cnn")
    nine = uplink["classify_digit"](sample_media("nine.csv"), "cnn")
    names = {"cnn": "CNN", "vit": "Vision Transformer"}
    # Two real verdicts that differ, presented as if two models had given them.
    disagreeing = [seven, dict(nine, model="vit")]
    assert presentation.agreement_text(disagreeing, names) == (
        f"The models disagree: CNN says {seven['digit']}, Vision Transformer says {nine['digit']}.")
    agreeing = [seven, dict(seven, model="vit")]
    assert presentation.agreement_text(agreeing, names) == f"Both models say {seven['digit']}."


def test_percentages_never_claim_certainty():
    assert presentation.percent(0.987) == "98.7%"
    assert presentation.percent(0.99949) == "99.9%"
    assert presentation.percent(0.99996) == ">99.9%"
    assert presentation.percent(1.0, 2) == ">99.99%"
    assert presentation.confidence_text(0.5) == "50.0% sure"


def test_model_section_of_a_real_report(uplink, reports_dir):
    if not (Path(reports_dir) / "cnn" / "summary.json").is_file():
        pytest.skip("no model report (run `digits report cnn`, or set DIGITS_MNIST_NPZ to make one here)")
    report = uplink["model_report"]("cnn")
    section = presentation.model_section(report, "a description")
    assert section["name"] == report["name"] and section["error"] == ""
    assert presentation.percent(report["test_accuracy"], 2) in section["facts"]
    assert f"{report['parameters']:,}" in section["facts"]
    assert len(section["figures"]) == len(report["figures"]) > 0
    for figure in section["figures"]:
        assert figure["title"] and figure["caption"] and figure["image"].get_bytes().startswith(b"\x89PNG")
    pair = max(report["confused_pairs"], key=lambda p: p["count"])
    assert f"{presentation.a_digit(pair['true'])} read as {pair['predicted']}" in section["mistakes"]


# --- the pages, driven end to end --------------------------------------------------------------------


def shown_digits(form) -> list[str]:
    return [card.digit_label.text if not card.error_label.visible else "error"
            for card in form.results_panel.get_components()]


def test_a_png_dropped_on_the_page_shows_its_digit(uplink):
    with Browser(APP, uplink) as browser:
        page = browser.start()
        assert page.model_dropdown.selected_value == "cnn"
        drop = browser.drop_files(page, [Browser.file(SAMPLES / "seven-paper.png")])

        assert drop.default_prevented
        (card,) = page.results_panel.get_components()
        assert card.digit_label.text == "7"
        assert re.fullmatch(r"(\d{1,2}\.\d|>99\.9)% sure", card.confidence_label.text)
        assert card.file_name_label.text == "seven-paper.png"
        assert card.uploaded_image.visible and card.uploaded_image.source.get_bytes() == (
            SAMPLES / "seven-paper.png").read_bytes()
        assert card.preview_image.visible and card.preview_image.source.get_bytes().startswith(b"\x89PNG")
        assert card.probability_plot.visible and len(card.probability_plot.data[0]["y"]) == 10
        assert not card.error_label.visible and not card.warnings_label.visible
        assert page.status_label.text == "Done: 1 file read."
        assert [name for name, _ in browser.calls] == ["list_models", "classify_digit"]
        sent, model = browser.calls[-1][1]
        assert model == "cnn" and sent.name == "seven-paper.png"
        assert sent.get_bytes() == (SAMPLES / "seven-paper.png").read_bytes()


def test_each_file_gets_its_card_as_soon_as_it_is_read(uplink, tmp_path):
    (tmp_path / "notes.png").write_text("this is not a picture")
    files = [Browser.file(SAMPLES / "seven-paper.png"), Browser.file(tmp_path / "notes.png"),
             Browser.file(SAMPLES / "nine.csv")]
    with Browser(APP, uplink) as browser:
        page = browser.start()
        seen = []
        browser.on_call = lambda name, args: seen.append((name, len(page.results_panel.get_components()),
                                                          page.file_loader.enabled, page.model_dropdown.enabled))
        Browser.choose_files(page.file_loader, files)

        # One call per file, in order; each call starts with the earlier files' cards already shown,
        # and the inputs are off while the server works.
        assert seen == [("classify_digit", 0, False, False), ("classify_digit", 1, False, False),
                        ("classify_digit", 2, False, False)]
        assert shown_digits(page) == ["7", "error", "9"]
        broken = page.results_panel.get_components()[1]
        assert "notes.png" in broken.error_label.text and not broken.probability_plot.visible
        assert page.file_loader.enabled and page.model_dropdown.enabled
        assert page.status_label.text == "Done: 2 of 3 files read; the red cards say what went wrong."

        # A second batch goes above the first, in its own order.
        Browser.choose_files(page.file_loader, [Browser.file(SAMPLES / "nine.csv")])
        assert shown_digits(page) == ["9", "7", "error", "9"]
        page.clear_button.raise_event("click")
        assert page.results_panel.get_components() == [] and not page.clear_button.visible


def test_compare_both_shows_every_models_answer(uplink):
    with Browser(APP, uplink) as browser:
        page = browser.start()
        values = [value for _, value in page.model_dropdown.items]
        if presentation.COMPARE_BOTH not in values:
            pytest.skip("only one model is trained, nothing to compare")
        page.model_dropdown.selected_value = presentation.COMPARE_BOTH
        Browser.choose_files(page.file_loader, [Browser.file(SAMPLES / "seven-paper.png")])

        (card,) = page.results_panel.get_components()
        assert [name for name, _ in browser.calls][-1] == "compare_models"
    results = uplink["compare_models"](sample_media("seven-paper.png"))["results"]
    assert len(card.probability_plot.data) == len(results) == len(values) - 1
    assert card.digit_label.text == " or ".join(dict.fromkeys(str(r["digit"]) for r in results))
    names = presentation.model_names(uplink["list_models"]())
    assert card.confidence_label.text.splitlines() == [
        f"{names[r['model']]}: {presentation.confidence_text(r['confidence'])}" for r in results]


def test_page_without_a_running_server_says_how_to_start_it():
    with Browser(APP, {}) as browser:
        page = browser.start()
        assert page.status_label.text == presentation.NOT_CONNECTED
        Browser.choose_files(page.file_loader, [Browser.file(SAMPLES / "seven-paper.png")])
        (card,) = page.results_panel.get_components()
        assert card.error_label.visible and card.error_label.text == presentation.NOT_CONNECTED
        assert page.file_loader.enabled


def test_model_page_and_back(uplink, reports_dir):
    with Browser(APP, uplink) as browser:
        page = browser.start()
        Browser.choose_files(page.file_loader, [Browser.file(SAMPLES / "seven-paper.png")])
        page.models_link.raise_event("click")

        model_page = browser.get_open_form()
        assert type(model_page).__name__ == "ModelForm"
        models = uplink["list_models"]()
        sections = model_page.reports_panel.get_components()
        assert [s.name_label.text for s in sections] == [m["name"] for m in models]
        for section, model in zip(sections, models):
            if (Path(reports_dir) / model["id"] / "summary.json").is_file():
                assert not section.error_label.visible and section.facts_label.text
                shown = section.figures_panel.get_components()
                images = [c for c in shown if c.component_type == "Image"]
                assert images and all(image.source.get_bytes().startswith(b"\x89PNG") for image in images)
                assert all(c.text for c in shown if c.component_type == "Label")
            else:
                assert section.error_label.visible and model["id"] in section.error_label.text

        model_page.classify_link.raise_event("click")
        assert browser.get_open_form() is page and shown_digits(page) == ["7"]


def test_model_page_without_reports_explains_why(engine, registered, tmp_path):
    with serving(engine, tmp_path):
        messages = [server_error(registered["model_report"], model_id)[1] for model_id in engine.model_ids]
        with Browser(APP, registered) as browser:
            browser.start().models_link.raise_event("click")
            sections = browser.get_open_form().reports_panel.get_components()
    assert [section.error_label.text for section in sections] == messages
    for section in sections:
        assert section.error_label.visible and not section.facts_label.visible
        assert section.figures_panel.get_components() == []
