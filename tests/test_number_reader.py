"""The number reader's parts: greedy CTC decoding, the line's frame, the training lines' spacing, and a
short training run that writes a LiteRT reader the server can run."""

import json
from dataclasses import replace

import numpy as np
import pytest

import models
from digits.number_reader import BLANK, NumberReaderModel, beam_decode, ctc_log_likelihood, decode_text, \
    greedy_decode, likelier_reading, read_line, shifted_right
from digits.preprocessing.number_line import LINE_HEIGHT, LINE_WIDTH, MARGIN, fit_line


def columns(*labels: int) -> np.ndarray:
    """Probabilities (len(labels), 11): each column sure of its label (0.9)."""
    probabilities = np.full((len(labels), 11), 0.01, np.float32)
    probabilities[np.arange(len(labels)), labels] = 0.9
    return probabilities


def test_greedy_decoding_merges_runs_and_drops_blanks():
    probabilities = columns(BLANK, 1, 1, BLANK, 1, 2, 2, BLANK, BLANK, 0)
    digits = greedy_decode(probabilities)
    assert decode_text(probabilities) == "1120"
    assert [d.columns for d in digits] == [(1, 3), (4, 5), (5, 7), (9, 10)]
    assert all(0 < d.confidence < 0.9 and abs(sum(d.probabilities) - 1) < 1e-6 for d in digits)
    assert decode_text(columns(*[BLANK] * 64)) == ""


def test_beam_decoding_reads_clean_columns_as_greedy_decoding_does():
    probabilities = columns(BLANK, 1, 1, BLANK, 1, 2, 2, BLANK, BLANK, 0)
    assert beam_decode(probabilities) == greedy_decode(probabilities)
    assert beam_decode(columns(*[BLANK] * 64)) == []


def test_beam_decoding_sums_a_digits_paths():
    # Each column is likelier blank (0.6) than a 3 (0.4), so greedy decoding reads nothing; but the paths that
    # write "3" (3-3, 3-blank, blank-3) together weigh 0.64 against the blanks' 0.36.
    probabilities = np.zeros((2, 11), np.float32)
    probabilities[:, [3, BLANK]] = [0.4, 0.6]
    assert greedy_decode(probabilities) == []
    (digit,) = beam_decode(probabilities)
    assert digit.digit == 3 and digit.columns in ((0, 1), (1, 2), (0, 2))


def test_beam_decoding_keeps_a_repeated_digit_apart_by_its_blank():
    digits = beam_decode(columns(BLANK, 1, 1, BLANK, 1, BLANK))
    assert [(d.digit, d.columns) for d in digits] == [(1, (1, 3)), (1, (4, 5))]


def test_the_line_is_read_as_is_and_one_pixel_to_the_right():
    line = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)
    line[4:28, 4:20] = 1.0
    moved = shifted_right(line, 1)
    assert moved[4:28, 5:21].min() == 1.0 and moved[:, 4].max() == 0.0 and moved.sum() == line.sum()
    seen = []

    def read(view):  # a stand-in reader: a "7" at the column where the view's ink starts
        seen.append(view)
        probabilities = columns(*[BLANK] * 64)
        start = int(np.flatnonzero(view.max(axis=0))[0]) // 4
        probabilities[start] = 0.01
        probabilities[start, 7] = 0.9
        return probabilities

    assert [d.digit for d in read_line(read, line)] == [7]
    assert len(seen) == 2 and seen[0] is line and np.array_equal(seen[1], moved)


def test_where_the_two_readings_disagree_their_mean_is_beam_decoded():
    # the first reading sees a 3 over two columns, each likelier blank; the second a sure 3 there
    views = [columns(*[BLANK] * 64), columns(*[BLANK] * 64)]
    views[0][[10, 11]] = 0.0
    views[0][[10, 11], 3], views[0][[10, 11], BLANK] = 0.45, 0.55
    views[1][10] = columns(3)[0]
    (digit,) = read_line(lambda view: views.pop(0), np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32))
    assert digit.digit == 3 and digit.columns[0] == 10


def test_a_strings_likelihood_sums_every_path_that_writes_it():
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(11), size=4)
    paths = np.stack(np.meshgrid(*[np.arange(11)] * 4, indexing="ij"), axis=-1).reshape(-1, 4)
    for labels in [(), (3,), (3, 3), (2, 5), (1, 2, 1)]:
        written = [tuple(int(c) for i, c in enumerate(path) if c != BLANK and (i == 0 or c != path[i - 1]))
                   for path in paths]
        by_hand = sum(np.prod(probabilities[np.arange(4), path])
                      for path, text in zip(paths, written) if text == labels)
        assert ctc_log_likelihood(probabilities, labels) == pytest.approx(np.log(by_hand), rel=1e-9)


