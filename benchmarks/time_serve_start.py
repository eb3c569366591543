"""Seconds from `python -m uplink_server` starting to its functions registered with Anvil, and its memory then.

Anvil is the loopback stand-in the tests use (harness/anvil_stand_in.py, needs the test extra), so this
runs on one machine with no account and no network:

    python -m benchmarks.time_serve_start [--repeat 3]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.anvil_stand_in import AnvilStandIn

REPO = Path(__file__).resolve().parent.parent

KEY = "timing-key-0123456789"
FUNCTIONS = {"list_models", "classify_digit", "classify_digits", "compare_models", "model_report"}


def resident_mib(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return round(int(line.split()[1]) / 1024, 1)


def time_start(folder: Path) -> dict:
    with AnvilStandIn(KEY) as anvil:
        env = {**os.environ, "ANVIL_UPLINK_KEY": KEY, "ANVIL_UPLINK_URL": anvil.url,
               "DIGITS_STATUS_FILE": str(folder / "status.json")}
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "uplink_server"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            anvil.wait_for_functions(FUNCTIONS, timeout=120)
            return {"registered_s": round(time.perf_counter() - started, 2), "rss_mib": resident_mib(server.pid)}
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            print(json.dumps(time_start(Path(folder))), flush=True)


if __name__ == "__main__":
    main()
