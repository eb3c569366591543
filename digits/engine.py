"""The inference engine: preprocessed uploads in, predictions out, fast and thread-safe.

Each model runs on LiteRT (`digits/litert.py`): loaded once, at fixed batch sizes, warmed up. Calls
from many threads are coalesced: each model has as many copies of its interpreters as the process has
cores (`worker_count`). A call that finds a copy free runs it in its own thread, on its images and every
request waiting for that model, as one batch (micro-batching, as TF Serving does); a call that finds them
all busy waits, and is answered by the next batch or handed the next free copy to run it. So concurrent
users share each model call, a lone caller waits for nobody and hands nothing to another thread, and busy
models use every core (LiteRT lets go of the GIL while it computes). No TensorFlow here.
"""

import collections
import ctypes
import functools
import itertools
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import models
from digits.explain import evidence_map
from digits.litert import load_litert
from digits.preprocessing import (
    IMAGE_SIZE,
    MAX_CSV_ROWS,
    InputError,
    PreparedImage,
    prepare_file,
    prepare_upload,
    preview_png,
    to_model_input,
)
from digits.worker_processes import HERE, LARGEST_FOR_WORKERS, PIN_ENV, PROCESSES_ENV, Lanes, NotSent, WorkerLostError

ENSEMBLE = "ensemble"
MODEL_CHOICES = (*models.MODEL_IDS, ENSEMBLE)


# The confidences are calibrated (training/calibrate.py): below this, the model is right less than
# about half the time, so the person is told it hardly recognises the digit.
UNSURE_BELOW = 0.5
UNSURE_WARNING = "The model hardly recognises this as a digit: it is unsure, so the answer may well be wrong."


SWITCH_INTERVAL_S = 0.001  # a server's threads take turns every 1 ms, not 5: a small call waits less behind heavy ones
WORKERS_ENV = "DIGITS_WORKERS"  # overrides the number of workers per model (the cores, by default)


