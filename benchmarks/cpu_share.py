"""The engine on a share of one core, as an ECS task of 0.25, 0.5 or 1 vCPU gets it, and on every core.

Fargate gives a task its vCPU as a CFS quota: a quarter vCPU may run 25 ms in each 100 ms. Here a
measuring process is pinned to one core (`taskset`, so the engine sees one core: one worker per model
and no worker processes, as on a task under 2 vCPU) and given the same quota: where this machine's
cgroup v1 `cpu` hierarchy can be written (root), as a CFS quota of its own cgroup (`cpu.cfs_quota_us`,
exactly what a container runtime sets); else throttled from outside, stopped (SIGSTOP) for the rest of
every 100 ms period once it has had its share and continued (SIGCONT) at the next, which stops it on a
fixed beat even when it is idle (so its latencies are an upper bound). "all cores" is the process
unpinned, with no quota, as `digits serve` starts it there (a worker per model per core, and worker
processes, `process_count()`). Both models are loaded, as a server loads them.

Figures per setting: one caller's latency (p50, p99) for a 28x28 PNG and for phone photos (JPEG) of
1200x900 and 4032x3024, and the throughput of 16 callers sending 28x28 PNGs.

    python -m benchmarks.cpu_share --data ../shared/data/mnist.npz [--shares 0.25 0.5 1] [--calls 300]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PERIOD_S = 0.1  # CFS's default period, as Fargate uses it


def measure(data: str, calls: int) -> dict:
    """Runs in the measuring process: the engine's figures on whatever CPU it has been given."""
    import numpy as np

    from digits.bench import PHOTO_SIZES, concurrent_throughput, page_photo, percentiles_ms, png_bytes, time_each
    from digits.engine import Engine

    with np.load(data) as mnist:
        images = mnist["x_test"][:calls]
    uploads = [png_bytes(image) for image in images]
    rng = np.random.default_rng(0)
    photos = [page_photo(image, PHOTO_SIZES[0], rng) for image in images[:8]]
    large = [page_photo(image, PHOTO_SIZES[-1], rng) for image in images[:3]]
    sys.setswitchinterval(0.001)  # as the server runs (uplink_server/main.py)
    with Engine(processes=None) as engine:  # as `digits serve` starts it on the cores it is given
        if engine.lanes:
            engine.lanes.wait_until_ready()
        print("ready", flush=True)
        sys.stdin.readline()  # the throttle is on from here
        small = percentiles_ms(time_each(lambda upload: engine.classify(upload), uploads))
        photo = percentiles_ms(time_each(lambda upload: engine.classify(upload), photos * 3))
        photo_12mp = percentiles_ms(time_each(lambda upload: engine.classify(upload), large * 3))
        sixteen = concurrent_throughput(engine, uploads, 16)
        return {"workers": engine.workers, "worker_processes": engine.lanes.processes if engine.lanes else 0,
                "png_28x28_ms": small, "photo_1200x900_ms": photo,
                "photo_4032x3024_ms": photo_12mp,
                "callers_16_images_per_s": round(sixteen, 1)}


CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller


class CgroupQuota:
    """A cgroup of its own with a CFS quota of `share` of a core, for one process; removed on close.
    None from `make` where the hierarchy cannot be written (not root, cgroup v2 only)."""

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def make(cls, share: float) -> "CgroupQuota | None":
        folder = CGROUP_CPU / f"digits-cpu-share-{os.getpid()}"
        try:
            folder.mkdir()
        except OSError:
            return None
        quota = cls(folder)
        try:
            period_us = int(PERIOD_S * 1_000_000)
            (folder / "cpu.cfs_period_us").write_text(str(period_us))
            (folder / "cpu.cfs_quota_us").write_text(str(int(period_us * share)))
        except OSError:
            quota.close()
            return None
        return quota

    def add(self, pid: int) -> None:
        (self.folder / "cgroup.procs").write_text(str(pid))

    def throttled_s(self) -> float:
        stat = dict(line.split() for line in (self.folder / "cpu.stat").read_text().splitlines())
        return int(stat.get("throttled_time", 0)) / 1e9

    def close(self) -> None:
        for pid in (self.folder / "cgroup.procs").read_text().split():  # (none left once the process has ended)
            (CGROUP_CPU / "cgroup.procs").write_text(pid)
        self.folder.rmdir()


def run_setting(data: str, calls: int, share: float | None, use_cgroup: bool = True) -> dict:
    """One measuring process: pinned to core 0 with one worker and held to `share`, or (None) free."""
    environment = {key: value for key, value in os.environ.items() if key not in ("DIGITS_WORKERS", "DIGITS_PROCESSES")}
    command = [sys.executable, "-m", "benchmarks.cpu_share", "--measure", "--data", data, "--calls", str(calls)]
    if share is not None:
        command = ["taskset", "-c", "0", *command]
    # Every setting in a cgroup of its own where it can be (all cores: a quota of every core), so that
    # each meets the rest of the machine on the same terms (a cgroup is not scheduled by session).
    quota = CgroupQuota.make(share or len(os.sched_getaffinity(0))) if use_cgroup else None
    process = subprocess.Popen(command, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        if quota is not None:
            quota.add(process.pid)
        process.stdin.write("go\n")
        process.stdin.flush()
        while quota is None and share is not None and share < 1 and process.poll() is None:  # the throttle
            time.sleep(PERIOD_S * share)
            process.send_signal(signal.SIGSTOP)
            time.sleep(PERIOD_S * (1 - share))
            process.send_signal(signal.SIGCONT)
        figures = json.loads(process.stdout.read())
        figures["quota"] = ("CFS quota (cgroup)" if quota is not None else "SIGSTOP/SIGCONT throttle"
                            if share is not None and share < 1 else "none")
        if quota is not None:
            figures["throttled_s"] = round(quota.throttled_s(), 2)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
        process.wait(timeout=60)
        if quota is not None:
            quota.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--throttle", action="store_true", help="the SIGSTOP throttle even where a cgroup quota can be set")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the measuring process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.data, args.calls)), flush=True)
        return
    figures = {f"{share:g} vCPU": run_setting(args.data, args.calls, share, not args.throttle) for share in args.shares}
    figures["all cores"] = run_setting(args.data, args.calls, None)
    figures["load_average"] = os.getloadavg()[0]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
