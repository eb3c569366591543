"""Settings measured in turns: two checkouts, engines or models folders timed one after the other on the
same work, round after round, so that a busy machine slows them all alike and their ratio holds. The
benchmarks that compare settings in one run (compare_models, compare_engines and compare_processes,
photo_cpu_in_turns, upload_in_turns, compare_folder_read) take their turns from this one loop; the two
that read in a process per checkout start it with `start_in_checkout` and `ask` it; the two that load another
checkout's module beside this one's (compare_engines, compare_lanes) load it with `load_module`."""

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

Work = TypeVar("Work")
Setting = TypeVar("Setting")


def in_turns(settings: Sequence[Setting], rounds: Iterable[Work]) -> Iterator[tuple[Work, Setting]]:
    """Each round's work with every setting in turn: (work, setting), the settings' order reversed every
    other round, so that each goes first as often as last."""
    order = list(settings)
    for number, work in enumerate(rounds):
        for setting in order if number % 2 == 0 else order[::-1]:
            yield work, setting


def start_in_checkout(script: str, tree: Path, arguments: list[str]) -> subprocess.Popen:
    """`script --worker ARGUMENTS` run with `tree`'s code (PYTHONPATH, in that folder; the script itself is
    this checkout's, since the other may lack it), once it has printed "ready": a worker that answers
    one line of standard input with one JSON line."""
    process = subprocess.Popen([sys.executable, str(Path(script).resolve()), "--worker", *arguments], cwd=tree,
                               env=dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="2"), text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    while process.stdout.readline().strip() != "ready":
        pass
    return process


def ask(worker: subprocess.Popen, line: str):
    """A worker's JSON answer to one line."""
    worker.stdin.write(line + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def load_module(name: str, path: Path):
    """The module at `path` (another checkout's), loaded under `name` beside this checkout's; what it
    imports is this checkout's."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
