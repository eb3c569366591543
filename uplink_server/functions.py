"""The functions the Anvil page calls over the Uplink: thin doors onto the Python API (digits/reader.py).

The page is public, so every argument is checked. When a call fails, the caller gets one of two errors:
- RequestError: the request cannot be served (not an image, an unknown model, too many files); the
  message says what to fix;
- ServerError: something unexpected; the message is generic, the traceback goes to the server log only.
  Also: the server is busy, this caller sends too much (uplink_server/limits.py admits each call
  first), or it is restarting; the message says to try again.
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
import anvil._serialise
import anvil.server

import models
from digits.engine import MODEL_CHOICES, Classification, Engine
from digits.explain import explanation_fields
from digits.preprocessing import MAX_FILES_PER_CALL, InputError, check_call_size, check_file_count
from digits.preprocessing.budget import DecodingStopped
from digits.preprocessing.errors import describe_file
from digits.reader import Reader
from digits.reports import ReportError, load_report
from uplink_server.feedback import FeedbackDesk, FeedbackNotSaved
from uplink_server.inflight import InFlightCalls
from uplink_server.limits import Admission, Refused, current_caller
from uplink_server.result_tokens import TokenError

log = logging.getLogger("uplink_server.calls")

LONGEST_NAME_SHOWN = 60  # characters of a file name repeated in a message
MAX_RESULT_IDS_PER_CALL = 64  # as many as the files of one call
RESTARTING = "The server is restarting; please try again in a moment."
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
    admission: Admission
    reader: Reader  # the API onto `engine`: every call goes through it


_service: _Service | None = None  # set by attach() once the models are loaded


def attach(engine: Engine, reports_dir: Path, calls: InFlightCalls | None = None, *, feedback: FeedbackDesk,
           admission: Admission | None = None) -> None:
    """Give the functions their engine; until then, and after `calls` closes, they answer "unavailable"."""
    global _service
    _service = _Service(engine, Path(reports_dir), calls or InFlightCalls(), feedback, admission or Admission(),
                        Reader(engine.model_ids[0], engine=engine))


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
                if _service is None or not _service.calls.enter(_call_id()):
                    raise _NotServingError
                upload_bytes, units = _upload_size(arguments)
                with _service.admission.admit(current_caller(), upload_bytes, units):
                    return function(**arguments)
            except Refused as error:  # busy, or this caller sends too much: try again later
                outcome = "refused"
                raise ServerError(str(error)) from None
            except InputError as error:
                outcome = "rejected"
                raise RequestError(str(error)) from None
            except (_NotServingError, DecodingStopped):  # stopping, or stopped while this call waited its turn
                outcome = "unavailable"
                raise ServerError(RESTARTING) from None
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
    return _with_preview(_service.reader.classify(_contents(file), model=model, name=_name(file)))


@anvil.server.callable
@_door("classifying {files}")
def classify_digits(files, model="cnn") -> list[dict]:
    """One result per file, and one per row of a CSV of many digits (each with its "row" and "label")."""
    files, model = _checked_media_list(files), _checked_model(model)
    uploads = [(_name(file), _contents(file)) for file in files]
    check_call_size([len(data) for _, data in uploads])
    results = _service.reader.classify_many([data for _, data in uploads], model=model,
                                            names=[name for name, _ in uploads])
    # Result ids for the first MAX_RESULT_IDS_PER_CALL answers only: a CSV of 2,000 rows must not hand
    # one caller 2,000 tickets to the feedback store. Past them, the page offers no feedback.
    return [(_with_preview(result, with_id=number < MAX_RESULT_IDS_PER_CALL)
             if isinstance(result, Classification) else result.to_dict())
            for number, result in enumerate(results)]


@anvil.server.callable
@_door("reading the number in {file}")
def read_number(file, model="cnn") -> dict:
    """The digits left to right, each with its box in the upload's pixels and its 28x28 preview; the number."""
    file, model = _checked_media(file), _checked_model(model)
    reading = _service.reader.read_number(_contents(file), model=model, name=_name(file))
    stem = PurePath(reading.file).stem if reading.file else "upload"
    digits = [{**digit.to_dict(), "preview": anvil.BlobMedia("image/png", digit.preview_png(),
                                                             name=f"{stem}-digit{number}-28x28.png")}
              for number, digit in enumerate(reading.digits, start=1)]
    return {**reading.to_dict(), "digits": digits}


