"""The `digits` command: a thin door onto training, evaluation, classification and serving."""

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DATA_HELP = "MNIST .npz file (default: $DIGITS_MNIST_NPZ, else Keras' download)"
NEEDS_TRAIN_EXTRA = {"train", "evaluate", "report", "calibrate", "export", "finetune"}
TRAIN_EXTRA_MODULES = {"tensorflow", "keras", "matplotlib", "tensorboard"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digits", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model on MNIST and write it with its model card")
    train.add_argument("model", choices=["cnn", "vit"])
    train.add_argument("--epochs", type=int, help="default: the model's own (see training/config.py)")
    train.add_argument("--data", help=DATA_HELP)
    train.add_argument("--out", help="folder for <model>.keras and <model>.json (default: models/)")
    train.add_argument("--seed", type=int)
    train.add_argument("--init-from", metavar="FILE",
                       help="fine-tune this trained .keras model (training/config.py's FINE_TUNES)")
    train.add_argument("--member-seed", type=int, metavar="N",
                       help="a second model for the ensemble, from scratch with its own seed N (training/config.py's MEMBERS)")
    train.add_argument("--distill", action="store_true",
                       help="with --member-seed: the member also learns from the shipped models' answers "
                            "(training/config.py's DISTILLED_MEMBERS)")
    train.add_argument("--architecture", choices=["dense_head_cnn"],
                       help="with --member-seed: a member of another architecture (models/dense_head_cnn.py; "
                            "training/config.py's MEMBER_ARCHITECTURES), saved as the model's files")
    train.add_argument("--hand-variants", type=int, metavar="N",
                       help="add N training digits per hand variant (training/hand_variants.py: MNIST training "
                            "digits redrawn from their strokes as hooked 9s, flagged 1s, ...; default: the config's)")
    train.add_argument("--heavy-typefaces", type=int, metavar="N",
                       help="add N heavy renders of each digit per training typeface family (training/typefaces.py: "
                            "the family's boldest weight, its pen widened until strokes touch; default: the config's)")
    train.add_argument("--heavy-bold-and-marker-only", action="store_true", default=None,
                       help="with --heavy-typefaces: from the bold and marker families alone (training/typefaces.py's "
                            "bold_or_marker)")
    train.add_argument("--limit", type=int, help=argparse.SUPPRESS)  # smoke runs: first N training images

    evaluate = commands.add_parser("evaluate", help="accuracy on the 10,000 MNIST test images, or another suite")
    evaluate.add_argument("model", choices=["cnn", "vit", "ensemble", "reader"])
    evaluate.add_argument("--suite", choices=["mnist-test", "style-shift", "typefaces", "typefaces-2", "hand-variants", "tight-crops",
                                              "drawings", "scenes", "numbers", "typeface-numbers"],
                          default="mnist-test",
                          help="style-shift: validation digits in styles MNIST rarely has (training/styles.py); "
                               "typefaces: digits in held-out handwriting typefaces (training/typefaces.py); "
                               "typefaces-2: the second held-out set, of the families added later; "
                               "hand-variants: validation digits redrawn from their strokes as people write them "
                               "(hooked 9s, flagged 1s, ...), in held-out ranges (training/hand_variants.py); "
                               "tight-crops, drawings: MNIST digits cropped to their ink, or drawn as pen strokes, "
                               "against the same digits unchanged (training/figure_suites.py); "
                               "scenes: test digits drawn into the places people write, and pictures without a "
                               "digit (training/scene_suite.py); "
                               "numbers: whole numbers composed from MNIST digits, for the reader "
                               "(training/number_suite.py); typeface-numbers: the same written by the held-out "
                               "typeface families")
    evaluate.add_argument("--count", type=int,
                          help="tight-crops, drawings: the first N digits (500, 300); scenes: N of each kind (40)")
    evaluate.add_argument("--split", choices=["test", "validation"],
                          help="tight-crops, drawings, numbers: MNIST's test digits (the final figure; the default "
                               "but for numbers), or its validation split (choose on this; the default for numbers)")
    evaluate.add_argument("--styles", type=int, default=0,
                          help="scenes: also N validation digits of each style-shift style, checked for 'no digit'")
    evaluate.add_argument("--confirm-with", choices=["cnn", "vit", "ensemble"], default="cnn",
                          help="numbers: the classifier that confirms the reader's digits")
    evaluate.add_argument("--confirm", choices=["weighed", "apart", "every", "none"], default="weighed",
                          help="numbers: which digits it confirms (none: the reader alone; digits/numbers.py)")
    evaluate.add_argument("--data", help=DATA_HELP)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    report = commands.add_parser("report", help="write the analysis report (figures, report.md)")
    report.add_argument("model", choices=["cnn", "vit"])
    report.add_argument("--data", help=DATA_HELP)
    report.add_argument("--out", help="folder (default: models/reports/<model>)")

    calibrate = commands.add_parser(
        "calibrate", help="fit a trained model's confidence on the validation split, or the ensemble's weights on it and "
                          "the first held-out typeface set")
    calibrate.add_argument("model", choices=["cnn", "vit", "ensemble"])
    calibrate.add_argument("--data", help=DATA_HELP)

    export = commands.add_parser("export", help="convert a trained model to LiteRT (<model>.tflite), the file the server runs")
    export.add_argument("model", choices=["cnn", "vit"])
    export.add_argument("--data", help=DATA_HELP + "; its validation split checks the result")

    classify = commands.add_parser("classify", help="classify image or CSV files with the shipped models")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of image and CSV files")
    classify.add_argument("--model", default="cnn", choices=["cnn", "vit", "ensemble"])
    classify.add_argument("--json", action="store_true", help="one JSON object per input per line")
    classify.add_argument("--explain", action="store_true",
                          help='with --json: add "seen" (the 28x28 image the model saw) and "explanation" '
                               "(the evidence for its answer, positive supporting it) to each digit")
    classify.add_argument("--trace", action="store_true",
                          help="after each picture, what each stage of the reading pipeline decided")

    read = commands.add_parser("read", help="read whole numbers (several digits) in image files")
    read.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of image files")
    read.add_argument("--model", default="cnn", choices=["cnn", "vit", "ensemble"])
    read.add_argument("--json", action="store_true", help="one JSON object per file per line")
    read.add_argument("--trace", action="store_true",
                      help="after each picture, what each stage of the reading pipeline decided")

    bench = commands.add_parser("bench", help="latency, throughput and memory of the engine, against naive Keras")
    bench.add_argument("--data", help=DATA_HELP)
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--explanations", action="store_true", help="time only the evidence maps (classify --explain)")
    bench.add_argument("--photos", action="store_true",
                       help="time only phone photos (beside decoding them) and a folder run on every core")

    finetune = commands.add_parser(
        "finetune", help="fine-tune a shipped model on exported corrections; kept only if nothing got worse")
    finetune.add_argument("model", choices=["cnn", "vit"])
    finetune.add_argument("--feedback", required=True, metavar="FILE.npz", help="from `digits feedback export`")
    finetune.add_argument("--data", help=DATA_HELP)
    finetune.add_argument("--out", help="folder for the accepted <model>.keras and card (default: models/)")
    finetune.add_argument("--epochs", type=int, help="default: training/config.py's FinetuneConfig")
    finetune.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    finetune.add_argument("--mnist-limit", type=int, help=argparse.SUPPRESS)  # smoke runs

    feedback = commands.add_parser("feedback", help="what people said about the answers (the feedback store)")
    feedback.add_argument("--database", metavar="URL",
                          help="default: $DIGITS_DATABASE_URL, else SQLite under $DIGITS_DATA_DIR")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    stats = feedback_commands.add_parser("stats", help="counts, corrections per model, the most common mistakes")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    export = feedback_commands.add_parser("export", help="every saved answer as an .npz in MNIST's form")
    export.add_argument("--out", required=True, metavar="FILE.npz")

    commands.add_parser("serve", help="run the Anvil uplink server (settings from the environment)")
    health = commands.add_parser("health", help="exit 0 if the uplink server is connected with its models loaded")
    health.add_argument("--status-file", help="default: $DIGITS_STATUS_FILE, else the server's default")
    health.add_argument("--max-age", type=float, default=30.0, help="seconds a heartbeat stays fresh")
    return parser