def test_crowded_digits_keep_the_reading_likelier_on_both_views():
    # Two 1s squeezed together: the line's views read one 1 over three columns, hesitating at the middle one
    # (blank 0.4 against 0.55 for a 1 going on); widened, the reader sees both, a blank between them sure.
    line = columns(BLANK, 1, 1, 1, BLANK, BLANK, BLANK, BLANK)
    line[2, [1, BLANK]] = [0.55, 0.4]
    widened = columns(BLANK, 1, 1, BLANK, BLANK, 1, 1, BLANK)
    digits = likelier_reading([line, line], [widened, widened])
    assert [d.digit for d in digits] == [1, 1]
    assert digits[0].columns[1] <= 2 < digits[1].columns[0] and digits[1].columns[1] <= 4  # on the line's columns
    # where the widened line is no surer of two than the line is of one, the line's reading stands
    unsure = columns(BLANK, 1, 1, BLANK, BLANK, 1, 1, BLANK)
    unsure[[3, 4], 1], unsure[[3, 4], BLANK] = 0.45, 0.5  # widened, two 1s: but only just
    assert decode_text(unsure) == "11"
    assert [d.digit for d in likelier_reading([columns(BLANK, 1, 1, 1, 1, 1, 1, BLANK)] * 2, [unsure] * 2)] == [1]


def test_a_line_widened_across_keeps_its_height():
    ink = np.zeros((40, 60), np.float32)
    ink[5:35, 10:50] = 200.0
    plain, widened = fit_line(ink), fit_line(ink, 1.15)
    width = [int(np.ptp(np.flatnonzero(f.pixels.max(axis=0) > 0.5))) + 1 for f in (plain, widened)]
    height = [int(np.ptp(np.flatnonzero(f.pixels.max(axis=1) > 0.5))) + 1 for f in (plain, widened)]
    assert width[1] == pytest.approx(1.15 * width[0], abs=1) and height[0] == height[1]
    assert widened.crop_columns(MARGIN, MARGIN + 24 * 1.15) == (0, 40)


def test_a_hesitant_column_makes_a_digit_unsure():
    sure, hesitant = columns(BLANK, 7, BLANK), columns(BLANK, 7, BLANK)
    hesitant[2] = 0.0
    hesitant[2, [7, BLANK]] = [0.45, 0.55]  # the next column nearly reads the 7 again
    assert greedy_decode(hesitant)[0].confidence < 0.5 < greedy_decode(sure)[0].confidence


def test_a_line_keeps_its_aspect_in_the_frame():
    short, long = np.zeros((40, 60), np.float32), np.zeros((40, 2000), np.float32)
    short[5:35, 10:50] = long[5:35, 10:1990] = 200.0
    fitted = fit_line(short)
    assert fitted.pixels.shape == (LINE_HEIGHT, LINE_WIDTH) and fitted.pixels.max() == pytest.approx(1.0)
    assert fitted.scale == pytest.approx((LINE_HEIGHT - 2 * MARGIN) / 40)  # the height fills the frame
    assert fitted.crop_columns(MARGIN, MARGIN + 24) == (0, 40)
    assert fit_line(long).scale == pytest.approx((LINE_WIDTH - 2 * MARGIN) / 2000)  # too long: the width does


def test_training_lines_crowd_whole_numbers_as_well_as_single_gaps(mnist_path):
    from training.data import load_mnist
    from training.number_data import GAP_MIX, WHOLE_LINE_MIX, WHOLE_LINE_SPACING, compose_number

    digits = load_mnist(mnist_path).x_train[:6]
    rng = np.random.default_rng(0)
    lines = [compose_number(digits, np.arange(6), rng).spacings for _ in range(600)]
    every = {kind: np.mean([set(gaps) == {kind} for gaps in lines]) for kind in ("touching", "overlapping")}
    expected = WHOLE_LINE_SPACING * WHOLE_LINE_MIX[2] + (1 - WHOLE_LINE_SPACING) * GAP_MIX[2] ** 5
    assert abs(every["overlapping"] - expected) < 0.05 and every["touching"] > 0.1, every
    share = {kind: np.mean([gaps.count(kind) / 5 for gaps in lines]) for kind in ("apart", "touching", "overlapping")}
    mixed = [WHOLE_LINE_SPACING * whole + (1 - WHOLE_LINE_SPACING) * gap for whole, gap in zip(WHOLE_LINE_MIX, GAP_MIX)]
    assert all(abs(share[kind] - expected) < 0.05 for kind, expected in zip(share, mixed)), share



