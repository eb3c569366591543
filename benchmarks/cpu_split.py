"""Where a 28x28 upload's CPU goes with 1 and with 16 concurrent callers, part by part, as a server reads
them (the engine with its worker processes, threads switching every 1 ms):

    python -m benchmarks.cpu_split --data ../shared/data/mnist.npz [--model cnn] [--rounds 4] [--window 1000]

Each round, one caller then 16 over the same window of uploads. Per number of callers, medians of the
rounds (None where there was none), in ms of CPU (each thread's and process's time on a core, from
/proc's schedstat):
- `read_here`: the calls read in this process, in their callers' threads (decode, pipeline, model, and
  the same for the calls each takes along, `Lanes.waiting`), per call read there (taken along or not),
  and their share of all calls;
- `handed`: a call answered elsewhere (by a worker process, or by the call read here that took it along),
  in its caller's thread: the hand-off, the wait and the answer unpacked;
- `answers_thread`: the thread that reads the workers' answers (`Lanes._read_answers`), per message;
- `workers`: the worker processes, per call they read, and the calls in a worker's message;
- `rest`: the benchmark's own threads (the pool's hand-outs, this main thread), per request;
- `wake_wall_us`: the wall-clock time of waking a waiting caller (`_Call.wake`, a lock's release, which a
  thread makes while it holds the GIL), against its CPU time (`wake_cpu_us`).
"""

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import digits.engine
import digits.worker_processes
from digits.bench import png_bytes
from training.data import load_mnist


def cpu_ns(pid: int | str = "self", tid: int | None = None) -> int:
    """A thread's (tid) or a whole process's time on a core so far, in ns."""
    if tid is not None:
        return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):  # a thread that ended meanwhile
            pass
    return total


class Split:
    """Each call's CPU in its caller's thread, by where it was read; and the wake-ups' times."""

    def __init__(self, engine: digits.engine.Engine):
        self.engine, self.lock, self.here = engine, threading.Lock(), threading.local()
        self.reset()
        read_here, waiting = engine._read_here, engine.lanes.waiting

        def marked_read_here(*arguments):
            self.here.read = True
            return read_here(*arguments)

        def counted_waiting(upload_bytes):
            calls = waiting(upload_bytes)
            with self.lock:
                self.taken_along += len(calls)
            return calls

        engine._read_here, engine.lanes.waiting = marked_read_here, counted_waiting
        wake = digits.worker_processes._Call.wake

        def timed_wake(call):
            started, cpu = time.perf_counter_ns(), time.thread_time_ns()
            wake(call)
            wall, cpu = time.perf_counter_ns() - started, time.thread_time_ns() - cpu
            with self.lock:
                self.wakes, self.wake_wall, self.wake_cpu = self.wakes + 1, self.wake_wall + wall, self.wake_cpu + cpu

        digits.worker_processes._Call.wake = timed_wake

    def reset(self) -> None:
        self.cpu = {True: 0, False: 0}
        self.calls = {True: 0, False: 0}
        self.taken_along = self.wakes = self.wake_wall = self.wake_cpu = 0

    def classify(self, data: bytes, model: str) -> None:
        self.here.read = False
        started = time.thread_time_ns()
        self.engine.classify(data, model)
        spent = time.thread_time_ns() - started
        with self.lock:
            self.cpu[self.here.read] += spent
            self.calls[self.here.read] += 1


def measure(split: Split, pool: ThreadPoolExecutor, window: list[bytes], model: str, answers_tid: int) -> dict:
    lanes = split.engine.lanes
    pids = lanes.worker_pids()
    split.reset()
    messages, by_workers = lanes.messages_answered, lanes.served_by_workers
    before = (cpu_ns(), cpu_ns(tid=answers_tid), sum(cpu_ns(pid) for pid in pids))
    started = time.perf_counter()
    list(pool.map(lambda data: split.classify(data, model), window))
    wall = time.perf_counter() - started
    process, answers, workers = (after - earlier for after, earlier in zip(
        (cpu_ns(), cpu_ns(tid=answers_tid), sum(cpu_ns(pid) for pid in pids)), before))
    messages, by_workers = lanes.messages_answered - messages, lanes.served_by_workers - by_workers
    count, read_here = len(window), split.calls[True] + split.taken_along
    rest = process - answers - split.cpu[True] - split.cpu[False]

    def per(total: float, parts: int, unit: float = 1e6) -> float:
        return total / parts / unit if parts else float("nan")

    return {"requests_per_s": count / wall,
            "cpu_ms_per_request": per(process + workers, count),
            "read_here_ms_per_call": per(split.cpu[True], read_here),
            "read_here_share": read_here / count,
            "handed_ms_per_call": per(split.cpu[False], split.calls[False]),
            "answers_thread_ms_per_message": per(answers, messages),
            "calls_per_message": per(by_workers, messages, 1),
            "workers_ms_per_call": per(workers, by_workers),
            "rest_ms_per_request": per(rest, count),
            "wake_wall_us": per(split.wake_wall, split.wakes, 1e3),
            "wake_cpu_us": per(split.wake_cpu, split.wakes, 1e3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--window", type=int, default=1000)
    args = parser.parse_args()
    sys.setswitchinterval(digits.engine.SWITCH_INTERVAL_S)
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:5000]]
    figures = {"1": [], "16": []}
    load = [os.getloadavg()[0]]
    with digits.engine.Engine(processes=args.processes) as engine:
        assert engine.lanes.wait_until_ready(), "the worker processes did not start"
        answers_tid = next(thread.native_id for thread in threading.enumerate()
                           if thread.name == "digits-worker-answers")
        split = Split(engine)
        with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(16) as sixteen:
            for pool in (one, sixteen):  # threads up, every worker warm
                list(pool.map(lambda data: split.classify(data, args.model), uploads[:200]))
            for number in range(args.rounds):
                start = (number * args.window) % (len(uploads) - args.window)
                for callers, pool in (("1", one), ("16", sixteen)):
                    figures[callers].append(measure(split, pool, uploads[start:start + args.window], args.model,
                                                    answers_tid))
                load.append(os.getloadavg()[0])
    summary = {}
    for callers, runs in figures.items():
        medians = {name: float(np.median([run[name] for run in runs])) for name in runs[0]}
        summary[f"{callers}_callers"] = {name: None if np.isnan(value) else round(value, 3)
                                         for name, value in medians.items()}
    summary["load_average"] = [round(min(load), 1), round(max(load), 1)]
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
