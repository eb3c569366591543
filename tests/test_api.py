"""The Python API as a data scientist uses it: `from digits import Reader`, on every kind of picture.

The pictures are real MNIST test digits (and numbers composed from them, tests/number_images.py), given
as paths, bytes, PIL images and NumPy arrays; each kind must read exactly as `digits classify` reads
the same picture saved as a PNG file.
"""

import io
import json
import pydoc
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from number_images import build_number, rendered
from PIL import Image
from upload_files import dark_on_white, enlarged, on_canvas, painted, transparent_drawing

import digits
from digits import Classification, ClassificationError, InputError, Reader, UnknownModelError
from digits.cli import main
from models import MODELS_DIR


@pytest.fixture(scope="module")
def reader():
    with Reader() as shared:
        yield shared


@pytest.fixture(scope="module")
def mnist(mnist_test):
    images, labels = mnist_test
    return images[:200], labels[:200]


def cli_reads(path: Path, capsys, *flags: str) -> dict:
    """What `digits classify --json PATH` prints for one picture."""
    capsys.readouterr()
    main(["classify", "--json", *flags, str(path)])
    (line,) = capsys.readouterr().out.splitlines()
    return json.loads(line)


def every_kind(picture: Image.Image, path: Path) -> dict[str, object]:
    """The same picture as each input kind the Reader takes (the PNG at `path` written from it)."""
    picture.save(path)
    kinds: dict[str, object] = {"str path": str(path), "Path": path, "bytes": path.read_bytes(),
                                "PIL image": picture}
    pixels = np.asarray(picture)
    if picture.mode == "L":
        kinds.update({"uint8 HxW": pixels, "uint8 HxWx1": pixels[..., np.newaxis],
                      "uint8 HxWx3": np.repeat(pixels[..., np.newaxis], 3, axis=2),
                      "float HxW in 0-1": pixels / 255.0, "float32 HxW in 0-255": pixels.astype(np.float32),
                      "int64 HxW": pixels.astype(np.int64)})
    else:
        kinds[f"uint8 HxWx{pixels.shape[2]}"] = pixels
        kinds[f"float HxWx{pixels.shape[2]} in 0-1"] = pixels / 255.0
    return kinds


def pictures(mnist) -> dict[str, Image.Image]:
    images, _ = mnist
    ink = on_canvas(enlarged(images[3], 120), (220, 180), (40, 30))
    return {
        "MNIST 28x28": Image.fromarray(images[0]),
        "dark on white scan": dark_on_white(images[1]),
        "blue ink on paper (RGB)": Image.fromarray(painted(ink, (35, 55, 165), (238, 232, 218)).astype(np.uint8)),
        "transparent drawing (RGBA)": transparent_drawing(on_canvas(enlarged(images[2], 100), (160, 160), (30, 30))),
    }


@pytest.mark.parametrize("which", ["MNIST 28x28", "dark on white scan", "blue ink on paper (RGB)",
                                   "transparent drawing (RGBA)"])
def test_every_input_kind_reads_what_the_cli_reads_of_the_same_picture(which, reader, mnist, tmp_path, capsys):
    picture = pictures(mnist)[which]
    kinds = every_kind(picture, tmp_path / "picture.png")
    cli = cli_reads(tmp_path / "picture.png", capsys)
    assert cli["digit"] is not None
    seen = None
    for kind, image in kinds.items():
        result = reader.classify(image)
        assert isinstance(result, Classification)
        assert (result.digit, round(result.confidence, 6)) == (cli["digit"], cli["confidence"]), kind
        assert result.probabilities == pytest.approx(cli["probabilities"], abs=1e-6), kind
        assert result.seen.shape == (28, 28) and result.seen.dtype == np.uint8
        seen = result.seen if seen is None else seen
        assert np.array_equal(result.seen, seen), f"{kind} saw another 28x28 image"
    assert reader.classify(kinds["str path"]).file == str(tmp_path / "picture.png")  # a path names its result


def test_the_digits_read_are_the_right_ones(reader, mnist):
    images, labels = mnist
    results = reader.classify([image / 255.0 for image in images[:100]])
    assert np.mean([r.digit for r in results] == labels[:100]) >= 0.98


