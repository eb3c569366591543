"""The program a server's worker process runs (digits/worker_processes.py starts it):

    python -m digits.worker REQUESTS_FD ANSWERS_FD MODELS_DIR MODEL_ID...

It runs on the one core $DIGITS_WORKER_CORE names (when set), loads the models once, says "ready", then
reads messages from one pipe, one at a time, each one or more calls (`Engine.classify_together`: each
upload prepared in turn, then one model call for them all), and writes one message of their answers (a
packed Classification, or the error, for each call in order) to the other, until the server closes the
pipe or is gone.
"""

import os
import pickle
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from digits.engine import Classification, Engine
from digits.worker_processes import CORE_ENV, pack, portable


def serve(requests: Connection, answers: Connection, model_ids: tuple[str, ...], models_dir: Path) -> None:
    with Engine(model_ids, models_dir, workers=1, processes=0) as engine:
        answers.send_bytes(pack("ready"))
        while True:
            try:
                calls = pickle.loads(requests.recv_bytes())
            except (EOFError, OSError):  # the server closed the pipe, or is gone
                return
            answers.send_bytes(pack([("ok", outcome.packed()) if isinstance(outcome, Classification)
                                     else ("error", portable(outcome))
                                     for outcome in engine.classify_together(calls)]))


def main() -> None:
    if os.environ.get(CORE_ENV):  # a core of its own: no moving between cores, its caches kept warm
        try:
            os.sched_setaffinity(0, {int(os.environ[CORE_ENV])})
        except (OSError, ValueError):  # a core taken away since: any will do
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle; it ends its workers
    requests_fd, answers_fd, models_dir, *model_ids = sys.argv[1:]
    serve(Connection(int(requests_fd), writable=False), Connection(int(answers_fd), readable=False),
          tuple(model_ids), Path(models_dir))


if __name__ == "__main__":
    main()