@dataclass
class Inputs:
    """What `digits classify` was given, opened up: the files to read, and what folders held besides."""

    files: list[Path] = field(default_factory=list)
    folder_of: dict[Path, Path] = field(default_factory=dict)  # a file found in a folder -> that folder
    folders: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (entry, why it was passed over)


def expand_paths(paths: list[str]) -> Inputs:
    """Files as given; a folder becomes its image and CSV files, sorted by name (not its subfolders)."""
    from digits.preprocessing.decode import READABLE_SUFFIXES

    inputs = Inputs()
    for path in map(Path, paths):
        if not path.is_dir():
            inputs.files.append(path)
            continue
        inputs.folders.append(path)
        for entry in sorted(path.iterdir()):
            if entry.is_dir():
                inputs.skipped.append((entry, "a folder; folders inside folders are not searched"))
            elif not entry.is_file():
                inputs.skipped.append((entry, "not a regular file"))
            elif entry.suffix.lower() not in READABLE_SUFFIXES:
                kind = f"a {entry.suffix} file" if entry.suffix else "no file-type suffix"
                inputs.skipped.append((entry, f"{kind}, not an image or CSV file by its name"))
            else:
                inputs.files.append(entry)
                inputs.folder_of[entry] = path
    return inputs


def read_uploads(paths: list[Path]) -> list[tuple[str, bytes | None, str | None]]:
    uploads = []
    for path in paths:
        try:
            uploads.append((str(path), read_upload(path), None))
        except OSError as error:
            uploads.append((str(path), None, f"cannot read {path}: {error.strerror or error}"))
        except UploadRefused as refusal:
            uploads.append((str(path), None, f"{path} {refusal}"))
    return uploads


