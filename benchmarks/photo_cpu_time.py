"""The CPU time (this thread's) of reading `digits bench`'s phone photos, beside only decoding them (its
JPEG draft reference): less swayed by other processes than the wall clock, so two checkouts can be
compared on a busy machine. Run it on each, in turns (the ratio is what counts):

    PYTHONPATH=. python -m benchmarks.photo_cpu_time --data ../shared/data/mnist.npz [--repeat 8]
"""

import argparse
import json

import numpy as np

from benchmarks.photo_cpu_in_turns import thread_cpu_times
from digits.bench import PHOTO_SIZES, draft_decode, page_photo
from digits.preprocessing import prepare_upload
from training.data import load_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    digits = load_mnist(args.data).x_test[:3]
    rng = np.random.default_rng(0)
    figures = {}
    for size in PHOTO_SIZES:
        photos = [page_photo(digit, size, rng) for digit in digits]
        prepare_upload(photos[0])  # warm
        reading, decoding = thread_cpu_times(photos * args.repeat, prepare_upload, draft_decode)
        figures[f"{size[0]}x{size[1]}"] = {"prepare_cpu_p50_ms": round(1000 * float(np.median(reading)), 2),
                                           "draft_decode_cpu_p50_ms": round(1000 * float(np.median(decoding)), 2)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
