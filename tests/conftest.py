"""Shared fixtures: the real MNIST file and images a person would upload."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The MNIST .npz named by $DIGITS_MNIST_NPZ (CI sets it), else the shared copy beside the repo."""
    path = Path(os.environ.get("DIGITS_MNIST_NPZ", REPO.parent / "shared" / "data" / "mnist.npz"))
    if not path.is_file():
        pytest.fail(f"MNIST not found at {path}: set DIGITS_MNIST_NPZ to an MNIST .npz file")
    return path


@pytest.fixture(scope="session")
def mnist_train_digits(mnist_path) -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 MNIST training digits and their labels: uint8 (1000, 28, 28) and (1000,)."""
    with np.load(mnist_path) as mnist:
        return mnist["x_train"][:1000].copy(), mnist["y_train"][:1000].copy()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster (tests/postgres_cluster.py), removed at the end of the session.

    CI installs PostgreSQL (.ci/run), so there a missing one fails; elsewhere the tests that need it skip.
    """
    from postgres_cluster import PostgresCluster, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    cluster = PostgresCluster(bin_dir)
    yield cluster
    cluster.remove()