def test_training_lines_are_read_as_served_widened_and_the_suites_lines_stay_as_they_were(mnist_path):
    from digits.number_reader import WIDENED
    from training.data import load_mnist
    from training.number_data import line_batch

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:300], mnist.y_train[:300]

    def first_line(**styles):  # the first line is composed alike whatever the styles draw after it
        images, *_ = line_batch(x, y, 2, np.random.default_rng(5), "touching", lengths=(2,), weights=(1,),
                                rough=False, **styles)
        return images[0, ..., 0]

    def ink_width(line):
        columns = np.flatnonzero(line.max(axis=0) > 0.1)
        return columns[-1] - columns[0] + 1

    plain = first_line()
    assert np.array_equal(first_line(elastic_digits=0.0, widened_lines=0.0), plain)  # the suites' lines
    widened = first_line(widened_lines=1.0)  # a crowded two-digit line: as tall, 1.15x as wide
    assert ink_width(widened) == pytest.approx(ink_width(plain) * WIDENED, abs=2)
    assert not np.array_equal(first_line(elastic_digits=1.0), plain)  # the digits wobbled

    images, targets, lengths, _ = line_batch(x, y, 16, np.random.default_rng(6), elastic_digits=0.5,
                                             widened_lines=0.5)
    assert images.max() > 0.5 and (targets[np.arange(16), lengths - 1] >= 0).all()

def test_surface_lines_mark_a_share_of_the_lines_and_off_the_lines_stay_as_they_were(mnist_path):
    from training.data import load_mnist
    from training.number_data import line_batch

    mnist = load_mnist(mnist_path)
    x, y = mnist.x_train[:300], mnist.y_train[:300]

    def first_lines(count=1, **styles):  # the first line is composed alike whatever the styles draw after it
        images, targets, *_ = line_batch(x, y, max(count, 2), np.random.default_rng(5), "overlapping",
                                         lengths=(3,), weights=(1,), rough=False, **styles)
        return images[:count, ..., 0], targets[:count]

    (plain,), (truth,) = first_lines()
    (off,), _ = first_lines(surface_lines=0.0)
    assert np.array_equal(off, plain)  # off: nothing more drawn, the suites' lines as before
    (marked,), (marked_truth,) = first_lines(surface_lines=1.0)
    assert not np.array_equal(marked, plain) and np.array_equal(marked_truth, truth)  # marks carry no label

    images, _ = first_lines(200, surface_lines=0.5)
    unmarked, _ = first_lines(200)
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(images[1:], unmarked[1:])])
    assert changed > 0.3  # later lines differ once the marks draw from the generator


def test_a_surface_grains_the_strokes_and_leaves_a_loops_pieces_round_the_number(mnist_path):
    from training.data import load_mnist
    from training.number_data import SurfaceMarks, compose_number, surface_marked

    mnist = load_mnist(mnist_path)
    ink = compose_number(mnist.x_train[:4], mnist.y_train[:4], np.random.default_rng(1), "touching").ink
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05), np.flatnonzero(ink.max(axis=0) > 0.05)
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    nothing = SurfaceMarks(grain=0, uneven=0, loop_pieces=0, stray_stroke=0, line_through=0)
    assert np.array_equal(surface_marked(ink, np.random.default_rng(0), nothing), ink)

    grain = replace(nothing, grain=1.0)
    kept = [surface_marked(ink, np.random.default_rng(seed), grain) for seed in range(20)]
    lost = [1 - (grained > 0.5).sum() / (ink > 0.5).sum() for grained in kept]
    assert all(0.01 < share < 0.5 for share in lost) and np.mean(lost) > 0.08, lost  # broken, still legible

    loop = replace(nothing, loop_pieces=1.0)
    circled = [surface_marked(ink, np.random.default_rng(seed), loop) for seed in range(20)]
    grown = [m.shape[0] - ink.shape[0] + m.shape[1] - ink.shape[1] for m in circled]
    assert all(g >= 0 for g in grown) and np.mean([g > 2 for g in grown]) > 0.8, grown  # ink beyond the number
    assert all(m.sum() > ink.sum() for m in circled)



def test_a_run_may_draw_the_grain_alone(mnist_path):
    from training.data import load_mnist
    from training.number_data import SURFACE_MARKS, compose_number, only_marks, surface_marked

    grain = only_marks(["grain"])
    assert grain.grain == SURFACE_MARKS.grain and not (grain.uneven or grain.loop_pieces or grain.stray_stroke
                                                       or grain.line_through)
    with pytest.raises(ValueError, match="unknown surface marks"):
        only_marks(["grain", "coffee_stain"])
    mnist = load_mnist(mnist_path)
    ink = compose_number(mnist.x_train[:3], mnist.y_train[:3], np.random.default_rng(2), "touching").ink
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05), np.flatnonzero(ink.max(axis=0) > 0.05)
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    marked = [surface_marked(ink, np.random.default_rng(seed), grain) for seed in range(20)]
    assert all(m.shape[0] <= ink.shape[0] and m.shape[1] <= ink.shape[1] and m.sum() <= ink.sum() + 1e-3
               for m in marked)  # only ink taken away, none added round the number
    assert sum(not np.array_equal(m, ink) for m in marked) >= 6  # the grain's own chance (0.6) of the lines