class UnknownModelError(InputError):
    pass


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by its container's CPU quota (cgroup
    v2's cpu.max, or v1's cfs quota), rounded up: a task given 0.5 vCPU still has one core to run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The container's CPU quota in cores (1.5 = a core and a half), or None when it has none."""
    try:
        if (root / "cpu.max").is_file():  # cgroup v2: "<quota> <period>" or "max <period>"
            quota, period = (root / "cpu.max").read_text().split()[:2]
        else:  # cgroup v1
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if quota in ("max", "-1") or int(period) <= 0:
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _whole_number_from_env(name: str, of_what: str) -> int | None:
    """$name as a whole number, None when it is unset or blank."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"${name} must be a whole number of {of_what}, not {os.environ[name]!r}") from None


def worker_count(setting: int | None = None) -> int:
    """Workers per model: `setting`, else $DIGITS_WORKERS, else one per available core."""
    if setting is None:
        setting = _whole_number_from_env(WORKERS_ENV, "workers")
    if setting is not None and setting < 1:
        raise ValueError(f"A model needs at least one worker, not {setting}.")
    return available_cores() if setting is None else setting


def process_count(setting: int | None = None, workers: int | None = None) -> int:
    """Worker processes a server reads concurrent uploads in (digits/worker_processes.py): `setting`,
    else $DIGITS_PROCESSES, else one per core (the server process only hands concurrent calls to them),
    none on one core (nothing to gain: a lone call is read in the server process)."""
    if setting is None:
        setting = _whole_number_from_env(PROCESSES_ENV, "processes")
    if setting is not None and setting < 0:
        raise ValueError(f"The number of worker processes cannot be negative ({setting}).")
    if setting is None:
        cores = worker_count(workers)
        return cores if cores > 1 else 0
    return setting


def pin_workers() -> bool:
    """Whether each worker process runs on a core of its own (a worker kept on one core is not moved
    between cores, and its caches stay warm: docs/speed.md, *16 callers, sixth round*): yes, unless
    $DIGITS_PIN_WORKERS is 0, or a CPU quota gives this process fewer cores than it may run on (a task
    sharing a larger host, whose every core other tasks may keep busy)."""
    if os.environ.get(PIN_ENV, "").strip() == "0" or not hasattr(os, "sched_getaffinity"):
        return False
    return available_cores() >= len(os.sched_getaffinity(0))


class PreparationPool(ProcessPoolExecutor):
    """A preparation pool whose processes start at once, in a thread of their own: the first start of a
    forkserver pool takes about a second (the server process imports the pipeline), and the call that
    starts it waits that long. `ready` is done once every process has answered (or with the error
    that kept them from starting); until then a folder run prepares its files in this process
    (`Engine.classify_batches`), and a CLI run loads its models (docs/speed.md, *Folder runs: the pool's
    start hidden*). Its processes keep the memory their tasks free (`keep_freed_memory`)."""

    def __init__(self, workers: int, mp_context):
        super().__init__(workers, mp_context=mp_context, initializer=keep_freed_memory)
        self.ready: Future = Future()
        self.start_s: float | None = None  # from this pool's making to `ready`
        self.prepared_while_starting = 0  # uploads folder runs prepared themselves before `ready`
        threading.Thread(target=self._start, args=(time.perf_counter(),), daemon=True,
                         name="preparation-pool-start").start()

    def _start(self, made: float) -> None:
        try:
            # One call per process: a forkserver pool starts a process for each call that finds none idle.
            for answered in [self.submit(prepare_each, []) for _ in range(self._max_workers)]:
                answered.result()  # (and the process has imported this module, whose function it ran)
        except BaseException as error:  # shut down before it started, or a process could not start
            self.ready.set_exception(error)
        else:
            self.start_s = time.perf_counter() - made
            self.ready.set_result(None)


# A preparation process's heap is kept, not given back to the system after each task: a fresh process
# whose tasks free all they made hands its heap's top back (glibc trims it) and maps its large arrays
# afresh, so its tasks faulted their pages in again (60-210 page faults and 0.2-0.5 ms of system time an
# upload of `digits bench`'s mixed folder, about 240 a 1200x900 photo, where the serving process, whose
# heap holds its results, had none). Arrays up to 32 MiB (glibc's own ceiling for its sliding threshold;
# a 4032x3024 photo's float copies are larger) come from the heap, and up to 256 MiB of freed heap stays
# mapped (more than a task's arrays take): a process holds on to its largest task's memory until the pool
# ends, 86-87 MiB resident after 12-megapixel photos against 80-83 before (docs/speed.md, *Folder runs,
# stop 55*).
KEPT_HEAP_BYTES = 256 * 2**20
HEAP_ARRAYS_UP_TO_BYTES = 32 * 2**20
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def keep_freed_memory() -> None:
    """In a preparation process (its pool's initializer): glibc keeps freed memory for the next task
    (`KEPT_HEAP_BYTES`, `HEAP_ARRAYS_UP_TO_BYTES`). Nothing where the C library has no `mallopt`."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(M_TRIM_THRESHOLD, KEPT_HEAP_BYTES)
    mallopt(M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO_BYTES)


def preparation_pool(workers: int | None = None) -> PreparationPool | None:
    """Processes that prepare uploads side by side in bulk runs (`digits classify DIR`): a picture's
    preparation is Python and small NumPy steps that hold the GIL much of the time, so threads would
    queue behind one another. None with one worker (nothing to gain). Forked from a server that has
    imported the pipeline already (never from this process, whose model threads are running), so a
    worker starts in a fraction of a second once that server runs; the processes start now
    (`PreparationPool`); each holds its own decode budget. As with any process pool, a script that
    starts one needs the `if __name__ == "__main__":` guard (each worker imports it)."""
    workers = worker_count(workers)
    if workers < 2:
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["digits.preprocessing"])
    return PreparationPool(workers, context)


def prepare_or_error(upload: "tuple[str | None, bytes] | ClassificationError") -> "list[PreparedImage] | ClassificationError":
    """One upload's digits (one per row of a CSV of many), or why it cannot be read (runs in a pool too);
    a ClassificationError (a file that could not be read) is its own answer."""
    if isinstance(upload, ClassificationError):
        return upload
    filename, data = upload
    try:
        return prepare_file(data, filename)
    except InputError as error:
        return ClassificationError(filename, str(error))


def prepare_each(uploads: list[tuple[str | None, bytes]]) -> "list[list[PreparedImage] | ClassificationError]":
    """`prepare_or_error` for each of a few uploads: one task of a preparation pool."""
    return [prepare_or_error(upload) for upload in uploads]