def test_a_blank_picture_is_no_digit_with_a_warning_saying_so(reader, mnist, tmp_path, capsys):
    blank = np.full((120, 160), 255, np.uint8)  # white paper
    result = reader.classify(blank)
    assert (result.digit, result.confidence, result.probabilities) == (None, None, None)
    assert result.warnings and "No digit" in result.warnings[0]
    assert not result.seen.any()
    assert result.to_dict()["digit"] is None
    Image.fromarray(blank).save(tmp_path / "blank.png")
    assert cli_reads(tmp_path / "blank.png", capsys)["warnings"] == list(result.warnings)
    for mode in ("CMYK", "YCbCr", "F", "I;16", "1", "P"):  # a PIL image in any mode
        assert reader.classify(Image.new(mode, (40, 30))).digit is None, mode


def test_a_number_reads_digit_by_digit_with_boxes_in_the_pictures_own_pixels(reader, mnist):
    images, labels = mnist
    rng = np.random.default_rng(31)
    chosen = rng.choice(len(images), 4, replace=False)
    number = build_number(images[chosen], labels[chosen], rng)
    png = rendered(number, "paper")
    as_array = np.asarray(Image.open(io.BytesIO(png)))
    reading = reader.read_number(as_array)
    assert reading.number == "".join(map(str, number.labels))
    assert reading.to_dict() == {**reader.read_number(png).to_dict(), "latency_ms": reading.to_dict()["latency_ms"]}
    for digit, (left, top, right, bottom) in zip(reading.digits, number.boxes):
        assert 0 <= digit.confidence <= 1
        x, y = (digit.box[0] + digit.box[2]) / 2, (digit.box[1] + digit.box[3]) / 2
        assert left <= x <= right and top <= y <= bottom, (digit.box, (left, top, right, bottom))
    assert json.loads(json.dumps(reading.to_dict()))["number"] == reading.number


def test_a_list_of_numbers_reads_as_each_alone_and_a_bad_picture_is_reported_in_its_place(reader, mnist, tmp_path):
    images, labels = mnist
    rng = np.random.default_rng(32)
    pngs = [rendered(build_number(images[chosen], labels[chosen], rng), "paper")
            for chosen in (rng.choice(len(images), 3, replace=False) for _ in range(2))]
    listed = reader.read_numbers([pngs[0], tmp_path / "missing.png", b"not a picture", pngs[1]],
                                 names=["a", "b", "c", "d"])
    assert [r.file for r in listed] == ["a", "b", "c", "d"]
    assert isinstance(listed[1], ClassificationError) and "cannot read" in listed[1].error
    assert isinstance(listed[2], ClassificationError) and "'c' is not an image or CSV file" in listed[2].error
    for reading, png in zip((listed[0], listed[3]), pngs):
        alone = reader.read_number(png, name=reading.file).to_dict()
        assert reading.to_dict() == {**alone, "latency_ms": reading.to_dict()["latency_ms"]}


def test_threads_share_one_reader_and_each_gets_its_own_answers(reader, mnist):
    images, _ = mnist
    alone = [reader.classify(image) for image in images[:64]]
    answers: dict[int, list] = {}
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            answers[thread] = [reader.classify(images[i], model=("cnn", "vit", "ensemble")[thread % 3])
                               for i in range(thread, 64, 4)]
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and len(answers) == 8
    for thread, results in answers.items():
        model = ("cnn", "vit", "ensemble")[thread % 3]
        for i, result in zip(range(thread, 64, 4), results):
            assert result.model == model
            if model == "cnn":
                assert result.probabilities == pytest.approx(alone[i].probabilities, abs=1e-6)
            else:
                assert result.probabilities == pytest.approx(reader.classify(images[i], model=model).probabilities,
                                                             abs=1e-6)


def test_a_bad_input_raises_the_clis_readable_error(reader, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    for path in (broken, tmp_path / "missing.png"):
        capsys.readouterr()
        assert main(["classify", str(path)]) == 1
        printed = capsys.readouterr().out.strip()
        with pytest.raises(InputError) as raised:
            reader.classify(path)
        assert printed == f"{path}: error: {raised.value}"
        assert "Traceback" not in printed
    with pytest.raises(InputError, match="not an image or CSV file we can read"):
        reader.classify(broken.read_bytes())
    with pytest.raises(InputError, match="not an image or CSV file"):
        reader.read_number(broken)


def _truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300), np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()[:2000]  # the header is whole; the pixels stop short


