"""Two checkouts' single-caller latency on 28x28 PNG uploads, in turns: `Engine.classify` (as a lone
caller of the server meets it: no worker processes) then `to_dict`, per model, batch by batch, one
checkout then the other, so that both see the same load. A busy machine slows both alike; the ratio
is what counts.

    python -m benchmarks.upload_in_turns --base /path/to/base/checkout --data ../shared/data/mnist.npz [--rounds 20]

Each checkout reads in a process of its own, with that checkout's code (PYTHONPATH), the same MNIST
test digits as PNG bytes (`digits.bench.png_bytes`). Per checkout and model: the p50 of the wall clock
and of the thread's CPU time per upload, and the base's p50 over this checkout's.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MODELS = ("cnn", "vit")


def worker(data: str | None, count: int) -> None:
    """Reads `count` uploads with the model asked for on each line of standard input; prints the times."""
    from digits.bench import png_bytes
    from digits.engine import Engine
    from training.data import load_mnist

    uploads = [png_bytes(pixels) for pixels in load_mnist(data).x_test[:count]]
    with Engine(processes=0) as engine:
        for model in MODELS:  # warm
            for upload in uploads[:50]:
                engine.classify(upload, model).to_dict()
        print("ready", flush=True)
        for line in sys.stdin:
            wall, cpu = [], []
            for upload in uploads:
                started, started_cpu = time.perf_counter(), time.thread_time()
                engine.classify(upload, line.strip()).to_dict()
                wall.append(time.perf_counter() - started)
                cpu.append(time.thread_time() - started_cpu)
            print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


def start(checkout: Path, data: str | None, count: int) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([sys.executable, __file__, "--worker", str(count),  # (the base may lack this file)
                                *(["--data", data] if data else [])], cwd=checkout, env=environment,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    while process.stdout.readline().strip() != "ready":
        pass
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="the other checkout (its root folder)")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=100, help="uploads per model per round")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.data, args.worker)
    checkouts = {"base": args.base.resolve(), "this": Path(__file__).resolve().parent.parent}
    processes = {name: start(path, args.data, args.per_round) for name, path in checkouts.items()}
    times = {name: {model: {"wall": [], "cpu": []} for model in MODELS} for name in checkouts}
    try:
        for number in range(args.rounds):
            for model in MODELS:
                order = list(checkouts) if number % 2 == 0 else list(checkouts)[::-1]  # each goes first half the time
                for name in order:
                    processes[name].stdin.write(model + "\n")
                    processes[name].stdin.flush()
                    answer = json.loads(processes[name].stdout.readline())
                    for kind in ("wall", "cpu"):
                        times[name][model][kind] += answer[kind]
    finally:
        for process in processes.values():
            process.stdin.close()
            process.wait(30)
    summary = {"load_average": round(os.getloadavg()[0], 1)}
    for model in MODELS:
        figures = {f"{name}_{kind}_p50_ms": round(1000 * float(np.median(times[name][model][kind])), 3)
                   for name in checkouts for kind in ("wall", "cpu")}
        for kind in ("wall", "cpu"):
            figures[f"this_over_base_{kind}"] = round(figures[f"this_{kind}_p50_ms"] / figures[f"base_{kind}_p50_ms"], 3)
        summary[model] = figures
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
