"""A load test of `digits serve` under abuse: honest people each uploading one 28x28 digit, while
abusive callers send what the server must survive (issue #28). Loopback only: the server connects to
the stand-in for Anvil's Uplink endpoint in harness/anvil_stand_in.py. Bounded in calls and in time.

First, for --seconds, all at once:
- honest: --honest people, each in a session of their own, one 28x28 PNG at a time;
- heavy: 16 calls at a time, each with 4 near-limit RGBA PNGs (40 million pixels, small files);
- dots: 4 calls at a time of 16 copies of a 1.6 KB PNG of 65,000 dots;
- flood: one session calling list_models as fast as it can from 4 threads.
Then a burst: 48 calls of 3 x 9.3 MB PNGs each arrive while 4 near-limit pictures decode.
Prints the honest callers' p50 and p95 latency, what each group got (answers, refusals by message,
failures), the server's peak resident memory (VmHWM), and how long a SIGTERM took to end it.

    python -m benchmarks.load_test [--seconds 20] [--honest 4] [--models cnn]
"""

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.anvil_stand_in import AnvilStandIn, MediaFile, RemoteError

REPO = Path(__file__).resolve().parents[1]

KEY = "load-test-uplink-key-0123456789"


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def honest_digit() -> bytes:
    """A 28x28 handwritten-looking 7: dark strokes on white."""
    image = Image.new("L", (28, 28), 255)
    draw = ImageDraw.Draw(image)
    draw.line((6, 6, 21, 6), fill=0, width=3)
    draw.line((21, 6, 11, 23), fill=0, width=3)
    return png(image)


