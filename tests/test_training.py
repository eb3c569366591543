"""Training: a short real run of each architecture saves a model that reloads and predicts the same."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import models
from digits.preprocessing import to_model_input
from training.data import DataError, load_mnist, make_dataset, validation_split


@pytest.mark.slow  # trains (small_models: conftest.py trains both models once a session; test_evaluate_report reads them)
@pytest.mark.parametrize("model_id", models.MODEL_IDS)
def test_smoke_training_saves_a_model_that_reloads_and_predicts_identically(model_id, small_models, small_mnist,
                                                                             mnist_path):
    folder, asked = small_models.folder, small_models.settings[model_id]
    saved = json.loads(models.card_path(model_id, folder).read_text())
    assert saved == json.loads(json.dumps(small_models.cards[model_id]))
    assert saved["epochs"] == asked["epochs"] and saved["training_size"] == asked["limit"]
    assert 0.0 <= saved["test_accuracy"] <= 1.0 and saved["data_sha256"] == load_mnist(small_mnist).sha256
    assert set(saved["history"]) >= {"accuracy", "loss", "val_accuracy", "val_loss", "style_shift_accuracy"}
    assert saved["style_shift"]["n"] == 2 * len(saved["style_shift"]["per_style"])

    reloaded = keras.saving.load_model(models.model_path(model_id, folder))
    again = keras.saving.load_model(models.model_path(model_id, folder))
    images = to_model_input(load_mnist(mnist_path).x_test[:64])
    first = reloaded.predict(images, verbose=0)
    np.testing.assert_allclose(first, again.predict(images, verbose=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)
    assert list((small_models.logs / model_id).iterdir()), "TensorBoard logs are written"


def test_load_mnist_from_a_path_gives_the_standard_arrays(mnist_path):
    mnist = load_mnist(mnist_path)
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert len(mnist.sha256) == 64


def test_load_mnist_reads_the_environment_variable(mnist_path, monkeypatch):
    monkeypatch.setenv("DIGITS_MNIST_NPZ", str(mnist_path))
    assert load_mnist().source == str(mnist_path)


def test_missing_and_malformed_data_files_get_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found.*--data"):
        load_mnist(tmp_path / "nowhere.npz")
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_mnist(tmp_path / "junk.npz")
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(DataError, match="no array 'y_train'"):
        load_mnist(tmp_path / "partial.npz")


def test_validation_split_is_fixed_by_the_seed_and_disjoint():
    x, y = np.arange(1000).reshape(1000, 1, 1), np.arange(1000) % 10
    (train_a, _), (val_a, _) = validation_split(x, y, 100, seed=1)
    (train_b, _), (val_b, _) = validation_split(x, y, 100, seed=1)
    assert np.array_equal(val_a, val_b) and len(val_a) == 100 and len(train_a) == 900
    assert not set(val_a.ravel()) & set(train_a.ravel())


def test_augmentation_keeps_the_digit_recognisable(mnist_path):
    """Augmented digits stay in the frame, in range, and close to their originals (not noise)."""
    from training.config import AugmentConfig

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:256], mnist.y_train[:256]
    (augmented, labels), = make_dataset(x, y, 256, augment=AugmentConfig(), seed=0).take(1)
    augmented = augmented.numpy()
    assert augmented.shape == (256, 28, 28, 1) and augmented.min() >= 0.0 and augmented.max() <= 1.0
    assert sorted(np.argmax(labels, axis=1)) == sorted(y)
    assert not np.allclose(np.sort(augmented, axis=None), np.sort(to_model_input(x), axis=None), atol=0.01)
    assert 0.6 < augmented.sum() / to_model_input(x).sum() < 1.4


def test_ensemble_weight_favours_the_model_that_is_right_more_often():
    from training.calibrate import fit_ensemble_shares

    def fit_ensemble_weight(first, second, labels):  # the first model's share
        return fit_ensemble_shares([first, second], labels)[0]

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2000)
    right_often, right_sometimes = (np.eye(10)[np.where(rng.random(2000) < accuracy, labels, (labels + 1) % 10)] * 0.8
                                    + 0.02 for accuracy in (0.95, 0.6))
    assert fit_ensemble_weight(right_often, right_sometimes, labels) > 0.5
    assert fit_ensemble_weight(right_sometimes, right_often, labels) < 0.5
    assert fit_ensemble_weight(np.eye(10)[labels] * 0.8 + 0.02, right_sometimes, labels) == 1.0


def test_cross_fitted_shares_credit_a_member_only_for_what_it_adds(engine, mnist_path):
    """scripts/compare_ensemble_member.py: shares fitted on half the digits and groups, scored on the rest."""
    from training.calibrate import cross_fitted_accuracy

    mnist = load_mnist(mnist_path)
    _, (x_val, y_val) = validation_split(mnist.x_train, mnist.y_train, 5000, 42)
    images, labels = x_val[:2000], y_val[:2000]
    cnn, vit = (engine.predict_probabilities(model, images) for model in ("cnn", "vit"))

    def crossed(*members):  # the first 1,000 digits as validation, the rest as held-out "families" by digit
        return cross_fitted_accuracy([m[:1000] for m in members], labels[:1000], [m[1000:] for m in members],
                                     labels[1000:], labels[1000:])

    shipped = crossed(cnn, vit)
    assert crossed(cnn, vit, cnn.copy()) == shipped  # a member that errs where the CNN does adds nothing
    knows_better = np.eye(10)[labels] * 0.8 + 0.02  # right where both err
    helped = crossed(cnn, vit, knows_better)
    assert sum(helped) > sum(shipped) and all(h >= s for h, s in zip(helped, shipped))


def test_temperature_fit_recovers_a_known_miscalibration():
    from digits.engine import apply_temperature
    from training.calibrate import fit_temperature

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(5000, 10))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in true])
    underconfident = apply_temperature(true, 2.0)  # what a label-smoothed model looks like
    temperature = fit_temperature(underconfident, labels)
    assert temperature == pytest.approx(0.5, rel=0.1)
    restored = apply_temperature(underconfident, temperature)
    assert np.array_equal(np.argmax(restored, axis=1), np.argmax(true, axis=1))
    np.testing.assert_allclose(restored.sum(axis=1), 1.0, rtol=1e-6)


def ink_aspect(images: np.ndarray) -> np.ndarray:
    """Width over height of each image's ink box."""
    ink = images[..., 0] > 0.3 if images.ndim == 4 else images > 76
    widths = [np.ptp(np.flatnonzero(row)) + 1 for row in ink.any(axis=1)]
    heights = [np.ptp(np.flatnonzero(column)) + 1 for column in ink.any(axis=2)]
    return np.array(widths) / np.array(heights)