@pytest.mark.slow
def test_a_short_training_run_writes_a_reader_the_server_runs(tmp_path, mnist_path):
    from training.config import NumberReaderTrainConfig
    from training.number_reader import train

    config = replace(NumberReaderTrainConfig(), minutes=0.02, minutes_between_checks=0.02, warmup_steps=2,
                     validation_per_spacing=4, batch_size=8)
    card = train(config, mnist_path, tmp_path, log=lambda *args, **kwargs: None, typefaces=False,  # no fonts in CI
                 keep_checks=tmp_path / "checks")
    path = models.litert_path("number_reader", tmp_path)
    assert card["tflite"]["sha256"] == models.file_sha256(path) and card["tflite"]["max_probability_difference"] < 1e-4
    assert set(card["validation_whole_number_accuracy"]) == {"apart", "touching", "overlapping", "mean"}
    probabilities = NumberReaderModel(path).predict(np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32))
    assert probabilities.shape == (64, 11) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert NumberReaderModel(path).shape == (1, LINE_HEIGHT, LINE_WIDTH, 1)  # the model's frame is the line's

    again = train(config, mnist_path, tmp_path / "again", log=lambda *args, **kwargs: None,
                  init_from=models.model_path("number_reader", tmp_path), typefaces=False)
    assert [run["steps"] for run in again["earlier_runs"]] == [card["steps"]]  # the card keeps the run before
    assert again["total_training_minutes"] == pytest.approx(again["training_minutes"] + card["training_minutes"],
                                                            abs=0.11)

    # the mean of the run's checks (scripts/average_number_reader.py), with the reader it went on from
    from scripts.average_number_reader import main as average

    steps = [check["step"] for check in card["history"]]
    average(["--run", str(tmp_path), "--steps", *map(str, steps), "--with", str(models.model_path("number_reader",
            tmp_path)), "--data", str(mnist_path), "--out", str(tmp_path / "averaged")])
    averaged = json.loads(models.card_path("number_reader", tmp_path / "averaged").read_text())
    assert averaged["averaged"]["steps"] == steps and averaged["chosen_step"] == card["chosen_step"]
    assert averaged["tflite"]["sha256"] == models.file_sha256(models.litert_path("number_reader", tmp_path / "averaged"))
    assert NumberReaderModel(models.litert_path("number_reader", tmp_path / "averaged")).predict(
        np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)).shape == (64, 11)


def test_the_shipped_reader_is_the_file_its_card_records():
    card = models.load_card("number_reader")
    assert card["tflite"]["sha256"] == models.file_sha256(models.litert_path("number_reader"))
    assert card["validation_whole_number_accuracy"]["mean"] > 0.85


@pytest.mark.slow
def test_the_attention_layer_starts_from_the_reader_without_it_and_exports_to_litert_builtins(tmp_path):
    import keras

    from models.number_reader import NumberReaderConfig, build_number_reader, load_weights_from, with_probabilities
    from training.export import convert

    keras.utils.set_random_seed(0)
    before = build_number_reader(NumberReaderConfig(context_heads=0))
    for layer in before.layers:  # a trained-looking reader: every weight nonzero
        layer.set_weights([w + np.random.default_rng(1).normal(0, 0.05, w.shape) for w in layer.get_weights()])
    after = build_number_reader(NumberReaderConfig(context_heads=4))
    load_weights_from(after, before)
    lines = np.random.default_rng(2).random((4, LINE_HEIGHT, LINE_WIDTH, 1)).astype(np.float32)
    assert after.count_params() > before.count_params()
    np.testing.assert_allclose(after.predict(lines, verbose=0), before.predict(lines, verbose=0), atol=1e-5)
    with pytest.raises(ValueError):
        load_weights_from(before, after)  # the attention's weights have nowhere to go

    path = tmp_path / "reader.tflite"
    path.write_bytes(convert(with_probabilities(after)))
    served = NumberReaderModel(path)
    assert "FLEX" not in str(served._interpreter._get_ops_details())  # builtins only: no TensorFlow at serving
    expected = with_probabilities(after).predict(lines[:1], verbose=0)[0]
    np.testing.assert_allclose(served.predict(lines[0, ..., 0]), expected, atol=1e-4)
