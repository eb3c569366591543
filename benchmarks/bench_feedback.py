"""Feedback calls per second: what record_feedback does (check the signed result id and the digit, save
the row), from 1 and from 16 concurrent callers, on each store named.

    python -m benchmarks.bench_feedback --sqlite --throwaway-postgres     # as the README's figures
    python -m benchmarks.bench_feedback --database postgresql://USER:PASSWORD@HOST/DB

--sqlite uses a file in a temporary folder; --throwaway-postgres starts a local PostgreSQL cluster as
the tests do (harness/postgres_cluster.py), with fsync on, and removes it afterwards. Each store gets
fresh rows (MNIST-sized random images; every call is a new result). Prints one JSON line per store;
compare figures from one run.
"""

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from digits.feedback_store import FeedbackStore, database_url, describe
from uplink_server.feedback import FeedbackDesk
from uplink_server.result_tokens import ResultSigner


class Result:
    def __init__(self, digit, pixels):
        self.model, self.digit, self.pixels = "cnn", digit, pixels
        self.probabilities = tuple(0.91 if d == digit else 0.01 for d in range(10))


def calls_per_second(desk: FeedbackDesk, tokens: list[tuple[str, int]], callers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        list(pool.map(lambda item: desk.record(*item), tokens))
    return len(tokens) / (time.perf_counter() - started)


def bench(url: str, calls: int, seed: int = 0) -> dict:
    store = FeedbackStore(database_url({"DIGITS_DATABASE_URL": url}))
    desk = FeedbackDesk(ResultSigner("bench"), store, {"cnn": "0" * 64})
    rng = np.random.default_rng(seed)
    store.count()  # migrate and warm the pool before timing

    def tokens(n):
        return [(desk.result_id(Result(int(rng.integers(10)), rng.integers(0, 256, (28, 28), np.uint8))),
                 int(rng.integers(10))) for _ in range(n)]

    before = store.count()
    one = calls_per_second(desk, tokens(calls // 4), 1)
    sixteen = calls_per_second(desk, tokens(calls), 16)
    saved = store.count() - before
    store.close()
    return {"store": describe(store.url), "calls_per_s_1_caller": round(one, 1),
            "calls_per_s_16_callers": round(sixteen, 1), "ratio": round(sixteen / one, 2),
            "rows_saved": saved, "rows_expected": calls // 4 + calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", default=[], metavar="URL")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file in a temporary folder")
    parser.add_argument("--throwaway-postgres", action="store_true", help="a local PostgreSQL cluster")
    parser.add_argument("--calls", type=int, default=1600, help="calls from the 16 callers (a quarter from 1)")
    args = parser.parse_args()
    urls = list(args.database)
    with tempfile.TemporaryDirectory() as scratch:
        if args.sqlite:
            urls.append(f"sqlite:///{scratch}/feedback.sqlite3")
        cluster = None
        if args.throwaway_postgres:
            from harness.postgres_cluster import PostgresCluster, postgres_bin

            cluster = PostgresCluster(postgres_bin(), fsync=True)
            urls.append(cluster.create_database("bench"))
        try:
            for url in urls:
                print(json.dumps(bench(url, args.calls)))
        finally:
            if cluster:
                cluster.remove()


if __name__ == "__main__":
    main()
