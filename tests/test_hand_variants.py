"""The hand variants: MNIST digits redrawn from their traced strokes as other people write them. Each
transform draws the shape it names, and every variant reaches the models through the upload pipeline."""

import numpy as np
import pytest

from training import hand_variants
from training.digit_strokes import skeleton_strokes
from training.hand_variants import HELD_OUT, TRAINING, box_of


def strokes_of(images, labels, digit, count=30):
    return [[stroke for stroke in skeleton_strokes(image) if len(stroke) > 1]
            for image in images[labels == digit][:count]]


def transformed(digits, transform, side, seed=0):
    rng = np.random.default_rng(seed)
    return [(strokes, transform(strokes, rng, side)) for strokes in digits]


@pytest.mark.parametrize("side", [TRAINING, HELD_OUT])
def test_a_hooked_nine_ends_left_of_its_foot_and_a_curl_comes_back_up(mnist_train_digits, side):
    pairs = [(before, after) for before, after in transformed(strokes_of(*mnist_train_digits, 9), hand_variants.hooked_nine, side)
             if after is not None]
    assert len(pairs) >= 20
    left, rising = 0, 0
    for before, after in pairs:
        drawn = {point for stroke in before for point in stroke}
        hooked = next(stroke for stroke in after if stroke[-1] not in drawn)
        foot = max((point for point in hooked if point in drawn), key=lambda point: point[1])  # where the tail ended
        left += hooked[-1][0] < foot[0]
        rising += hooked[-1][1] < foot[1] - 0.02
    assert left >= 0.75 * len(pairs)
    if side == HELD_OUT:  # a curl of 170-280 degrees heads back up
        assert rising >= 0.8 * len(pairs)


@pytest.mark.parametrize("side", [TRAINING, HELD_OUT])
def test_a_flagged_one_gains_an_up_stroke_into_its_top_from_the_lower_left(mnist_train_digits, side):
    for before, after in transformed(strokes_of(*mnist_train_digits, 1), hand_variants.flagged_one, side):
        top = min((point for stroke in before for point in stroke), key=lambda point: point[1])
        flag = after[len(before)]
        assert flag[1] == top and flag[0][0] < top[0] and flag[0][1] > top[1]
        height = box_of(before).height
        length = np.hypot(top[0] - flag[0][0], top[1] - flag[0][1]) / height
        assert (0.25 <= length <= 0.45) if side == TRAINING else (0.45 <= length <= 0.65)


def test_an_open_four_has_no_ink_between_its_arm_and_stem_at_the_top(mnist_train_digits):
    opened = 0
    for before, after in transformed(strokes_of(*mnist_train_digits, 4), hand_variants.open_four, TRAINING):
        box = box_of(before)
        band = [x for stroke in before for x, y in stroke if y < box.top + 0.3 * box.height]
        low, high = min(band), max(band)
        middle = [(x, y) for stroke in after[:-1] for x, y in stroke
                  if y < box.top + 0.3 * box.height and low + 0.3 * (high - low) < x < high - 0.3 * (high - low)]
        assert not middle
        (_, foot), (_, head) = after[-1]  # the stem, drawn on up: above every other ink right of the middle
        centre = (box.left + box.right) / 2
        assert head < foot - 0.04 * box.height
        assert head <= min(y for stroke in after for x, y in stroke if x > centre)
        opened += len(after) > len(before)
    assert opened >= 10  # many MNIST 4s were closed at the top, and were opened


def test_a_crossed_seven_gains_a_bar_across_its_stem(mnist_train_digits):
    crossed = [(before, after) for before, after in
               transformed(strokes_of(*mnist_train_digits, 7), hand_variants.crossed_seven, TRAINING) if after is not None]
    assert len(crossed) >= 20
    for before, after in crossed:
        (x0, y0), (x1, y1) = after[-1]
        box = box_of(before)
        assert x1 - x0 > 0.25 * box.height and abs(y1 - y0) < 0.15 * box.height
        assert box.top + 0.4 * box.height < (y0 + y1) / 2 < box.top + 0.65 * box.height


def test_every_variant_reaches_the_models_as_a_digit_through_the_upload_pipeline(mnist_train_digits, engine):
    """A handful of each variant, rendered as uploads and read back by prepare_upload: each a 28x28 digit
    with ink, and the shipped CNN reads most of them as the digit they are."""
    images, labels = mnist_train_digits
    read_right = {}
    for name in hand_variants.VARIANTS:
        pixels, sources = hand_variants.render_one_variant(name, images, labels, 10, seed=1, side=TRAINING)
        assert len(pixels) == 10, name
        assert all(image.shape == (28, 28) and image.max() > 128 for image in pixels), name
        predictions = engine.predict_probabilities("cnn", np.stack(pixels)).argmax(axis=1)
        read_right[name] = int(np.sum(predictions == labels[sources]))
    assert sum(read_right.values()) >= 0.85 * 10 * len(hand_variants.VARIANTS), read_right


@pytest.mark.slow  # renders the 1,400 held-out variants the first time (about a minute on two cores)
def test_the_shipped_cnn_reads_the_held_out_hand_variants(mnist_path):
    """The held-out suite (MNIST validation digits in the variants' held-out ranges), through the engine as
    served: the shipped CNN reads 92.64% (103 wrong of 1,400; bold pens filling the box 81.5%, hooked 9s
    91.5%, flagged 1s 91.0%, its commonest mistake a curved 7 read as 2), so the bar allows about 10 digits'
    noise. A model that reads other people's hooks, flags and bold pens worse falls under it."""
    from training.evaluate import evaluate_styles

    scored = evaluate_styles("cnn", "hand-variants", data=str(mnist_path))
    assert scored.n == 7 * hand_variants.SUITE_PER_VARIANT
    assert scored.accuracy >= 0.92, scored.per_style()
    assert all(scores["accuracy"] >= 0.78 for scores in scored.per_style().values()), scored.per_style()
