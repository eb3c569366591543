"""Worker processes for a server's concurrent uploads: every core, past the GIL.

Reading one upload is mostly Python (decoding, the pipeline's small NumPy steps, the hand-offs), which
holds the GIL about as long as the model computes, so threads of one process cannot read two uploads
at once. The rule (`Lanes`): a call runs in its own thread, in this process, when no other call is
being read here (and always when it is large, `LARGEST_FOR_WORKERS`); a call that arrives while one
is goes to a worker process with room (each a fresh interpreter with its own copy of the models,
loaded once; it reads one call at a time, with the next waiting in its pipe, `DEPTH`); when all are
busy it waits, in turn, for the first place to free. So a lone caller pays nothing (no hand-off, no
pickling), and concurrent callers use a core per process. A server starts one worker per core
(`digits.engine.process_count`). (Tried: reading no overlapping call here, so that this process's
threads, no longer holding the GIL for a reading, hand calls over at once; in turns on a busy machine
16 callers then read 1.19-1.51x what one does, against 1.94-2.08x with this rule: each hand-off then
waits for a worker process to be scheduled again.) Each process decodes one picture at a time,
so memory stays bounded: about 140 MiB of libraries and models per process, plus its one picture and
the one waiting.

A worker process that dies (killed, out of memory, a crash in a decoder) costs only the call it was
reading (and the one waiting for it): told so in words (`WorkerLostError`), and a new process takes
its place. Such a call is not tried again here: the picture itself may be what killed the worker.
"""

import collections
import fcntl
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from digits.preprocessing import InputError

log = logging.getLogger(__name__)

PROCESSES_ENV = "DIGITS_PROCESSES"  # overrides the number of worker processes a server starts

# A reading is bounded (the worst hostile pictures take under half a second); a process silent this
# long is stuck, and is replaced.
ANSWER_WITHIN_S = 60.0

# Larger uploads are read in the caller's thread, as with no workers: a large picture takes long to
# decode, and small uploads (a drawing, a 28x28 file) must never wait behind it for a place (the
# decode budget's small lane keeps them apart in the server process). The server's small call.
LARGEST_FOR_WORKERS = 256 * 1024

# Calls a worker process holds at once: one being read, one waiting in its pipe to start straight after.
DEPTH = 2

# The request pipe holds every call a worker may be sent (DEPTH uploads of at most LARGEST_FOR_WORKERS,
# with room for their names), so sending never waits on a worker that has hung or been stopped: only the
# answer waits, and that wait has a limit (ANSWER_WITHIN_S). Linux's default pipe is 64 KB.
REQUEST_PIPE_BYTES = 1024 * 1024

WORKER_LOST = ("The server's worker reading this picture stopped unexpectedly before it answered; "
               "please try again.")


class WorkerLostError(RuntimeError):
    """The worker process reading a call died or hung; the call may be tried again."""


class NotSent(Exception):
    """The worker was found dead before it could read the call: the call may go elsewhere at once."""


class _Here:
    """The place that stands for 'in this process, in the caller's thread'."""


HERE = _Here()


def pack(message) -> bytes:
    """A message on a worker's pipes, pickled plainly: its parts are bytes, strings, tuples and
    exceptions, so multiprocessing's own pickler (`Connection.send`, a new pickler with its table of
    reducers for every message) only adds work for the server's threads."""
    return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)


