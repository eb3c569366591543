"""A server's worker processes (digits/worker_processes.py): concurrent callers get from them exactly what
one caller gets in-process, bad files the same words, and a worker that dies costs at most the call it was
reading, never the server."""

import contextlib
import gc
import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from processes import wait_until_ended

from digits import worker_processes
from digits.bench import page_photo
from digits.engine import Engine, pin_workers, process_count
from digits.preprocessing import InputError
from digits.worker_processes import BATCH, DEPTH, HERE, LARGEST_FOR_WORKERS, PIN_ENV, PROCESSES_ENV, WorkerLostError


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pooled():
    """The shipped models with two worker processes, as a server on three cores runs them."""
    with Engine(processes=2) as engine:
        assert engine.lanes.wait_until_ready(180), "the worker processes did not start"
        yield engine


@pytest.fixture(scope="module")
def uploads(mnist_test) -> list[tuple[str, bytes, str]]:
    """(name, bytes, model): handwritten PNGs, phone photos, a blank page and files that are not pictures."""
    images, _ = mnist_test
    rng = np.random.default_rng(3)
    files = [(f"{n}.png", png(images[n]), ("cnn", "vit", "ensemble")[n % 3]) for n in range(36)]
    files += [(f"photo{n}.jpg", page_photo(images[100 + n], (1200, 900), rng), "cnn") for n in range(3)]
    files += [("blank.png", png(np.full((200, 200), 255, np.uint8)), "cnn"),
              ("notes.png", b"this is not a picture", "cnn"), ("empty.jpg", b"", "vit")]
    return files


def test_many_concurrent_calls_leave_no_file_descriptors_open(pooled, uploads):
    """Each waiting caller is woken through an eventfd of its own (`_Wakeup`): closed with its call, so a
    server's open files do not grow with the calls it has read."""
    pictures = [upload for upload in uploads if upload[0].endswith(".png")][:16]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda upload: outcome(pooled, *upload), pictures))  # threads and workers warm
        before = len(os.listdir("/proc/self/fd"))
        served = pooled.lanes.served_by_workers
        for _ in range(5):
            list(pool.map(lambda upload: outcome(pooled, *upload), pictures * 4))
    assert pooled.lanes.served_by_workers > served, "some calls should have waited for the worker processes"
    gc.collect()
    # 320 calls read: a leak would leave hundreds open. A few may open or close meanwhile (a worker's
    # pipe, a log file), so the bar is the callers' number, not "exactly as before".
    assert len(os.listdir("/proc/self/fd")) < before + 16


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert wait_until_ended(pid, 10)


def outcome(engine: Engine, name: str, data: bytes, model: str):
    try:
        result = engine.classify(data, model, name)
    except InputError as error:
        return ("refused", type(error).__name__, str(error))
    return (result.file, result.model, result.digit, result.warnings, result.pixels.tobytes(),
            None if result.probabilities is None else np.round(result.probabilities, 6).tolist())


def test_concurrent_callers_get_from_the_workers_what_one_gets_in_process(engine, pooled, uploads):
    alone = [outcome(engine, *upload) for upload in uploads]
    before, messages = pooled.lanes.served_by_workers, pooled.lanes.messages_answered
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda upload: outcome(pooled, *upload), uploads * 2))
    assert together == alone * 2
    assert pooled.lanes.served_by_workers > before, "concurrent calls should have gone to the worker processes"
    assert pooled.lanes.served_by_workers - before > pooled.lanes.messages_answered - messages, \
        "calls that waited should have shared a worker's message"
    assert sum(answer[0] == "refused" for answer in alone) == 2


def test_calls_that_wait_for_a_place_are_read_together_and_each_gets_what_it_gets_alone(engine, pooled, uploads):
    """Every place taken, calls wait; the place that frees first takes them along, up to BATCH: a worker in
    one message (mixed models and a refusal here), the server process in one model call."""
    lanes = pooled.lanes
    assert lanes.wait_until_ready(180)
    to_a_worker = uploads[:BATCH - 1] + [next(upload for upload in uploads if upload[0] == "notes.png")]
    read_here = [upload for upload in uploads if upload[0].endswith(".png") and upload[2] == "cnn"][:BATCH]
    alone = [outcome(engine, *upload) for upload in to_a_worker + read_here]
    places = [lanes.take() for _ in range(1 + DEPTH * lanes.processes)]  # every place there is
    served, messages = lanes.served_by_workers, lanes.messages_answered
    model_calls = pooled.batching_stats()["cnn"]["batches"]
    try:
        with ThreadPoolExecutor(2 * BATCH) as pool:
            calls = []
            for upload in to_a_worker + read_here:  # waiting in this order
                calls.append(pool.submit(outcome, pooled, *upload))
                deadline = time.monotonic() + 10
                while len(lanes._waiting) < len(calls) and time.monotonic() < deadline:
                    time.sleep(0.001)
            assert len(lanes._waiting) == 2 * BATCH
            worker = next(place for place in places if place is not HERE)
            places.remove(worker)
            lanes.give(worker)  # the first BATCH calls waiting go to it, in one message
            assert len(lanes._waiting) == BATCH
            places.remove(HERE)
            lanes.give(HERE)  # the first caller still waiting reads here, the others along
            together = [call.result(timeout=60) for call in calls]
    finally:
        for place in places:
            lanes.give(place)
    assert together == alone
    assert (lanes.served_by_workers - served, lanes.messages_answered - messages) == (BATCH, 1)
    assert pooled.batching_stats()["cnn"]["batches"] == model_calls + 1


