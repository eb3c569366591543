"""The Anvil app in anvil_app/: its files, and its presentation functions on real server results.

These are the fast checks in plain Python: the app's YAML, what its code calls and imports, and
presentation.py (what every card and section shows) on answers from the real uplink functions and the
trained models. The page itself runs in Anvil's own runtime in Chromium in tests/test_web_page.py.
"""

import ast
import contextlib
import io
import mimetypes
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from PIL import Image

from client_code import load_client_module

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "anvil_app"
CLIENT_CODE = APP / "client_code"
THEME = APP / "theme"
SAMPLES = REPO / "samples"


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def form_templates(client_code: Path) -> dict:
    """{dotted form name: parsed form_template.yaml} for every package-style form in client_code."""
    return {".".join(path.parent.relative_to(client_code).parts): yaml.safe_load(path.read_text())
            for path in sorted(client_code.rglob("form_template.yaml"))}


def template_components(template: dict):
    """Every component a form template declares, nested ones included."""
    for component in template.get("components", []):
        yield component
        yield from template_components(component)


def server_calls(module: ast.Module) -> list:
    """The first argument of every anvil.server.call(...) in the module (an ast node)."""
    return [node.args[0] for node in ast.walk(module)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "anvil.server.call"]


FORMS = form_templates(CLIENT_CODE)


presentation = load_client_module("presentation")


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


def test_every_yaml_file_of_the_app_parses():
    files = [APP / "anvil.yaml", THEME / "parameters.yaml", THEME / "templates.yaml",
             *CLIENT_CODE.rglob("form_template.yaml")]
    for path in files:
        assert yaml.safe_load(path.read_text()), path
    assert len(FORMS) >= 4  # MainForm, ModelForm, ResultCard, ModelReportCard


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
    allowed = {"anvil", "anvil.server", "anvil.js", "anvil.media"}
    for path in set(CLIENT_CODE.rglob("*.py")) - {CLIENT_CODE / "presentation.py"}:
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
    write_report("cnn", folder / "cnn", data=data, models_dir=models_dir(), limit=600, typefaces=False)
    return folder


def sample_media(name: str):
    import anvil

    path = SAMPLES / name
    return anvil.BlobMedia(mimetypes.guess_type(name)[0] or "text/csv", path.read_bytes(), name=name)


def server_error(function, *args) -> tuple[str, str]:
    """(type name, message) of the exception a server function raises, as the page gets it."""
    with pytest.raises(Exception) as raised:
        function(*args)
    return "AnvilWrappedError", getattr(raised.value, "message", None) or str(raised.value)


# --- presentation, on real server results ------------------------------------------------------------


def test_result_card_of_a_real_classification(uplink):
    upload = sample_media("seven-paper.png")
    result = uplink["classify_digit"](upload, "cnn")
    card = presentation.result_card(result, presentation.model_names(uplink["list_models"]()), upload=upload)

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

    # The text alternatives a screen reader reads out: the upload by name, the chart's ten numbers.
    assert card["upload"] is upload and card["upload_alt"] == "The file you uploaded, seven-paper.png"
    description = card["chart_description"]
    assert description.startswith("Bar chart of the CNN's probability for each digit: 0: ")
    assert [f"{d}: {presentation.percent(p)}" in description for d, p in enumerate(result["probabilities"])] == [True] * 10


def test_a_real_blank_page_gets_a_no_digit_card(uplink):
    import anvil

    blank = anvil.BlobMedia("image/png", png(Image.new("L", (200, 150), 255)), name="blank.png")
    result = uplink["classify_digit"](blank, "cnn")
    assert result["digit"] is None and result["confidence"] is None and result["probabilities"] is None
    card = presentation.result_card(result, presentation.model_names(uplink["list_models"]()))
    assert card["digit"] == "No digit found" and card["confidence"] == "" and card["error"] == ""
    assert card["chart"] is None and card["chart_description"] == "" and card["preview"] is None
    assert card["detail"] == "The CNN found nothing in it that looks like one handwritten digit."
    assert card["warnings"].splitlines() == [f"Note: {warning}" for warning in result["warnings"]]
    assert card["warnings"] == "Note: No digit found: the picture looks blank."
    comparison = presentation.comparison_card(uplink["compare_models"](blank), {})
    assert comparison["digit"] == "No digit found" and comparison["chart"] is None
    assert comparison["detail"] == "Both models found nothing that looks like a handwritten digit."