def near_limit_png() -> bytes:
    side = 6300  # 39.7 million RGBA pixels: 159 MB once decoded, 0.2 MB as a file
    image = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    ImageDraw.Draw(image).ellipse((side // 3, side // 4, 2 * side // 3, 3 * side // 4), outline="black",
                                  width=side // 40)
    return png(image, compress_level=1)


def bulky_png() -> bytes:
    """About 9.3 MB of noise: it does not compress."""
    noise = np.random.default_rng(28).integers(0, 256, (1760, 1760, 3), dtype=np.uint8)
    return png(Image.fromarray(noise), compress_level=1)


def dots_png() -> bytes:
    pixels = np.full((512, 512), 255, np.uint8)
    pixels[::2, ::2] = 0
    return png(Image.fromarray(pixels))


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes: dict[str, Counter] = {}
        self.honest_ms: list[float] = []

    def add(self, group: str, outcome: str, ms: float | None = None) -> None:
        with self.lock:
            self.outcomes.setdefault(group, Counter())[outcome] += 1
            if group == "honest" and outcome == "answered" and ms is not None:
                self.honest_ms.append(ms)


def call(anvil: AnvilStandIn, tally: Tally, group: str, function: str, *args, session: str, **kwargs) -> None:
    started = time.perf_counter()
    try:
        anvil.call(function, *args, session=session, ip=f"10.0.{hash(session) % 250}.{hash(group) % 250}",
                   timeout=60, **kwargs)
        tally.add(group, "answered", (time.perf_counter() - started) * 1000)
    except RemoteError as error:
        tally.add(group, f"refused: {error.message}"[:90])
    except Exception as error:  # no answer: a timeout, a lost connection
        tally.add(group, f"no answer: {type(error).__name__}")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_peak_rss_mib(pid: int) -> float:
    """The peak resident memory of the server's worker processes (digits/worker_processes.py), together."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(peak_rss_mib(int(child)) for child in children
               if b"digits.worker" in Path(f"/proc/{child}/cmdline").read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--honest", type=int, default=4)
    parser.add_argument("--models", default="cnn")
    parser.add_argument("--processes", help="the server's worker processes (DIGITS_PROCESSES; default: its own)")
    args = parser.parse_args()

    honest = MediaFile("image/png", honest_digit(), "seven.png")
    near_limit = MediaFile("image/png", near_limit_png(), "huge.png")
    bulky = MediaFile("image/png", bulky_png(), "noise.png")
    dots = MediaFile("image/png", dots_png(), "dots.png")
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder, AnvilStandIn(KEY) as anvil:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANVIL_", "DIGITS_"))}
        env.update(ANVIL_UPLINK_KEY=KEY, ANVIL_UPLINK_URL=anvil.url, DIGITS_MODELS=args.models,
                   DIGITS_STATUS_FILE=f"{folder}/status.json", DIGITS_DATA_DIR=f"{folder}/data",
                   PYTHONPATH=str(REPO), LOG_LEVEL="INFO")
        if args.processes is not None:
            env["DIGITS_PROCESSES"] = args.processes
        with open(f"{folder}/server.log", "wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "uplink_server"], cwd=REPO, env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            anvil.wait_for_functions({"classify_digit", "classify_digits", "list_models"}, timeout=180)
            baseline = peak_rss_mib(server.pid)
            quiet = []
            for number in range(10):  # the honest latency on an idle server, for comparison
                started = time.perf_counter()
                anvil.call("classify_digit", honest, session="idle-check")
                quiet.append((time.perf_counter() - started) * 1000)
            # Phase 1: heavy callers saturate the server while honest people upload one digit each.
            stop_at = time.monotonic() + args.seconds

            def honest_person(number: int) -> None:
                while time.monotonic() < stop_at:
                    call(anvil, tally, "honest", "classify_digit", honest, session=f"person-{number}")
                    time.sleep(0.2)

            def heavy(number: int) -> None:
                while time.monotonic() < stop_at:
                    call(anvil, tally, "heavy", "classify_digits", [near_limit] * 4, session=f"heavy-{number}")

            def dotted(number: int) -> None:
                while time.monotonic() < stop_at:
                    call(anvil, tally, "dots", "classify_digits", [dots] * 16, session=f"dots-{number}")

            def flood(number: int) -> None:
                while time.monotonic() < stop_at:
                    call(anvil, tally, "flood", "list_models", session="flood")

            with ThreadPoolExecutor(args.honest + 16 + 4 + 4) as pool:
                jobs = [pool.submit(heavy, n) for n in range(16)]
                jobs += [pool.submit(dotted, n) for n in range(4)]
                jobs += [pool.submit(flood, n) for n in range(4)]
                time.sleep(2.0)  # the heavy calls are decoding
                jobs += [pool.submit(honest_person, n) for n in range(args.honest)]
                for job in jobs:
                    job.result()
            # Phase 2: 48 calls of 3 x 9.3 MB PNGs arrive while 4 near-limit pictures decode.
            with ThreadPoolExecutor(4 + 48) as pool:
                jobs = [pool.submit(call, anvil, tally, "burst: near-limit", "classify_digit", near_limit,
                                    session=f"big-{n}") for n in range(4)]
                time.sleep(0.5)
                jobs += [pool.submit(call, anvil, tally, "burst: bulky", "classify_digits", [bulky] * 3,
                                     session=f"bulky-{n}") for n in range(48)]
                for job in jobs:
                    job.result()
            peak, workers_peak = peak_rss_mib(server.pid), workers_peak_rss_mib(server.pid)
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = server.wait(30)
            stop_s = time.monotonic() - started
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        log_lines = Path(f"{folder}/server.log").read_text().splitlines()
    not_json = [line for line in log_lines if not line.startswith("{")]
    Path("/tmp/load_test_server.log").write_text("\n".join(log_lines))
    ms = np.asarray(tally.honest_ms)
    report = {
        "honest_p50_ms_idle": round(float(np.median(quiet)), 1),
        "honest_p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "honest_p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
        "outcomes": {group: dict(counts) for group, counts in sorted(tally.outcomes.items())},
        "peak_rss_mib_after_start": round(baseline),
        "peak_rss_mib": round(peak),
        "worker_processes_peak_rss_mib": round(workers_peak),
        "sigterm_to_exit_s": round(stop_s, 2), "exit_code": code,
        "log_lines": len(log_lines), "log_lines_not_json": len(not_json),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