class UploadRefused(Exception):
    """A file the CLI will not read: not a regular file, or over the size limit."""


def read_upload(path: Path) -> bytes:
    """A file's bytes, its kind and size checked first: a device (/dev/zero) or a FIFO would be read
    without end or block for ever, and a huge file would be read whole before the size check."""
    import stat

    from digits.preprocessing.decode import MAX_FILE_BYTES

    kind = os.stat(path).st_mode
    if not stat.S_ISREG(kind):
        what = ("a device" if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else "a pipe (FIFO)" if stat.S_ISFIFO(kind)
                else "a socket" if stat.S_ISSOCK(kind) else "not a regular file")
        raise UploadRefused(f"is {what}, not a file; give an image or CSV file")
    with open(path, "rb") as file:  # a regular file: opening it cannot block
        size = os.fstat(file.fileno()).st_size
        data = file.read(MAX_FILE_BYTES + 1)  # it may have grown since
    if max(size, len(data)) > MAX_FILE_BYTES:
        raise UploadRefused(f"is {max(size, len(data)) / 2**20:,.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB per file")
    return data


def classify_files(reader, paths: list[Path], model: str, pool=None) -> list:
    """Classification or ClassificationError for each file (for each row of a CSV of many digits), in order.
    `pool`: processes that prepare the files side by side (a folder run)."""
    return [result for _, results in classify_folder(reader, paths, model, pool) for result in results]


def classify_folder(reader, paths: list[Path], model: str, pool=None) -> Iterator[tuple[int, list]]:
    """For each group of 64 files in turn (memory stays bounded): how many files, and their results as
    classify_files gives them. A group's files are read, and with a `pool` prepared, while the group
    before it is being classified (`Reader.classify_batches`)."""
    from digits.engine import ClassificationError
    from digits.preprocessing import per_call

    groups = per_call(paths)
    uploads = ([(name, data) if data is not None else ClassificationError(name, error)
                for name, data, error in read_uploads(group)] for group in groups)
    return zip(map(len, groups), reader.classify_batches(uploads, model=model, pool=pool))


