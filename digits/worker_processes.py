"""Worker processes for a server's concurrent uploads: every core, past the GIL.

Reading one upload is mostly Python (decoding, the pipeline's small NumPy steps, the hand-offs), which
holds the GIL about as long as the model computes, so threads of one process cannot read two uploads
at once. The rule (`Lanes`): a call runs in its own thread, in this process, when no other call is
being read here (and always when it is large, `LARGEST_FOR_WORKERS`); a call that arrives while one
is goes to a worker process with room (each a fresh interpreter with its own copy of the models,
loaded once, on a core of its own; it reads one message at a time, with the next waiting in its pipe,
`DEPTH`); when all are busy it waits, in turn, for the first place to free. So a lone caller pays
nothing (no hand-off, no pickling), and concurrent callers use a core per process. A server starts
one worker per core (`digits.engine.process_count`). One thread of this process reads every worker's
answers: it sends the calls waiting to the worker that has just answered before it wakes the callers
answered, so a worker's next message never waits for a caller's thread to be scheduled and get the GIL,
and a caller that waits for a place is woken once, with its answer (or with this process's place).
The calls waiting when a place frees go in one message, up to `BATCH` (`Engine.classify_together`:
each upload prepared in turn, then one model call for all): under many callers a call then costs one
pipe round trip, one wake-up of the answers' thread and one model call shared with three others.
(Tried: reading no overlapping call here, so that this process's threads, no longer holding the GIL
for a reading, hand calls over at once; in turns on a busy machine 16 callers then read 1.19-1.51x
what one does, against 1.94-2.08x with this rule: each hand-off then waits for a worker process to be
scheduled again; and again with the answers' thread, 0.73x this rule's throughput.) Each process
decodes one picture at a time, so memory stays bounded: about 140 MiB of libraries and models per
process, plus its one picture and the one waiting.

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

CORE_ENV = "DIGITS_WORKER_CORE"  # the core a worker process runs on (set by the server for each)
PIN_ENV = "DIGITS_PIN_WORKERS"  # "0": the worker processes may run on any core (`digits.engine.pin_workers`)
PROCESSES_ENV = "DIGITS_PROCESSES"  # overrides the number of worker processes a server starts

# A reading is bounded (the worst hostile pictures take under half a second); a process silent this
# long is stuck, and is replaced.
ANSWER_WITHIN_S = 60.0

# Larger uploads are read in the caller's thread, as with no workers: a large picture takes long to
# decode, and small uploads (a drawing, a 28x28 file) must never wait behind it for a place (the
# decode budget's small lane keeps them apart in the server process). The server's small call.
LARGEST_FOR_WORKERS = 256 * 1024

# Messages a worker process holds at once: one being read, one waiting in its pipe to start straight after.
DEPTH = 2

# Calls in one message at most: those waiting when a worker's place frees, whose uploads come to at most
# LARGEST_FOR_WORKERS together (a first call alone may be that large). 4: the models' smallest batch
# size above one (digits/litert.py), where a model call costs less per image than four of one.
BATCH = 4

# The request pipe holds every message a worker may be sent (DEPTH messages, each of uploads of at most
# LARGEST_FOR_WORKERS, with room for their names), so sending never waits on a worker that has hung or
# been stopped: only the answer waits, and that wait has a limit (ANSWER_WITHIN_S). Linux's default
# pipe is 64 KB.
REQUEST_PIPE_BYTES = 1024 * 1024

# Callers waiting for an answer are woken through an eventfd where there is one (Linux): `_Wakeup`.
WAKE_BY_EVENTFD = hasattr(os, "eventfd")

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


class _Wakeup:
    """One thread waits, another wakes it, once for each wait. On Linux an eventfd (semaphore mode): the
    waker's write lets go of the GIL, so a waker that the woken thread's start preempts (its core shared
    with a worker process) is not held off its core with the GIL, stalling every thread of the server
    (docs/speed.md, *16 callers, eleventh round*); elsewhere a lock. The eventfd is closed with the object,
    when no thread can wake it any more."""

    __slots__ = ("_fd", "_lock")

    def __init__(self):
        self._fd, self._lock = -1, None
        if WAKE_BY_EVENTFD:
            try:
                self._fd = os.eventfd(0, os.EFD_SEMAPHORE | os.EFD_CLOEXEC)
                return
            except OSError:  # out of file descriptors: a lock does as well, GIL aside
                pass
        self._lock = threading.Lock()
        self._lock.acquire()

    def wake(self) -> None:
        if self._lock is None:
            os.eventfd_write(self._fd, 1)
        else:
            self._lock.release()

    def wait(self) -> None:
        if self._lock is None:
            os.eventfd_read(self._fd)
        else:
            self._lock.acquire()

    def __del__(self, close=os.close):  # (os.close bound now: at the interpreter's exit `os` may be gone first)
        if self._fd >= 0:
            close(self._fd)


class _Call:
    """One call on its way to a worker process: its upload, (data, model, filename), and once done its
    answer (the worker's reply for it), the error, or HERE (handed the server's own place); or, on its
    way, a worker's place (`handed`) for the caller to send it to itself. Its caller waits on one `_Wakeup`,
    woken at each of these. A bare turn (`Lanes.take`) has no upload."""

    __slots__ = ("upload", "reply", "error", "here", "handed", "_woken", "_lanes")

    def __init__(self, upload: tuple[bytes, str, str | None] | None, lanes: "Lanes | None" = None):
        self.upload, self._lanes = upload, lanes
        self.reply = self.error = None
        self.handed: "_Worker | None" = None  # a worker's place handed to it, for it to send the call itself
        self.here = False
        self._woken = _Wakeup()

    def wake(self) -> None:
        self._woken.wake()

    def answered(self, reply: tuple) -> None:
        """Its reply, ("ok", a packed Classification) or ("error", the exception), from a call read in this
        process that took it along (`Lanes.waiting`); its caller wakes with it."""
        self.reply = reply
        self.wake()

    def answer(self):
        """Waits: HERE when handed the server's place, else the worker's packed Classification (its
        error raised here)."""
        self._woken.wait()
        while self.handed is not None:  # handed a place whose pipe may be full: it sends the call itself
            worker, self.handed = self.handed, None
            self._lanes._send_for(worker, [self])
            self._woken.wait()
        if self.here:
            return HERE
        if self.error is not None:
            raise self.error
        status, answer = self.reply
        if status == "error":
            raise answer
        return answer


class _Worker:
    """A fresh interpreter (not a fork: the server's threads are running), talking over two pipes."""

    def __init__(self, model_ids: tuple[str, ...], models_dir: Path, core: int | None = None):
        requests_theirs, requests_ours = os.pipe()
        self.roomy = True  # its pipe holds every call it may be sent, so a send never waits
        try:
            fcntl.fcntl(requests_ours, fcntl.F_SETPIPE_SZ, REQUEST_PIPE_BYTES)
        except OSError:  # a system whose pipe-max-size is lower: a send may then wait, until the answer limit ends it
            self.roomy = False
        answers_ours, answers_theirs = os.pipe()
        source = str(Path(__file__).resolve().parent.parent)  # the folder `digits` is imported from
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [source] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        if core is not None:
            environment[CORE_ENV] = str(core)
        try:
            self.process = subprocess.Popen(
                # -P: `digits` is imported from `source`, never from the working folder
                [sys.executable, "-P", "-m", "digits.worker", str(requests_theirs),
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
        self._sending, self._polling = threading.Lock(), threading.Lock()
        self._pending: collections.deque[list[_Call]] = collections.deque()  # messages sent, not answered
        self.core = core
        self.room = 0  # messages it may still be sent (Lanes' lock)
        self.heard = time.monotonic()  # when it last answered, or was sent a call with none pending

    def alive(self) -> bool:
        with self._polling:  # (Popen.poll answers None while another thread polls: one at a time)
            return self.process.poll() is None

    def wait_until_ready(self, timeout: float) -> bool:
        try:
            return self.answers.poll(timeout) and pickle.loads(self.answers.recv_bytes()) == "ready"
        except (EOFError, OSError):
            return False

    def send(self, calls: list[_Call]) -> None:
        """Writes one message of the calls to the process's pipe (never waits: the pipe holds every message
        it may be sent). NotSent when its end is closed (dead before it could read them)."""
        message = pack([call.upload for call in calls])
        with self._sending:
            try:
                self.requests.send_bytes(message)
            except OSError:
                raise NotSent from None
            if not self._pending:
                self.heard = time.monotonic()
            self._pending.append(calls)

    def answered(self) -> list[_Call]:
        """The calls its next message answers, each with its reply (read from its pipe: call when it is
        readable). ValueError when it does not answer the calls of the message sent first."""
        replies = pickle.loads(self.answers.recv_bytes())
        with self._sending:
            if len(replies) != len(self._pending[0]):
                raise ValueError("a worker answered out of turn")
            calls = self._pending.popleft()
            self.heard = time.monotonic()
        for call, reply in zip(calls, replies):
            call.reply = reply
        return calls

    def lost(self) -> list[_Call]:
        """Kills the process; the calls sent to it, each told so."""
        self.kill()
        with self._sending:
            calls = [call for message in self._pending for call in message]
            self._pending = collections.deque()
        for call in calls:
            call.error = WorkerLostError(WORKER_LOST)
        return calls

    def kill(self) -> None:
        with self._polling:
            if self.process.poll() is None:
                self.process.kill()

    def stop(self) -> None:
        """Ends the process (a call it is reading is told: the answers' reader finds its pipe closed)."""
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

    `submit(data, model, filename)` gives HERE when no call is being read here; else the call goes to a
    worker with room (`DEPTH` messages each), or waits, in turn, for the first place to free. One thread
    of this process reads every worker's answers: it sends the calls waiting (up to `BATCH`, one message)
    to the worker that has just answered, before it wakes the callers answered, so a worker's next
    message never waits for a caller's thread to get the GIL, and a caller waiting for a place is woken
    once, with its answer (or with the server's place). `take()`/`give()`/`classify()` do the same a
    step at a time (tests, benchmarks).
    Workers start in the background; until one is ready, calls take turns here (as with no workers).
    `pin`: each worker runs on one core of those this process may use, in turn (`digits.engine.pin_workers`)."""

    def __init__(self, processes: int, model_ids: tuple[str, ...], models_dir: Path, pin: bool = False):
        self.processes = processes
        self._model_ids, self._models_dir = tuple(model_ids), Path(models_dir)
        self._lock = threading.Lock()
        self._here_free = True
        self._waiting: collections.deque[_Call] = collections.deque()  # calls (or bare turns) waiting for a place
        self._workers: list[_Worker] = []
        self._closed = False
        self.replaced = 0  # workers started again after one died
        self.served_here = self.served_by_workers = 0  # calls read here, and by the workers
        self.messages_answered = 0  # the workers' messages (served_by_workers / this: calls per message)
        self._changed, self._change = os.pipe()  # wakes the answers' reader when the workers change
        self._change_lock = threading.Lock()  # (so that no write goes to the pipe's number once it is closed)
        os.set_blocking(self._change, False)
        threading.Thread(target=self._read_answers, daemon=True, name="digits-worker-answers").start()
        cores = sorted(os.sched_getaffinity(0)) if pin else [None]
        for number in range(processes):
            self._start_worker(cores[number % len(cores)])

    def _start_worker(self, core: int | None) -> None:
        threading.Thread(target=self._add_worker, args=(core,), daemon=True, name="digits-worker-start").start()

    def _add_worker(self, core: int | None) -> None:
        try:
            worker = _Worker(self._model_ids, self._models_dir, core)
        except Exception as error:  # (calls are read here meanwhile, as with no workers)
            log.error("worker process failed to start", extra={"fields": {"error": str(error)}})
            return
        ready = worker.wait_until_ready(120.0)
        with self._lock:
            if ready and not self._closed:
                self._workers.append(worker)
                self._tell_reader()
                sends = [self._freed_locked(worker) for _ in range(DEPTH)]
            else:
                sends, closed = None, self._closed
        if sends is None:
            if not closed:
                log.error("worker process failed to start",
                          extra={"fields": {"pid": worker.process.pid, "exit_code": worker.process.poll()}})
            worker.stop()
            return
        for calls in sends:
            self._send_for(worker, calls)

    def _tell_reader(self) -> None:
        with self._change_lock:
            if self._change is not None:
                try:
                    os.write(self._change, b"!")
                except OSError:  # the reader has ended (closed), or has a wake-up pending already
                    pass

    def wait_until_ready(self, timeout: float = 120.0) -> bool:
        """Whether every worker process is up (tests, benchmarks), waiting at most `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._workers) >= self.processes:
                    return True
            time.sleep(0.02)
        return False

    def submit(self, data: bytes, model: str, filename: str | None):
        """HERE when no call is being read here (the caller reads it: then `give(HERE)`); else the call,
        sent to a worker or waiting for a place: its `answer()` waits."""
        with self._lock:
            if self._here_free or self._closed:
                self._here_free = False
                return HERE
        call = _Call((data, model, filename), self)
        with self._lock:
            if self._here_free or self._closed:  # freed meanwhile
                self._here_free = False
                return HERE
            worker = self._roomiest_locked()
            if worker is None:
                self._waiting.append(call)
                return call
            worker.room -= 1
        self._send_for(worker, [call])
        return call

    def take(self):
        """HERE when no call is being read here, else a worker with room, else the first place to free
        up (a call then `classify(worker, ...)`, or `give(place)` back unused)."""
        with self._lock:
            if self._here_free or self._closed:
                self._here_free = False
                return HERE
            worker = self._roomiest_locked()
            if worker is not None:
                worker.room -= 1
                return worker
            turn = _Call(None)
            self._waiting.append(turn)
        turn._woken.wait()
        return HERE if turn.here else turn.handed

    def _roomiest_locked(self) -> "_Worker | None":
        best = None
        for worker in self._workers:
            if worker.room and (best is None or worker.room > best.room):
                best = worker
        return best

    def give(self, place) -> None:
        """Gives back HERE (after reading a call here) or a worker's place taken and not used."""
        with self._lock:
            if place is HERE:
                self.served_here += 1
                if self._waiting:
                    turn = self._waiting.popleft()
                    turn.here = True
                    turn.wake()
                else:
                    self._here_free = True
                return
            calls = self._freed_locked(place)
        self._send_for(place, calls)

    def _freed_locked(self, worker: _Worker) -> list[_Call] | None:
        """A place of `worker` freed: the calls waiting that go there in one message (None: no call waits,
        or the first waiting was handed the place)."""
        if worker not in self._workers:  # lost meanwhile: its place goes with it
            return None
        if not self._waiting:
            worker.room += 1
            return None
        first = self._waiting.popleft()
        if first.upload is None or not worker.roomy:  # a turn from `take()`, or a send that might wait:
            first.handed = worker  # the caller sends it itself, so that the answers' thread never waits
            first.wake()
            return None
        return [first] + self._following_locked(BATCH - 1, len(first.upload[0]))

    def _following_locked(self, most: int, size: int) -> list[_Call]:
        """The calls waiting next, at most `most`, while their uploads and `size` bytes come to at most
        LARGEST_FOR_WORKERS (a bare turn waiting ends them)."""
        calls = []
        while (self._waiting and len(calls) < most and self._waiting[0].upload is not None
               and size + len(self._waiting[0].upload[0]) <= LARGEST_FOR_WORKERS):
            calls.append(self._waiting.popleft())
            size += len(calls[-1].upload[0])
        return calls

    def waiting(self, upload_bytes: int) -> list[_Call]:
        """For a call about to be read here (its upload `upload_bytes` long): the calls waiting for a place
        that it reads with it, as a worker reads a message (up to `BATCH` calls in all, their uploads
        within LARGEST_FOR_WORKERS); its reader answers each (`_Call.answered`). [] when none waits."""
        if not self._waiting:  # (read without the lock: a call coming just after goes elsewhere, as before)
            return []
        with self._lock:
            calls = self._following_locked(BATCH - 1, upload_bytes)
            self.served_here += len(calls)
            return calls

    def _send_for(self, worker: _Worker, calls: list[_Call] | None) -> None:
        if not calls:
            return
        try:
            worker.send(calls)
        except NotSent:  # dead before it could read them: the callers try again
            for call in calls:
                call.error = NotSent()
                call.wake()
            self._lose(worker)

    def classify(self, worker: _Worker, data: bytes, model: str, filename: str | None) -> tuple:
        """Ask `worker` (taken from `take()`) to read one call; its place frees with the answer. Its
        Classification, packed (`Classification.packed`)."""
        call = _Call((data, model, filename))
        self._send_for(worker, [call])
        return call.answer()

    def _read_answers(self) -> None:
        """The thread that reads every worker's answers, sends each freed place's calls waiting, and wakes
        the callers answered; it also finds a worker dead (its pipe closed) or hung (silent past
        `ANSWER_WITHIN_S` with calls sent to it)."""
        watching, polled = None, select.poll()
        while True:
            with self._lock:
                if self._closed:
                    break
                workers = list(self._workers)
            if watching != workers:
                polled = select.poll()
                polled.register(self._changed, select.POLLIN)
                for worker in workers:
                    polled.register(worker.answers.fileno(), select.POLLIN)
                watching, by_fd = workers, {worker.answers.fileno(): worker for worker in workers}
            try:
                events = polled.poll(1000)
            except OSError:
                continue
            for fd, _ in events:
                if fd == self._changed:
                    os.read(self._changed, 4096)
                    continue
                worker = by_fd[fd]
                try:
                    calls = worker.answered()
                except Exception:  # dead (its pipe closed), or it spoke out of turn: never this thread's end
                    self._lose(worker)
                    continue
                with self._lock:
                    self.served_by_workers += len(calls)
                    self.messages_answered += 1
                    following = self._freed_locked(worker)
                self._send_for(worker, following)
                for call in calls:
                    call.wake()
            now = time.monotonic()
            for worker in watching:
                if worker._pending and now - worker.heard > ANSWER_WITHIN_S:
                    self._lose(worker)  # hung
        os.close(self._changed)

    def _lose(self, worker: _Worker) -> None:
        """A worker that died or hung: its calls told so, the process stopped, and another started."""
        with self._lock:
            if worker not in self._workers:  # lost already
                return
            self._workers.remove(worker)
            closed = self._closed
        for call in worker.lost():
            call.wake()
        self._tell_reader()
        if closed:
            return
        log.warning("worker process lost", extra={"fields": {"pid": worker.process.pid,
                                                             "exit_code": worker.process.poll()}})
        threading.Thread(target=worker.stop, daemon=True).start()
        self.replaced += 1
        self._start_worker(worker.core)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def close(self) -> None:
        """Stops the workers (their calls are told so); calls waiting for a place are given HERE, where
        the closed engine refuses them."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
            waiting, self._waiting = self._waiting, collections.deque()
        self._tell_reader()
        for turn in waiting:
            turn.here = True
            turn.wake()
        for worker in workers:
            for call in worker.lost():
                call.wake()
            worker.stop()
        with self._change_lock:
            os.close(self._change)
            self._change = None
