"""Evaluation and the analysis report, on real (barely trained) models and a real slice of MNIST.

The models are trained here by the project's own trainer, on a small MNIST file cut from the real one,
so the tests see real .keras files, real model cards and real test digits in a few seconds.
"""

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.preprocessing import InputError, prepare_upload
from training.data import DataError, load_mnist
from training.evaluate import evaluate, evaluate_styles, open_engine
from training.report import ReportError, load_report, mistakes_to_show, write_report
from training.style_shift import SEED, build_suite, load_suite, render_style, rendering_sources, validation_digits
from training.styles import STYLES

TEST_IMAGES = 600  # in small_mnist (conftest.py)
SUITE_PER_STYLE = 4  # digits per style in the tests' style-shift suite


@pytest.fixture(scope="module")
def models_dir(small_models) -> Path:
    """Both models, barely trained on small_mnist by the project's own trainer (conftest.py; test_training.py
    checks that training)."""
    return small_models.folder


@pytest.fixture(scope="module")
def engine(models_dir):
    with open_engine("ensemble", models_dir) as both_models:
        yield both_models


def keras_probabilities(models_dir: Path, model_id: str, images: np.ndarray) -> np.ndarray:
    """The model's own answer, straight from Keras: no engine, no shared preprocessing code."""
    import keras

    import models.vit  # registers the ViT's custom layer

    model = keras.saving.load_model(models.model_path(model_id, models_dir), compile=False)
    return model.predict(images[..., np.newaxis].astype(np.float32) / 255.0, batch_size=200, verbose=0)


@pytest.fixture(scope="module")
def cnn_keras_predictions(models_dir, small_mnist) -> np.ndarray:
    return keras_probabilities(models_dir, "cnn", load_mnist(small_mnist).x_test).argmax(axis=1)


# ---- evaluation ----------------------------------------------------------------------------------

@pytest.mark.slow  # trains its models (models_dir)
def test_accuracy_is_the_share_of_test_digits_keras_gets_right(engine, small_mnist, cnn_keras_predictions):
    labels = load_mnist(small_mnist).y_test
    evaluation = evaluate("cnn", small_mnist, engine=engine)

    assert evaluation.n == TEST_IMAGES
    np.testing.assert_array_equal(evaluation.predictions, cnn_keras_predictions)
    assert evaluation.accuracy == pytest.approx(np.mean(cnn_keras_predictions == labels))
    assert evaluation.errors == np.count_nonzero(cnn_keras_predictions != labels)


@pytest.mark.slow  # trains its models (models_dir)
def test_evaluate_loads_its_own_models_when_given_none(models_dir, small_mnist, cnn_keras_predictions):
    evaluation = evaluate("cnn", small_mnist, models_dir=models_dir, limit=100)

    assert evaluation.n == 100
    np.testing.assert_array_equal(evaluation.predictions, cnn_keras_predictions[:100])


@pytest.mark.slow  # trains its models (models_dir)
def test_ensemble_is_the_mean_of_the_two_models_until_its_weights_are_fitted(engine, small_mnist):
    cnn, vit, ensemble = (evaluate(model, small_mnist, engine=engine, limit=300)
                          for model in ("cnn", "vit", "ensemble"))

    np.testing.assert_allclose(ensemble.probabilities, (cnn.probabilities + vit.probabilities) / 2, atol=1e-6)
    mean_answers = np.argmax(cnn.probabilities + vit.probabilities, axis=1)
    assert ensemble.accuracy == pytest.approx(np.mean(mean_answers == ensemble.labels))


@pytest.mark.slow  # trains its models (models_dir)
def test_fitted_ensemble_weights_are_written_and_used(models_dir, small_mnist, tmp_path):
    from training.calibrate import calibrate_ensemble

    own_dir = shutil.copytree(models_dir, tmp_path / "models")
    card = calibrate_ensemble(small_mnist, own_dir, typefaces=False)

    assert json.loads((own_dir / "ensemble.json").read_text()) == card
    assert card["validation_accuracy"] >= max(card["member_validation_accuracy"].values())
    with open_engine("ensemble", own_dir) as engine:
        cnn, vit, ensemble = (evaluate(model, small_mnist, engine=engine, limit=200).probabilities
                              for model in ("cnn", "vit", "ensemble"))
    np.testing.assert_allclose(ensemble, card["weights"]["cnn"] * cnn + card["weights"]["vit"] * vit, atol=1e-6)


