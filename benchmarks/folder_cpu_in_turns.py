"""A folder run's CPU, the way before stop 55 and today's, in turns in one process, beside the process alone:
what each costs an upload where it runs, so that a ratio can be told on a machine others share.

    python -m benchmarks.folder_cpu_in_turns --data ../shared/data/mnist.npz [--uploads 1024] [--rounds 4]

The uploads are `digits bench`'s mixed folder (`mixed_uploads`) through `Engine.classify_batches` in groups
of 64, three ways: in this process alone; by a pool the way before (processes forked as today but without
`keep_freed_memory`, tasks of `TASK_BYTES` / `TASK_FILES`); by today's `preparation_pool` (its processes
keep the memory a task freed, tasks of `FOLDER_TASK_BYTES` / `FOLDER_TASK_FILES`). Per way and round: uploads
a second (this session's share of the cores where others run), CPU time an upload in this process (all its
threads) and in the pool's processes, their system time and page faults (minflt) an upload, and from each
pool process's schedstat the share of the run it spent waiting for a core (`runqueue_share`: others'
programs, or this process's threads) and with nothing to run (`idle_share`). Then per round the ratio the
CPU allows on cores of its own, `workers x (alone's CPU an upload) / (the pool way's, both processes and
this one)`, beside the wall-clock ratio. The answers must be the same all three ways.
"""

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from benchmarks.folders import folder_in_groups
import digits.engine
from digits.engine import Engine, prepare_each, preparation_pool


def process_times(pid: int | str = "self") -> dict:
    """CPU (user + system), system time and minor page faults of a process, from /proc (Linux)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return {"cpu": (int(fields[11]) + int(fields[12])) / tick, "system": int(fields[12]) / tick,
            "faults": int(fields[7])}


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds a single-threaded process has run and waited for a core (/proc/PID/schedstat)."""
    ran, waited, _ = open(f"/proc/{pid}/schedstat").read().split()
    return int(ran) / 1e9, int(waited) / 1e9


def main() -> None:
    args, uploads, groups = folder_in_groups(__doc__)
    with Engine() as engine:
        today = preparation_pool(engine.workers)
        if today is None:
            raise SystemExit("one core: no preparation pool to compare")
        context = multiprocessing.get_context("forkserver")  # the same server as today's pool's
        before = ProcessPoolExecutor(engine.workers, mp_context=context)
        today_sizes = digits.engine.FOLDER_TASK_BYTES, digits.engine.FOLDER_TASK_FILES
        before_sizes = digits.engine.TASK_BYTES, digits.engine.TASK_FILES
        try:
            today.ready.result()
            list(before.map(prepare_each, [[]] * 2 * engine.workers))
            pools = {"before": before, "today": today}
            pids = {way: list(pool._processes) for way, pool in pools.items()}  # (the executors' own record)
            sizes = {"before": before_sizes, "today": today_sizes}

            def run(way: str) -> tuple[list, dict]:
                pool = pools.get(way)
                if pool is not None:
                    digits.engine.FOLDER_TASK_BYTES, digits.engine.FOLDER_TASK_FILES = sizes[way]
                watched = pids.get(way, [])
                mine, theirs = process_times(), {pid: process_times(pid) for pid in watched}
                sched = {pid: schedstat(pid) for pid in watched}
                started = time.perf_counter()
                results = [r for group in engine.classify_batches(groups, pool=pool) for r in group]
                elapsed = time.perf_counter() - started
                mine_after = process_times()
                figures = {"per_s": len(uploads) / elapsed,
                           "this_process_ms": 1000 * (mine_after["cpu"] - mine["cpu"]) / len(uploads)}
                if watched:
                    after = {pid: process_times(pid) for pid in watched}
                    sched_after = {pid: schedstat(pid) for pid in watched}
                    figures.update({
                        "pool_ms": sum(1000 * (after[p]["cpu"] - theirs[p]["cpu"]) for p in watched) / len(uploads),
                        "pool_system_ms": sum(1000 * (after[p]["system"] - theirs[p]["system"])
                                              for p in watched) / len(uploads),
                        "pool_faults": sum(after[p]["faults"] - theirs[p]["faults"] for p in watched) / len(uploads),
                        "runqueue_share": float(np.mean([(sched_after[p][1] - sched[p][1]) / elapsed for p in watched])),
                        "idle_share": float(np.mean([1 - (sum(sched_after[p]) - sum(sched[p])) / elapsed
                                                     for p in watched])),
                    })
                    figures["total_ms"] = figures["this_process_ms"] + figures["pool_ms"]
                return [(getattr(r, "digit", None), getattr(r, "error", None)) for r in results], figures

            for way in ("before", "today"):  # each process's first photos, before any round counts
                run(way)
            ways = ["alone", "before", "today"]
            rounds = {way: [] for way in ways}
            expected = None
            for number in range(args.rounds):
                for way in ways[number % 3:] + ways[:number % 3]:
                    answers, figures = run(way)
                    expected = expected or answers
                    if answers != expected:
                        raise SystemExit(f"{way}: other answers than the first way's")
                    rounds[way].append(figures)
        finally:
            digits.engine.FOLDER_TASK_BYTES, digits.engine.FOLDER_TASK_FILES = today_sizes
            before.shutdown()
            today.shutdown()
    alone = rounds["alone"]
    report = {"uploads": len(uploads), "rounds": args.rounds, "workers": engine.workers}
    for way in ways:
        report[way] = {key: [round(r[key], 3) for r in rounds[way]] for key in rounds[way][0]}
        if way != "alone":
            report[way]["on_own_cores_estimated"] = [
                round(engine.workers * a["this_process_ms"] / r["total_ms"], 3) for a, r in zip(alone, rounds[way])]
            report[way]["wall_vs_alone"] = [round(r["per_s"] / a["per_s"], 3) for a, r in zip(alone, rounds[way])]
            report[way]["median_total_ms"] = round(float(np.median([r["total_ms"] for r in rounds[way]])), 3)
    report["today_over_before_total_cpu"] = [round(t["total_ms"] / b["total_ms"], 3)
                                             for t, b in zip(rounds["today"], rounds["before"])]
    report["same_answers"] = True
    report["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
