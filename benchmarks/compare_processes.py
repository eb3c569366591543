"""This checkout's engine with and without worker processes (digits/worker_processes.py), in one process,
measured in turns on the same 28x28 PNG uploads (so a busy machine slows both alike):

    python -m benchmarks.compare_processes --data ../shared/data/mnist.npz [--model cnn] [--processes 1 2]

Per setting: throughput with 1 and with 16 concurrent callers (median and best of short windows, and
the median of 16 over 1 within a window) and one caller's p50 latency (`benchmarks.compare_engines`).
"""

import argparse

import digits.engine
from benchmarks.compare_engines import compare
from digits.bench import png_bytes
from training.data import load_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--processes", type=int, nargs="+", default=[digits.engine.process_count()])
    args = parser.parse_args()
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:2000]]
    engines = {"threads only": digits.engine.Engine()}
    try:
        for count in args.processes:
            engines[f"{count} processes"] = digits.engine.Engine(processes=count)
            engines[f"{count} processes"].lanes.wait_until_ready()
        summary = compare(engines, uploads, args.model, args.windows)
    finally:
        for engine in engines.values():
            engine.close()
    print("workers", digits.engine.worker_count())
    for name, figures in summary.items():
        print(name, {key: value for key, value in figures.items() if key != "16_callers_copies_at_once"})


if __name__ == "__main__":
    main()