def test_box_stretch_widens_narrow_digits_towards_a_square(mnist_path):
    """A 1 stretched as scanners that fill a square box do: wider, but never wider than tall."""
    from training.augment import augment_batch
    from training.config import AugmentConfig

    mnist = load_mnist(mnist_path)
    ones = mnist.x_train[mnist.y_train == 1][:200]
    still = dict(max_rotation_degrees=0.0, max_shear_degrees=0.0, scale_range=(1.0, 1.0), max_shift_pixels=0.0,
                 max_stroke_change=0.0)
    keras.utils.set_random_seed(0)  # the stretches drawn, the same whatever ran before (else the median wobbles)
    stretched = augment_batch(to_model_input(ones), AugmentConfig(**still, box_stretch_share=1.0)).numpy()
    unchanged = augment_batch(to_model_input(ones), AugmentConfig(**still)).numpy()

    assert np.median(ink_aspect(stretched)) > np.median(ink_aspect(ones)) + 0.2
    assert ink_aspect(stretched).max() <= 1.15
    assert abs(np.median(ink_aspect(unchanged)) - np.median(ink_aspect(ones))) < 0.05


def test_style_shift_augmentation_leaves_digits_the_shipped_model_still_reads(mnist_path):
    """Each new style on its own (elastic, box stretch, bold, low resolution, blur, binarised, erased), and
    the mix training uses: changed images, still digits the shipped CNN reads, not noise."""
    from dataclasses import replace

    from training.augment import augment_batch
    from training.config import STYLE_SHIFT, AugmentConfig

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:500], mnist.y_train[:500]
    model = keras.saving.load_model(models.model_path("cnn"), compile=False)
    shares = ("elastic_share", "box_stretch_share", "bold_share", "low_resolution_share", "blur_share",
              "binarise_share", "erase_share")
    for config, least in [(STYLE_SHIFT, 0.95), *((replace(AugmentConfig(), **{share: 1.0}), 0.9) for share in shares)]:
        augmented = augment_batch(to_model_input(x), config).numpy()
        assert augmented.min() >= 0.0 and np.allclose(augmented.max(axis=(1, 2, 3)), 1.0)
        read = np.argmax(model.predict(augmented, batch_size=250, verbose=0), axis=1)
        assert np.mean(read == y) > least, config