def portable(error: Exception) -> Exception:
    """`error` as it is when it survives pickling, else its words in an InputError or RuntimeError."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return (InputError if isinstance(error, InputError) else RuntimeError)(str(error))


class _Slot:
    __slots__ = ("answer", "error", "done")

    def __init__(self):
        self.answer = self.error = None
        self.done = False


class _Worker:
    """A fresh interpreter (not a fork: the server's threads are running), talking over two pipes."""

    def __init__(self, model_ids: tuple[str, ...], models_dir: Path):
        requests_theirs, requests_ours = os.pipe()
        try:
            fcntl.fcntl(requests_ours, fcntl.F_SETPIPE_SZ, REQUEST_PIPE_BYTES)
        except OSError:  # a system whose pipe-max-size is lower: a send may then wait, until `ask` ends it
            pass
        answers_ours, answers_theirs = os.pipe()
        source = str(Path(__file__).resolve().parent.parent)  # the folder `digits` is imported from
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [source] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "digits.worker", str(requests_theirs),
                 str(answers_theirs), str(models_dir), *model_ids],
                pass_fds=(requests_theirs, answers_theirs), env=environment, stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (requests_ours, answers_ours):
                os.close(fd)
            raise
        finally:
            os.close(requests_theirs)
            os.close(answers_theirs)
        self.requests = Connection(requests_ours, readable=False)
        self.answers = Connection(answers_ours, writable=False)
        self._sending, self._reading, self._polling = threading.Lock(), threading.Lock(), threading.Lock()
        self._answered = select.poll()  # (one poll object, not a selector set up for every answer)
        self._answered.register(answers_ours, select.POLLIN)
        self._pending: collections.deque[_Slot] = collections.deque()  # sent, not answered, in order

    def alive(self) -> bool:
        with self._polling:  # (Popen.poll answers None while another thread polls: one at a time)
            return self.process.poll() is None

    def wait_until_ready(self, timeout: float) -> bool:
        try:
            return self.answers.poll(timeout) and pickle.loads(self.answers.recv_bytes()) == "ready"
        except (EOFError, OSError):
            return False

    def ask(self, data: bytes, model: str, filename: str | None):
        """The Classification this process gives, or the error it raised (re-raised here).

        Up to `DEPTH` calls may be sent at once: the process reads them in order, so it starts the next
        as soon as it has answered one, without waiting for this process's threads to get the GIL and
        collect the answer. Whoever holds the reading lock reads the answers in order until its own
        has come, leaving the others' in their slots for them."""
        slot = _Slot()
        try:
            with self._sending:
                try:
                    self.requests.send_bytes(pack((data, model, filename)))
                except OSError:  # its end of the pipe is closed: dead before it could read this call
                    raise NotSent from None
                self._pending.append(slot)
            with self._reading:
                while not slot.done:
                    if not self._answered.poll(ANSWER_WITHIN_S * 1000):
                        raise WorkerLostError(WORKER_LOST)
                    status, answer = pickle.loads(self.answers.recv_bytes())
                    head = self._pending.popleft()
                    head.error, head.answer, head.done = (answer, None, True) if status == "error" else \
                        (None, answer, True)
        except (EOFError, OSError, pickle.PickleError, WorkerLostError):
            self._end()  # first: a call being sent to a hung process holds `_sending` until its pipe closes
            with self._sending:
                for waiting in self._pending:  # every call sent to a dead process is lost with it
                    waiting.error, waiting.done = WorkerLostError(WORKER_LOST), True
                self._pending.clear()
            raise WorkerLostError(WORKER_LOST) from None
        if slot.error is not None:
            raise slot.error
        return slot.answer

    def _end(self) -> None:
        with self._polling:
            if self.process.poll() is None:
                self.process.kill()

    def stop(self) -> None:
        """Ends the process (a call it is reading is told by `ask`: the pipe closes on its end)."""
        self.process.terminate()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(1.0)
        self.requests.close()
        self.answers.close()


