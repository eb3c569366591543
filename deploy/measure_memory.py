"""Measure the uplink server's peak memory, to size the container (deploy/README.md, "Sizing").

Does in one process what a serving process does: import the Anvil uplink library and the server's own
engine (LiteRT; no TensorFlow), load and warm up the models, classify every sample with every model, run a
burst of concurrent calls, then the largest upload the limits allow. After each step it prints the
process's resident memory now and its peak so far (VmRSS and VmHWM in /proc/self/status, Linux only),
as JSON lines.

    python deploy/measure_memory.py [--models-dir models]
"""

import argparse
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
CONCURRENT_CALLS = 64
THREADS = 8


def memory_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (the peak so far) from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} in /proc/self/status: this needs Linux")


def report(step: str) -> None:
    print(json.dumps({"step": step, "rss_mib": memory_mib("VmRSS"), "peak_rss_mib": memory_mib("VmHWM")}),
          flush=True)


def largest_upload(pixels: int) -> bytes:
    """A PNG with as many RGBA pixels as the limit allows: the most memory one upload can take to decode."""
    from PIL import Image, ImageDraw

    side = int(pixels ** 0.5)
    image = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    ImageDraw.Draw(image).ellipse((side // 3, side // 4, 2 * side // 3, 3 * side // 4), outline="black",
                                  width=side // 40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, help="folder with cnn.tflite and vit.tflite (default: the shipped ones)")
    args = parser.parse_args()

    from digits.preprocessing import MAX_PIXELS

    big_upload = largest_upload(MAX_PIXELS)  # made first, so making it does not count as serving
    report("started")

    import anvil.server  # noqa: F401  (the server imports it)

    import models
    from digits.engine import Engine

    report("imported anvil-uplink and the engine")
    engine = Engine(models.MODEL_IDS, args.models_dir or models.MODELS_DIR)
    report("loaded and warmed up both models")

    samples = [(path.name, path.read_bytes()) for path in sorted(SAMPLES_DIR.iterdir())]
    for name, data in samples:
        for model in engine.choices:
            engine.classify(data, model, name)
    report("classified every sample with every model")

    calls = [samples[i % len(samples)] for i in range(CONCURRENT_CALLS)]
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda call: engine.classify(call[1], "ensemble", call[0]), calls))
    report(f"{CONCURRENT_CALLS} ensemble calls from {THREADS} threads")

    engine.classify(big_upload, "cnn", "largest.png")
    report(f"one upload of {MAX_PIXELS / 1e6:.0f} million RGBA pixels ({len(big_upload) / 2**20:.1f} MB PNG)")
    engine.close()
    print(json.dumps({"tensorflow_loaded": "tensorflow" in sys.modules}))


if __name__ == "__main__":
    main()