def test_an_iphone_heic_photo_gets_its_card_without_a_picture_the_browser_cannot_show(uplink):
    import anvil

    buffer = io.BytesIO()
    Image.open(SAMPLES / "seven-paper.png").convert("RGB").save(buffer, format="HEIF", quality=90)
    photo = anvil.BlobMedia("image/heic", buffer.getvalue(), name="IMG_0007.HEIC")
    result = uplink["classify_digit"](photo, "cnn")
    card = presentation.result_card(result, presentation.model_names(uplink["list_models"]()), upload=photo)
    assert card["digit"] == "7" and card["error"] == ""
    assert card["upload"] is None and card["preview"] is result["preview"]  # the 28x28 preview still shows
    png_upload = sample_media("seven-paper.png")
    assert presentation.result_card(result, {}, upload=png_upload)["upload"] is png_upload


def test_the_file_chooser_offers_heic_and_avif_photos():
    (loader,) = [c for c in template_components(FORMS["MainForm"]) if c["name"] == "file_loader"]
    accepted = loader["properties"]["file_types"].split(",")
    assert {"image/*", ".heic", ".heif", ".avif", ".csv"} <= set(accepted)


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


def test_a_new_card_below_the_screen_is_out_of_sight_one_on_it_is_not():
    phone_screen = 844
    assert presentation.out_of_sight(1200, phone_screen)  # below the sketch pad on a phone
    assert presentation.out_of_sight(phone_screen - 20, phone_screen)  # only its top edge showing
    assert not presentation.out_of_sight(490, 800)  # under the drop zone on a desktop


def test_percentages_never_claim_certainty():
    assert presentation.percent(0.987) == "98.7%"
    assert presentation.percent(0.99949) == "99.9%"
    assert presentation.percent(0.99996) == ">99.9%"
    assert presentation.percent(1.0, 2) == ">99.99%"
    assert presentation.confidence_text(0.5) == "50.0% sure"


def test_a_fine_tuned_model_says_its_epochs_were_a_fine_tune():
    trained = {"epochs": 24, "training_minutes": 28.4}
    assert presentation.facts_text(trained) == "Trained for 24 epochs in 28 minutes."
    assert presentation.facts_text({**trained, "epochs": 3, "training_minutes": 4.1, "fine_tuned": True}) == (
        "Fine-tuned for 3 epochs in 4 minutes, from a model trained before.")


def test_model_section_of_a_real_report(uplink, reports_dir):
    assert (Path(reports_dir) / "cnn" / "summary.json").is_file(), "no model report: run `digits report cnn`"
    report = uplink["model_report"]("cnn")
    section = presentation.model_section(report, "a description")
    assert section["name"] == report["name"] and section["error"] == ""
    assert presentation.percent(report["test_accuracy"], 2) in section["facts"]
    assert f"{report['parameters']:,}" in section["facts"]
    assert len(section["figures"]) == len(report["figures"]) > 0
    for figure in section["figures"]:
        assert figure["title"] and figure["caption"] and figure["image"].get_bytes().startswith(b"\x89PNG")
        assert figure["alt"] == f"{figure['title']} of the {report['name']}"
    pair = max(report["confused_pairs"], key=lambda p: p["count"])
    assert f"{presentation.a_digit(pair['true'])} read as {pair['predicted']}" in section["mistakes"]


def test_model_sections_without_reports_say_why(engine, registered, tmp_path):
    with serving(engine, tmp_path):
        for model in registered["list_models"]():
            error_type, message = server_error(registered["model_report"], model["id"])
            section = presentation.model_error_section(model, error_type, message)
            assert section["error"] == message and model["id"] in message
            assert section["name"] == model["name"] and section["facts"] == "" and section["figures"] == []


# --- whole numbers --------------------------------------------------------------------------------