class Lanes:
    """This process and `processes` worker processes: who reads the next call (see the module's doc).

    `take()` gives HERE or a worker, waiting in turn when every place is busy; `give(place)` hands it to
    the next call waiting, else frees it. Workers start in the background; until one is ready, calls
    take turns here (as with no workers at all)."""

    def __init__(self, processes: int, model_ids: tuple[str, ...], models_dir: Path):
        self.processes = processes
        self._model_ids, self._models_dir = tuple(model_ids), Path(models_dir)
        self._lock = threading.Lock()
        self._free: list = [HERE]
        self._waiting: collections.deque = collections.deque()  # [lock, place] of each call waiting
        self._workers: list[_Worker] = []
        self._closed = False
        self.replaced = 0  # workers started again after one died
        self.served_here = self.served_by_workers = 0  # calls read here, and by the workers
        for _ in range(processes):
            self._start_worker()

    def _start_worker(self) -> None:
        threading.Thread(target=self._add_worker, daemon=True, name="digits-worker-start").start()

    def _add_worker(self) -> None:
        try:
            worker = _Worker(self._model_ids, self._models_dir)
        except Exception as error:  # (calls are read here meanwhile, as with no workers)
            log.error("worker process failed to start", extra={"fields": {"error": str(error)}})
            return
        ready = worker.wait_until_ready(120.0)
        with self._lock:
            if ready and not self._closed:
                self._workers.append(worker)
                for _ in range(DEPTH):
                    self._give_locked(worker)
                return
            closed = self._closed
        if not closed:
            log.error("worker process failed to start", extra={"fields": {"pid": worker.process.pid,
                                                                          "exit_code": worker.process.poll()}})
        worker.stop()

    def wait_until_ready(self, timeout: float = 120.0) -> bool:
        """Whether every worker process is up (tests, benchmarks), waiting at most `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._workers) >= self.processes:
                    return True
            time.sleep(0.02)
        return False

    def take(self):
        """HERE when no call is being read here, else a free worker, else the first place to free up."""
        while True:
            with self._lock:
                if self._closed:
                    return HERE  # the engine refuses the call itself
                if self._free:
                    # HERE first (a lone caller is never handed off), else the worker freed last
                    place = self._free.pop(0) if self._free[0] is HERE else self._free.pop()
                else:
                    turn = [threading.Lock(), None]
                    turn[0].acquire()
                    self._waiting.append(turn)
                    place = None
            if place is None:
                turn[0].acquire()
                place = turn[1]
            if place is HERE or place.alive():
                return place
            self._lose(place)  # it died between calls (killed, out of memory): no call lost, try again

    def give(self, place) -> None:
        with self._lock:
            self.served_here += place is HERE
            self._give_locked(place)

    def _give_locked(self, place) -> None:
        if place is not HERE and place not in self._workers:  # a worker lost meanwhile: its place goes with it
            return
        if self._waiting:
            turn = self._waiting.popleft()
            turn[1] = place
            turn[0].release()
        elif place is HERE:
            self._free.insert(0, HERE)
        else:
            self._free.append(place)

    def classify(self, worker: _Worker, data: bytes, model: str, filename: str | None) -> tuple:
        """Ask `worker` (taken from `take()`) to read one call; gives the place back either way. Its
        Classification, packed (`Classification.packed`)."""
        try:
            answer = worker.ask(data, model, filename)
        except (WorkerLostError, NotSent):
            self._lose(worker)
            raise
        except BaseException:
            self.give(worker)
            raise
        self.served_by_workers += 1
        self.give(worker)
        return answer

    def _lose(self, worker: _Worker) -> None:
        """A worker that died or hung: stopped, and another started in its place."""
        with self._lock:
            if worker not in self._workers:  # lost already (another of its calls found it dead)
                return
            self._workers.remove(worker)
            self._free = [place for place in self._free if place is not worker]
            closed = self._closed
        if closed:
            return
        log.warning("worker process lost", extra={"fields": {"pid": worker.process.pid,
                                                             "exit_code": worker.process.poll()}})
        threading.Thread(target=worker.stop, daemon=True).start()
        self.replaced += 1
        self._start_worker()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def close(self) -> None:
        """Stops the workers; calls waiting for a place are given HERE, where the closed engine refuses them."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
            waiting, self._waiting = self._waiting, collections.deque()
        for turn in waiting:
            turn[1] = HERE
            turn[0].release()
        for worker in workers:
            worker.stop()