# A pool's task: consecutive uploads up to this many bytes (a 1200x900 phone photo is about 125 KB,
# a scanned page 415 KB, a 28x28 PNG under 1 KB) or files, so that its two or more processes finish a
# group of files at about the same time (a task of eight photos would leave a process idle for a quarter
# of a second at the end of a group) while small files do not pay a hand-off each. `Reader.read_numbers`
# reads each number as its task comes back, so its tasks stay this small.
TASK_BYTES = 128 * 1024
TASK_FILES = 16
# A folder run's tasks (`Engine.classify_batches`) are larger: its groups go to the pool a group ahead, so
# a process finds the next group's tasks queued when it ends one, and only the run's last task can leave
# the other waiting. About six tasks a group of 64 mixed uploads (a group's files: 64), against 35 at
# `TASK_BYTES`: this process's CPU (the executor's threads, pickles and pipes) 1.12 -> 0.96 ms an upload
# and the pool's 6.7 -> 6.1-6.6 ms, in turns (512 KB: 1.02-1.08 and 6.4-6.7; docs/speed.md, *Folder
# runs, stop 55*).
FOLDER_TASK_BYTES = 1024 * 1024
FOLDER_TASK_FILES = 64


def preparation_tasks(uploads: Sequence, task_bytes: int = TASK_BYTES, task_files: int = TASK_FILES) -> list[list]:
    """The uploads in order, cut into a preparation pool's tasks of consecutive uploads, up to
    `task_bytes` or `task_files` each (a larger upload is a task of its own)."""
    tasks, task, size = [], [], 0
    for upload in uploads:
        length = 0 if isinstance(upload, ClassificationError) else len(upload[1])
        if task and (size + length > task_bytes or len(task) == task_files):
            tasks.append(task)
            task, size = [], 0
        task.append(upload)
        size += length
    return tasks + ([task] if task else [])


class _FolderGroup:
    """One group of a folder run's uploads: how many of them, from the first, were prepared in this
    process, and the pool's results for the rest once they are handed to it."""

    __slots__ = ("uploads", "prepared_here", "from_pool")

    def __init__(self, uploads: Sequence):
        self.uploads, self.prepared_here, self.from_pool = uploads, 0, None


