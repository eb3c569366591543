"""A folder run three ways, in turns in one process: prepared here one file after another, by the
preparation pool a group at a time (each group prepared, then its model calls, then the next: folder
runs before `Engine.classify_batches`), and by the pool a group ahead (the next group prepared while this
one's model calls run, as `digits classify DIR` now does).

    python -m benchmarks.folder_in_turns --data ../shared/data/mnist.npz [--uploads 1024] [--rounds 4]

The uploads are `digits bench`'s mixed folder (`mixed_uploads`), in groups of 64. Per way and round:
uploads a second, and the CPU time of this process and the pool's processes per upload; per round each
pool way against the process alone; and the pool's processes' CPU time as a share of all their time
(`pool_busy_share`), and the share of the run's time the pool's processes had no task to work on
(`pool_idle_share`, from each task's start and end: the time a process waits for this process between
groups, or at a group's end for the other process; a busy machine stretches the tasks and the gaps
alike, which the wall-clock ratios cannot tell from the pool's own waits). The answers must be the same
all three ways.
"""

import json
import os
import time
from concurrent.futures import Executor

import numpy as np

from benchmarks.folders import folder_in_groups
from digits.bench import cpu_seconds
from digits.engine import Engine, preparation_pool


def timed_task(job: tuple) -> tuple:
    """A pool task's result, with its process and when it started and ended (CLOCK_MONOTONIC is the
    machine's, the same in every process)."""
    function, argument = job
    started = time.monotonic()
    result = function(argument)
    return result, os.getpid(), started, time.monotonic()


class TimedPool(Executor):
    """The preparation pool as the engine uses it (`map`), each task's start and end recorded."""

    def __init__(self, pool: Executor):
        self.pool, self.spans = pool, []

    def map(self, function, *iterables, **kwargs):
        answers = self.pool.map(timed_task, [(function, item) for item in iterables[0]])  # submitted now, as Executor.map does

        def results():
            for result, pid, started, ended in answers:
                self.spans.append((pid, started, ended))
                yield result
        return results()

    def idle_share(self, processes: int, started: float, ended: float) -> float:
        """The share of [started, ended] x processes with no task running in a process."""
        busy = {}
        for pid, start, end in self.spans:
            busy.setdefault(pid, []).append((start, end))
        working = sum(min(end, ended) - max(start, started) for spans in busy.values() for start, end in spans)
        return 1 - working / (processes * (ended - started))


def main() -> None:
    args, uploads, groups = folder_in_groups(__doc__)
    with Engine() as engine:
        pool = preparation_pool(engine.workers)
        if pool is None:
            raise SystemExit("one core: no preparation pool to compare")
        try:
            list(pool.map(len, [b""] * 2 * engine.workers))
            pool_pids = list(pool._processes)  # (the executor's own record of its processes)

            def pool_cpu() -> float:
                return cpu_seconds(pool_pids) - cpu_seconds()

            timed = TimedPool(pool)
            ways = {
                "in the process": lambda: [r for group in groups for r in engine.classify_batch(group)],
                "pool, a group at a time": lambda: [r for group in groups for r in engine.classify_batch(group, pool=timed)],
                "pool, a group ahead": lambda: [r for results in engine.classify_batches(groups, pool=timed) for r in results],
            }
            seconds = {way: [] for way in ways}
            cpu_ms = {way: [] for way in ways}
            busy = {way: [] for way in ways}
            idle = {way: [] for way in ways}
            expected = None
            for number in range(args.rounds):
                for way in (list(ways) if number % 2 == 0 else list(ways)[::-1]):
                    timed.spans = []
                    started, cpu, pool_cpu_before = time.perf_counter(), cpu_seconds(pool_pids), pool_cpu()
                    monotonic_start = time.monotonic()
                    results = ways[way]()
                    elapsed = time.perf_counter() - started
                    idle[way].append(timed.idle_share(len(pool_pids), monotonic_start, time.monotonic()))
                    seconds[way].append(elapsed)
                    cpu_ms[way].append(1000 * (cpu_seconds(pool_pids) - cpu) / len(uploads))
                    busy[way].append((pool_cpu() - pool_cpu_before) / (len(pool_pids) * elapsed))
                    answers = [(getattr(r, "digit", None), getattr(r, "error", None)) for r in results]
                    expected = expected or answers
                    if answers != expected:
                        raise SystemExit(f"{way}: other answers than the first way's")
        finally:
            pool.shutdown()
    alone = seconds["in the process"]
    print(json.dumps({
        "uploads": len(uploads), "rounds": args.rounds,
        **{way: {"per_s": [round(len(uploads) / s, 1) for s in seconds[way]],
                 "cpu_ms_per_upload": round(float(np.median(cpu_ms[way])), 2),
                 **({"vs_in_the_process": [round(a / s, 2) for a, s in zip(alone, seconds[way])],
                     "pool_busy_share": [round(b, 2) for b in busy[way]],
                     "pool_idle_share": [round(i, 3) for i in idle[way]]} if way != "in the process" else {})}
           for way in ways},
        "same_answers": True,
        "load_average": round(os.getloadavg()[0], 1),
    }, indent=1))


if __name__ == "__main__":
    main()
