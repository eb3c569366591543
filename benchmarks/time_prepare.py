"""How long `prepare_upload` takes (p50, ms) for a 28x28 PNG, the same digit as a 28-row CSV, a 1200x900 photo of a page on a table
and a 3000x2250 photo with a small digit, each made from MNIST test digits (training/scenes.py).

    python -m benchmarks.time_prepare --data ../shared/data/mnist.npz [--repeat 20]

Run it on two checkouts (PYTHONPATH=...) one after the other to compare; the ratio is what counts.
"""

import argparse
import io
import json

import numpy as np
from PIL import Image

from digits.bench import time_each
from digits.preprocessing import prepare_upload
from training import scenes
from training.scenes import encode, photo_jpeg


def photo_1200x900(digit: np.ndarray, rng) -> bytes:
    """A page on a table, rendered at 640x480 and enlarged to the 1200x900 of a phone's small photo."""
    small = Image.open(io.BytesIO(scenes.page_on_table(digit, rng))).resize((1200, 900), Image.Resampling.BICUBIC)
    return photo_jpeg(np.asarray(small, np.float32) + rng.normal(0, 2, (900, 1200, 3)))


def p50_ms(uploads: list[bytes]) -> float:
    return round(1000 * float(np.median(time_each(prepare_upload, uploads))), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with np.load(args.data) as mnist:
        digits = mnist["x_test"][: args.repeat]
    rng = np.random.default_rng(0)
    uploads = {
        "28x28 PNG": [encode(Image.fromarray(digit)) for digit in digits],
        "28x28 CSV": ["\n".join(",".join(map(str, row)) for row in digit).encode() for digit in digits],
        "1200x900 photo of a page on a table": [photo_1200x900(digit, rng) for digit in digits],
        "3000x2250 photo, small digit": [scenes.small_in_large(digit, rng) for digit in digits[:5]],
    }
    for batch in uploads.values():
        prepare_upload(batch[0])  # warm-up
    print(json.dumps({name: p50_ms(batch) for name, batch in uploads.items()}))


if __name__ == "__main__":
    main()