@pytest.mark.slow  # trains
@pytest.mark.parametrize("model_id", ["cnn", "vit"])
def test_fine_tuning_starts_from_the_given_model_and_says_so(model_id, mnist_path, tmp_path):
    # In a fresh interpreter, as `digits train MODEL --init-from FILE` runs: loading the file must not
    # depend on the architecture's module having been imported already.
    run = (f"from training.train import train; train({model_id!r}, epochs=1, data={str(mnist_path)!r}, "
           f"out={str(tmp_path)!r}, limit=256, log_dir={str(tmp_path / 'runs')!r}, verbose=0, suite_per_style=2, typefaces=False, "
           f"init_from={str(models.model_path(model_id))!r}, command='digits train {model_id} --init-from')")
    subprocess.run([sys.executable, "-c", run], check=True, cwd=Path(models.__file__).parent.parent)

    card = json.loads((tmp_path / f"{model_id}.json").read_text())
    shipped = models.load_card(model_id)
    assert card["init_from"]["file"] == f"{model_id}.keras"
    assert card["init_from"]["test_accuracy"] == shipped["test_accuracy"]
    # the runs it started from travel with it: its report draws the whole training (training/report.py)
    assert card["init_from"]["history"] == shipped["history"]
    assert card["init_from"].get("init_from") == shipped.get("init_from")
    assert card["validation_accuracy"] > 0.95  # 256 images from scratch would not get near this
    assert card["epochs"] == len(card["history"]["val_accuracy"]) == 1
    assert card["train_config"]["augment"]["elastic_share"] > 0
    # every epoch's weights are kept beside its logs, to compare epochs (and the ViT's views) afterwards
    assert len(list((tmp_path / "runs" / model_id).glob("*/epoch-01.weights.h5"))) == 1


def test_distilled_targets_mix_the_label_with_the_teachers_answer_for_the_image_they_see(mnist_path):
    from dataclasses import replace

    from training.config import FINE_TUNES
    from training.train import distilled_targets

    mnist = load_mnist(mnist_path)
    images, labels = to_model_input(mnist.x_test[:200]), mnist.y_test[:200]
    wrong = np.eye(10, dtype=np.float32)[(labels + 1) % 10]  # labelled one digit off: only the teachers know better
    config = FINE_TUNES["vit"]
    assert config.teachers == ("cnn", "cnn2") and config.distill_weight == 0.5
    targets = np.asarray(distilled_targets(config)(images, wrong))
    assert np.allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(targets[np.arange(200), (labels + 1) % 10], 0.5, atol=0.02)  # the label's half
    teachers_part = targets - 0.5 * wrong
    assert np.mean(np.argmax(teachers_part, axis=1) == labels) > 0.97  # the teachers read the image itself
    # a lower temperature sharpens the teachers' answer, a higher one softens it
    softer = np.asarray(distilled_targets(replace(config, distill_temperature=2.0))(images, wrong)) - 0.5 * wrong
    assert teachers_part.max(axis=1).mean() > softer.max(axis=1).mean()


@pytest.mark.slow  # trains a small second CNN, besides small_models
def test_a_second_cnn_with_its_own_seed_keeps_the_split_and_joins_the_ensemble(small_models, small_mnist, tmp_path,
                                                                              monkeypatch):
    import shutil
    from dataclasses import asdict, replace

    from digits.engine import Engine
    from training.calibrate import calibrate_ensemble
    from training.config import MEMBERS, StyledDigits
    from training.train import train

    # small_mnist has no training digits outside the styled suite's validation digits to draw styled ones from
    monkeypatch.setitem(MEMBERS, "cnn", replace(MEMBERS["cnn"], styled=StyledDigits()))
    card = train("cnn", epochs=1, data=small_mnist, out=tmp_path / "member", log_dir=tmp_path / "runs", verbose=0,
                 limit=256, suite_per_style=2, typefaces=False, member_seed=7)
    # Its own seed for weights, shuffling and augmentation; the split the ensemble is chosen on stays the first's.
    assert card["train_config"]["member_seed"] == 7 and card["train_config"]["seed"] == 42
    assert card["validation_size"] == small_models.cards["cnn"]["validation_size"]
    assert card["train_config"]["augment"] == asdict(MEMBERS["cnn"].augment)

    folder = shutil.copytree(small_models.folder, tmp_path / "models")
    for suffix in (".keras", ".tflite", ".json"):
        shutil.copyfile(tmp_path / "member" / f"cnn{suffix}", folder / f"cnn2{suffix}")
    ensemble = calibrate_ensemble(small_mnist, folder, typefaces=False)
    assert {"cnn", "vit"} <= set(ensemble["weights"]) <= {"cnn", "vit", "cnn2"}
    assert sum(ensemble["weights"].values()) == pytest.approx(1.0)
    with Engine(models_dir=folder) as engine:
        assert engine.members == tuple(m for m, share in ensemble["weights"].items() if share > 0) and engine.choices == ("cnn", "vit", "ensemble")


