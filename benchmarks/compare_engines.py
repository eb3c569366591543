"""Two engines in one process, measured in turns: this checkout's `digits/engine.py` and another's (say
main's), on the same 28x28 PNG uploads, so a busy machine slows both alike and the comparison holds.

    python -m benchmarks.compare_engines ../main/digits/engine.py --data ../shared/data/mnist.npz [--model cnn]

Per engine: throughput with 1 and with 16 concurrent callers (median and best of short windows, and
the median of 16 over 1 within a window) and one caller's p50 latency. The other engine file is loaded
as a module of its own; everything it imports (the pipeline, LiteRT) is this checkout's.
"""

import argparse
import importlib.util
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import digits.engine
from digits.bench import png_bytes
from training.data import load_mnist


def load_engine_module(path: str):
    spec = importlib.util.spec_from_file_location("other_engine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(engines: dict, uploads: list[bytes], model: str, windows: int, window: int = 200) -> dict:
    figures = {name: {1: [], 16: [], "latency": []} for name in engines}
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(16) as sixteen:
        pools = {1: one, 16: sixteen}
        for engine in engines.values():  # threads up, every engine warm
            for pool in pools.values():
                list(pool.map(lambda data: engine.classify(data, model), uploads[:64]))
        for number in range(windows):
            start = number * window % (len(uploads) - window)
            batch = uploads[start:start + window]
            for name in list(engines)[::-1] if number % 2 else engines:  # each goes first half the time
                engine = engines[name]
                for callers, pool in pools.items():
                    started = time.perf_counter()
                    list(pool.map(lambda data: engine.classify(data, model), batch))
                    figures[name][callers].append(len(batch) / (time.perf_counter() - started))
                for data in batch[:50]:
                    started = time.perf_counter()
                    engine.classify(data, model)
                    figures[name]["latency"].append(time.perf_counter() - started)
    summary = {}
    for name, runs in figures.items():
        one, sixteen = np.array(runs[1]), np.array(runs[16])
        summary[name] = {"1_caller_per_s": round(float(np.median(one)), 1), "1_caller_best": round(float(one.max()), 1),
                         "16_callers_per_s": round(float(np.median(sixteen)), 1),
                         "16_callers_best": round(float(sixteen.max()), 1),
                         "16_vs_1_in_a_window": round(float(np.median(sixteen / one)), 2),
                         "one_caller_p50_ms": round(1000 * float(np.median(runs["latency"])), 3)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", help="the other checkout's digits/engine.py")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--windows", type=int, default=20)
    args = parser.parse_args()
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:2000]]
    other = load_engine_module(args.other)
    with other.Engine() as theirs, digits.engine.Engine() as ours:
        summary = compare({"other": theirs, "this": ours}, uploads, args.model, args.windows)
    for name, figures in summary.items():
        print(name, figures)


if __name__ == "__main__":
    main()
