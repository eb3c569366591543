"""The functions the Anvil page calls over the Uplink: thin doors onto the Engine.

The page is public, so every argument is checked. When a call fails, the caller gets one of two errors:
- RequestError: the request cannot be served (not an image, an unknown model, too many files); the
  message says what to fix;
- ServerError: something unexpected; the message is generic, the traceback goes to the server log only.
Each call writes one JSON log line: function, model, number of files, latency, outcome.
"""

import functools
import inspect
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePath

import anvil
import anvil.server

import models
from digits.engine import MODEL_CHOICES, Classification, Engine
from digits.numbers import read_number as read_number_in
from digits.preprocessing import InputError, check_call_size, check_file_count
from models.reports import ReportError, load_report
from uplink_server.feedback import FeedbackDesk, FeedbackNotSaved
from uplink_server.inflight import InFlightCalls

log = logging.getLogger("uplink_server.calls")

LONGEST_NAME_SHOWN = 60  # characters of a file name repeated in a message
REPORT_FIELDS = ("model", "name", "test_accuracy", "validation_accuracy", "parameters", "epochs",
                 "training_minutes", "fine_tuned", "confused_pairs", "per_class", "typefaces_accuracy")  # what model_report sends, with "figures"


class _ErrorForThePage(anvil.server.AnvilWrappedError):
    def __init__(self, message: str):
        super().__init__(_ErrorWithoutTrace(type=type(self).registered_type_name, message=message))


class _ErrorWithoutTrace(dict):
    """An Anvil error object whose "trace" stays empty.

    anvil-uplink sends the page a trace of (file, line) pairs along with each error; it would show
    where the server's files live. The page needs only the type and the message.
    """

    def __setitem__(self, key, value):
        super().__setitem__(key, [] if key == "trace" else value)

    def get(self, key, default=None):
        return [] if key == "trace" else super().get(key, default)


class RequestError(_ErrorForThePage):
    """The request cannot be served; the message tells the person what to change."""


class ServerError(_ErrorForThePage):
    """Something unexpected went wrong, or the server is stopping; the details are in the server log."""


# The page can catch these by name after registering the same names in a client module.
anvil.server._register_exception_type("digits.RequestError", RequestError)
anvil.server._register_exception_type("digits.ServerError", ServerError)


@dataclass(frozen=True)
class _Service:
    engine: Engine
    reports_dir: Path
    calls: InFlightCalls
    feedback: FeedbackDesk


_service: _Service | None = None  # set by attach() once the models are loaded


def attach(engine: Engine, reports_dir: Path, calls: InFlightCalls | None = None, *, feedback: FeedbackDesk) -> None:
    """Give the functions their engine; until then, and after `calls` closes, they answer "unavailable"."""
    global _service
    _service = _Service(engine, Path(reports_dir), calls or InFlightCalls(), feedback)


class _NotServingError(Exception):
    pass


def _door(activity: str):
    """Wrap a callable: check its arguments bind, count it in flight, log one line, translate errors.

    `activity` completes "Something went wrong on the server while ..." and may name the arguments
    ({file}, {files}, {model}).
    """

    def wrap(function):
        signature = inspect.signature(function).replace(return_annotation=inspect.Signature.empty)

        @functools.wraps(function)
        def door(*args, **kwargs):
            started = time.perf_counter()
            line = {"function": function.__name__, "model": None, "files": 0}
            outcome, traceback, arguments = "ok", None, {}
            try:
                arguments = _bind(signature, function.__name__, args, kwargs)
                line.update(_log_fields(arguments))
                if _service is None or not _service.calls.enter():
                    raise _NotServingError
                return function(**arguments)
            except InputError as error:
                outcome = "rejected"
                raise RequestError(str(error)) from None
            except _NotServingError:
                outcome = "unavailable"
                raise ServerError("The server is restarting; please try again in a moment.") from None
            except FeedbackNotSaved as error:  # the store is down or full: say so, and log why
                outcome = "store unavailable"
                line["detail"] = str(error.__cause__)
                raise ServerError(str(error)) from None
            except Exception:
                outcome, traceback = "error", sys.exc_info()
                doing = activity.format(**{name: _describe(value) for name, value in arguments.items()})
                raise ServerError(f"Something went wrong on the server while {doing}; please try again.") from None
            finally:
                line.update(latency_ms=round((time.perf_counter() - started) * 1000, 1), outcome=outcome)
                log.log(logging.ERROR if traceback else logging.INFO, "call", exc_info=traceback,
                        extra={"fields": line})

        return door

    return wrap


@anvil.server.callable
@_door("listing the models")
def list_models() -> list[dict]:
    return [_model_entry(model_id) for model_id in _service.engine.model_ids]


@anvil.server.callable
@_door("classifying {file}")
def classify_digit(file, model="cnn") -> dict:
    file, model = _checked_media(file), _checked_model(model)
    return _with_preview(_service.engine.classify(file.get_bytes(), model, _name(file)))


@anvil.server.callable
@_door("classifying {files}")
def classify_digits(files, model="cnn") -> list[dict]:
    """One result per file, and one per row of a CSV of many digits (each with its "row" and "label")."""
    files, model = _checked_media_list(files), _checked_model(model)
    uploads = [(_name(file), file.get_bytes()) for file in files]
    check_call_size([len(data) if isinstance(data, (bytes, bytearray)) else 0 for _, data in uploads])
    results = _service.engine.classify_batch(uploads, model)
    return [_with_preview(result) if isinstance(result, Classification) else result.to_dict()
            for result in results]