# Fewer files are prepared in this process: starting the pool (about a second: its server imports the
# pipeline) costs more than preparing a few dozen files, even photos (30-90 ms each on one core).
PARALLEL_FROM_FILES = 64


@contextlib.contextmanager
def folder_run(files: int, as_json: bool, processes: bool = True, stream=None):
    """A bulk run's preparation pool (None for a few files, on one core, or without `processes`), its
    processes starting at once (`PreparationPool`), and its progress bar: on standard error, only when
    that is a terminal and the output is not JSON (tqdm)."""
    from tqdm import tqdm

    from digits.engine import preparation_pool

    stream = sys.stderr if stream is None else stream
    pool = preparation_pool() if processes and files >= PARALLEL_FROM_FILES else None
    bar = tqdm(total=files, unit="file", file=stream, leave=False, dynamic_ncols=True,
               disable=as_json or files < 2 or not stream.isatty())
    try:
        yield pool, bar
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def print_result(result, as_json: bool, explain_with=None) -> None:
    """One result; with `explain_with` (the Reader), a digit's line also carries its evidence map."""
    if as_json:
        line = {key: value for key, value in result.to_dict().items()
                if key not in ("warnings", "latency_ms") or value}
        if explain_with is not None and getattr(result, "digit", None) is not None:
            from digits.explain import explanation_fields

            evidence = explain_with.explain(result.pixels, result.digit, model=result.model)
            line.update(explanation_fields(result.pixels, evidence))
        print(json.dumps(line), flush=True)
    else:
        print(_result_line(result), flush=True)


def classify_traced(reader, paths: list[Path], model: str) -> list[tuple[object, list | None]]:
    """As classify_files, each picture with what each stage of the reading pipeline decided for it
    (pipeline.py), traced as it is prepared, once; a CSV file's rows and an error have no trace."""
    from digits.engine import ClassificationError
    from digits.preprocessing import InputError
    from digits.preprocessing.csv_digits import looks_like_text

    results: list[tuple[object, list | None]] = []
    for name, data, error in read_uploads(paths):
        if data is None:
            results.append((ClassificationError(name, error), None))
        elif looks_like_text(data):
            results += [(result, None) for result in reader.classify_many([data], model=model, names=[name])]
        else:
            steps: list = []
            try:
                results.append((reader.classify(data, model=model, name=name, trace=steps), steps))
            except InputError as refused:
                results.append((ClassificationError(name, str(refused)), None))
    return results


def print_trace(path: str, steps: list, as_json: bool) -> None:
    """What each stage of the reading pipeline decided for the picture at `path`."""
    if as_json:
        print(json.dumps({"file": path, "trace": [step.to_dict() for step in steps]}), flush=True)
    else:
        print("\n".join(f"  {step.stage:<10} {step.decided}" for step in steps), flush=True)


def run_classify(args) -> int:
    from digits.engine import ClassificationError
    from digits.preprocessing import per_call

    if args.explain and not args.json:
        print("digits classify: --explain adds the evidence maps to the JSON lines; use it with --json",
              file=sys.stderr)
        return 2
    inputs = expand_paths(args.paths)
    for entry, reason in inputs.skipped:
        print(f"digits classify: skipped {entry}: {reason}", file=sys.stderr)
    failed, read, labelled = False, set(), []
    if inputs.files:
        # The pool first: its processes start (about a second, PreparationPool) while the models load.
        with folder_run(len(inputs.files), args.json, processes=not args.trace) as (pool, bar), \
                open_reader(args.model) as reader:
            if args.trace:
                groups = ((len(batch), classify_traced(reader, batch, args.model))
                          for batch in per_call(inputs.files))
            else:
                groups = ((count, [(result, None) for result in results])
                          for count, results in classify_folder(reader, inputs.files, args.model, pool))
            for count, results in groups:
                for result, steps in results:
                    with bar.external_write_mode():
                        print_result(result, args.json, reader if args.explain else None)
                        if steps is not None:
                            print_trace(result.file, steps, args.json)
                    failed |= isinstance(result, ClassificationError)
                    if not isinstance(result, ClassificationError):
                        read.add(inputs.folder_of.get(Path(result.file)))
                        if result.label is not None:
                            labelled.append(result)
                bar.update(count)
    for folder in inputs.folders:
        if folder not in read:
            print(f"digits classify: nothing in {folder} could be classified: it holds no image or CSV file "
                  "that we can read", file=sys.stderr)
            failed = True
    if labelled and not args.json:
        right = sum(result.digit == result.label for result in labelled)
        print(f"accuracy: {right / len(labelled):.2%} ({right:,} of {len(labelled):,} labelled rows right)")
    return 1 if failed else 0


