"""Logging as one JSON object per line on stderr, for the server and for anvil-uplink's own messages.

Log a named event with its fields: `log.info("call", extra={"fields": {"function": ..., ...}})`.
A traceback, when there is one, goes into the same line as "traceback".
"""

import json
import logging
import sys
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


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]  # also stops anvil.server.connect() adding a plain-text handler of its own
    root.setLevel(level)