@anvil.server.callable
@_door("comparing the models on {file}")
def compare_models(file) -> dict:
    file = _checked_media(file)
    results = list(_service.reader.compare(_contents(file), name=_name(file)))
    return {"file": _name(file), "preview": _preview(results[0]), "warnings": list(results[0].warnings),
            "results": [_with_result_id(result) for result in results]}


@anvil.server.callable
@_door("working out why the model answered")
def explain(result_id) -> dict:
    """The evidence map for a result the page was given (by its result_id, which carries the 28x28 image
    the model saw): {"model", "digit", "seen", "explanation"}, computed now, by the model that answered."""
    result = _explainable(result_id)
    evidence = _service.reader.explain(result.pixels, result.digit, model=result.model)
    return {"model": result.model, "digit": result.digit, **explanation_fields(result.pixels, evidence)}


@anvil.server.callable
@_door("saving your answer")
def record_feedback(result_id, digit) -> dict:
    """A person says which digit a result really was (the model's answer or another)."""
    return _service.feedback.record(result_id, digit, current_caller().identity).to_dict()


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


def _with_preview(result: Classification, with_id: bool = True) -> dict:
    answer = _with_result_id(result) if with_id else {**result.to_dict(), "result_id": None}
    return {**answer, "preview": _preview(result)}


def _with_result_id(result: Classification) -> dict:
    return {**result.to_dict(), "result_id": _service.feedback.result_id(result)}


def _preview(result: Classification):
    stem = PurePath(result.file).stem if result.file else "upload"
    stem = stem if result.row is None else f"{stem}-row{result.row}"
    return anvil.BlobMedia("image/png", result.preview_png(), name=f"{stem}-28x28.png")


EXPLAIN_NOT_OURS = ("This result cannot be explained: its id was not issued by this classifier. "
                    "Please classify the file again.")


def _explainable(result_id):
    """The signed result behind a result_id, if its answer can be explained here and now."""
    try:
        result = _service.feedback.signer.verify(result_id, now=0)  # expiry checked below, in its own words
    except TokenError:
        raise InputError(EXPLAIN_NOT_OURS) from None
    if result.expires_at < time.time():
        raise InputError("This result is too old to explain; please classify the file again.")
    if result.digit is None:
        raise InputError("This result has no digit to explain: the model found none in the file.")
    if result.model not in _service.engine.choices or \
            result.model_sha256 != _service.feedback.checksums.get(result.model, ""):
        raise InputError("The model that gave this result has changed since; please classify the file again.")
    return result


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


def _contents(file) -> bytes:
    """The file's bytes; never anything else, which the Reader would take for a path to open."""
    data = file.get_bytes()
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"{describe_file(_name(file))} did not arrive as file contents.")
    return data


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


def _call_id() -> str | None:
    """The id Anvil gave the call this thread answers (anvil-uplink's call state: not public API), so
    that a stopping server can answer a call still running at its deadline (main.py)."""
    import anvil._threaded_server

    call_id = getattr(anvil._threaded_server.call_info, "call_id", None)
    return call_id if isinstance(call_id, str) else None


def answer_restarting(call_id: str) -> None:
    """Send a running call the "restarting" error now, as its function would have raised it; the
    function's own answer, if it comes later, finds the call answered."""
    import anvil._threaded_server

    anvil._threaded_server.send_reqresp({"id": call_id, "error": {
        "type": ServerError.registered_type_name, "message": RESTARTING, "trace": []}})


def _upload_size(arguments: dict) -> tuple[int, int]:
    """(bytes of the files the call carries, what it costs against its caller's limits: one per file)."""
    files = arguments.get("files", [arguments["file"]] if "file" in arguments else [])
    files = list(files[:MAX_FILES_PER_CALL + 1]) if isinstance(files, (list, tuple)) else []  # more: refused later
    return sum(_media_bytes(file) for file in files), max(1, len(files))


def _media_bytes(file) -> int:
    """A file's size, if it is here already (a file passed by reference is fetched later, and counted 0)."""
    if isinstance(file, anvil._serialise.StreamingMedia):
        try:
            return len(file.get_bytes())
        except Exception:  # it failed to arrive: the function says so
            return 0
    return 0


def _log_fields(arguments: dict) -> dict:
    """What a log line may say of the arguments: the model if it is a real one, how many files; never names."""
    model = arguments.get("model")
    files = arguments.get("files", [arguments["file"]] if "file" in arguments else [])
    return {"model": model if model in MODEL_CHOICES else None,
            "files": len(files) if isinstance(files, (list, tuple)) else 0}