def run_read(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from digits.engine import worker_count
    from digits.preprocessing import per_call

    failed = False
    files = expand_paths(args.paths).files
    # The folder's numbers are prepared in threads, not in the process pool classify uses: the reader
    # reads here either way, and a prepared number (its line of ink) is about 310 KB to send back, so the
    # pool read 0.85-0.87x as many files a second as threads (benchmarks/compare_folder_read.py).
    with open_reader(args.model) as reader, folder_run(len(files), args.json, processes=False) as (_, bar), \
            ThreadPoolExecutor(worker_count()) as threads:
        for batch in per_call(files):  # a batch at a time: memory stays bounded
            for name, reading, error, steps in (read_traced(reader, batch) if args.trace else
                                                ((*answer, None) for answer in read_files(reader, batch, threads))):
                failed |= error is not None
                with bar.external_write_mode():
                    print_number(name, reading, error, args.json)
                    if steps is not None:
                        print_trace(name, steps, args.json)
                bar.update()
    return 1 if failed else 0


def read_files(reader, paths: list[Path], pool=None) -> list[tuple[str, object, str | None]]:
    """(file, NumberReading or None, error or None) for each file, in order. `pool`: an executor that
    prepares the files side by side (a folder run's threads)."""
    from digits.engine import ClassificationError

    uploads = read_uploads(paths)
    readable = [(name, data) for name, data, _ in uploads if data is not None]
    readings = iter(reader.read_numbers([data for _, data in readable], names=[name for name, _ in readable],
                                        pool=pool))
    answers = []
    for name, data, error in uploads:
        reading = next(readings) if data is not None else None
        if isinstance(reading, ClassificationError):
            reading, error = None, reading.error
        answers.append((name, reading, error))
    return answers


def read_traced(reader, paths: list[Path]):
    """As read_files, each picture with what each stage of the reading pipeline decided for it, one
    after another in this process; an error has no trace."""
    from digits.preprocessing import InputError

    for name, data, error in read_uploads(paths):
        if data is None:
            yield name, None, error, None
            continue
        steps: list = []
        try:
            yield name, reader.read_number(data, name=name, trace=steps), None, steps
        except InputError as input_error:
            yield name, None, str(input_error), None


def print_number(name: str, reading, error: str | None, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": name, "error": error} if error else _number_line(reading)), flush=True)
    else:
        print(f"{name}: error: {error}" if error else _number_text(reading), flush=True)


def run_number_suite(args) -> int:
    from digits.engine import Engine
    from digits.preprocessing import InputError
    from training.data import load_mnist
    from training.number_suite import evaluate_numbers, format_figures

    if args.model != "reader" or args.suite not in ("numbers", "typeface-numbers"):
        raise InputError("whole numbers are read by the reader: digits evaluate reader --suite numbers")
    mnist = load_mnist(args.data) if args.suite == "numbers" else None
    with native_logs_off(), Engine() as engine:
        figures = evaluate_numbers(engine, mnist, args.confirm_with, confirm=args.confirm,
                                   split=args.split or "validation", suite=args.suite)
    print(json.dumps(figures) if args.json else format_figures(figures))
    return 0


def _number_line(reading) -> dict:
    line = {key: reading.to_dict()[key] for key in ("file", "model", "reader", "number", "confidence")}
    line["digits"] = [{key: digit[key] for key in ("digit", "confidence", "box")}
                      for digit in reading.to_dict()["digits"]]
    return {**line, **({"warnings": list(reading.warnings)} if reading.warnings else {})}


def _number_text(reading) -> str:
    notes = f"  ({'; '.join(reading.warnings)})" if reading.warnings else ""
    return f"{reading.file}: {reading.number or '-'}  {reading.confidence:6.1%}  [{reading.model}]{notes}"


def _result_line(result) -> str:
    if not hasattr(result, "digit"):
        return f"{result.file}: error: {result.error}"
    where = result.file if result.row is None else f"{result.file} row {result.row}"
    label = "" if result.label is None else f"  label {result.label}{'' if result.label == result.digit else ' (wrong)'}"
    notes = f"  ({'; '.join(result.warnings)})" if result.warnings else ""
    answer = "no digit" if result.digit is None else f"{result.digit}  {result.confidence:6.1%}"
    return f"{where}: {answer}  [{result.model}]{label}{notes}"


@contextlib.contextmanager
def native_logs_off(environ=os.environ):
    """Standard error closed while TensorFlow or LiteRT start, unless the user set a log level (theirs, or DEBUG).

    Their C++ start-up lines ("oneDNN custom operations are on", "Created TensorFlow Lite XNNPACK
    delegate") come before any Python logging is set up, and TensorFlow 2.20 and later no longer
    honour TF_CPP_MIN_LOG_LEVEL for them; so a newcomer's first command would print them above its results.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in environ or environ.get("LOG_LEVEL", "").upper() == "DEBUG":
        yield
        return
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # what TensorFlow logs later, where it still honours it
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def open_reader(model: str):
    """The Python API's reader (digits/reader.py), answering with `model`, started quietly."""
    from digits.reader import Reader

    with native_logs_off():
        return Reader(model)


def run_feedback(args) -> int:
    import numpy as np

    from digits import feedback_store

    url = feedback_store.database_url({**os.environ, **({"DIGITS_DATABASE_URL": args.database}
                                                        if args.database else {})})
    store = feedback_store.FeedbackStore(url)
    try:
        if args.feedback_command == "export":
            arrays = store.export()
            np.savez_compressed(args.out, **arrays)
            print(f"{len(arrays['y'])} answers written to {args.out}")
            return 0
        summary = store.summary()
        print(json.dumps(summary.to_dict()) if args.json else summary_text(summary))
        return 0
    finally:
        store.close()


def summary_text(summary) -> str:
    lines = [f"{summary.confirmed + summary.corrected} answers: {summary.confirmed} confirmed, "
             f"{summary.corrected} corrected"]
    lines += [f"  {m.model}: {m.confirmed} confirmed, {m.corrected} corrected" for m in summary.per_model]
    if summary.common_mistakes:
        lines.append("most common mistakes (true digit, model's answer):")
        lines += [f"  {m.true} read as {'no digit' if m.predicted is None else m.predicted}: {m.count}"
                  for m in summary.common_mistakes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    from digits.preprocessing import InputError

    expected = (InputError, FileNotFoundError)
    if args.command == "feedback":
        from digits.feedback_store import StoreError, StoreSettingsError

        expected += (StoreError, StoreSettingsError)
    if args.command in NEEDS_TRAIN_EXTRA | {"bench"}:
        from training.data import DataError  # not for classify or serve: nothing serving imports training/

        expected += (DataError,)
    try:
        return run(args, argv)
    except BrokenPipeError:  # the reader went away (`digits classify samples/ | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush fails no more
        return 1
    except expected as error:
        print(f"digits {args.command}: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if args.command not in NEEDS_TRAIN_EXTRA or error.name.split(".")[0] not in TRAIN_EXTRA_MODULES:
            raise
        print(f"digits {args.command} needs TensorFlow and Keras, which a serving install leaves out: "
              "pip install 'digit-classifier[train]'", file=sys.stderr)
        return 2


def run(args, argv: list[str]) -> int:
    if args.command == "train":
        import models
        from training.train import train

        card = train(args.model, epochs=args.epochs, data=args.data, out=args.out or models.MODELS_DIR,
                     seed=args.seed, limit=args.limit, command=shlex.join(["digits", *argv]),
                     init_from=args.init_from, member_seed=args.member_seed,
                     distill=args.distill, architecture=args.architecture, hand_variants=args.hand_variants,
                     heavy_typefaces=args.heavy_typefaces,
                     heavy_bold_and_marker_only=args.heavy_bold_and_marker_only)
        print(f"{card['model']}: validation accuracy {card['validation_accuracy']:.4f}, "
              f"test accuracy {card['test_accuracy']:.4f}, {card['training_seconds'] / 60:.1f} min")
        return 0
    if args.command == "evaluate" and (args.model == "reader" or args.suite in ("numbers", "typeface-numbers")):
        return run_number_suite(args)
    if args.command == "evaluate":
        from training.evaluate import STYLE_SUITES, evaluate, evaluate_styles
        from training.figure_suites import SUITES, evaluate_suite
        from training.scene_suite import evaluate_scenes

        with native_logs_off():  # a newcomer's first commands print only their results
            if args.suite in SUITES:
                evaluation = evaluate_suite(args.suite, args.model, data=args.data, count=args.count,
                                            split=args.split or "test")
            elif args.suite == "scenes":
                evaluation = evaluate_scenes(args.model, data=args.data, count=args.count, styles=args.styles)
            elif args.suite in STYLE_SUITES:
                evaluation = evaluate_styles(args.model, args.suite, data=args.data)
            else:
                evaluation = evaluate(args.model, data=args.data)
        print(evaluation.to_text(as_json=args.json))
        return 0
    if args.command == "report":
        from training.report import write_report

        print(f"report written to {write_report(args.model, out_dir=args.out, data=args.data) / 'report.md'}")
        return 0
    if args.command == "calibrate":
        from training.calibrate import calibrate_card, calibrate_ensemble

        if args.model == "ensemble":
            card = calibrate_ensemble(data=args.data)
            print(f"ensemble: weights {card['weights']}, validation accuracy {card['validation_accuracy']:.4f}")
        else:
            print(f"{args.model}: temperature {calibrate_card(args.model, data=args.data):.4f}, written to its card")
        return 0
    if args.command == "export":
        from training.export import export

        tflite = export(args.model, data=args.data)
        print(f"{args.model}: wrote models/{args.model}.tflite ({tflite['bytes']:,} bytes), same digits on "
              f"{tflite['checked_images']:,} validation images, probabilities within "
              f"{tflite['max_probability_difference']:.1g}; checksum on its card")
        return 0
    if args.command == "classify":
        return run_classify(args)
    if args.command == "read":
        return run_read(args)
    if args.command == "feedback":
        return run_feedback(args)
    if args.command == "finetune":
        from dataclasses import replace

        import models
        from training.config import FinetuneConfig
        from training.finetune import finetune

        config = FinetuneConfig() if args.epochs is None else replace(FinetuneConfig(), epochs=args.epochs)
        verdict = finetune(args.model, args.feedback, data=args.data, out=args.out or models.MODELS_DIR,
                           config=config, mnist_limit=args.mnist_limit, command=shlex.join(["digits", *argv]),
                           verbose=0 if args.json else 2)
        print(json.dumps(verdict.to_dict()) if args.json else verdict.to_text())
        return 0
    if args.command == "bench":
        from digits.bench import run_benchmark
        from training.data import load_mnist

        if args.explanations:
            from digits.bench import run_explanation_benchmark

            figures = run_explanation_benchmark(load_mnist(args.data).x_test)
        elif args.photos:
            from digits.bench import run_photo_benchmark

            mnist = load_mnist(args.data)
            figures = run_photo_benchmark(mnist.x_test, mnist.y_test)
        else:
            figures = run_benchmark(load_mnist(args.data).x_test)
        print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
        if not args.json and "photos" in figures:
            from digits.bench import photo_table

            print(photo_table(figures["photos"]))
        return 0
    if args.command == "serve":
        from uplink_server.main import serve_from_environment

        return serve_from_environment()
    from uplink_server.health import main as health  # no TensorFlow here: it runs every 30 s in the container

    return health(args.status_file, args.max_age)


if __name__ == "__main__":
    sys.exit(main())
