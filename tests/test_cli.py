"""The `digits` command as a person uses it: classify files and folders, evaluate, benchmark."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from digits.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def true_digit(path: Path) -> int:
    return NUMBERS.index(path.stem.split("-")[0])


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("model", ["cnn", "vit", "ensemble"])
def test_classify_a_folder_of_samples_gives_one_right_answer_per_file(model, capsys):
    assert main(["classify", "--model", model, "--json", str(SAMPLES)]) == 0
    results = json_lines(capsys.readouterr().out)
    samples = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".png", ".jpg", ".csv"})
    assert [Path(r["file"]).name for r in results] == [p.name for p in samples]
    for result, sample in zip(results, samples):
        assert result["model"] == model and len(result["probabilities"]) == 10
        assert result["digit"] == true_digit(sample), result


def test_classify_goes_on_past_a_broken_file_and_exits_1(tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    missing = tmp_path / "missing.png"
    seven = sorted(SAMPLES.glob("seven*"))[0]
    assert main(["classify", "--json", str(broken), str(missing), str(seven)]) == 1
    broken_result, missing_result, seven_result = json_lines(capsys.readouterr().out)
    assert broken_result["file"] == str(broken) and "broken.png" in broken_result["error"]
    assert "cannot read" in missing_result["error"]
    assert seven_result["digit"] == 7


def test_a_broken_file_deep_in_folders_is_named_by_its_own_name(tmp_path, capsys):
    deep = tmp_path.joinpath(*["a folder with a long name"] * 6)
    deep.mkdir(parents=True)
    broken = deep / "receipt-total.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["classify", "--json", str(broken)]) == 1
    (result,) = json_lines(capsys.readouterr().out)
    assert "receipt-total.png'" in result["error"] and "..." in result["error"], result
    assert len(result["error"]) < 200


def _converted(sample: Path, image_format: str) -> bytes:
    """A sample photo as the same picture in another format (HEIC from an iPhone, AVIF)."""
    buffer = io.BytesIO()
    Image.open(sample).convert("RGB").save(buffer, format=image_format, quality=90)
    return buffer.getvalue()


def test_a_folder_run_says_what_it_skipped_and_why(tmp_path, capsys):
    photos, broken_only = tmp_path / "photos", tmp_path / "broken-only"
    photos.mkdir()
    broken_only.mkdir()
    (photos / "seven.heic").write_bytes(_converted(sorted(SAMPLES.glob("seven*"))[0], "HEIF"))
    (photos / "four.avif").write_bytes(_converted(sorted(SAMPLES.glob("four*"))[0], "AVIF"))
    (photos / "notes.txt").write_text("the fours are from the sticky note")
    (photos / "Makefile").write_text("all:\n")
    (photos / "older").mkdir()
    (broken_only / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    assert main(["classify", "--json", str(photos), str(broken_only)]) == 1
    out, err = capsys.readouterr()
    four, seven, broken = json_lines(out)
    assert (four["file"], four["digit"]) == (str(photos / "four.avif"), 4)
    assert (seven["file"], seven["digit"]) == (str(photos / "seven.heic"), 7)
    assert broken["file"] == str(broken_only / "broken.png") and "is not an image or CSV file we can read" in broken["error"]
    assert err.splitlines() == [
        f"digits classify: skipped {photos / 'Makefile'}: no file-type suffix, not an image or CSV file by its name",
        f"digits classify: skipped {photos / 'notes.txt'}: a .txt file, not an image or CSV file by its name",
        f"digits classify: skipped {photos / 'older'}: a folder; folders inside folders are not searched",
        f"digits classify: nothing in {broken_only} could be classified: it holds no image or CSV file that we can read",
    ]


def test_a_folder_with_nothing_readable_is_an_error_not_silence(tmp_path, capsys):
    empty, notes = tmp_path / "empty", tmp_path / "notes"
    empty.mkdir()
    notes.mkdir()
    (notes / "todo.md").write_text("- photograph the sevens")
    assert main(["classify", str(empty), str(notes)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"digits classify: skipped {notes / 'todo.md'}: a .md file, not an image or CSV file by its name",
        f"digits classify: nothing in {empty} could be classified: it holds no image or CSV file that we can read",
        f"digits classify: nothing in {notes} could be classified: it holds no image or CSV file that we can read",
    ]


def test_classify_prints_a_readable_table_without_json(capsys):
    seven = sorted(SAMPLES.glob("seven*"))[0]
    assert main(["classify", str(seven)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(seven)) and ": 7 " in line and "%" in line


@pytest.mark.slow  # all 10,000 test digits
def test_evaluate_json_prints_exactly_one_object(mnist_path):
    run = subprocess.run([sys.executable, "-m", "digits.cli", "evaluate", "cnn", "--data", str(mnist_path), "--json"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    result = json.loads(run.stdout)
    card = json.loads((REPO / "models" / "cnn.json").read_text())
    assert result["model"] == "cnn" and result["n"] == 10000  # the figure on the card, as the engine serves it:
    assert abs(result["accuracy"] - card["test_accuracy"]) <= 0.001  # at most 10 of 10,000 answers differ


def test_a_missing_data_file_is_a_clear_error_not_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "digits.cli", "evaluate", "cnn", "--data", str(tmp_path / "x.npz")],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and "not found" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.slow  # a serving process of its own, 1,000 calls
def test_benchmark_reports_every_figure(mnist_path):
    from digits.bench import run_benchmark
    from training.data import load_mnist

    figures = run_benchmark(load_mnist(mnist_path).x_test, single=20, naive=3, concurrent=64, bulk=64)
    for model in ("cnn", "vit", "naive", "read_number_6_digits"):
        assert 0 < figures[model]["p50_ms"] <= figures[model]["p99_ms"]
    for way in ("engine", "api", "api_array"):  # the Python API's latency beside the engine's, in one run
        assert 0 < figures["api_cnn"][way]["p50_ms"] <= figures["api_cnn"][way]["p99_ms"]
    assert figures["api_cnn"]["api_vs_engine_p50"] > 0
    for key in ("batch_images_per_s", "concurrent_1_images_per_s", "concurrent_16_images_per_s"):
        assert figures[key] > 0
    for key in ("concurrent_1_cpu_ms_per_request", "concurrent_16_cpu_ms_per_request"):  # (in clock ticks: 0 may be)
        assert 0 <= figures[key] < 1000
    assert "concurrency_gain_bound_by_cpu" in figures
    assert figures["concurrency_gain_in_a_round"] > 0 and figures["concurrency_gain_in_a_round_with_drain"] > 0
    for callers in (1, 16):  # the cores each kept busy (from clock ticks: too coarse here for an upper bound)
        assert figures[f"concurrent_{callers}_cores_busy"] >= 0
    for model in ("cnn", "vit"):  # the evidence maps (classify --explain, the page's Why?)
        assert 0 < figures["explanation"][model]["one_answer_p50_ms"] < figures["explanation"][model]["p50_ms"]
    assert "tensorflow" not in figures  # the engine's former way is gone; naive Keras is the baseline
    assert figures["speedup_vs_naive_cnn"] > 0 and figures["speedup_vs_naive_vit"] > 0
    serving = figures["serving_process"]
    assert serving["calls"] == 1000 and serving["tensorflow_loaded"] is False
    assert 0 < serving["cold_start_s"] and 0 < serving["rss_after_warmup_mib"] <= serving["peak_rss_mib"]
    json.dumps(figures)


def _command_environment(**extra: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "LOG_LEVEL")}
    return {**environment, **extra}


def test_a_first_command_prints_only_its_results_without_tensorflow_start_up_lines():
    seven = str(sorted(SAMPLES.glob("seven*"))[0])
    run = subprocess.run([sys.executable, "-m", "digits.cli", "classify", seven], capture_output=True, text=True,
                         cwd=REPO, env=_command_environment())
    assert run.returncode == 0 and run.stderr == "" and run.stdout.startswith(seven)
    debug = subprocess.run([sys.executable, "-m", "digits.cli", "classify", seven], capture_output=True, text=True,
                           cwd=REPO, env=_command_environment(LOG_LEVEL="debug"))
    assert debug.returncode == 0 and "XNNPACK" in debug.stderr  # asked for: the runtime's own lines are shown


def test_classify_trace_prints_each_stage_after_the_answer_preparing_each_picture_once(monkeypatch, capsys):
    import digits.engine

    prepared = []
    real_prepare = digits.engine.prepare_upload
    monkeypatch.setattr(digits.engine, "prepare_upload",
                        lambda data, filename=None, **options: prepared.append(filename) or
                        real_prepare(data, filename, **options))
    seven, csv = sorted(SAMPLES.glob("seven*.png"))[0], sorted(SAMPLES.glob("*.csv"))[0]
    assert main(["classify", "--trace", "--json", str(seven), str(csv)]) == 0
    answer, trace, *rows = json_lines(capsys.readouterr().out)

    assert answer["file"] == str(seven) and answer["digit"] == 7
    assert trace["file"] == str(seven)
    assert [step["stage"] for step in trace["trace"]][:2] == ["decode", "lighting"]
    assert trace["trace"][-1]["stage"] == "judge"
    assert prepared == [str(seven)]  # the picture was prepared once, traced as it was read
    assert rows and all("trace" not in row for row in rows)  # a CSV file's rows carry no trace