class _FolderPreparation:
    """A folder run's groups prepared in order. Each group goes to the pool when it is made (one group
    ahead: `Engine.classify_batches`), except while the pool's processes are still starting
    (`PreparationPool.ready`): this process then prepares the groups' uploads itself, one after another,
    as they are asked for, and hands the pool the rest of every group it holds as soon as the pool is
    ready. So the start, about a second in which this process would wait for the pool's first answer,
    costs the run only the core the pool's server takes for it, not both (docs/speed.md, *Folder runs:
    the pool's start hidden*)."""

    def __init__(self, pool: Executor | None):
        self._pool = pool
        self._ready: Future | None = getattr(pool, "ready", None)
        self._waiting: list[_FolderGroup] = []  # groups made while the pool was starting, not yet handed over

    def group(self, uploads: Sequence) -> Iterator:
        """Each upload's `prepare_or_error`, in order."""
        if self._pool is None:
            return map(prepare_or_error, uploads)
        group = _FolderGroup(uploads)
        if self._pool_ready():
            self._hand_over(group)
        else:
            self._waiting.append(group)
        return self._results(group)

    def _pool_ready(self) -> bool:
        return self._ready is None or self._ready.done()

    def _hand_over(self, group: _FolderGroup) -> None:
        """The group's uploads not prepared here to the pool, all at once (Executor.map submits every task now)."""
        tasks = preparation_tasks(group.uploads[group.prepared_here:], FOLDER_TASK_BYTES, FOLDER_TASK_FILES)
        group.from_pool = itertools.chain.from_iterable(self._pool.map(prepare_each, tasks))

    def _results(self, group: _FolderGroup) -> Iterator:
        while group.from_pool is None:
            if self._pool_ready():
                for waiting in self._waiting:
                    self._hand_over(waiting)
                self._waiting.clear()
                break
            if group.prepared_here == len(group.uploads):
                self._waiting.remove(group)
                return
            outcome = prepare_or_error(group.uploads[group.prepared_here])
            group.prepared_here += 1
            self._pool.prepared_while_starting += 1
            yield outcome
        yield from group.from_pool


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of log-probabilities / temperature: below 1 sharpens, above 1 softens, the ranking stays."""
    if temperature == 1.0:
        return probabilities
    # The same steps in place, in one new array (every upload's answer passes here): the same bits as
    # log(clip) / t, exp(l - max), e / sum, a few microseconds less a call (docs/speed.md, *16 callers, twelfth round*).
    scaled = np.maximum(probabilities, 1e-12)
    np.log(scaled, out=scaled)
    np.divide(scaled, temperature, out=scaled)
    scaled -= scaled.max(axis=-1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=-1, keepdims=True)
    return scaled


@dataclass(frozen=True)
class Classification:
    """A model's answer for one upload. No digit found is an answer too: digit, confidence and
    probabilities are then None, and the warnings say what was seen instead."""

    file: str | None
    model: str
    digit: int | None
    confidence: float | None
    probabilities: tuple[float, ...] | None
    warnings: tuple[str, ...]
    latency_ms: float
    pixels: np.ndarray = field(repr=False)  # the 28x28 uint8 image the model saw
    row: int | None = None  # a CSV of many digits: its data row, from 1
    label: int | None = None  # ... and the digit its label column gives

    @classmethod
    def of(cls, filename: str | None, model: str, probabilities: np.ndarray | None, image: PreparedImage,
           latency_ms: float) -> "Classification":
        if probabilities is None:
            return cls(file=filename, model=model, digit=None, confidence=None, probabilities=None,
                       warnings=image.warnings, latency_ms=latency_ms, pixels=image.pixels, row=image.row,
                       label=image.label)
        values = probabilities.tolist()  # Python floats, each exactly its float32 (or float64) value
        digit = int(np.argmax(probabilities))
        confidence = values[digit]
        unsure = (UNSURE_WARNING,) if confidence < UNSURE_BELOW else ()
        return cls(file=filename, model=model, digit=digit, confidence=confidence,
                   probabilities=tuple(values), warnings=image.warnings + unsure,
                   latency_ms=latency_ms, pixels=image.pixels, row=image.row, label=image.label)

    def packed(self) -> tuple:
        """All but the latency as plain values: what a worker process sends (`unpacked` rebuilds it)."""
        return (self.file, self.model, self.digit, self.confidence, self.probabilities, self.warnings,
                self.pixels.tobytes(), self.pixels.shape, self.row, self.label)

    @classmethod
    def unpacked(cls, packed: tuple, latency_ms: float) -> "Classification":
        file, model, digit, confidence, probabilities, warnings, pixels, shape, row, label = packed
        return cls(file, model, digit, confidence, probabilities, warnings, latency_ms,
                   np.frombuffer(pixels, np.uint8).reshape(shape), row, label)

    @property
    def seen(self) -> np.ndarray:
        """The 28x28 uint8 image the model saw (0 = background, 255 = ink); all 0 when there is no digit."""
        return self.pixels

    def to_dict(self) -> dict:
        return {
            **{key: value for key, value in (("row", self.row), ("label", self.label)) if value is not None},
            "file": self.file,
            "model": self.model,
            "digit": self.digit,
            "confidence": None if self.confidence is None else round(self.confidence, 6),
            "probabilities": None if self.probabilities is None else [round(p, 6) for p in self.probabilities],
            "warnings": list(self.warnings),
            "latency_ms": round(self.latency_ms, 3),
        }

    def preview_png(self, scale: int = 8) -> bytes:
        return preview_png(self.pixels, scale)


@dataclass(frozen=True)
class ClassificationError:
    """An input that could not be classified, and why, in words a person can act on."""

    file: str | None
    error: str

    def to_dict(self) -> dict:
        return {"file": self.file, "error": self.error}


ENGINE_CLOSED = "The models have been closed (the server is stopping); please try again in a moment."


class EngineClosedError(RuntimeError):
    """A prediction asked of an engine after close(): a side task that outlived its call, or a call
    arriving while the server stops."""


class _Request:
    """One call's images and, once its batch has run, their probabilities or the error. Its caller
    waits on one lock, released once: when another caller's batch has answered it, or when it is handed a
    model copy to run. (A concurrent.futures.Future would wake it twice, on its Condition and then its
    lock, each wake-up one more thread waiting for the GIL under load.)"""

    __slots__ = ("images", "probabilities", "error", "model", "_woken")

    def __init__(self, images: np.ndarray):
        self.images = images
        self.probabilities = self.error = self.model = None
        self._woken = threading.Lock()
        self._woken.acquire()

    def wake(self) -> None:
        self._woken.release()

    def wait(self) -> None:
        self._woken.acquire()

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.probabilities


class _BatchingRunner:
    """One model, `workers` copies of it (each its own interpreters: they are not thread-safe). A call that
    finds a copy free runs it in its own thread, on its images and on every request waiting for the model
    (micro-batching, as TF Serving does): a lone caller waits for nobody and hands nothing to another
    thread. A call that finds every copy busy waits; the caller whose batch ends next hands its copy to
    the first one waiting, which runs the next batch. LiteRT lets go of the GIL while it computes, so the
    copies run side by side on the cores."""

    def __init__(self, load_model, temperature: float, max_batch: int, workers: int = 1):
        self._load = load_model
        self._temperature = temperature
        self._max_batch = max_batch
        self.workers = workers
        self.requests_served = 0
        self.batches_run = 0
        self._lock = threading.Lock()  # guards all below
        self._closed = False
        self._free: list = []  # model copies no call is running
        self._waiting: collections.deque[_Request] = collections.deque()
        self._ready = [Future() for _ in range(workers)]
        for number, ready in enumerate(self._ready):  # the copies load side by side
            threading.Thread(target=self._load_copy, args=(ready,), daemon=True, name=f"load-{number}").start()

    def _load_copy(self, ready: Future) -> None:
        try:
            model = self._load()
            for size in model.batch_sizes:  # warm up every batch size before the first user arrives
                model.predict(np.zeros((size, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32))
        except BaseException as error:
            ready.set_exception(error)
            return
        with self._lock:
            if not self._closed:
                self._free.append(model)
        ready.set_result(None)

    def wait_until_ready(self) -> None:
        """Blocks until every copy of the model is loaded and warm; a load error is raised here."""
        for ready in self._ready:
            ready.result()

    def run(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, 28, 28, 1) -> probabilities (N, 10), in a batch with whatever else is waiting.
        Once closed, EngineClosedError at once."""
        request = _Request(images)
        with self._lock:
            if self._closed:
                raise EngineClosedError(ENGINE_CLOSED)
            if self._free:
                model, batch = self._free.pop(), self._take(request)
            else:
                self._waiting.append(request)
                model = None
        if model is None:
            request.wait()
            if request.model is None:  # answered by another call's batch (or the engine closed)
                return request.result()
            with self._lock:  # handed a copy: this call runs the next batch
                model, batch = request.model, self._take(request)
        self._run(model, batch)
        with self._lock:
            if self._waiting and not self._closed:
                successor = self._waiting.popleft()
                successor.model = model
                successor.wake()
            elif not self._closed:
                self._free.append(model)
        return request.result()

    def _take(self, first: _Request) -> list[_Request]:
        """`first` and the requests waiting behind it, up to about max_batch images (call with the lock)."""
        batch, size = [first], len(first.images)
        while self._waiting and size < self._max_batch:
            batch.append(self._waiting.popleft())
            size += len(batch[-1].images)
        self.batches_run += 1
        self.requests_served += len(batch)
        return batch

    def _run(self, model, batch: list[_Request]) -> None:
        try:
            images = batch[0].images if len(batch) == 1 else np.concatenate([r.images for r in batch])
            probabilities = apply_temperature(model.predict(images), self._temperature)
        except Exception as error:  # each caller gets the error; the copy serves on
            for request in batch:
                request.error = error
        else:
            start = 0
            for request in batch:
                request.probabilities = probabilities[start:start + len(request.images)]
                start += len(request.images)
        for request in batch[1:]:  # the first is this call's own
            request.wake()

    def close(self) -> None:
        """Refuses new calls; the calls still waiting get EngineClosedError, never a wait for ever (the
        batches running finish, and their copies are let go)."""
        with self._lock:
            self._closed = True
            self._free.clear()
            waiting, self._waiting = self._waiting, collections.deque()
        for request in waiting:
            request.error = EngineClosedError(ENGINE_CLOSED)
            request.wake()


