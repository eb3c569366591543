"""The evidence maps ("Why?"): faithful by deletion on MNIST test digits, and what the CLI prints."""

import json

import numpy as np
import pytest

from digits.cli import main
from digits.engine import Engine
from digits.explain import OcclusionConfig, deletion_costs, evidence_map, occlusion_windows

FAITHFUL_RATIO = 1.5  # the bar: the map's top quarter of ink costs >= 1.5x a random quarter
DIGITS_CHECKED = 300


@pytest.fixture(scope="module")
def engine():
    with Engine() as engine:
        yield engine


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cnn", "vit"])
def test_erasing_the_ink_the_map_ranks_highest_costs_the_answer_most(engine, model, mnist_test):
    images = mnist_test.images[-DIGITS_CHECKED:]  # the settings were chosen on validation digits

    def predict(batch):
        return engine.predict_probabilities(model, batch)

    digits = predict(images).argmax(axis=1)
    maps = np.stack([engine.explain(model, image, int(digit)) for image, digit in zip(images, digits)])
    top, random = deletion_costs(predict, images, digits, maps)
    ratio = top.mean() / random.mean()
    print(f"{model}: erasing the top quarter costs {top.mean():.3f}, a random quarter {random.mean():.3f} "
          f"(ratio {ratio:.2f}, {DIGITS_CHECKED} MNIST test digits)")
    assert ratio >= FAITHFUL_RATIO
    # and for most digits one at a time, not only on average
    assert np.mean(top >= random) >= 0.7


def test_the_map_puts_evidence_on_ink_only_and_a_blank_image_has_none(engine, mnist_test):
    image = mnist_test.images[0]
    evidence = engine.explain("cnn", image, 7)
    assert evidence.shape == (28, 28) and evidence.dtype == np.float32
    assert np.all(evidence[image == 0] == 0)  # blacking out black changes nothing: no evidence there
    assert evidence.sum() > 0  # a 7 read as a 7: its ink supports the answer overall
    blank = np.zeros((28, 28), np.uint8)
    assert occlusion_windows(blank) == [] and not engine.explain("cnn", blank, 3).any()


def test_ink_that_points_to_another_digit_counts_against_the_answer(engine, mnist_test):
    """A 7 with a bar added across its foot reads less like a 7: the map says that bar is against it."""
    image = mnist_test.images[0].copy()  # a 7
    image[24:27, 8:20] = 255
    evidence = engine.explain("cnn", image, 7)
    assert evidence[24:27, 8:20].sum() < 0


def test_squares_cover_the_image_to_its_edges():
    config = OcclusionConfig()
    full = np.full((28, 28), 255, np.uint8)
    covered = np.zeros((28, 28), bool)
    for top, left in occlusion_windows(full, config):
        covered[top:top + config.patch, left:left + config.patch] = True
    assert covered.all()


def test_deletion_costs_erase_a_quarter_of_the_ink():
    erased = []

    def predict(batch):
        erased.append((batch > 64).sum(axis=(1, 2)))
        return np.tile(np.linspace(0.0, 1.0, 10), (len(batch), 1))

    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 4:24, 10:14] = 200  # 80 ink pixels
    ranking = np.zeros((1, 28, 28), np.float32)
    ranking[0, 4:9, 10:14] = 1  # the map's top 20 pixels: the stroke's top
    deletion_costs(predict, image, np.array([9]), ranking)
    before, top, random = erased
    assert before[0] == 80 and top[0] == 60 and random[0] == 60


def test_classify_json_explain_adds_what_the_model_saw_and_the_map(capsys):
    assert main(["classify", "--json", "--explain", "samples/seven-paper.png", "samples/nine.csv"]) == 0
    for line in map(json.loads, capsys.readouterr().out.splitlines()):
        seen, explanation = np.array(line["seen"]), np.array(line["explanation"])
        assert seen.shape == explanation.shape == (28, 28)
        assert seen.dtype.kind == "i" and 0 <= seen.min() and seen.max() <= 255
        assert seen.max() > 200 and seen[0, 0] == 0  # light ink on a dark ground, as MNIST
        assert explanation.sum() > 0 and np.all(explanation[seen == 0] == 0)


def test_classify_explain_without_json_says_how_to_use_it(capsys):
    assert main(["classify", "--explain", "samples/seven-paper.png"]) == 2
    assert "use it with --json" in capsys.readouterr().err


def test_a_map_runs_as_one_batched_call_of_the_model():
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return np.full((len(batch), 10), 0.1)

    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    evidence_map(predict, image, 1)
    assert calls == [len(occlusion_windows(image)) + 1]
