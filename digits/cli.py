"""The `digits` command: a thin door onto training, evaluation, classification and serving."""

import argparse
import itertools
import json
import os
import shlex
import sys
from pathlib import Path

DATA_HELP = "MNIST .npz file (default: $DIGITS_MNIST_NPZ, else Keras' download)"
QUIET_COMMANDS = ("classify", "read", "evaluate")  # a newcomer's first commands print only their results
UPLOAD_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".csv"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digits", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model on MNIST and write it with its model card")
    train.add_argument("model", choices=["cnn", "vit"])
    train.add_argument("--epochs", type=int, help="default: the model's own (see training/config.py)")
    train.add_argument("--data", help=DATA_HELP)
    train.add_argument("--out", help="folder for <model>.keras and <model>.json (default: models/)")
    train.add_argument("--seed", type=int)
    train.add_argument("--limit", type=int, help=argparse.SUPPRESS)  # smoke runs: first N training images

    evaluate = commands.add_parser("evaluate", help="accuracy on the 10,000 MNIST test images")
    evaluate.add_argument("model", choices=["cnn", "vit", "ensemble"])
    evaluate.add_argument("--data", help=DATA_HELP)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    report = commands.add_parser("report", help="write the analysis report (figures, report.md)")
    report.add_argument("model", choices=["cnn", "vit"])
    report.add_argument("--data", help=DATA_HELP)
    report.add_argument("--out", help="folder (default: models/reports/<model>)")

    calibrate = commands.add_parser(
        "calibrate", help="fit a trained model's confidence, or the ensemble's weights, on the validation split")
    calibrate.add_argument("model", choices=["cnn", "vit", "ensemble"])
    calibrate.add_argument("--data", help=DATA_HELP)

    classify = commands.add_parser("classify", help="classify image or CSV files with the shipped models")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of image and CSV files")
    classify.add_argument("--model", default="cnn", choices=["cnn", "vit", "ensemble"])
    classify.add_argument("--json", action="store_true", help="one JSON object per input per line")

    read = commands.add_parser("read", help="read whole numbers (several digits) in image files")
    read.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of image files")
    read.add_argument("--model", default="cnn", choices=["cnn", "vit", "ensemble"])
    read.add_argument("--json", action="store_true", help="one JSON object per file per line")

    bench = commands.add_parser("bench", help="latency and throughput of the engine against naive Keras")
    bench.add_argument("--data", help=DATA_HELP)
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    commands.add_parser("serve", help="run the Anvil uplink server (settings from the environment)")
    health = commands.add_parser("health", help="exit 0 if the uplink server is connected with its models loaded")
    health.add_argument("--status-file", help="default: $DIGITS_STATUS_FILE, else the server's default")
    health.add_argument("--max-age", type=float, default=30.0, help="seconds a heartbeat stays fresh")
    return parser


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given; a folder becomes its image and CSV files, sorted by name."""
    expanded = []
    for path in map(Path, paths):
        if path.is_dir():
            expanded += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in UPLOAD_SUFFIXES)
        else:
            expanded.append(path)
    return expanded


def read_uploads(paths: list[Path]) -> list[tuple[str, bytes | None, str | None]]:
    uploads = []
    for path in paths:
        try:
            uploads.append((str(path), path.read_bytes(), None))
        except OSError as error:
            uploads.append((str(path), None, f"cannot read {path}: {error.strerror or error}"))
    return uploads


def run_classify(args) -> int:
    from digits.engine import ClassificationError, Engine

    uploads = read_uploads(expand_paths(args.paths))
    members = ("cnn", "vit") if args.model == "ensemble" else (args.model,)
    results = []
    with Engine(model_ids=members) as engine:
        for readable, run in itertools.groupby(uploads, key=lambda upload: upload[1] is not None):
            run = list(run)  # files read in a row go to the engine together; a CSV gives a result per row
            results += (engine.classify_batch([(name, data) for name, data, _ in run], args.model) if readable
                        else [ClassificationError(name, error) for name, _, error in run])
    for result in results:
        if args.json:
            print(json.dumps({key: value for key, value in result.to_dict().items()
                              if key not in ("warnings", "latency_ms") or value}))
        else:
            print(_result_line(result))
    labelled = [result for result in results if getattr(result, "label", None) is not None]
    if labelled and not args.json:
        right = sum(result.digit == result.label for result in labelled)
        print(f"accuracy: {right / len(labelled):.2%} ({right:,} of {len(labelled):,} labelled rows right)")
    return 1 if any(isinstance(result, ClassificationError) for result in results) else 0


def run_read(args) -> int:
    from digits.engine import Engine
    from digits.numbers import read_number
    from digits.preprocessing import InputError

    failed = False
    members = ("cnn", "vit") if args.model == "ensemble" else (args.model,)
    with Engine(model_ids=members) as engine:
        for name, data, error in read_uploads(expand_paths(args.paths)):
            try:
                reading = read_number(engine, data, args.model, name) if data is not None else None
            except InputError as input_error:
                error = str(input_error)
            failed |= error is not None
            if args.json:
                print(json.dumps({"file": name, "error": error} if error else _number_line(reading)))
            else:
                print(f"{name}: error: {error}" if error else _number_text(reading))
    return 1 if failed else 0


def _number_line(reading) -> dict:
    line = {key: reading.to_dict()[key] for key in ("file", "model", "number", "confidence")}
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
    return f"{where}: {result.digit}  {result.confidence:6.1%}  [{result.model}]{label}{notes}"


def quiet_tensorflow(environ=os.environ) -> None:
    """TensorFlow imported without its C++ start-up lines, unless the user set a log level (theirs, or DEBUG).

    TensorFlow 2.20 and later log through absl before absl is set up, which TF_CPP_MIN_LOG_LEVEL no
    longer silences; so standard error is pointed at /dev/null for the import only.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in environ or environ.get("LOG_LEVEL", "").upper() == "DEBUG":
        return
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # what TensorFlow logs later, where it still honours it
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.command in QUIET_COMMANDS:
        quiet_tensorflow()  # before TensorFlow is first imported
    from digits.preprocessing import InputError
    from training.data import DataError

    try:
        return run(args, argv)
    except (DataError, InputError, FileNotFoundError) as error:
        print(f"digits {args.command}: {error}", file=sys.stderr)
        return 2


def run(args, argv: list[str]) -> int:
    if args.command == "train":
        import models
        from training.train import train

        card = train(args.model, epochs=args.epochs, data=args.data, out=args.out or models.MODELS_DIR,
                     seed=args.seed, limit=args.limit, command=shlex.join(["digits", *argv]))
        print(f"{card['model']}: validation accuracy {card['validation_accuracy']:.4f}, "
              f"test accuracy {card['test_accuracy']:.4f}, {card['training_seconds'] / 60:.1f} min")
        return 0
    if args.command == "evaluate":
        from training.evaluate import evaluate

        print(evaluate(args.model, data=args.data).to_text(as_json=args.json))
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
    if args.command == "classify":
        return run_classify(args)
    if args.command == "read":
        return run_read(args)
    if args.command == "bench":
        from digits.bench import run_benchmark
        from training.data import load_mnist

        figures = run_benchmark(load_mnist(args.data).x_test)
        print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
        return 0
    if args.command == "serve":
        from uplink_server.main import serve_from_environment

        return serve_from_environment()
    from uplink_server.health import main as health  # no TensorFlow here: it runs every 30 s in the container

    return health(args.status_file, args.max_age)


if __name__ == "__main__":
    sys.exit(main())
