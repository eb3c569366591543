"""The judge reads the find in its picture (models/digit_scorer.ContextJudge, trained by
training/digit_context.py): what locate measures round the find (how faint, how grained, what other marks
lie round it) beside the 28x28 image. Pictures of families it never trained on say "no digit", MNIST test
digits in every scene are kept, and an upload already in MNIST's form never reaches it."""

import json

import numpy as np
from PIL import Image

import digits.preprocessing.pipeline as pipeline
from digits.preprocessing import prepare_upload
from digits.preprocessing.locate import CONTEXT
from models.digit_scorer import SCORER_PATH, load_digit_scorer
from training import scenes
from training.digit_scorer import HELD_OUT
from upload_files import encode

SEED = 2027  # neither the judge's training (29) nor its choosing, nor the scenes suite's seeds
# Held-out families (never trained on), 20 fresh pictures each: at least this many said "no digit"
# (measured with this judge: docs/reading-pipeline.md, "The judge reads the find in its picture")
HELD_OUT_SAID_NO_DIGIT = {"printed text": 19, "shapes": 14}


def test_the_shipped_judge_reads_the_context_locate_measures():
    card = json.loads(SCORER_PATH.read_text())
    scorer = load_digit_scorer()
    assert scorer.context is not None and scorer.context.mean.shape == (1 + len(CONTEXT),)
    assert card["context"]["inputs"][1:] == list(CONTEXT)
    choosing = card["context"]["choosing"]  # the pipeline's answers on the choosing side, as trained
    after, before = choosing["the judge with the context"], choosing["the rules before and the image judges"]
    assert after["held_out_said_no_digit"] >= before["held_out_said_no_digit"]
    assert after["validation_digits_said_no_digit"] <= min(before["validation_digits_said_no_digit"], 0.01)


def test_pictures_of_families_it_never_trained_on_say_no_digit():
    for family, at_least in HELD_OUT_SAID_NO_DIGIT.items():
        assert family in HELD_OUT
        rng = np.random.default_rng([SEED, list(scenes.BLANKS).index(family)])
        said = sum(not prepare_upload(scenes.BLANKS[family](rng)).has_digit for _ in range(20))
        assert said >= at_least, f"{family}: {said} of 20 said no digit"


def test_mnist_test_digits_in_every_scene_are_kept(mnist_test):
    images = mnist_test.first(44)[0]
    said = []
    for index, (scene, make) in enumerate(scenes.SCENES.items()):
        rng = np.random.default_rng([SEED, index])
        said += [scene for digit in images[4 * index:4 * index + 4] if not prepare_upload(make(digit, rng)).has_digit]
    assert len(said) <= 1, f"said no digit: {said}"


def test_an_upload_in_mnist_form_never_reaches_the_judge(mnist_test, monkeypatch):
    judged = []
    monkeypatch.setattr(pipeline, "handwriting_score", lambda *args: judged.append(args) or (1.0, 0.0))
    steps = []
    digits = mnist_test.first(20)[0]
    prepared = [prepare_upload(encode(Image.fromarray(digit)), "digit.png", trace=steps) for digit in digits]
    assert all(image.has_digit for image in prepared) and not judged and "judge" not in {step.stage for step in steps}
    assert sum(np.array_equal(image.pixels, digit) for image, digit in zip(prepared, digits)) >= 19  # read as they are
