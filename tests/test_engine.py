"""The inference engine on real uploads: right answers, shared batches under load, clear errors; the
LiteRT files it runs, compared with the `.keras` files they were exported from."""

import io
import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import models
from digits.engine import (
    WORKERS_ENV,
    ClassificationError,
    Engine,
    UnknownModelError,
    apply_temperature,
    cgroup_cpu_quota,
    worker_count,
)
from digits.litert import BATCH_SIZES, MissingModelError
from digits.preprocessing import InputError, prepare_upload, to_model_input
from training.data import load_mnist


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def on_paper(pixels: np.ndarray, size: int = 300, at=(40, 150)) -> bytes:
    """The digit as dark ink on a large white page, away from the centre: what a scan looks like."""
    page = Image.new("L", (size, size), 255)
    digit = Image.fromarray(255 - pixels).resize((112, 112), Image.Resampling.BICUBIC)
    page.paste(digit, at)
    buffer = io.BytesIO()
    page.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_dropped_png_gets_the_right_digit_with_a_full_result(engine, mnist_test):
    images, labels = mnist_test
    result = engine.classify(png(images[0]), "cnn", filename="seven.png")
    assert (result.digit, labels[0]) == (7, 7)
    wire = result.to_dict()
    assert wire["file"] == "seven.png" and wire["model"] == "cnn" and len(wire["probabilities"]) == 10
    assert sum(wire["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert wire["confidence"] == max(wire["probabilities"]) > 0.9
    assert wire["latency_ms"] > 0
    preview = Image.open(io.BytesIO(result.preview_png()))
    assert preview.size == (224, 224)


@pytest.mark.parametrize("model", ["cnn", "vit", "ensemble"])
def test_scanned_pages_with_off_centre_digits_are_read_correctly(engine, mnist_test, model):
    images, labels = mnist_test
    results = [engine.classify(on_paper(image), model) for image in images[:100]]
    correct = sum(result.digit == label for result, label in zip(results, labels[:100]))
    assert correct >= 97


def test_photos_with_a_hard_edged_shadow_across_the_digit_are_read_correctly(engine, mnist_test):
    from upload_files import shadowed_photo

    images, labels = mnist_test
    results = [engine.classify(shadowed_photo(image, angle), "cnn") for image, angle in zip(images[:36], range(0, 360, 10))]
    assert sum(result.digit == label for result, label in zip(results, labels[:36])) >= 34


def test_photos_of_digits_on_notebook_paper_are_read_correctly(engine, mnist_test):
    from upload_files import notebook_photo

    images, labels = mnist_test
    pages = [(squared, tilt) for squared in (False, True) for tilt in (-2.0, -1.0, 0.0, 1.0, 2.0)] * 4
    results = [engine.classify(notebook_photo(image, *page), "cnn") for image, page in zip(images[:40], pages)]
    assert sum(result.digit == label for result, label in zip(results, labels[:40])) >= 38


def test_ensemble_weighs_its_members_by_their_fitted_shares(engine, mnist_test):
    """The ensemble's members: the two models offered, and any it adds (a second CNN), each by its share."""
    images, _ = mnist_test
    data = png(images[1])
    shares = engine.ensemble_weights
    assert shares == models.ensemble_weights() and set(models.MODEL_IDS) <= set(shares)
    assert engine.members == tuple(m for m in shares if shares[m] > 0)  # a member with no share is not asked
    assert engine.choices == (*models.MODEL_IDS, "ensemble")
    ensemble = np.array(engine.classify(data, "ensemble").probabilities)
    with Engine(model_ids=engine.members) as every_member:  # each member offered alone, to compare
        pixels = prepare_upload(data).pixels
        expected = sum(shares[m] * every_member.predict_one(m, pixels) for m in engine.members)
    np.testing.assert_allclose(ensemble, expected, atol=1e-5)


def test_compare_gives_every_model_on_the_same_input(engine, mnist_test):
    images, labels = mnist_test
    results = engine.compare(png(images[2]), "one.png")
    assert [r.model for r in results] == ["cnn", "vit"]
    assert all(r.digit == labels[2] for r in results)
    assert np.array_equal(results[0].pixels, results[1].pixels)


def test_concurrent_callers_share_batches_and_get_the_same_answers(engine, mnist_test):
    images, _ = mnist_test
    uploads = [png(image) for image in images[:320]]
    alone = [engine.classify(data).probabilities for data in uploads[:32]]
    before = engine.batching_stats()["cnn"]
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda data: engine.classify(data).probabilities, uploads))
    after = engine.batching_stats()["cnn"]
    np.testing.assert_allclose(together[:32], alone, atol=1e-5)
    requests, batches = after["requests"] - before["requests"], after["batches"] - before["batches"]
    assert requests == 320 and batches < requests, "concurrent requests should share model calls"


