"""Where a phone photo's reading goes: the thread CPU time (p50, ms) of each stage of `prepare_upload` for
`digits bench`'s photos of one size (three MNIST test digits), beside the draft decode that is its target's
reference. CPU time is less swayed by other processes than the wall clock; run it on two checkouts in
turns (A, B, A, B) and compare stage by stage.

    PYTHONPATH=. python -m benchmarks.photo_stage_cpu --data ../shared/data/mnist.npz [--size 1200x900] [--repeat 15]

Each stage is timed by wrapping the pipeline's stage function (pipeline.py: lighting, surface, ink, locate,
normalise, judge) for this process only; "decode" is `decode` alone, timed in turn with the reading.
"""

import argparse
import json
import time

import numpy as np

from digits.bench import draft_decode, page_photo
from digits.preprocessing import pipeline, prepare_upload
from digits.preprocessing.decode import decode
from training.data import load_mnist

STAGES = ("lighting", "surface", "ink", "locate", "normalise", "judge")


def timed_stages() -> dict[str, list[float]]:
    """Wraps the pipeline's stage functions so that each call's thread CPU time is recorded (seconds)."""
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for stage in STAGES:
        function = getattr(pipeline, stage)

        def timed(*args, _function=function, _times=times[stage], **kwargs):
            started = time.thread_time()
            try:
                return _function(*args, **kwargs)
            finally:
                _times.append(time.thread_time() - started)
        setattr(pipeline, stage, timed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--size", default="1200x900", help="WIDTHxHEIGHT of the photos (default 1200x900)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    size = tuple(int(side) for side in args.size.split("x"))
    rng = np.random.default_rng(0)
    photos = [page_photo(digit, size, rng) for digit in load_mnist(args.data).x_test[:3]]
    for photo in photos:  # warm: the judge's models load
        prepare_upload(photo)
    stages = timed_stages()
    reading, decoding, draft = [], [], []
    for _ in range(args.repeat):
        for photo in photos:
            for times, step in ((draft, draft_decode), (decoding, decode), (reading, prepare_upload)):
                started = time.thread_time()
                step(photo)
                times.append(time.thread_time() - started)
    figures = {"draft_decode": draft, "decode": decoding, **stages, "whole_reading": reading}
    print(json.dumps({"size": args.size, **{name: round(1000 * float(np.median(times)), 3)
                                             for name, times in figures.items() if times}}))


if __name__ == "__main__":
    main()
