"""`digits bench`'s folder figure alone, in a fresh process (so its pool pays the forkserver's whole start,
as in `digits bench`): the engine loaded, then `folder_throughput` over the mixed folder.

    python -m benchmarks.folder_figure --data ../shared/data/mnist.npz [--uploads 2000]

Two checkouts in turns (each run a fresh process), as docs/speed.md's stop 55 compares them:

    for round in 1 2 3; do for tree in MAIN THIS; do
        (cd $tree && python -m benchmarks.folder_figure --data ../shared/data/mnist.npz); done; done
"""

import argparse
import json

from digits.bench import folder_throughput, mixed_uploads
from digits.engine import Engine
from training.data import load_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--uploads", type=int, default=2000)
    args = parser.parse_args()
    uploads = mixed_uploads(load_mnist(args.data).x_test, args.uploads)
    with Engine() as engine:
        print(json.dumps(folder_throughput(engine, uploads)))


if __name__ == "__main__":
    main()
