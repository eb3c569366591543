"""16 callers' callers woken through a lock and through an eventfd (`digits.worker_processes.WAKE_BY_EVENTFD`),
in turns in one server process (`Engine(processes=None)`, as `digits serve` and `digits bench` run it):

    python -m benchmarks.wake_in_turns --data ../shared/data/mnist.npz [--rounds 8] [--gil-seconds 10]

Per way, `--rounds` rounds of 16 callers over 1,000 MNIST test PNGs (`digits.bench.concurrent_rates`: the
steady rate, and the CPU per request of this process and its worker processes), the ways' order turned each
round; then, per way, `--gil-seconds` of 16 callers while `py-spy record --gil` samples this process: the share
of the time some thread held the GIL, the share of that in a caller's wake-up (`_Call.wake`), and the GIL held
per request. A busy machine slows both ways alike; the GIL's samples are what it distorts least.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

SAMPLES_A_SECOND = 200
WAYS = {"lock": False, "eventfd": True}


def gil_samples(engine, uploads: list[bytes], pool: ThreadPoolExecutor, seconds: float) -> dict:
    """16 callers for `seconds` under `py-spy record --gil`: GIL-held samples, those in a wake-up, requests read."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "gil.txt"
        spy = subprocess.Popen([py_spy, "record", "--pid", str(os.getpid()), "--duration", str(int(seconds)),
                                "--rate", str(SAMPLES_A_SECOND), "--gil", "--nonblocking", "--format", "raw",
                                "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        requests, stop = [0], threading.Event()

        def keep_calling() -> None:
            while not stop.is_set():
                list(pool.map(lambda data: engine.classify(data, "cnn"), uploads))
                requests[0] += len(uploads)

        caller = threading.Thread(target=keep_calling)
        started = time.perf_counter()
        caller.start()
        spy.wait()
        stop.set()
        caller.join()
        elapsed = time.perf_counter() - started
        held = in_wake = 0
        for line in raw.read_text().splitlines():
            stack, count = line.rsplit(" ", 1)
            held += int(count)
            in_wake += int(count) if stack.split(";")[-1].startswith(("_Call.wake", "_Wakeup.wake")) else 0
    per_second = requests[0] / elapsed
    return {"gil_held_share": round(held / (seconds * SAMPLES_A_SECOND), 3),
            "of_it_in_wake": round(in_wake / max(held, 1), 3), "requests_per_s": round(per_second),
            "gil_ms_per_request": round(1000 * held / SAMPLES_A_SECOND / (per_second * seconds), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--gil-seconds", type=float, default=10.0, help="0: no py-spy")
    args = parser.parse_args()

    from digits import worker_processes
    from digits.bench import concurrent_rates, cpu_seconds, png_bytes
    from digits.engine import SWITCH_INTERVAL_S, Engine
    from training.data import load_mnist

    uploads = [png_bytes(pixels) for pixels in load_mnist(args.data).x_test[:1000]]
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    figures = {way: {"steady_per_s": [], "cpu_ms_per_request": []} for way in WAYS}
    with Engine(processes=None) as engine, ThreadPoolExecutor(16) as pool:
        engine.lanes.wait_until_ready()
        pids = engine.lanes.worker_pids()
        list(pool.map(lambda data: engine.classify(data, "cnn"), uploads[:200]))  # threads and workers warm
        for number in range(args.rounds):
            for way in (list(WAYS) if number % 2 == 0 else list(WAYS)[::-1]):
                worker_processes.WAKE_BY_EVENTFD = WAYS[way]
                cpu = cpu_seconds(pids)
                _, steady = concurrent_rates(engine, uploads, 16, "cnn", pool)
                figures[way]["cpu_ms_per_request"].append(1000 * (cpu_seconds(pids) - cpu) / len(uploads))
                figures[way]["steady_per_s"].append(steady)
        summary = {way: {key: round(float(np.median(values)), 3) for key, values in ways.items()}
                   for way, ways in figures.items()}
        if args.gil_seconds:
            for way in (*WAYS, *WAYS):
                worker_processes.WAKE_BY_EVENTFD = WAYS[way]
                summary[way].setdefault("gil", []).append(gil_samples(engine, uploads, pool, args.gil_seconds))
        worker_processes.WAKE_BY_EVENTFD = hasattr(os, "eventfd")
    print(json.dumps({"load_average": round(os.getloadavg()[0], 1), **summary}, indent=1))


if __name__ == "__main__":
    main()