@pytest.mark.slow  # trains its models (models_dir)
def test_json_output_is_one_object_with_the_headline_numbers(engine, small_mnist):
    evaluation = evaluate("vit", small_mnist, engine=engine, limit=250)

    printed = json.loads(evaluation.to_text(as_json=True))
    assert printed["model"] == "vit"
    assert printed["n"] == 250
    assert printed["errors"] == 250 - round(printed["accuracy"] * 250)
    assert printed["data_sha256"] == load_mnist(small_mnist).sha256
    assert "\n" not in evaluation.to_text(as_json=True)
    assert evaluation.to_text().startswith(f"vit: accuracy {evaluation.accuracy:.4f} on 250 ")


def test_unknown_model_and_missing_model_file_are_explained(tmp_path, small_mnist):
    with pytest.raises(InputError, match="choose one of: cnn, vit, ensemble"):
        evaluate("resnet", small_mnist)
    with pytest.raises(FileNotFoundError, match="digits train cnn"):
        evaluate("cnn", small_mnist, models_dir=tmp_path)


# ---- data errors -----------------------------------------------------------------------------------

def test_missing_mnist_file_is_a_clear_data_error(tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(DataError, match="MNIST file not found.*--data"):
        load_mnist(missing)
    with pytest.raises(DataError, match="not found"):
        evaluate("cnn", missing)


def test_a_file_that_is_not_an_npz_is_a_clear_data_error(tmp_path):
    broken = tmp_path / "mnist.npz"
    broken.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_mnist(broken)


def test_an_npz_without_mnist_arrays_is_a_clear_data_error(tmp_path):
    wrong_keys = tmp_path / "wrong_keys.npz"
    np.savez(wrong_keys, images=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match="no array 'x_train'"):
        load_mnist(wrong_keys)

    wrong_shape = tmp_path / "wrong_shape.npz"
    np.savez(wrong_shape, x_train=np.zeros((4, 32, 32), np.uint8), y_train=np.zeros(4, np.uint8),
             x_test=np.zeros((4, 28, 28), np.uint8), y_test=np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="'x_train' has shape"):
        load_mnist(wrong_shape)


# ---- the style-shift suite -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def style_suite(small_mnist):
    return build_suite(load_mnist(small_mnist), per_style=SUITE_PER_STYLE)


def test_style_shift_suite_is_seeded_and_identical_on_rebuild(style_suite, small_mnist):
    mnist = load_mnist(small_mnist)
    again = build_suite(mnist, per_style=SUITE_PER_STYLE)
    for name in ("images", "labels", "styles", "sources"):
        np.testing.assert_array_equal(getattr(again, name), getattr(style_suite, name))
    assert style_suite.n == SUITE_PER_STYLE * len(STYLES)
    other_seed = build_suite(mnist, per_style=1, seed=SEED + 1)  # each style's first digit is another
    assert not np.array_equal(other_seed.sources, style_suite.sources[::SUITE_PER_STYLE])


def test_every_style_is_a_readable_file_of_a_validation_digit(small_mnist):
    x_val, y_val = validation_digits(load_mnist(small_mnist))
    formats = {".png": "PNG", ".jpg": "JPEG"}
    for name, (only, _) in STYLES.items():
        rendered = list(render_style(name, x_val, y_val, 3, SEED))
        assert len(rendered) == 3, name
        for index, upload in rendered:
            with Image.open(io.BytesIO(upload.data)) as image:
                assert image.format == formats[Path(upload.filename).suffix], name
            prepared = prepare_upload(upload.data, upload.filename)
            assert prepared.has_digit and prepared.pixels.max() == 255, name
            assert only is None or y_val[index] in only, name


@pytest.mark.slow  # trains its models (models_dir)
def test_style_shift_scores_per_style_as_keras_reads_the_prepared_files(engine, style_suite, models_dir):
    evaluation = evaluate_styles("cnn", "style-shift", engine=engine, styled=style_suite)
    printed = json.loads(evaluation.to_text(as_json=True))

    assert {"model", "suite", "accuracy", "n", "per_style"} <= set(printed)
    assert printed["model"] == "cnn" and printed["suite"] == "style-shift" and printed["n"] == style_suite.n
    assert list(printed["per_style"]) == list(STYLES)
    assert all(scores["n"] == SUITE_PER_STYLE for scores in printed["per_style"].values())
    mean = sum(s["accuracy"] * s["n"] for s in printed["per_style"].values()) / printed["n"]
    assert printed["accuracy"] == pytest.approx(mean, abs=1e-5)
    keras_answers = keras_probabilities(models_dir, "cnn", style_suite.images).argmax(axis=1)
    np.testing.assert_array_equal(evaluation.predictions, keras_answers)
    assert evaluation.to_text().splitlines()[1].split()[0] == next(iter(STYLES))


def test_evaluate_style_shift_from_the_command_line_builds_once_then_reads_the_cache(
        small_mnist, tmp_path, monkeypatch, capsys):
    import training.style_shift
    from digits.cli import main

    monkeypatch.setattr(training.style_shift, "DIGITS_PER_STYLE", 2)
    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))
    command = ["evaluate", "cnn", "--suite", "style-shift", "--json", "--data", str(small_mnist)]
    assert main(command) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(list(tmp_path.glob("style-shift-*.npz"))) == 1
    assert main(command) == 0
    second = json.loads(capsys.readouterr().out)

    assert first["suite"] == "style-shift" and first["n"] == 2 * len(STYLES)
    assert {key: first[key] for key in ("accuracy", "n", "per_style")} == \
        {key: second[key] for key in ("accuracy", "n", "per_style")}
    assert first["accuracy"] >= 0.9  # the shipped CNN reads 98.6% of the full suite (models/cnn.json)


