"""Another checkout's worker processes (`digits/engine.py` and `digits/worker_processes.py`, say main's)
against this checkout's, in one process, measured in turns on the same 28x28 PNG uploads, so that a busy
machine slows both alike and their ratio holds:

    python -m benchmarks.compare_lanes BASE --data ../shared/data/mnist.npz [--processes 2] [--rounds 6]

Each round, per engine in turns (`in_turns`): throughput with 1 and with 16 concurrent callers over the
same window of uploads, with the CPU time per request (this process and the engine's worker processes;
with 16 callers also this process's part alone, and its threads' context switches per request),
then 100 of them from one caller, timed one by one (its p50). Printed per engine: the medians, the median of 16 over 1 within a round, and
the bound two cores set on it, 2 x (CPU per request, 1 caller) / (CPU per request, 16 callers), which
the CPU a request costs under 16 callers decides however busy the machine is; and each round's CPU per
request with 16 callers, this over base (a change of a few percent shows in their median, not in one
round: other sessions move a round's figures by 5-15% here). The threads switch every
1 ms, as the server's. Each engine's worker processes run its own checkout's code (a BASE older than
the workers' `python -P` imports `digits` from the working folder first: run this from another folder,
`cd /tmp && PYTHONPATH=THIS python -m benchmarks.compare_lanes BASE ...`).
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import digits.engine
from benchmarks.in_turns import in_turns, load_module
from digits.bench import cpu_seconds, png_bytes
from training.data import load_mnist


def other_engine(base: Path, processes: int):
    """BASE's Engine with BASE's worker processes (its engine module's names for them replaced)."""
    lanes = load_module("base_worker_processes", base / "digits" / "worker_processes.py")
    engine_module = load_module("base_engine", base / "digits" / "engine.py")
    for name in ("HERE", "Lanes", "NotSent", "WorkerLostError", "LARGEST_FOR_WORKERS"):
        setattr(engine_module, name, getattr(lanes, name))
    engine = engine_module.Engine(processes=0)
    engine._lanes = lanes.Lanes(processes, engine.model_ids, engine._models_dir, digits.engine.pin_workers())
    return engine


def context_switches() -> int:
    """The times this process's threads have given up a core so far, waiting (Linux: each thread's
    voluntary_ctxt_switches): a hand-off's wake-ups and waits for the GIL count here."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            total += int(next(line for line in (task / "status").read_text().splitlines()
                              if line.startswith("voluntary_ctxt_switches")).split()[1])
        except (OSError, StopIteration):  # a thread that ended meanwhile
            pass
    return total


def timed(engine, pool: ThreadPoolExecutor, uploads: list[bytes], model: str) -> tuple[float, float, float, float]:
    """Requests per second; ms of CPU per request, this process and its workers together and this
    process alone; this process's context switches per request."""
    pids = engine.lanes.worker_pids()
    started, cpu, own, switches = time.perf_counter(), cpu_seconds(pids), cpu_seconds(), context_switches()
    list(pool.map(lambda data: engine.classify(data, model), uploads))
    rate = len(uploads) / (time.perf_counter() - started)
    return (rate, 1000 * (cpu_seconds(pids) - cpu) / len(uploads), 1000 * (cpu_seconds() - own) / len(uploads),
            (context_switches() - switches) / len(uploads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path, help="the other checkout's root")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--window", type=int, default=600)
    args = parser.parse_args()
    sys.setswitchinterval(digits.engine.SWITCH_INTERVAL_S)
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:5000]]
    engines = {"base": other_engine(args.base.resolve(), args.processes),
               "this": digits.engine.Engine(processes=args.processes)}
    figures = {name: {"1": [], "16": [], "cpu_1": [], "cpu_16": [], "server_cpu_16": [], "switches_16": [],
                      "latency": [], "here": []} for name in engines}
    load = [os.getloadavg()[0]]
    try:
        for engine in engines.values():
            assert engine.lanes.wait_until_ready(), "the worker processes did not start"
        with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(16) as sixteen:
            for engine in engines.values():  # threads up, every engine and worker warm
                for pool in (one, sixteen):
                    list(pool.map(lambda data: engine.classify(data, args.model), uploads[:200]))
            windows = [uploads[(number * args.window) % (len(uploads) - args.window):][:args.window]
                       for number in range(args.rounds)]
            for window, name in in_turns(list(engines), windows):
                engine = engines[name]
                for callers, pool in (("1", one), ("16", sixteen)):
                    here = engine.lanes.served_here
                    rate, cpu, server_cpu, switches = timed(engine, pool, window, args.model)
                    figures[name][callers].append(rate)
                    figures[name][f"cpu_{callers}"].append(cpu)
                    if callers == "16":
                        figures[name]["server_cpu_16"].append(server_cpu)
                        figures[name]["switches_16"].append(switches)
                figures[name]["here"].append((engine.lanes.served_here - here) / len(window))
                for data in window[:100]:  # a lone caller in this thread, as `compare_engines`
                    started = time.perf_counter()
                    engine.classify(data, args.model)
                    figures[name]["latency"].append(time.perf_counter() - started)
                load.append(os.getloadavg()[0])
    finally:
        for engine in engines.values():
            engine.close()
    for name, runs in figures.items():
        one, sixteen = np.array(runs["1"]), np.array(runs["16"])
        cpu_1, cpu_16 = float(np.median(runs["cpu_1"])), float(np.median(runs["cpu_16"]))
        print(name, {"1_caller_per_s": round(float(np.median(one)), 1),
                     "16_callers_per_s": round(float(np.median(sixteen)), 1),
                     "16_vs_1_in_a_round": round(float(np.median(sixteen / one)), 2),
                     "16_vs_1_best_round": round(float(np.max(sixteen / one)), 2),
                     "cpu_ms_per_request_1": round(cpu_1, 3), "cpu_ms_per_request_16": round(cpu_16, 3),
                     "two_cores_bound_16_vs_1": round(2 * cpu_1 / cpu_16, 2),
                     "of_it_in_this_process_16": round(float(np.median(runs["server_cpu_16"])), 3),
                     "context_switches_per_request_16": round(float(np.median(runs["switches_16"])), 2),
                     "16_callers_read_in_the_server": round(float(np.median(runs["here"])), 2),
                     "one_caller_p50_ms": round(1000 * float(np.median(runs["latency"])), 3)})
    cpu_ratios = np.array(figures["this"]["cpu_16"]) / np.array(figures["base"]["cpu_16"])
    print("this / base, CPU per request with 16 callers, each round:", np.round(cpu_ratios, 3).tolist(),
          "median", round(float(np.median(cpu_ratios)), 3))
    print("load average", min(load), "-", max(load))


if __name__ == "__main__":
    main()
