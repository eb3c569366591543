"""Two checkouts' single-caller latency on 28x28 PNG uploads, in turns: `Engine.classify` (as a lone
caller of the server meets it: no worker processes) then `to_dict`, per model, batch by batch, one
checkout then the other, so that both see the same load. A busy machine slows both alike; the ratio
is what counts.

    python -m benchmarks.upload_in_turns --base /path/to/base/checkout --data ../shared/data/mnist.npz [--rounds 20]
    python -m benchmarks.upload_in_turns --base ... --handed-off    # every call read by a worker process

With `--handed-off`, each checkout's engine has one worker process and holds its own place, so every
call is handed to the worker (digits/worker_processes.py), and the figures are the CPU per call of the
server's calling thread (taking the call in and handing it over) and of the worker process (CNN only).

Each checkout reads in a process of its own, with that checkout's code (PYTHONPATH), the same MNIST
test digits as PNG bytes (`digits.bench.png_bytes`). Per checkout and model: the p50 of the wall clock
and of the thread's CPU time per upload, and the base's p50 over this checkout's.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

MODELS = ("cnn", "vit")


def worker(data: str | None, count: int, handed_off: bool) -> None:
    """Reads `count` uploads with the model asked for on each line of standard input; prints the times
    (with `handed_off`, per call: the server thread's and the worker process's CPU time, seconds)."""
    from digits.bench import cpu_seconds, png_bytes
    from digits.engine import Engine
    from training.data import load_mnist

    uploads = [png_bytes(pixels) for pixels in load_mnist(data).x_test[:count]]
    with Engine(processes=1 if handed_off else 0) as engine:
        if handed_off:
            engine.lanes.wait_until_ready()
            engine.lanes.take()  # this process's own place, held: every call goes to the worker
        for model in MODELS:  # warm
            for upload in uploads[:50]:
                engine.classify(upload, model).to_dict()
        print("ready", flush=True)
        for line in sys.stdin:
            wall, cpu = [], []
            if handed_off:
                started_cpu, started_all = time.thread_time(), cpu_seconds(engine.lanes.worker_pids())
                started_own = sum(os.times()[:2])
            for upload in uploads:
                started, started_thread = time.perf_counter(), time.thread_time()
                engine.classify(upload, line.strip()).to_dict()
                wall.append(time.perf_counter() - started)
                cpu.append(time.thread_time() - started_thread)
            if handed_off:  # the worker's CPU: all of it less this process's
                worker_cpu = cpu_seconds(engine.lanes.worker_pids()) - started_all - (sum(os.times()[:2]) - started_own)
                wall = [(time.thread_time() - started_cpu) / len(uploads)]
                cpu = [worker_cpu / len(uploads)]
            print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="the other checkout (its root folder)")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=100, help="uploads per model per round")
    parser.add_argument("--handed-off", action="store_true", help="every call read by a worker process (CNN)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.data, args.worker, args.handed_off)
    models = ("cnn",) if args.handed_off else MODELS
    kinds = {"wall": "server_thread_cpu", "cpu": "worker_process_cpu"} if args.handed_off else \
        {"wall": "wall", "cpu": "cpu"}
    from benchmarks.in_turns import ask, in_turns, start_in_checkout  # here: a worker runs this file on the other checkout's code

    checkouts = {"base": args.base.resolve(), "this": Path(__file__).resolve().parent.parent}
    arguments = [str(args.per_round), *(["--data", args.data] if args.data else []),
                 *(["--handed-off"] if args.handed_off else [])]
    processes = {name: start_in_checkout(__file__, path, arguments) for name, path in checkouts.items()}
    times = {name: {model: {"wall": [], "cpu": []} for model in models} for name in checkouts}
    try:
        for model, name in in_turns(list(checkouts), [model for _ in range(args.rounds) for model in models]):
            answer = ask(processes[name], model)
            for kind in ("wall", "cpu"):
                times[name][model][kind] += answer[kind]
    finally:
        for process in processes.values():
            process.stdin.close()
            process.wait(30)
    summary = {"load_average": round(os.getloadavg()[0], 1)}
    for model in models:
        figures = {f"{name}_{label}_p50_ms": round(1000 * float(np.median(times[name][model][kind])), 4)
                   for name in checkouts for kind, label in kinds.items()}
        for label in kinds.values():
            figures[f"this_over_base_{label}"] = round(figures[f"this_{label}_p50_ms"] / figures[f"base_{label}_p50_ms"], 3)
        summary[model] = figures
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