@pytest.mark.parametrize("bad, words", [
    (np.zeros((4, 5, 7), np.uint8), "not a picture: give HxW"),
    (np.zeros((0, 5), np.uint8), "has no pixels"),
    (np.zeros(5, np.uint8), "not a picture: give HxW"),
    (np.full((8, 8), np.nan), "NaN or infinity"),
    (np.full((8, 8), -3.0), "must lie in 0-1 or 0-255"),
    (np.full((8, 8), 1000, np.int32), "must lie in 0-255"),
    (np.array([["a"]]), "is not a picture"),
    (12, "Cannot read a int as a picture"),
    (Image.new("RGB", (0, 0)), "no pixels"),
    (np.zeros((1, 50_000_000), np.uint8), "too many pixels"),
    (np.random.default_rng(0).integers(0, 256, (2000, 2000, 3), np.uint8), "MB as PNG; the limit is 10 MB. Shrink"),
    (Image.open(io.BytesIO(_truncated_png())), "could not be loaded"),
])
def test_a_bad_array_or_object_is_a_readable_error(reader, bad, words):
    with pytest.raises(InputError, match=words):
        reader.classify(bad)


def test_a_list_is_read_in_one_batch_in_order_and_one_bad_picture_is_reported_in_its_place(reader, mnist, tmp_path):
    images, labels = mnist
    singles = [reader.classify(image) for image in images[:20]]
    engine = reader._engine
    before = engine.batching_stats()["cnn"]["batches"]
    together = reader.classify(list(images[:20]))
    assert engine.batching_stats()["cnn"]["batches"] - before == 1  # twenty pictures, one model call
    assert [r.digit for r in together] == [r.digit for r in singles]
    assert all(r.probabilities == pytest.approx(s.probabilities, abs=1e-6) for r, s in zip(together, singles))

    rows = tmp_path / "rows.csv"  # a CSV of many digits gives one result per row
    rows.write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + "".join(
        f"{label}," + ",".join(map(str, image.ravel())) + "\n" for image, label in zip(images[:3], labels[:3])))
    mixed = reader.classify_many([images[5], tmp_path / "missing.png", rows, images[6]], names=["a", "b", "c", "d"])
    assert [getattr(r, "row", None) for r in mixed] == [None, None, 1, 2, 3, None]
    assert isinstance(mixed[1], ClassificationError) and mixed[1].file == "b" and "cannot read" in mixed[1].error
    assert [r.file for r in mixed] == ["a", "b", "c", "c", "c", "d"]
    assert [r.label for r in mixed[2:5]] == list(labels[:3])
    with pytest.raises(InputError, match="cannot read"):
        reader.classify([images[5], tmp_path / "missing.png"])


def test_compare_gives_every_models_answer_for_one_picture(reader, mnist):
    images, labels = mnist
    comparison = reader.compare(images[7])
    assert list(comparison.answers) == ["cnn", "vit"]
    for model in ("cnn", "vit"):
        assert comparison[model].digit == labels[7]
        assert comparison[model].probabilities == pytest.approx(
            reader.classify(images[7], model=model).probabilities, abs=1e-6)
    assert comparison.agree and [a.model for a in comparison] == ["cnn", "vit"]
    assert json.loads(json.dumps(comparison.to_dict()))["answers"]["vit"]["digit"] == labels[7]


def test_a_reader_is_a_context_manager_that_closes_its_models(mnist):
    images, labels = mnist
    with Reader("ensemble") as own:
        assert own.classify(images[9]).model == "ensemble" and own.classify(images[9]).digit == labels[9]
    with pytest.raises(RuntimeError, match="closed"):
        own.classify(images[9])
    own.close()  # closing twice is harmless
    assert "closed" in repr(own)


def test_a_candidates_folder_and_an_unknown_model(mnist, tmp_path):
    images, labels = mnist
    for name in ("cnn.tflite", "cnn.json"):  # a fine-tuned candidate's folder holds one model
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    with Reader(models_dir=tmp_path) as candidate:
        assert candidate.models == ("cnn",)
        assert candidate.classify(images[11]).digit == labels[11]
        assert list(candidate.compare(images[11]).answers) == ["cnn"]
        with pytest.raises(UnknownModelError, match="choose one of: cnn"):
            candidate.classify(images[11], model="vit")
    with pytest.raises(UnknownModelError, match="Unknown model 'resnet'"):
        Reader("resnet")
    with pytest.raises(FileNotFoundError, match="No LiteRT models"):
        Reader(models_dir=tmp_path / "empty")


def test_help_reads_well():
    text = " ".join(word for word in pydoc.render_doc(digits.Reader, renderer=pydoc.plaintext).split() if word != "|")
    for words in ("classify(", "read_number(", "compare(", "classify_many(", "0-1 scale", "threads", "InputError"):
        assert words in text
    assert (Path(digits.__file__).parent / "py.typed").is_file()