def _number_png(mnist_path, indices=(0, 1, 2)) -> tuple[bytes, str]:
    """Dark MNIST test digits side by side on white, as PNG bytes, and the number they write."""
    import numpy as np

    with np.load(mnist_path) as mnist:
        images, labels = mnist["x_test"][list(indices)], mnist["y_test"][list(indices)]
    page = np.full((120, 40 + 90 * len(images)), 255, np.uint8)
    for place, image in enumerate(images):
        page[20:104, 20 + 90 * place : 104 + 90 * place] = 255 - np.kron(image, np.ones((3, 3), np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue(), "".join(map(str, labels))


def test_number_card_of_a_real_reading(uplink, mnist_path):
    import anvil

    data, number = _number_png(mnist_path)
    reading = uplink["read_number"](anvil.BlobMedia("image/png", data, name="number.png"), "cnn")
    card = presentation.number_card(reading, presentation.model_names(uplink["list_models"]()))
    assert card["digit"] == reading["number"] == number and card["error"] == ""
    assert card["confidence"] == presentation.confidence_text(reading["confidence"])
    assert card["detail"].startswith("Read by the number reader, the CNN checking digits that stand apart or that "
                                     "the reader is unsure of: " + number[0] + " (")
    layout = card["chart"]["layout"]
    assert [(s["x0"], s["y0"], s["x1"], s["y1"]) for s in layout["shapes"]] == [tuple(d["box"])
                                                                                 for d in reading["digits"]]
    assert [a["text"] for a in layout["annotations"]] == list(number)
    assert layout["xaxis"]["range"] == [0, 310] and layout["yaxis"]["range"] == [120, 0]  # y runs down
    assert not card["chart_over_upload"]  # no upload given: the boxes on an empty frame of its size
    assert card["chart_description"] == "The frame of number.png, with a box drawn around each digit read: {}.".format(
        ", ".join(number))


def test_number_card_draws_the_boxes_over_the_upload(uplink, mnist_path):
    import anvil

    data, number = _number_png(mnist_path)
    upload = anvil.BlobMedia("image/png", data, name="number.png")
    reading = uplink["read_number"](upload, "cnn")
    card = presentation.number_card(reading, {"cnn": "CNN"}, upload=upload)
    assert card["upload"] is upload and card["chart_over_upload"]
    chart = presentation.over_upload(card["chart"], "blob:the-upload")
    (image,) = chart["layout"]["images"]
    assert image["source"] == "blob:the-upload" and (image["x"], image["y"]) == (0, 0)
    assert (image["sizex"], image["sizey"]) == (310, 120) and image["layer"] == "below"  # the whole frame
    assert chart["layout"]["shapes"] == card["chart"]["layout"]["shapes"] and "images" not in card["chart"]["layout"]
    assert card["chart_description"].startswith("The file you uploaded, number.png, with a box drawn around each")


def test_number_card_of_a_blank_page_says_no_digits():
    reading = {"file": "blank.png", "model": "cnn", "number": "", "confidence": 0.0, "digits": [],
               "warnings": ["No ink found"], "size": [100, 50]}
    card = presentation.number_card(reading, {"cnn": "CNN"})
    assert card["digit"] == "-" and card["chart"] is None and card["detail"] == "The CNN found no digits."
    assert presentation.number_model(presentation.COMPARE_BOTH) == "ensemble"
    assert presentation.number_model("vit") == "vit"


# --- CSV files of many digits: a summary card, then one card per row -------------------------------------


def _labelled_csv(mnist_path, count: int, header: bool = True) -> tuple[bytes, list[int]]:
    """The first `count` MNIST test digits in the "digit recognizer" layout: label,pixel0,...,pixel783."""
    import numpy as np

    with np.load(mnist_path) as mnist:
        images, labels = mnist["x_test"][:count], mnist["y_test"][:count]
    lines = ["label," + ",".join(f"pixel{i}" for i in range(784))] if header else []
    lines += [f"{label}," + ",".join(map(str, image.ravel())) for image, label in zip(images, labels)]
    return "\n".join(lines).encode(), [int(label) for label in labels]


def test_a_csv_of_labelled_rows_gets_a_summary_and_a_card_per_row(uplink, mnist_path):
    import anvil

    data, labels = _labelled_csv(mnist_path, 6)
    file = anvil.BlobMedia("text/csv", data, name="digits.csv")
    assert presentation.is_csv(file.name, file.content_type)
    answers = [uplink["classify_digits"]([file], "cnn")]
    summary, *rows = presentation.table_cards(answers, {"cnn": "CNN"}, "digits.csv", shown=4)
    right = sum(r["digit"] == r["label"] for r in answers[0])
    assert summary["title"] == "digits.csv" and summary["chart"] is None and not summary["error"]
    assert summary["detail"] == ("6 digits read, one per row. {} of the 6 labelled rows read as labelled ({}). "
                                 "The first 4 rows are shown; every row is counted here.").format(
        right, "{:.1f}%".format(100 * right / 6))
    assert [card["title"] for card in rows] == [f"digits.csv, row {n} (label {labels[n - 1]})" for n in range(1, 5)]
    for card, result in zip(rows, answers[0]):
        assert card["digit"] == str(result["digit"]) and card["chart"] and card["preview"] is not None
        assert card["result_ids"] == [result["result_id"]]  # each row can be corrected like any upload


def test_a_csv_compared_shows_every_model_per_row(uplink, mnist_path):
    import anvil

    data, labels = _labelled_csv(mnist_path, 2, header=False)
    file = anvil.BlobMedia("text/csv", data, name="two.csv")
    names = presentation.model_names(uplink["list_models"]())
    answers = [uplink["classify_digits"]([file], model) for model in names]
    _, *rows = presentation.table_cards(answers, names, "two.csv")
    assert len(rows) == 2
    for card in rows:
        assert len(card["chart"]["data"]) == len(names)  # one trace per model
        assert card["detail"] == presentation.agreement_text(
            [answer[rows.index(card)] for answer in answers], names)


def test_a_csv_of_one_digit_is_one_card_as_before(uplink):
    import anvil

    file = anvil.BlobMedia("text/csv", (SAMPLES / "nine.csv").read_bytes(), name="nine.csv")
    (card,) = presentation.table_cards([uplink["classify_digits"]([file], "cnn")], {"cnn": "CNN"}, "nine.csv")
    assert card["title"] == "nine.csv" and card["digit"] == "9"


def test_a_broken_csv_gets_one_red_card_saying_which_row(uplink):
    import anvil

    good = "7," + ",".join(["0"] * 784)
    file = anvil.BlobMedia("text/csv", f"{good}\n{good}\n3,1,2\n".encode(), name="short.csv")
    (card,) = presentation.table_cards([uplink["classify_digits"]([file], "cnn")], {"cnn": "CNN"}, "short.csv")
    assert card["title"] == "short.csv" and card["chart"] is None
    assert card["error"] == "'short.csv': row 3 holds 3 values; expected 785 like row 1 (a label, then 784 pixels)."


def test_only_csv_files_are_read_row_by_row():
    assert presentation.is_csv("Digits.CSV", None) and presentation.is_csv("export", "text/csv")
    assert not presentation.is_csv("seven.png", "image/png") and not presentation.is_csv(None, None)


# --- "Why?": the evidence maps, the runner-up, the folded card ---------------------------------------


def test_why_view_of_real_explanations_names_where_each_model_found_its_nine(uplink):
    comparison = uplink["compare_models"](sample_media("nine.csv"))
    names = presentation.model_names(uplink["list_models"]())
    card = presentation.comparison_card(comparison, names)
    assert card["explain_ids"] == [r["result_id"] for r in comparison["results"]] and card["model_names"] == names
    explanations = [uplink["explain"](result_id) for result_id in card["explain_ids"]]
    view = presentation.why_view(explanations, names)

    figure = view["figure"]
    assert len(figure["data"]) == 2 * len(explanations)  # each model: the image it saw, its map over it
    seen, evidence = figure["data"][:2]
    assert seen["z"] == explanations[0]["seen"] and seen["type"] == evidence["type"] == "heatmap"
    assert evidence["zmin"] == -1 and evidence["zmax"] == 1
    shown = [v for row in evidence["z"] for v in row if v is not None]
    assert max(shown) == 1.0 and all(-1 <= v <= 1 for v in shown)
    assert figure["layout"]["yaxis"]["autorange"] == "reversed"  # row 0 at the top, as the image
    if len(explanations) == 2:
        assert [a["text"] for a in figure["layout"]["annotations"]] == [names[e["model"]] for e in explanations]
    lines = view["text"].splitlines()
    assert len(lines) == len(explanations)
    for line, explained in zip(lines, explanations):
        assert line.startswith("The {} says 9".format(names[explained["model"]]))
        assert "because of the closed loop" in line or "because of the ink" in line, line  # a part of the digit
    # where the evidence lies is the model's own: the CNN's for this nine is its loop (the ViT's, fine-tuned
    # on typefaces, spreads over the loop's left side and the middle)
    assert "closed loop at the top" in lines[[e["model"] for e in explanations].index("cnn")]
    assert all(line in view["description"] for line in lines) and "Orange" in view["key"]


def _ring(top: int, left: int, size: int) -> list:
    """A 28x28 image with a closed square loop of ink: (top, left) corner, `size` across, 2 px thick."""
    image = [[0] * 28 for _ in range(28)]
    for r in range(top, top + size):
        for c in range(left, left + size):
            if r < top + 2 or r >= top + size - 2 or c < left + 2 or c >= left + size - 2:
                image[r][c] = 255
    return image


def test_explanation_text_says_where_the_evidence_lies():
    nine = _ring(4, 9, 10)
    for r in range(14, 25):  # its stem, down the right
        nine[r][17] = nine[r][18] = 255
    on_loop = [[1.0 if nine[r][c] and r < 14 else 0.0 for c in range(28)] for r in range(28)]
    text = presentation.explanation_text({"model": "cnn", "digit": 9, "seen": nine, "explanation": on_loop}, "CNN")
    assert text == "The CNN says 9 mostly because of the closed loop at the top."

    on_stem = [[1.0 if nine[r][c] and r >= 18 else 0.0 for c in range(28)] for r in range(28)]
    text = presentation.explanation_text({"model": "cnn", "digit": 9, "seen": nine, "explanation": on_stem}, "CNN")
    assert text == "The CNN says 9 mostly because of the ink at the bottom right."

    against = [[-1.5 if nine[r][c] and r >= 18 else on_loop[r][c] for c in range(28)] for r in range(28)]
    text = presentation.explanation_text({"model": "vit", "digit": 9, "seen": nine, "explanation": against}, "ViT")
    assert text.endswith("; the ink at the bottom right points to another digit.")

    nothing = [[0.0] * 28 for _ in range(28)]
    text = presentation.explanation_text({"model": "cnn", "digit": 1, "seen": nine, "explanation": nothing}, "CNN")
    assert "no one part of the ink carries it" in text


def test_the_runner_up_is_named_only_when_the_answer_is_unsure():
    unsure = [0.01, 0, 0, 0, 0.7, 0.02, 0.01, 0.01, 0.02, 0.23]
    assert presentation.runner_up_text(unsure, 4) == "Most likely 4 \u2014 could be a 9 (23%)."
    sure = [0.0, 0, 0, 0, 0.95, 0.0, 0.0, 0.0, 0.01, 0.04]
    assert presentation.runner_up_text(sure, 4) == ""
    result = {"file": "four.png", "model": "cnn", "digit": 4, "confidence": 0.7, "probabilities": unsure,
              "warnings": [], "result_id": "id"}
    card = presentation.result_card(result, {"cnn": "CNN"})
    assert card["detail"] == "Most likely 4 \u2014 could be a 9 (23%). Read by the CNN."


def test_a_card_folds_its_chart_behind_small_bars_and_offers_why(uplink):
    result = uplink["classify_digit"](sample_media("seven-paper.png"), "cnn")
    card = presentation.result_card(result, {"cnn": "CNN"})
    (bars,) = card["bars"]["data"]
    assert bars["y"] == card["chart"]["data"][0]["y"]  # the same ten numbers, drawn small
    assert card["bars"]["layout"]["yaxis"]["visible"] is False and card["bars"]["layout"]["showlegend"] is False
    compared = presentation.small_bars_chart([result, dict(result, model="vit")], {"cnn": "CNN", "vit": "ViT"})
    assert [trace["name"] for trace in compared["data"]] == ["CNN", "ViT"] and compared["layout"]["showlegend"]
    assert card["explain_ids"] == [result["result_id"]]
    assert presentation.chart_toggle_text(False) == "Show chart" and presentation.chart_toggle_text(True) == "Hide chart"
    nothing = uplink["classify_digit"](sample_media("seven-paper.png"), "cnn") | {"digit": None}
    assert presentation.explain_ids([nothing]) == []  # no digit: nothing to explain


def test_explain_of_a_bad_result_id_is_a_readable_error(uplink):
    _, message = server_error(uplink["explain"], "made-up")
    assert presentation.error_text("AnvilWrappedError", message).startswith("This result cannot be explained")