def test_where_a_workers_pipe_is_small_the_callers_send_their_own_calls_and_get_the_same_answers(engine, pooled,
                                                                                                uploads):
    """A system whose pipes cannot be made large (`roomy` False): the answers' thread, which must never
    wait on a full pipe, hands the freed place to the caller waiting instead of sending its call."""
    alone = [outcome(engine, *upload) for upload in uploads]
    assert pooled.lanes.wait_until_ready(180)
    workers = list(pooled.lanes._workers)
    before = pooled.lanes.served_by_workers
    for worker in workers:
        worker.roomy = False
    try:
        with ThreadPoolExecutor(16) as pool:
            together = list(pool.map(lambda upload: outcome(pooled, *upload), uploads * 2))
    finally:
        for worker in workers:
            worker.roomy = True
    assert together == alone * 2
    assert pooled.lanes.served_by_workers > before


def test_a_lone_caller_is_read_in_its_own_thread(pooled, uploads):
    before = pooled.lanes.served_by_workers
    for upload in uploads[:10]:
        outcome(pooled, *upload)
    assert pooled.lanes.served_by_workers == before


def test_a_worker_killed_between_calls_costs_no_call_and_is_replaced(pooled, uploads, mnist_test):
    images, labels = mnist_test
    killed = pooled.lanes.worker_pids()[0]
    kill(killed)
    with ThreadPoolExecutor(8) as pool:
        digits = list(pool.map(lambda n: pooled.classify(png(images[n]), "cnn").digit, range(200, 248)))
    assert np.mean(np.array(digits) == labels[200:248]) > 0.95
    assert pooled.lanes.wait_until_ready(180)
    assert killed not in pooled.lanes.worker_pids() and len(pooled.lanes.worker_pids()) == 2


def test_a_worker_that_dies_while_reading_answers_that_call_with_a_clear_error(pooled, mnist_test):
    images, labels = mnist_test
    lanes = pooled.lanes
    here = lanes.take()  # hold the in-process place, so the next place taken is a worker
    assert here is HERE
    try:
        worker = lanes.take()
        os.kill(worker.process.pid, signal.SIGSTOP)  # it cannot answer before it is killed
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(lanes.classify, worker, png(images[0]), "cnn", "seven.png")
            deadline = time.monotonic() + 10
            while not worker._pending and time.monotonic() < deadline:  # sent: the worker has the call
                time.sleep(0.001)
            kill(worker.process.pid)
            with pytest.raises(WorkerLostError, match="stopped unexpectedly before it answered; please try again"):
                call.result()
    finally:
        lanes.give(here)
    assert pooled.classify(png(images[0]), "cnn").digit == labels[0]  # and the engine serves on
    assert lanes.wait_until_ready(180) and len(lanes.worker_pids()) == 2


def test_a_hung_worker_costs_the_calls_sent_to_it_a_clear_error_within_the_answer_limit(pooled, monkeypatch, mnist_test):
    """A worker that stops answering (here: stopped) while two large uploads are sent to it: more than an
    ordinary pipe holds, so sending could wait for ever. Both callers are told within the limit, and the
    worker is replaced."""
    monkeypatch.setattr(worker_processes, "ANSWER_WITHIN_S", 3.0)
    lanes = pooled.lanes
    assert lanes.wait_until_ready(180)
    noise = np.random.default_rng(5).integers(0, 256, (420, 420), dtype=np.uint8)
    large = png(noise)
    assert 64 * 1024 < len(large) <= LARGEST_FOR_WORKERS
    places = [lanes.take() for _ in range(1 + DEPTH * lanes.processes)]  # every place there is
    hung = next(place for place in places if place is not HERE)
    pool = ThreadPoolExecutor(2)
    try:
        os.kill(hung.process.pid, signal.SIGSTOP)
        calls = [pool.submit(lanes.classify, hung, large, "cnn", f"noise{n}.png") for n in range(DEPTH)]
        for call in calls:
            with pytest.raises(WorkerLostError, match="please try again"):
                call.result(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the pool may have killed and reaped it already
            os.kill(hung.process.pid, signal.SIGKILL)
        pool.shutdown(wait=False)
        for place in places:
            if place is not hung:
                lanes.give(place)
    assert lanes.wait_until_ready(180) and hung.process.pid not in lanes.worker_pids()
    images, labels = mnist_test
    assert pooled.classify(png(images[0]), "cnn").digit == labels[0]  # and the engine serves on


def test_the_number_of_worker_processes_follows_the_cores_unless_set(monkeypatch):
    monkeypatch.delenv(PROCESSES_ENV, raising=False)
    assert process_count(workers=1) == 0 and process_count(workers=2) == 2 and process_count(workers=4) == 4
    monkeypatch.setenv(PROCESSES_ENV, "2")
    assert process_count(workers=1) == 2
    monkeypatch.setenv(PROCESSES_ENV, "two")
    with pytest.raises(ValueError, match="whole number of processes"):
        process_count()


def test_each_worker_process_runs_on_a_core_of_its_own_and_a_replacement_takes_the_same(pooled, monkeypatch):
    cores = os.sched_getaffinity(0)
    if not pin_workers():
        pytest.skip("this process runs under a CPU quota narrower than its cores: the workers are not pinned")
    assert pooled.lanes.wait_until_ready(180)
    pinned = [os.sched_getaffinity(pid) for pid in pooled.lanes.worker_pids()]  # after the workers lost above
    assert all(len(core) == 1 and core <= cores for core in pinned)
    assert len(set.union(*pinned)) == min(len(cores), 2)  # two workers, two cores where there are two
    monkeypatch.setenv(PIN_ENV, "0")
    assert not pin_workers()


def test_a_closed_engine_stops_its_workers(mnist_test):
    with Engine(("cnn",), processes=1) as engine:
        assert engine.lanes.wait_until_ready(180)
        [pid] = engine.lanes.worker_pids()
    assert wait_until_ended(pid, 10)