class Engine:
    """`runtime(model_id, models_dir)` loads one model as an object with `batch_sizes` and
    `predict(float32 (N, 28, 28, 1)) -> (N, 10)`; LiteRT by default (`digits bench` also times others).
    `workers`: copies of each model's interpreters; default `worker_count()`, one per core.
    `processes`: worker processes that read single uploads (`classify`) arriving while another is being
    read here (digits/worker_processes.py); None: `process_count()`, as a server runs; default none."""

    def __init__(self, model_ids=models.MODEL_IDS, models_dir: Path = models.MODELS_DIR, max_batch: int = 64,
                 runtime=load_litert, workers: int | None = None, processes: int | None = 0):
        self.model_ids = tuple(model_ids)
        both = all(m in self.model_ids for m in models.MODEL_IDS)
        self._choices = (*self.model_ids, ENSEMBLE) if both else self.model_ids  # (checked on every call)
        self.workers = worker_count(workers)
        self._closed = False
        self._lanes: Lanes | None = None
        self.ensemble_weights = models.ensemble_weights(models_dir)
        # The ensemble's members (ensemble.json): the models offered, and any it adds that is not offered on
        # its own (models.EXTRA_MEMBERS), loaded only where the ensemble is. A member fitted no share is
        # not asked: its answer would not change the vote.
        self.members = tuple(m for m, share in self.ensemble_weights.items() if share > 0)
        offers_ensemble = all(m in self.model_ids for m in models.MODEL_IDS)
        loaded = (*self.model_ids, *(m for m in self.members if offers_ensemble and m not in self.model_ids))
        self.cards = {}
        self._runners = {}
        self._models_dir = Path(models_dir)
        self._line_reader, self._line_lock = None, threading.Lock()  # the number reader, loaded on first use
        self._helpers = ThreadPoolExecutor(thread_name_prefix="engine")  # runs the other models' or chunks' calls
        for model_id in loaded:
            card = models.card_path(model_id, models_dir)
            self.cards[model_id] = models.load_card(model_id, models_dir) if card.exists() else {}
            # The card's temperature (training/calibrate.py) makes the confidence mean what it says.
            self._runners[model_id] = _BatchingRunner(functools.partial(runtime, model_id, Path(models_dir)),
                                                      self.cards[model_id].get("temperature", 1.0), max_batch,
                                                      self.workers)
        try:
            for runner in self._runners.values():  # the models load side by side, each in its own thread
                runner.wait_until_ready()
        except BaseException:
            self.close()
            raise
        processes = process_count(processes, workers)
        if processes and runtime is load_litert:  # the workers load the shipped models themselves
            self._lanes = Lanes(processes, self.model_ids, self._models_dir, pin_workers())

    @property
    def lanes(self) -> Lanes | None:
        """The worker processes (None without them)."""
        return self._lanes

    @property
    def choices(self) -> tuple[str, ...]:
        return self._choices

    def check_model(self, model: str) -> str:
        if model not in self.choices:
            raise UnknownModelError(f"Unknown model {model!r}; choose one of: {', '.join(self.choices)}.")
        return model

    def predict_probabilities(self, model: str, images: np.ndarray, chunk: int = 64) -> np.ndarray:
        """uint8 images (N, 28, 28) -> probabilities (N, 10), in large batches (evaluation, bulk CLI)."""
        self.check_model(model)
        inputs = to_model_input(images)
        members = self.members if model == ENSEMBLE else (model,)
        jobs = [(m, inputs[start:start + chunk]) for start in range(0, len(inputs), chunk) for m in members]
        # One chunk per copy of each model at a time: every core busy, and single callers get a turn in between.
        at_once, answers = self.workers * len(members), []
        for start in range(0, len(jobs), at_once):
            answers += self._side_by_side(jobs[start:start + at_once])
        per_model = [np.concatenate([np.zeros((0, 10), np.float32)]
                                    + [answer for (m, _), answer in zip(jobs, answers) if m == member])
                     for member in members]
        return self._combine(per_model) if model == ENSEMBLE else per_model[0]

    def predict_one(self, model: str, pixels: np.ndarray) -> np.ndarray:
        """One 28x28 uint8 image -> its 10 probabilities, sharing a batch with concurrent callers."""
        return self._predict_few(model, pixels[np.newaxis])[0]

    def _predict_few(self, model: str, images: np.ndarray) -> np.ndarray:
        """A few uint8 images (N, 28, 28) -> probabilities (N, 10), as one request of each model asked
        (sharing its batch with concurrent callers)."""
        self.check_model(model)
        model_input = to_model_input(images)
        if model != ENSEMBLE:
            return self._runners[model].run(model_input)
        return self._combine(self._side_by_side([(m, model_input) for m in self.members]))

    def _side_by_side(self, jobs: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
        """Each (model, images) job's probabilities: the last run in this thread, the others at the same
        time in the engine's helper threads (so one job alone hands nothing to another thread)."""
        if not jobs:
            return []
        try:
            others = [self._helpers.submit(self._runners[m].run, images) for m, images in jobs[:-1]]
        except RuntimeError:  # the helpers were shut down: the engine is closed
            raise EngineClosedError(ENGINE_CLOSED) from None
        last = self._runners[jobs[-1][0]].run(jobs[-1][1])
        try:
            return [other.result() for other in others] + [last]
        except CancelledError:
            raise EngineClosedError(ENGINE_CLOSED) from None

    def _combine(self, per_model: list[np.ndarray]) -> np.ndarray:
        """The ensemble's probabilities: the members' (in `self.members` order), weighted by their shares."""
        return np.average(per_model, axis=0, weights=[self.ensemble_weights[m] for m in self.members])

    def classify_prepared(self, image: PreparedImage, model: str, filename: str | None = None,
                          started: float | None = None) -> Classification:
        started = time.perf_counter() if started is None else started
        probabilities = self.predict_one(model, image.pixels) if image.has_digit else None
        return Classification.of(filename, model, probabilities, image, (time.perf_counter() - started) * 1000)

    def classify(self, data: bytes, model: str = "cnn", filename: str | None = None,
                 trace: list | None = None) -> Classification:
        """Upload bytes -> the model's verdict. Raises InputError for anything a person must fix.
        `trace`: a list that receives what each stage of the reading pipeline decided."""
        started = time.perf_counter()
        self.check_model(model)
        if self._lanes is None or trace is not None or len(data) > LARGEST_FOR_WORKERS:
            return self.classify_prepared(prepare_upload(data, filename, trace=trace), model, filename, started)
        while True:
            call = self._lanes.submit(data, model, filename)  # HERE when no other call is being read here
            if call is not HERE:  # sent to a worker process, or waiting for a place
                try:
                    packed = call.answer()  # the worker's answer, or HERE: the place here came first
                except NotSent:  # the worker had died before it could read the call: another place takes it
                    continue
                except WorkerLostError:
                    if self._closed:
                        raise EngineClosedError(ENGINE_CLOSED) from None
                    raise
                if packed is not HERE:
                    return Classification.unpacked(packed, (time.perf_counter() - started) * 1000)
            try:
                return self._read_here(data, model, filename, started)
            finally:
                self._lanes.give(HERE)

    def _read_here(self, data: bytes, model: str, filename: str | None, started: float) -> Classification:
        """A call that holds this process's place (digits/worker_processes.py), read in its own thread
        together with the calls waiting for a place (`Lanes.waiting`), as a worker process reads a
        message: each of those is answered in its caller's thread. A lone caller's call is read alone."""
        others = self._lanes.waiting(len(data))
        if not others:
            return self.classify_prepared(prepare_upload(data, filename), model, filename, started)
        try:
            outcomes = self.classify_together([(data, model, filename)] + [call.upload for call in others], started)
        except BaseException as error:  # never leave a caller waiting for ever
            outcomes = [error] * (1 + len(others))
        for call, outcome in zip(others, outcomes[1:]):
            call.answered(("error", outcome) if isinstance(outcome, BaseException) else ("ok", outcome.packed()))
        if isinstance(outcomes[0], BaseException):
            raise outcomes[0]
        return outcomes[0]  # built once, timed from this call's start (`started`), not rebuilt for its latency

    def classify_together(self, calls: list[tuple[bytes, str, str | None]],
                          started: float | None = None) -> list[Classification | Exception]:
        """Several single uploads, (data, model, filename) each: what `classify` gives each (its answer,
        or the error it raises, returned in its place), each prepared alone, then each model asked once
        for all of its images (one model call for several: a worker process's message, which holds the
        calls that waited for it; digits/worker_processes.py). An image gets the same probabilities in
        any batch (tests/test_worker_processes.py). Each answer's latency is from `started` (a
        `time.perf_counter()`; by default now)."""
        started = time.perf_counter() if started is None else started
        prepared: list[PreparedImage | Exception] = []
        for data, model, filename in calls:
            try:
                self.check_model(model)
                prepared.append(prepare_upload(data, filename))
            except Exception as error:
                prepared.append(error)
        probabilities: dict[int, np.ndarray] = {}
        for model in dict.fromkeys(model for _, model, _ in calls):
            asking = [n for n, ((_, wanted, _), image) in enumerate(zip(calls, prepared))
                      if wanted == model and isinstance(image, PreparedImage) and image.has_digit]
            if not asking:
                continue
            try:
                answers = self._predict_few(model, np.stack([prepared[n].pixels for n in asking]))
            except Exception as error:  # each of its calls gets the error, as each caller of a failed batch
                prepared = [error if n in asking else image for n, image in enumerate(prepared)]
            else:
                probabilities.update(zip(asking, answers))
        latency_ms = (time.perf_counter() - started) * 1000
        return [image if isinstance(image, Exception)
                else Classification.of(filename, model, probabilities.get(n), image, latency_ms)
                for n, ((_, model, filename), image) in enumerate(zip(calls, prepared))]

    def classify_batch(self, uploads: list[tuple[str | None, bytes]], model: str = "cnn",
                       max_rows: int = MAX_CSV_ROWS,
                       pool: Executor | None = None) -> list[Classification | ClassificationError]:
        """Many uploads at once (the CLI, bulk jobs): each prepared alone, then batched model calls.

        A CSV of many digits gives one result per row; all files together may hold `max_rows` digits.
        `pool`: an executor (`preparation_pool()`) that prepares the uploads side by side.
        """
        return next(self.classify_batches([uploads], model, max_rows, pool))

    def classify_batches(self, batches: Iterable[Sequence["tuple[str | None, bytes] | ClassificationError"]],
                         model: str = "cnn", max_rows: int = MAX_CSV_ROWS,
                         pool: Executor | None = None) -> Iterator[list[Classification | ClassificationError]]:
        """`classify_batch` of each batch in turn (a folder run's groups of files), each batch's results as
        it ends. An upload may be a ClassificationError already (a file that could not be read): it stands
        in its place. With a `pool`, the next batch is handed to the pool before this batch's model calls
        (one batch ahead, so memory stays bounded): its processes need not wait for this process between
        batches, nor one at a batch's end while another prepares its last file (benchmarks/folder_in_turns).
        While a `PreparationPool`'s processes are still starting, this process prepares the files itself,
        in order, and hands the pool the rest once it is ready (`_FolderPreparation`)."""
        self.check_model(model)
        preparing = _FolderPreparation(pool)
        batches = iter(batches)
        current = next(batches, None)
        prepared = preparing.group(current) if current is not None else None
        while current is not None:
            started = time.perf_counter()
            following = next(batches, None)
            ahead = preparing.group(following) if following is not None else None
            yield self._classified(current, prepared, model, max_rows, started)
            current, prepared = following, ahead

    def _classified(self, uploads: Sequence, each: Iterator, model: str, max_rows: int,
                    started: float) -> list[Classification | ClassificationError]:
        prepared: list[tuple[str | None, PreparedImage | ClassificationError]] = []
        for upload, images in zip(uploads, each):
            filename = upload.file if isinstance(upload, ClassificationError) else upload[0]
            images = [images] if isinstance(images, ClassificationError) else images
            if len(prepared) + len(images) > max_rows:
                images = [ClassificationError(filename, f"Too many digits in one call: this file would bring them "
                                                        f"past {max_rows:,}; please send it on its own.")]
            prepared += [(filename, image) for image in images]
        good = [image for _, image in prepared if isinstance(image, PreparedImage) and image.has_digit]
        probabilities = iter(self.predict_probabilities(model, np.stack([image.pixels for image in good]))
                             if good else [])
        latency_ms = (time.perf_counter() - started) * 1000 / max(len(prepared), 1)
        return [image if isinstance(image, ClassificationError)
                else Classification.of(filename, model, next(probabilities) if image.has_digit else None, image,
                                       latency_ms)
                for filename, image in prepared]

    def compare(self, data: bytes, filename: str | None = None) -> list[Classification]:
        started = time.perf_counter()
        image = prepare_upload(data, filename)
        return [self.classify_prepared(image, model, filename, started) for model in self.model_ids]

    def explain(self, model: str, pixels: np.ndarray, digit: int) -> np.ndarray:
        """The evidence for `digit` in a 28x28 uint8 image the model saw, float32 (28, 28), positive
        supporting it (digits/explain.py: occlusion, run as one batch through this engine)."""
        self.check_model(model)
        return evidence_map(functools.partial(self.predict_probabilities, model), pixels, digit)

    def batching_stats(self) -> dict[str, dict[str, int]]:
        """Per model: requests served and the model calls they took (fewer calls = more sharing)."""
        return {m: {"requests": r.requests_served, "batches": r.batches_run, "workers": r.workers}
                for m, r in self._runners.items()}

    def read_line(self, line: np.ndarray) -> np.ndarray:
        """A whole number's line of ink (32x256, from prepare_number) -> the number reader's (64, 11)
        probabilities (digits/number_reader.py). One interpreter, taken in turn."""
        from digits.number_reader import load_number_reader

        with self._line_lock:
            if self._line_reader is None:
                self._line_reader = load_number_reader(self._models_dir)
            return self._line_reader.predict(line)

    def close(self) -> None:
        self._closed = True
        for runner in self._runners.values():
            runner.close()
        self._helpers.shutdown(wait=False, cancel_futures=True)
        if self._lanes is not None:
            self._lanes.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
