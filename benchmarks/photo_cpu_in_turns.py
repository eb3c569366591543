"""Two checkouts' readings of `digits bench`'s phone photos, in turns: the CPU time (each reading's own
thread) of `prepare_upload` and of only decoding the photo (its JPEG draft, the target's reference),
batch by batch, one checkout then the other, so that both see the same load. A busy machine slows
both alike; the ratio is what counts.

    python -m benchmarks.photo_cpu_in_turns --base /path/to/base/checkout --data ../shared/data/mnist.npz [--rounds 20]

Each checkout reads in a process of its own, with that checkout's code (PYTHONPATH); the photos are
made by each from the same seed (three MNIST test digits per size).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

SIZES = ("1200x900", "3000x2250", "4032x3024")


def thread_cpu_times(photos: list[bytes], prepare_upload, draft_decode) -> tuple[list[float], list[float]]:
    """Seconds of this thread's CPU time for each photo's reading (`prepare_upload`) and for only decoding
    it (`draft_decode`). The two are passed in, so that a worker times its own checkout's code."""
    reading, decoding = [], []
    for data in photos:
        started = time.thread_time()
        draft_decode(data)
        decoding.append(time.thread_time() - started)
        started = time.thread_time()
        prepare_upload(data)
        reading.append(time.thread_time() - started)
    return reading, decoding


def worker(data: str | None) -> None:
    """Reads the photos of the size asked for on each line of standard input; prints the CPU times."""
    from digits.bench import PHOTO_SIZES, draft_decode, page_photo
    from digits.preprocessing import prepare_upload
    from training.data import load_mnist

    digits = load_mnist(data).x_test[:3]
    rng = np.random.default_rng(0)
    photos = {size: [page_photo(digit, size, rng) for digit in digits] for size in PHOTO_SIZES}
    for size in PHOTO_SIZES:
        prepare_upload(photos[size][0])  # warm
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(thread_cpu_times(photos[PHOTO_SIZES[int(line)]], prepare_upload, draft_decode)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="the other checkout (its repository root)")
    parser.add_argument("--branch", default=".", help="this checkout (default: the current directory)")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.data)
    if not args.base:
        parser.error("--base: the checkout to compare with is needed")
    from benchmarks.in_turns import ask, in_turns, start_in_checkout  # here: a worker runs this file on the other checkout's code

    trees = {"base": Path(args.base).resolve(), "branch": Path(args.branch).resolve()}
    readers = {name: start_in_checkout(__file__, tree, ["--data", str(Path(args.data).resolve())] if args.data else [])
               for name, tree in trees.items()}
    times = {name: {size: ([], []) for size in SIZES} for name in trees}
    load_before = os.getloadavg()[0]
    for index, name in in_turns(list(trees), [index for _ in range(args.rounds) for index in range(len(SIZES))]):
        reading, decoding = ask(readers[name], str(index))
        times[name][SIZES[index]][0].extend(reading)
        times[name][SIZES[index]][1].extend(decoding)
    for reader in readers.values():
        reader.stdin.close()
        reader.wait()
    figures = {"load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)], "rounds": args.rounds}
    for size in SIZES:
        row = {}
        for name in trees:
            reading, decoding = (1000 * float(np.median(values)) for values in times[name][size])
            row[name] = {"prepare_cpu_p50_ms": round(reading, 2), "draft_decode_cpu_p50_ms": round(decoding, 2),
                         "target_cpu_ms": round(2 * decoding + 8, 2)}
        row["branch_vs_base"] = round(row["branch"]["prepare_cpu_p50_ms"] / row["base"]["prepare_cpu_p50_ms"], 3)
        figures[size] = row
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
