"""A folder run's pool start, two ways in turns, each in a fresh process (a process starts its forkserver
once, so only its first pool pays the whole start):

    python -m benchmarks.folder_start --data ../shared/data/mnist.npz [--uploads 512] [--rounds 4]

- `after the start`: the pool made, this process waiting until its processes have answered, then the run
  (as folder runs did before `PreparationPool`: the call that handed the pool its first group waited
  for the start);
- `while starting`: the run begun at once, this process preparing the files in order until the pool is
  ready, then handing it the rest (`PreparationPool`, `Engine.classify_batches`).

The uploads are `digits bench`'s mixed folder (`mixed_uploads`), in groups of 64, classified by the CNN.
Per way (medians of the rounds): the run's seconds from the pool's making; the pool's start (its making
to its first answer); the uploads prepared here meanwhile; this process's CPU time over the
run (all its threads', and its main thread's: in the second way the files it prepared too); and the CPU
time of the pool's server (its imports: the start's cost, which no order hides) and of the pool's processes. On a busy
machine the wall-clock figures are this command's share of the cores; the start's structure is what
to read: for how long this process waits, and how much of the folder it prepares instead.
"""

import argparse
import json
import multiprocessing.forkserver
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.in_turns import in_turns

WAYS = ("after the start", "while starting")


def process_cpu_s(pid: int) -> float:
    """A process's CPU time so far (Linux)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(way: str, data: str | None, count: int) -> dict:
    from digits.bench import cpu_seconds, mixed_uploads
    from digits.engine import Engine, preparation_pool
    from digits.preprocessing import per_call
    from training.data import load_mnist

    uploads = mixed_uploads(load_mnist(data).x_test, count)
    with Engine() as engine:
        engine.classify_batch(uploads[:8])  # warm, as `digits bench` is when it gets to its folder
        cpu_before, thread_before = cpu_seconds(), time.thread_time()
        started = time.perf_counter()
        pool = preparation_pool(engine.workers)
        if pool is None:
            raise SystemExit("one core: no preparation pool")
        try:
            if way == "after the start":
                pool.ready.result()
            answers = [(getattr(r, "digit", None), getattr(r, "error", None))
                       for group in engine.classify_batches(per_call(uploads), pool=pool) for r in group]
            seconds = time.perf_counter() - started
            server = multiprocessing.forkserver._forkserver._forkserver_pid  # (the forkserver's own record)
            figures = {"seconds": seconds, "pool_start_s": pool.start_s,
                       "prepared_here": pool.prepared_while_starting,
                       "this_process_cpu_s": cpu_seconds() - cpu_before,
                       "this_thread_cpu_s": time.thread_time() - thread_before,
                       "pool_processes_cpu_s": sum(map(process_cpu_s, pool._processes)),
                       "pool_server_cpu_s": process_cpu_s(server),
                       "answers": answers}
        finally:
            pool.shutdown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--uploads", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--one", choices=WAYS, help=argparse.SUPPRESS)  # a fresh process's single run
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.data, args.uploads)))
        return
    runs = {way: [] for way in WAYS}
    for _, way in in_turns(WAYS, range(args.rounds)):
        command = [sys.executable, "-m", "benchmarks.folder_start", "--one", way, "--uploads", str(args.uploads)]
        output = subprocess.run(command + (["--data", args.data] if args.data else []), check=True,
                                capture_output=True, text=True).stdout
        runs[way].append(json.loads(output.splitlines()[-1]))
    answers = {json.dumps(run.pop("answers")) for way in WAYS for run in runs[way]}
    median = lambda way, key: round(float(np.median([run[key] for run in runs[way]])), 3)  # noqa: E731
    print(json.dumps({
        "uploads": args.uploads, "rounds": args.rounds,
        **{way: {key: median(way, key) for key in runs[way][0]} | {"seconds_each": [round(run["seconds"], 2)
                                                                                   for run in runs[way]]}
           for way in WAYS},
        "same_answers": len(answers) == 1,
        "load_average": round(os.getloadavg()[0], 1),
    }, indent=1))


if __name__ == "__main__":
    main()