@pytest.mark.slow  # 40 digits in every style through the upload pipeline
def test_the_shipped_cnn_reads_every_style_through_the_upload_pipeline(mnist_path):
    """Guards the pipeline, not the model: a change to decoding or locating that breaks one kind of
    upload (bold strokes taken for the page, say) shows here as that style falling."""
    suite = load_suite(mnist_path, per_style=40)  # built once per version of the pipeline (its cache key), then read
    with open_engine("cnn") as engine:
        answers = engine.predict_probabilities("cnn", suite.images).argmax(axis=1)
    right = answers == suite.labels
    per_style = {name: float(right[suite.styles == name].mean()) for name in STYLES}
    assert right.mean() >= 0.95, per_style
    assert min(per_style.values()) >= 0.85, per_style


def test_the_cached_suite_is_rebuilt_when_any_stage_of_the_pipeline_changes():
    sources = {path.name for path in rendering_sources()}
    assert {"styles.py", "__init__.py", "decode.py", "ink.py", "lighting.py", "polarity.py", "surface.py",
            "layout.py", "marks.py", "normalise.py"} <= sources  # the locate stage is a package of its own: its files too
    assert {"digit_scorer.py", "digit_scorer.json", "feature_distance.py", "digit_scorer_features.tflite",
            "digit_scorer_features.npz"} <= sources  # what judges a find, and its weights


def test_more_continental_ones_are_new_ones_added_after_the_styled_digits(mnist_path, tmp_path, monkeypatch):
    from training.config import StyledDigits
    from training.style_shift import styled_training_digits

    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))  # a small fresh render, not the cached sets
    mnist = load_mnist(mnist_path)
    plain = styled_training_digits(mnist, StyledDigits(glyph_per_style=2), limit=300)
    more = styled_training_digits(mnist, StyledDigits(glyph_per_style=2, continental_ones=3), limit=300)

    assert more.n == plain.n + 3  # the styled digits as before (the same cache), then the extra 1s
    np.testing.assert_array_equal(more.images[:plain.n], plain.images)
    assert set(more.styles[plain.n:]) == {"continental_1"} and set(more.labels[plain.n:]) == {1}
    drawn_before = {image.tobytes() for image in plain.images}
    assert not any(image.tobytes() in drawn_before for image in more.images[plain.n:])  # another seed's 1s


# ---- the report ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, models_dir, small_mnist) -> Path:
    out = tmp_path_factory.mktemp("reports") / "cnn"
    write_report("cnn", out, data=small_mnist, models_dir=models_dir, style_shift_per_style=SUITE_PER_STYLE,
                 typefaces=False)
    return out