@anvil.server.callable
@_door("reading the number in {file}")
def read_number(file, model="cnn") -> dict:
    """The digits left to right, each with its box in the upload's pixels and its 28x28 preview; the number."""
    file, model = _checked_media(file), _checked_model(model)
    reading = read_number_in(_service.engine, file.get_bytes(), model, _name(file))
    stem = PurePath(reading.file).stem if reading.file else "upload"
    digits = [{**digit.to_dict(), "preview": anvil.BlobMedia("image/png", digit.preview_png(),
                                                             name=f"{stem}-digit{number}-28x28.png")}
              for number, digit in enumerate(reading.digits, start=1)]
    return {**reading.to_dict(), "digits": digits}


@anvil.server.callable
@_door("comparing the models on {file}")
def compare_models(file) -> dict:
    file = _checked_media(file)
    results = _service.engine.compare(file.get_bytes(), _name(file))
    return {"file": _name(file), "preview": _preview(results[0]), "warnings": list(results[0].warnings),
            "results": [_with_result_id(result) for result in results]}


@anvil.server.callable
@_door("saving your answer")
def record_feedback(result_id, digit) -> dict:
    """A person says which digit a result really was (the model's answer or another)."""
    return _service.feedback.record(result_id, digit).to_dict()


@anvil.server.callable
@_door("loading what people corrected for {model}")
def feedback_summary(model) -> dict:
    return _service.feedback.summary(_checked_model(model))


@anvil.server.callable
@_door("loading the report for {model}")
def model_report(model) -> dict:
    model = _checked_model(model)
    try:
        report = load_report(model, _service.reports_dir)
    except ReportError as error:  # its message is for whoever runs the server: it names files and commands
        log.warning("report unavailable", extra={"fields": {"model": model, "detail": str(error)}})
        raise InputError(f"The report for the {model} model is not available yet.") from None
    figures = [{"title": figure["title"], "caption": figure["caption"],
                "image": anvil.BlobMedia("image/png", figure["png"], name=figure["file"])}
               for figure in report["figures"]]
    return {**{key: report.get(key) for key in REPORT_FIELDS}, "figures": figures}


def _model_entry(model_id: str) -> dict:
    card = _service.engine.cards.get(model_id, {})
    return {"id": model_id, "name": card.get("display_name", models.DISPLAY_NAMES.get(model_id, model_id)),
            "test_accuracy": card.get("test_accuracy"), "parameters": card.get("parameters"),
            "description": card.get("description", models.DESCRIPTIONS.get(model_id, ""))}


def _with_preview(result: Classification) -> dict:
    return {**_with_result_id(result), "preview": _preview(result)}


def _with_result_id(result: Classification) -> dict:
    return {**result.to_dict(), "result_id": _service.feedback.result_id(result)}


def _preview(result: Classification):
    stem = PurePath(result.file).stem if result.file else "upload"
    stem = stem if result.row is None else f"{stem}-row{result.row}"
    return anvil.BlobMedia("image/png", result.preview_png(), name=f"{stem}-28x28.png")


# --- checking what the page sent ---

def _bind(signature: inspect.Signature, name: str, args, kwargs) -> dict:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise InputError(f"{name}{signature} was called wrongly: {error}.") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _checked_media(file):
    if not isinstance(file, anvil.Media):
        raise InputError(f"Please send an image file; this was {_kind(file)}.")
    return file


def _checked_media_list(files) -> list:
    if not isinstance(files, (list, tuple)):
        raise InputError(f"Please send a list of image files; this was {_kind(files)}.")
    check_file_count(len(files))
    for number, file in enumerate(files, start=1):
        if not isinstance(file, anvil.Media):
            raise InputError(f"File {number} of {len(files)} is not an image file; it was {_kind(file)}.")
    return list(files)


def _checked_model(model) -> str:
    choices = _service.engine.choices
    if not isinstance(model, str) or len(model) > 40:
        raise InputError(f"Please choose a model: one of {', '.join(choices)}.")
    return _service.engine.check_model(model)


def _name(file) -> str | None:
    name = file.name
    return name if isinstance(name, str) and name else None


def _kind(value) -> str:
    kinds = {type(None): "nothing", str: "text", bool: "true/false", int: "a number", float: "a number",
             list: "a list", tuple: "a list", dict: "a dictionary"}
    return kinds.get(type(value), f"a {type(value).__name__} object")


def _describe(value) -> str:
    """An argument as a message may show it: a file by its name, a list by its length."""
    if isinstance(value, anvil.Media):
        name = _name(value)
        if name is None:
            return "your file"
        return name if len(name) <= LONGEST_NAME_SHOWN else name[:LONGEST_NAME_SHOWN - 1] + "…"
    if isinstance(value, (list, tuple)):
        return f"your {len(value)} files"
    if isinstance(value, str) and value in MODEL_CHOICES:
        return f"the {value} model"
    return "your request"


def _log_fields(arguments: dict) -> dict:
    """What a log line may say of the arguments: the model if it is a real one, how many files; never names."""
    model = arguments.get("model")
    files = arguments.get("files", [arguments["file"]] if "file" in arguments else [])
    return {"model": model if model in MODEL_CHOICES else None,
            "files": len(files) if isinstance(files, (list, tuple)) else 0}
