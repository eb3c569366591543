"""Two engines in one process, measured in turns: this checkout's `digits/engine.py` and another's (say
main's), on the same 28x28 PNG uploads, so a busy machine slows both alike and the comparison holds.

    python -m benchmarks.compare_engines ../main/digits/engine.py --data ../shared/data/mnist.npz [--model cnn]

Per engine: throughput with 1 and with 16 concurrent callers (median and best of short windows, and
the median of 16 over 1 within a window), one caller's p50 latency, and the share of the 16-caller
windows' time during which two or more copies of the model were computing at once (what says a
second core is put to use, even on a machine too busy to give the process one). The other engine file is loaded
as a module of its own; everything it imports (the pipeline, LiteRT) is this checkout's.
"""

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import digits.engine
import digits.litert
from benchmarks.in_turns import in_turns, load_module
from digits.bench import png_bytes
from training.data import load_mnist


class Overlap:
    """Time during which two or more LiteRT model copies compute at once (wraps LiteRTModel.predict)."""

    def __init__(self):
        self.lock, self.running, self.since, self.both = threading.Lock(), 0, time.perf_counter(), 0.0
        self.predict = digits.litert.LiteRTModel.predict
        overlap = self

        def predict(model, images):
            overlap.change(+1)
            try:
                return overlap.predict(model, images)
            finally:
                overlap.change(-1)

        digits.litert.LiteRTModel.predict = predict

    def change(self, step: int) -> None:
        with self.lock:
            now = time.perf_counter()
            self.both += (now - self.since) * (self.running >= 2)
            self.since, self.running = now, self.running + step

    def measure(self, run) -> float:
        """The share of `run()`'s time with two or more copies computing."""
        with self.lock:
            self.both, self.since = 0.0, time.perf_counter()
        started = time.perf_counter()
        run()
        return self.both / (time.perf_counter() - started)


def compare(engines: dict, uploads: list[bytes], model: str, windows: int, window: int = 200) -> dict:
    figures = {name: {1: [], 16: [], "latency": [], "overlap": []} for name in engines}
    overlap = Overlap()
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(16) as sixteen:
        pools = {1: one, 16: sixteen}
        for engine in engines.values():  # threads up, every engine warm
            for pool in pools.values():
                list(pool.map(lambda data: engine.classify(data, model), uploads[:64]))
        batches = [uploads[start:start + window]
                   for start in (number * window % (len(uploads) - window) for number in range(windows))]
        for batch, name in in_turns(list(engines), batches):  # each goes first half the time
            engine = engines[name]
            for callers, pool in pools.items():
                started = time.perf_counter()
                share = overlap.measure(lambda: list(pool.map(lambda data: engine.classify(data, model), batch)))
                figures[name][callers].append(len(batch) / (time.perf_counter() - started))
            figures[name]["overlap"].append(share)
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
                         "one_caller_p50_ms": round(1000 * float(np.median(runs["latency"])), 3),
                         "16_callers_copies_at_once": round(float(np.median(runs["overlap"])), 2)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", help="the other checkout's digits/engine.py")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--windows", type=int, default=20)
    args = parser.parse_args()
    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:2000]]
    other = load_module("other_engine", args.other)
    with other.Engine() as theirs, digits.engine.Engine() as ours:
        summary = compare({"other": theirs, "this": ours}, uploads, args.model, args.windows)
    for name, figures in summary.items():
        print(name, figures)


if __name__ == "__main__":
    main()
