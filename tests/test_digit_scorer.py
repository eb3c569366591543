"""The digit/not-digit scorer (models/digit_scorer.py): it keeps real digits, MNIST test digits it
never saw, and sets aside the objects a photo of a table holds, which locate's rules let through."""

import io
import json

import numpy as np
from PIL import Image

from training import scenes
from digits.preprocessing import prepare_upload
from digits.preprocessing.shape_features import NOT_HANDWRITING, looks_like_handwriting
from models.digit_scorer import SCORER_PATH, load_digit_scorer
from upload_files import encode


def as_jpeg(data: bytes) -> bytes:
    return encode(Image.open(io.BytesIO(data)).convert("RGB"), "JPEG", quality=85)


def test_the_shipped_scorer_has_its_card():
    card = json.loads(SCORER_PATH.read_text())
    assert load_digit_scorer() is not None and card["validation"]["digits_said_no_digit"] <= card["config"]["max_digits_rejected"]
    assert "training.digit_scorer" in card["command"]


def test_mnist_test_digits_look_like_handwriting(mnist_test):
    images = mnist_test[0][:1000]
    kept = [looks_like_handwriting(image) for image in images]
    # at most the share of validation digits the threshold was chosen to set aside (uploads in MNIST's
    # form are never judged; this is the scorer alone)
    assert sum(kept) >= 0.995 * len(kept), f"{len(kept) - sum(kept)} of {len(kept)} MNIST test digits set aside"


def test_photographed_bold_and_marker_digits_are_kept(mnist_test):
    from training.styles import bold, marker

    rng = np.random.default_rng(0)
    photos = [as_jpeg(style(digit, rng).data) for digit in mnist_test[0][:40] for style in (bold, marker)]
    assert all(prepare_upload(photo).has_digit for photo in photos)


def test_a_phone_or_a_mug_on_a_table_is_not_a_digit():
    for seed in (6, 27):  # a phone on a cloth; a mug below a keyboard's edge
        prepared = prepare_upload(scenes.table_with_things(np.random.default_rng(seed)))
        assert prepared.warnings == (f"No digit found: {NOT_HANDWRITING}.",)
