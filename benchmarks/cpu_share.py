"""The engine on a share of one core, as an ECS task of 0.25, 0.5 or 1 vCPU gets it, and on every core.

Fargate gives a task its vCPU as a CFS quota: a quarter vCPU may run 25 ms in each 100 ms. Here a
measuring process is pinned to one core and throttled the same way from outside: stopped (SIGSTOP)
for the rest of every 100 ms period once it has had its share, continued (SIGCONT) at the next. The
throttle is not CFS: it stops the process on a fixed beat even when it is idle, where CFS would let an
idle task's lone request run on; so its latencies are an upper bound and its throughputs the real
figure for a busy task. "all cores" is the process unpinned, unthrottled, one worker per core.

Figures per setting: one caller's latency (p50, p95) for a 28x28 PNG and for a 1200x900 phone photo
(JPEG), and the throughput of 16 callers sending 28x28 PNGs.

    python -m benchmarks.cpu_share --data ../shared/data/mnist.npz [--shares 0.25 0.5 1] [--calls 300]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

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
    with Engine(("cnn",)) as engine:
        print("ready", flush=True)
        sys.stdin.readline()  # the throttle is on from here
        small = percentiles_ms(time_each(lambda upload: engine.classify(upload), uploads))
        photo = percentiles_ms(time_each(lambda upload: engine.classify(upload), photos * 3))
        sixteen = concurrent_throughput(engine, uploads, 16)
        return {"workers": engine.workers, "png_28x28_ms": small, "photo_1200x900_ms": photo,
                "callers_16_images_per_s": round(sixteen, 1)}


def run_setting(data: str, calls: int, share: float | None) -> dict:
    """One measuring process: pinned to core 0 with one worker and throttled to `share`, or (None) free."""
    environment = {key: value for key, value in os.environ.items() if key != "DIGITS_WORKERS"}
    if share is not None:
        environment["DIGITS_WORKERS"] = "1"
    command = [sys.executable, "-m", "benchmarks.cpu_share", "--measure", "--data", data, "--calls", str(calls)]
    if share is not None:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.stdin.write("go\n")
    process.stdin.flush()
    try:
        while share is not None and share < 1 and process.poll() is None:
            time.sleep(PERIOD_S * share)
            process.send_signal(signal.SIGSTOP)
            time.sleep(PERIOD_S * (1 - share))
            process.send_signal(signal.SIGCONT)
        figures = json.loads(process.stdout.read())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
        process.wait(timeout=60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the measuring process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.data, args.calls)), flush=True)
        return
    figures = {f"{share:g} vCPU": run_setting(args.data, args.calls, share) for share in args.shares}
    figures["all cores"] = run_setting(args.data, args.calls, None)
    figures["load_average"] = os.getloadavg()[0]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