@pytest.mark.slow  # trains its models (models_dir)
def test_report_figures_are_real_small_pngs(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text())
    files = [figure["file"] for figure in summary["figures"]]

    expected = {"curves.png", "confusion.png", "per_class.png", "confused_pairs.png", "mistakes.png", "correct.png",
                "style_shift.png", "style_shift_mistakes.png"}
    assert expected <= set(files)
    for name in files:
        with Image.open(report_dir / name) as image:
            assert image.format == "PNG"
            assert 300 <= image.width <= 1200 and 150 <= image.height <= 1000, (name, image.size)
        assert (report_dir / name).stat().st_size < 250_000
    for figure in summary["figures"]:
        assert figure["title"] and figure["caption"].endswith(".")


@pytest.mark.slow  # trains its models (models_dir)
def test_report_numbers_agree_with_the_models_answers(report_dir, small_mnist, models_dir, cnn_keras_predictions):
    summary = json.loads((report_dir / "summary.json").read_text())
    labels = load_mnist(small_mnist).y_test
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, cnn_keras_predictions), 1)

    assert summary["confusion_matrix"] == confusion.tolist()
    assert summary["test_accuracy"] == pytest.approx(np.trace(confusion) / TEST_IMAGES, abs=1e-6)
    for row in summary["per_class"]:
        digit = row["digit"]
        answered, present = confusion[:, digit].sum(), confusion[digit].sum()
        assert row["precision"] == pytest.approx(confusion[digit, digit] / answered if answered else 0.0, abs=1e-6)
        assert row["recall"] == pytest.approx(confusion[digit, digit] / present if present else 0.0, abs=1e-6)
    mistakes = confusion * (1 - np.eye(10, dtype=int))
    counts = [pair["count"] for pair in summary["confused_pairs"]]
    assert counts == sorted(mistakes.ravel(), reverse=True)[:len(counts)]
    for pair in summary["confused_pairs"]:
        assert pair["true"] != pair["predicted"]
        assert mistakes[pair["true"], pair["predicted"]] == pair["count"]

    assert set(summary["style_shift"]["per_style"]) == set(STYLES)
    assert summary["style_shift"]["n"] == SUITE_PER_STYLE * len(STYLES)

    card = json.loads((models_dir / "cnn.json").read_text())
    assert summary["validation_accuracy"] == pytest.approx(card["validation_accuracy"])
    assert summary["parameters"] == card["parameters"] and summary["epochs"] == 2


@pytest.mark.slow  # trains its models (models_dir)
def test_report_markdown_links_resolve_and_state_the_numbers(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text())
    markdown = (report_dir / "report.md").read_text()

    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(linked) == sorted(figure["file"] for figure in summary["figures"])
    assert all((report_dir / link).is_file() for link in linked)
    assert f"{summary['test_accuracy']:.2%}" in markdown
    assert f"**{summary['style_shift']['accuracy']:.2%}**" in markdown
    assert all(sentence in markdown for sentence in summary["findings"])


@pytest.mark.slow  # trains its models (models_dir)
def test_mistake_grid_shows_the_most_confident_mistakes(engine, small_mnist):
    evaluation = evaluate("cnn", small_mnist, engine=engine)
    shown = mistakes_to_show(evaluation, most=60)
    assert evaluation.errors > 60  # a barely trained model: the grid must choose

    hidden = np.setdiff1d(np.flatnonzero(~evaluation.correct), shown)
    assert len(shown) == 60 and not evaluation.correct[shown].any()
    assert evaluation.confidences[shown].min() >= evaluation.confidences[hidden].max()
    assert len(mistakes_to_show(evaluation, most=10_000)) == evaluation.errors


@pytest.mark.slow  # trains its models (models_dir)
def test_load_report_gives_the_summary_with_figure_bytes(report_dir):
    report = load_report("cnn", reports_dir=report_dir.parent)

    assert report["model"] == "cnn" and report["name"] == "CNN"
    for figure in report["figures"]:
        assert figure["png"] == (report_dir / figure["file"]).read_bytes()


def test_load_report_explains_a_missing_report_or_model(tmp_path):
    with pytest.raises(ReportError, match="digits report vit"):
        load_report("vit", reports_dir=tmp_path)
    with pytest.raises(InputError, match="cnn, vit"):
        load_report("../../etc", reports_dir=tmp_path)
