"""What the folder benchmarks that run ways in turns share: their arguments, and `digits bench`'s mixed
folder (`mixed_uploads`) in the groups a folder run reads (`per_call`)."""

import argparse

from digits.bench import mixed_uploads
from digits.preprocessing import per_call
from training.data import load_mnist


def folder_in_groups(description: str, uploads: int = 1024, rounds: int = 4) -> tuple[argparse.Namespace, list, list]:
    """The command's arguments (`--data`, `--uploads`, `--rounds`), the uploads and those uploads in groups."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST .npz")
    parser.add_argument("--uploads", type=int, default=uploads)
    parser.add_argument("--rounds", type=int, default=rounds)
    args = parser.parse_args()
    folder = mixed_uploads(load_mnist(args.data).x_test, args.uploads)
    return args, folder, per_call(folder)