def test_each_model_gets_as_many_workers_as_asked_and_they_all_answer_alike(mnist_test, monkeypatch):
    images, _ = mnist_test
    uploads = [png(image) for image in images[:96]]
    monkeypatch.setenv(WORKERS_ENV, "3")
    with Engine(("cnn",)) as three, Engine(("cnn",), workers=1) as one:
        assert three.batching_stats()["cnn"]["workers"] == 3 and one.batching_stats()["cnn"]["workers"] == 1
        with ThreadPoolExecutor(16) as pool:
            together = list(pool.map(lambda data: three.classify(data).probabilities, uploads))
        np.testing.assert_allclose(together, [one.classify(data).probabilities for data in uploads], atol=1e-5)
        np.testing.assert_allclose(three.predict_probabilities("cnn", images[:300]),
                                   one.predict_probabilities("cnn", images[:300]), atol=1e-5)
        assert three.batching_stats()["cnn"]["requests"] == 96 + 5  # 300 digits: five chunks of at most 64


def test_the_default_worker_count_follows_the_cores_and_the_containers_quota(tmp_path, monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    quota = cgroup_cpu_quota()
    assert worker_count() == min(len(os.sched_getaffinity(0)), math.ceil(quota) if quota else 1_000)
    assert worker_count(2) == 2
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # an ECS task of 0.5 vCPU
    assert cgroup_cpu_quota(tmp_path) == 0.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    monkeypatch.setenv(WORKERS_ENV, "many")
    with pytest.raises(ValueError, match=WORKERS_ENV):
        worker_count()


@pytest.mark.slow  # thousands of PNG uploads through the engine
def test_upload_path_keeps_the_models_accuracy(engine, mnist_test):
    """MNIST test digits saved as PNG files lose at most 0.15 points against the array figure."""
    images, labels = mnist_test
    from_arrays = np.mean(np.argmax(engine.predict_probabilities("cnn", images), axis=1) == labels)
    results = engine.classify_batch([(None, png(image)) for image in images], "cnn")
    from_files = np.mean([result.digit == label for result, label in zip(results, labels)])
    assert from_arrays - from_files <= 0.0015, (from_arrays, from_files)


def test_bad_inputs_get_readable_errors(engine, mnist_test):
    with pytest.raises(UnknownModelError, match="Unknown model 'resnet'.*cnn, vit, ensemble"):
        engine.classify(png(mnist_test[0][0]), "resnet")
    with pytest.raises(InputError, match="holiday.png"):
        engine.classify(b"definitely not an image", filename="holiday.png")


def test_a_batch_reports_each_bad_file_and_classifies_the_rest(engine, mnist_test):
    images, labels = mnist_test
    results = engine.classify_batch([("a.png", png(images[0])), ("b.png", b""), ("c.png", png(images[1]))])
    assert [type(r) for r in results] == [type(results[0]), ClassificationError, type(results[0])]
    assert results[0].digit == labels[0] and results[2].digit == labels[1]
    assert results[1].to_dict()["file"] == "b.png" and "empty" in results[1].error.lower()


# --- the LiteRT files against the Keras files they came from ------------------------------------------


@pytest.mark.parametrize("model_id", models.MODEL_IDS)
def test_shipped_litert_file_is_the_one_its_card_records_from_the_shipped_keras_file(model_id):
    recorded = models.load_card(model_id)["tflite"]
    assert recorded["sha256"] == models.file_sha256(models.litert_path(model_id))
    assert recorded["keras_sha256"] == models.file_sha256(models.model_path(model_id)), (
        f"models/{model_id}.keras changed since its export: run `digits export {model_id}`")
    assert recorded["max_probability_difference"] <= 1e-4 and recorded["checked_images"] >= 1000


@pytest.mark.parametrize("model_id", models.MODEL_IDS)
def test_engine_gives_the_keras_models_answers_on_test_digits(engine, mnist_test, model_id):
    """What `digits evaluate` reports through the engine is what the Keras model scores."""
    images, labels = mnist_test[0][:2000], mnist_test[1][:2000]
    keras_model = models.load_keras_model(model_id)
    expected = apply_temperature(keras_model.predict(to_model_input(images), batch_size=500, verbose=0),
                                 engine.cards[model_id].get("temperature", 1.0))
    served = engine.predict_probabilities(model_id, images)
    np.testing.assert_allclose(served, expected, atol=1e-4)
    assert np.array_equal(np.argmax(served, axis=1), np.argmax(expected, axis=1))
    assert np.mean(np.argmax(served, axis=1) == labels) == np.mean(np.argmax(expected, axis=1) == labels)


@pytest.mark.parametrize("count", [1, 3, 5, 17, 63, 70, 130])
def test_any_number_of_images_gets_the_answers_each_gets_alone(engine, mnist_test, count):
    """Batches are split into the interpreters' fixed sizes; each image gets what it gets alone."""
    images = mnist_test[0][100:100 + count]
    together = engine.predict_probabilities("vit", images)
    alone = np.concatenate([engine.predict_probabilities("vit", image[np.newaxis]) for image in images])
    assert together.shape == (count, 10)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def copied_models(tmp_path, model_id="cnn", with_litert=True):
    for path in (models.model_path(model_id), models.card_path(model_id),
                 *([models.litert_path(model_id)] if with_litert else [])):
        shutil.copy2(path, tmp_path / path.name)
    return tmp_path


def test_a_missing_litert_file_says_how_to_make_it(tmp_path):
    with pytest.raises(MissingModelError, match=r"cnn\.tflite.*digits export cnn"):
        Engine(("cnn",), copied_models(tmp_path, with_litert=False))


def test_a_litert_file_its_card_does_not_record_is_refused(tmp_path):
    folder = copied_models(tmp_path)
    shutil.copy2(models.litert_path("vit"), folder / "cnn.tflite")
    with pytest.raises(MissingModelError, match="digits export cnn"):
        Engine(("cnn",), folder)


@pytest.mark.slow  # converts a Keras model to LiteRT
def test_export_rewrites_the_litert_file_from_the_keras_file_and_records_it(tmp_path, mnist_path):
    from training.export import export

    folder = copied_models(tmp_path, with_litert=False)
    tflite = export("cnn", data=mnist_path, directory=folder)
    card = json.loads(models.card_path("cnn", folder).read_text())
    assert card["tflite"] == tflite and tflite["sha256"] == models.file_sha256(folder / "cnn.tflite")
    assert tflite["keras_sha256"] == models.file_sha256(folder / "cnn.keras")
    assert tflite["checked_images"] == card["validation_size"] and tflite["max_probability_difference"] <= 1e-4
    images = load_mnist(mnist_path).x_test[:64]
    with Engine(("cnn",), folder) as exported, Engine(("cnn",)) as shipped:
        np.testing.assert_allclose(exported.predict_probabilities("cnn", images),
                                   shipped.predict_probabilities("cnn", images), atol=1e-5)


def test_batches_use_only_the_interpreters_fixed_sizes_and_are_never_padded():
    """One interpreter per fixed size, allocated once, so no call reallocates; a padded image would cost
    more than the model calls it saves (digits/litert.py)."""
    from digits.litert import batch_plan

    for count in range(1, 300):
        plan = batch_plan(count)
        assert set(plan) <= set(BATCH_SIZES) and sum(plan) == count and plan == sorted(plan, reverse=True)


def test_a_closed_engine_answers_at_once_with_a_clear_error_rather_than_waiting_for_ever():
    # A whole number's side task (the classifier confirming its digits) can outlive its call; asked of a
    # closed engine it must fail at once, or the process waits for it at exit and never ends.
    from digits.engine import Engine, EngineClosedError

    engine = Engine(model_ids=("cnn",), workers=1)
    engine.close()
    with pytest.raises(EngineClosedError, match="closed"):
        engine.predict_one("cnn", np.zeros((28, 28), np.uint8))
    with pytest.raises(EngineClosedError):
        engine.predict_probabilities("cnn", np.zeros((3, 28, 28), np.uint8))
    engine.close()  # closing twice is harmless
