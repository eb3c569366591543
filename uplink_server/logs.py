"""Logging as one JSON object per line on stderr, for the server and for anvil-uplink's own messages.

Log a named event with its fields: `log.info("call", extra={"fields": {"function": ..., ...}})`.
A traceback, when there is one, goes into the same line as "traceback".

Not everything in the process logs through Python's logging: anvil-uplink prints, threads that die
print their traceback, and the LiteRT runtime writes from C++ ("INFO: Created TensorFlow Lite XNNPACK
delegate for CPU."). `capture_output()` sends whatever reaches the standard output and error through
a pipe that turns each line (each traceback whole) into a JSON line of the "output" logger; the
runtime's INFO lines are DEBUG there, so a server at INFO does not print them.
"""

import json
import logging
import os
import sys
import threading
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]  # also stops anvil.server.connect() adding a plain-text handler of its own
    root.setLevel(level)


def capture_output(level: str) -> None:
    """Route file descriptors 1 and 2 through a pipe whose lines become JSON log lines; the log itself
    goes to a copy of the original standard error. Call once, before anything else starts threads."""
    log_stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    configure_logging(level, log_stream)
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    threading.excepthook = _log_thread_death
    threading.Thread(target=_relay, args=(read_end,), daemon=True, name="output-relay").start()


_output_log = logging.getLogger("output")


def _log_thread_death(args) -> None:
    if args.exc_type is SystemExit:
        return
    _output_log.error("thread died", exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
                      extra={"fields": {"thread": getattr(args.thread, "name", None)}})


def _relay(read_end: int) -> None:
    traceback: list[str] = []
    with os.fdopen(read_end, "r", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if traceback:
                traceback.append(line)
                if line and not line.startswith((" ", "\t", "Traceback", "During handling", "The above exception")):
                    _output_log.error(line, extra={"fields": {"traceback": "\n".join(traceback)}})
                    traceback = []
                continue
            if line.startswith("Traceback (most recent call last)"):
                traceback = [line]
            elif line.strip():
                _output_log.log(_level_of(line), line.strip())


def _level_of(line: str) -> int:
    """The level a line of output gets: the runtime's own prefix if it has one, else WARNING."""
    prefix = line.split(":", 1)[0].strip().upper()
    if prefix == "INFO" or prefix.startswith("I0"):
        return logging.DEBUG  # the runtime's start-up chatter ("Created TensorFlow Lite XNNPACK delegate")
    return {"DEBUG": logging.DEBUG, "WARNING": logging.WARNING, "ERROR": logging.ERROR}.get(prefix, logging.WARNING)