def test_a_distilled_member_is_the_members_mix_taught_by_the_shipped_cnn_and_vit():
    from dataclasses import replace

    from training.config import DISTILLED_MEMBERS, MEMBERS
    from training.train import train

    config = DISTILLED_MEMBERS["cnn"]
    assert config.teachers == ("cnn", "vit") and config.distill_weight > 0
    assert replace(config, teachers=(), distill_weight=0.0, distill_temperature=1.0) == MEMBERS["cnn"]
    with pytest.raises(ValueError, match="member_seed"):
        train("cnn", distill=True)


def test_a_member_of_another_architecture_sees_wider_keeps_where_strokes_lie_and_trains_on_heavier_styles():
    from dataclasses import replace

    from keras import layers

    from training.config import MEMBER_ARCHITECTURES, MEMBERS
    from training.train import train

    cnn, other = models.build_model("cnn"), models.build_model("dense_head_cnn")
    first = [layer for layer in other.layers if isinstance(layer, layers.Conv2D)][0]
    assert first.kernel_size == (5, 5) and [l for l in cnn.layers if isinstance(l, layers.Conv2D)][0].kernel_size == (3, 3)
    # the CNN averages its features over the grid; the member's head reads each of the 7x7 cells
    assert any(isinstance(l, layers.GlobalAveragePooling2D) for l in cnn.layers)
    assert any(isinstance(l, layers.Flatten) for l in other.layers) and other.output_shape == (None, 10)
    config = MEMBER_ARCHITECTURES["dense_head_cnn"]
    assert config.augment.elastic_share > MEMBERS["cnn"].augment.elastic_share
    assert config.augment.bold_share > MEMBERS["cnn"].augment.bold_share
    assert replace(config, augment=MEMBERS["cnn"].augment, epochs=MEMBERS["cnn"].epochs) == MEMBERS["cnn"]
    with pytest.raises(ValueError, match="member_seed"):
        train("cnn", architecture="dense_head_cnn")


@pytest.mark.slow  # trains a small member of the other architecture
def test_a_member_of_another_architecture_says_so_and_exports(small_mnist, tmp_path, monkeypatch):
    from dataclasses import replace

    from training.config import MEMBER_ARCHITECTURES, StyledDigits
    from training.train import train

    monkeypatch.setitem(MEMBER_ARCHITECTURES, "dense_head_cnn",
                        replace(MEMBER_ARCHITECTURES["dense_head_cnn"], styled=StyledDigits()))
    card = train("cnn", epochs=1, data=small_mnist, out=tmp_path, log_dir=tmp_path / "runs", verbose=0,
                 limit=128, suite_per_style=2, typefaces=False, member_seed=19, architecture="dense_head_cnn")
    assert card["architecture"] == "dense_head_cnn" and card["model_config"]["stem_kernel"] == 5
    assert card["train_config"]["member_seed"] == 19 and card["train_config"]["augment"]["elastic_share"] == 0.5
    reloaded = models.load_keras_model("cnn", tmp_path)
    assert reloaded.name == "dense_head_cnn" and card["parameters"] == reloaded.count_params()
    assert card["tflite"]["sha256"] == models.file_sha256(models.litert_path("cnn", tmp_path))


@pytest.mark.slow  # trains a small CNN taught by the shipped CNN and ViT
def test_a_distilled_member_learns_from_the_shipped_models_and_says_so(small_mnist, tmp_path, monkeypatch):
    from dataclasses import replace

    from training.config import DISTILLED_MEMBERS, StyledDigits
    from training.train import train

    monkeypatch.setitem(DISTILLED_MEMBERS, "cnn", replace(DISTILLED_MEMBERS["cnn"], styled=StyledDigits()))
    train("cnn", epochs=1, data=small_mnist, out=tmp_path, log_dir=tmp_path / "runs", verbose=0,
          limit=128, suite_per_style=2, typefaces=False, member_seed=11, distill=True)
    card = json.loads(models.card_path("cnn", tmp_path).read_text())
    assert card["train_config"]["teachers"] == ["cnn", "vit"] and card["train_config"]["member_seed"] == 11
    assert card["train_config"]["distill_weight"] == DISTILLED_MEMBERS["cnn"].distill_weight
    assert card["tflite"] and models.model_path("cnn", tmp_path).is_file()
