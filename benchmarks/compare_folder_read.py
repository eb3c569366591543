"""Two checkouts' `digits read --json DIR` on one folder of whole numbers, run in turns (benchmarks/in_turns.py),
so that a busy machine slows both alike: files per second of each whole command (start-up included), their
ratio, and whether the two printed the same lines.

    python -m benchmarks.compare_folder_read --base /path/to/base/checkout --data ../shared/data/mnist.npz \
        [--files 200] [--rounds 4]

The folder: numbers of 2 to 6 validation digits, apart, touching and overlapping, written on paper
(training/number_suite.py's validation numbers). Each command runs with its checkout's code (PYTHONPATH).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.in_turns import in_turns
from training.data import load_mnist
from training.number_suite import validation_numbers


def write_folder(folder: Path, data: str | None, files: int) -> None:
    numbers = validation_numbers(load_mnist(data), per_spacing=-(-files // 3))[:files]
    for index, number in enumerate(numbers):
        (folder / f"{index:04d}-{number.spacing}.png").write_bytes(number.data)


def read_folder(tree: Path, folder: Path) -> tuple[float, list[str]]:
    """Seconds of one `digits read --json DIR` with `tree`'s code, and the lines it printed."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "digits.cli", "read", "--json", str(folder)], cwd=tree,
                          env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some file could not be read, which the lines say
        raise RuntimeError(f"digits read failed in {tree}: {done.stderr[-2000:]}")
    return seconds, done.stdout.splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the other checkout (its repository root)")
    parser.add_argument("--branch", default=".", help="this checkout (default: the current directory)")
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    trees = {"base": Path(args.base).resolve(), "branch": Path(args.branch).resolve()}
    with tempfile.TemporaryDirectory() as folder:
        write_folder(Path(folder), args.data, args.files)
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        lines: dict[str, list[str]] = {}
        load_before = os.getloadavg()[0]
        for _, name in in_turns(list(trees), range(args.rounds)):
            spent, lines[name] = read_folder(trees[name], Path(folder))
            seconds[name].append(spent)
    figures = {"files": args.files, "rounds": args.rounds,
               "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)]}
    for name, spent in seconds.items():
        figures[name] = {"seconds_p50": round(float(np.median(spent)), 2),
                         "files_per_s": round(args.files / float(np.median(spent)), 1),
                         "seconds_each": [round(s, 2) for s in spent]}
    figures["branch_vs_base_files_per_s"] = round(figures["branch"]["files_per_s"] / figures["base"]["files_per_s"], 3)
    figures["same_lines"] = lines["base"] == lines["branch"]
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
