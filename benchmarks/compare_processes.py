"""This checkout's engine with and without worker processes (digits/worker_processes.py), in one process,
measured in turns on the same 28x28 PNG uploads (so a busy machine slows both alike):

    python -m benchmarks.compare_processes --data ../shared/data/mnist.npz [--model cnn] [--processes 1 2]

Per setting: throughput with 1 and with 16 concurrent callers (median and best of short windows, and
the median of 16 over 1 within a window) and one caller's p50 latency (`benchmarks.compare_engines`),
the threads switching as often as the server makes them (every 1 ms, `--switch-ms`);
then, apart, the CPU time per request (this process and its workers) with 1 and with 16 callers. On a
machine shared with other busy sessions the process gets only its share of the cores (autogroup), so
the throughput cannot show what a second core gives; the CPU time says what each request costs, so
two cores kept busy would serve 2 / (CPU per request, 16 callers) requests a second. Also the CPU
of one caller's requests when each goes to a worker, the server's share of it, and an ESTIMATE (from
CPU times, not measured) of 16 callers against one where the cores are the process's alone.
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import digits.engine
from benchmarks.compare_engines import compare
from digits.bench import cpu_seconds, png_bytes
from training.data import load_mnist


def engine_cpu_seconds(engine) -> float:
    """CPU time so far of this process (all its threads) and of the engine's worker processes."""
    return cpu_seconds(engine.lanes.worker_pids() if engine.lanes else ())


def cpu_per_request(engine, uploads: list[bytes], callers: int, model: str) -> tuple[float, float | None]:
    """Milliseconds of CPU per request with `callers` concurrent callers, and the share of the calls
    read in this process (not handed to a worker; None without workers)."""
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(lambda data: engine.classify(data, model), uploads[:64]))
        before, here = engine_cpu_seconds(engine), engine.lanes.served_here if engine.lanes else 0
        list(pool.map(lambda data: engine.classify(data, model), uploads))
        return (round(1000 * (engine_cpu_seconds(engine) - before) / len(uploads), 3),
                round((engine.lanes.served_here - here) / len(uploads), 2) if engine.lanes else None)


def estimate_on_own_cores(engine, uploads: list[bytes], model: str, one_caller_cpu_ms: float) -> float:
    """16 callers against one on a machine whose cores are this process's alone, ESTIMATED from CPU
    time (not measured): each place (the server process, each worker) reads at the rate its CPU time
    per call allows; with more places than cores, the cores' CPU time is the bound. One caller reads at
    1 / its CPU time per call. Threads only: not estimated (the GIL, not the CPU, bounds them)."""
    cores = digits.engine.worker_count()
    lanes = engine.lanes
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda data: engine.classify(data, model), uploads[:64]))
        here_before, workers_before = lanes.served_here, lanes.served_by_workers
        own_before, all_before = sum(os.times()[:2]), engine_cpu_seconds(engine)
        list(pool.map(lambda data: engine.classify(data, model), uploads))
        own_ms = 1000 * (sum(os.times()[:2]) - own_before)
        workers_ms = 1000 * (engine_cpu_seconds(engine) - all_before) - own_ms
    here, by_workers = lanes.served_here - here_before, lanes.served_by_workers - workers_before
    if 1 + lanes.processes <= cores:  # a core for each place
        per_ms = here / own_ms + (by_workers / workers_ms * lanes.processes if by_workers else 0.0)
    else:
        per_ms = cores * len(uploads) / (own_ms + workers_ms)
    return round(per_ms * one_caller_cpu_ms, 2)


def cpu_per_request_via_worker(engine, uploads: list[bytes], model: str) -> tuple[float, float]:
    """Milliseconds of CPU per request for one caller whose every call goes to a worker (the server's own
    place held meanwhile), in all and in this process alone (taking the call in and handing it over)."""
    here = engine.lanes.take()
    try:
        before, own = engine_cpu_seconds(engine), sum(os.times()[:2])
        for data in uploads:
            engine.classify(data, model)
        return (round(1000 * (engine_cpu_seconds(engine) - before) / len(uploads), 3),
                round(1000 * (sum(os.times()[:2]) - own) / len(uploads), 3))
    finally:
        engine.lanes.give(here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--processes", type=int, nargs="+", default=[digits.engine.process_count()])
    parser.add_argument("--switch-ms", type=float, default=1.0,
                        help="the interpreter's thread switch interval: the server's 1 ms by default (Python's own is 5)")
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_ms / 1000)
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:2000]]
    engines = {"threads only": digits.engine.Engine()}
    try:
        for count in args.processes:
            engines[f"{count} processes"] = digits.engine.Engine(processes=count)
            engines[f"{count} processes"].lanes.wait_until_ready()
        summary = compare(engines, uploads, args.model, args.windows)
        for name, engine in engines.items():
            for callers in (1, 16):
                summary[name][f"cpu_ms_per_request_{callers}"], read_here = \
                    cpu_per_request(engine, uploads, callers, args.model)
            if engine.lanes:
                summary[name]["16_callers_read_in_the_server"] = read_here
            if engine.lanes:
                summary[name]["cpu_ms_per_request_via_worker"], summary[name]["of_it_in_the_server"] = \
                    cpu_per_request_via_worker(engine, uploads[:500], args.model)
                summary[name]["16_vs_1_on_own_cores_estimated"] = estimate_on_own_cores(
                    engine, uploads, args.model, summary[name]["cpu_ms_per_request_1"])
            summary[name]["load_average"] = round(os.getloadavg()[0], 1)
    finally:
        for engine in engines.values():
            engine.close()
    print("workers", digits.engine.worker_count())
    for name, figures in summary.items():
        print(name, {key: value for key, value in figures.items() if key != "16_callers_copies_at_once"})


if __name__ == "__main__":
    main()
