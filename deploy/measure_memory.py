"""Measure the uplink server's peak memory, to size the container (deploy/README.md, "Sizing").

Does in one process what a serving process does: import the Anvil uplink library and the LiteRT engine, load
and warm up the models with the server's own engine, classify every sample with every model, run a
burst of concurrent calls, then the heaviest uploads the limits allow: the picture with the most pixels
(a small PNG of MAX_PIXELS RGBA pixels, which is what costs memory to decode), alone and from 16
threads at once, and calls carrying as many bytes as one call may. After each step it prints, as a
JSON line, the process's peak resident memory during that step and since the start (VmHWM in
/proc/self/status, reset between steps through /proc/self/clear_refs; Linux only).

    python deploy/measure_memory.py [--models-dir models] [--skip-warm-up]

With --formats it measures instead what decoding one picture of MAX_PIXELS costs in each format
(what decode.DECODER_COPIES records), without TensorFlow: several minutes, most of them spent
encoding the HEIC and AVIF test files.
"""

import argparse
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
CONCURRENT_CALLS = 64
THREADS = 8
LARGE_AT_ONCE = 16
STATUS = Path("/proc/self/status")


def status_mib(field: str) -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {STATUS}: this needs Linux")


class PeakMemory:
    """The process's peak resident memory, overall and per step."""

    def __init__(self):
        self.overall = status_mib("VmHWM")

    def step(self, name: str) -> None:
        step_peak = status_mib("VmHWM")
        self.overall = max(self.overall, step_peak)
        print(json.dumps({"step": name, "step_peak_rss_mib": round(step_peak, 1),
                          "peak_rss_mib": round(self.overall, 1)}), flush=True)
        Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from what is resident now


def most_pixels_picture(pixels: int):
    """A drawing with as many RGBA pixels as the limit allows: a ring on white."""
    from PIL import Image, ImageDraw

    side = int(pixels ** 0.5)
    image = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    ImageDraw.Draw(image).ellipse((side // 3, side // 4, 2 * side // 3, 3 * side // 4), outline="black",
                                  width=side // 40)
    return image


def most_pixels_upload(pixels: int) -> bytes:
    """That drawing as a PNG (190 KB): the most memory one upload can take to decode."""
    return _png(most_pixels_picture(pixels))


def most_bytes_upload(max_bytes: int) -> bytes:
    """A photo-like PNG (grain does not compress) just under the per-file byte limit."""
    from PIL import Image

    side = int((max_bytes * 0.95 / 3) ** 0.5)
    grain = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    data = _png(Image.fromarray(grain))
    assert len(data) <= max_bytes, len(data)
    return data


def _png(image) -> bytes:
    return _encoded(image, "PNG")


def _encoded(image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


# (format, mode, options) of the largest picture in each format that stays under the per-file limit
FORMATS = [("PNG", "RGBA", {}), ("PNG", "I;16", {}), ("TIFF", "RGBA", {"compression": "tiff_adobe_deflate"}),
           ("GIF", "P", {}), ("JPEG", "RGB", {}), ("WEBP", "RGBA", {"quality": 50, "method": 0}),
           ("AVIF", "RGB", {"speed": 10, "quality": 30}), ("HEIF", "RGB", {"quality": 10})]


def measure_formats() -> None:
    """The memory that decoding one picture of MAX_PIXELS takes, in each format."""
    from digits.preprocessing import MAX_PIXELS, prepare_upload

    picture = most_pixels_picture(MAX_PIXELS)
    for image_format, mode, options in FORMATS:
        data = _encoded(picture if mode == "RGBA" else picture.convert(mode), image_format, **options)
        Path("/proc/self/clear_refs").write_text("5")
        resident = status_mib("VmRSS")
        prepare_upload(data, f"largest.{image_format.lower()}")
        print(json.dumps({"format": image_format, "mode": mode, "file_mib": round(len(data) / 2**20, 2),
                          "decode_mib": round(status_mib("VmHWM") - resident, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, help="folder with cnn.keras and vit.keras (default: the shipped ones)")
    parser.add_argument("--skip-warm-up", action="store_true", help="only the heaviest uploads, not the samples")
    parser.add_argument("--at-once", type=int, default=LARGE_AT_ONCE, help="concurrent heaviest uploads (default 16)")
    parser.add_argument("--formats", action="store_true", help="what one largest picture costs in each format")
    args = parser.parse_args()
    if args.formats:
        return measure_formats()

    from digits.preprocessing import MAX_BYTES_PER_CALL, MAX_FILE_BYTES, MAX_FILES_PER_CALL, MAX_PIXELS

    big_picture = most_pixels_upload(MAX_PIXELS)  # made first, so making them does not count as serving
    big_file = most_bytes_upload(MAX_FILE_BYTES)
    heaviest_call = [big_file] * min(MAX_FILES_PER_CALL, MAX_BYTES_PER_CALL // len(big_file))
    memory = PeakMemory()
    memory.step("started, test uploads made")

    import anvil.server  # noqa: F401  (the server imports it)

    import models
    from digits.engine import Engine

    memory.step("imported anvil-uplink and the engine (LiteRT)")
    engine = Engine(models.MODEL_IDS, args.models_dir or models.MODELS_DIR)
    memory.step("loaded and warmed up both models")

    if not args.skip_warm_up:
        samples = [(path.name, path.read_bytes()) for path in sorted(SAMPLES_DIR.iterdir())]
        for name, data in samples:
            for model in engine.choices:
                engine.classify(data, model, name)
        memory.step("classified every sample with every model")
        calls = [samples[i % len(samples)] for i in range(CONCURRENT_CALLS)]
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda call: engine.classify(call[1], "ensemble", call[0]), calls))
        memory.step(f"{CONCURRENT_CALLS} ensemble calls from {THREADS} threads")

    engine.classify(big_picture, "cnn", "largest.png")
    memory.step(f"one upload of {MAX_PIXELS / 1e6:.0f} million RGBA pixels ({len(big_picture) / 2**20:.2f} MB PNG)")
    with ThreadPoolExecutor(args.at_once) as pool:
        list(pool.map(lambda _: engine.classify(big_picture, "cnn", "largest.png"), range(args.at_once)))
    memory.step(f"{args.at_once} such uploads at once, from {args.at_once} threads")

    def heaviest(_):  # each call arrives with its own copy of its files' bytes
        return engine.classify_batch([(f"grain-{i}.png", bytes(memoryview(data))) for i, data in enumerate(heaviest_call)])

    with ThreadPoolExecutor(args.at_once) as pool:
        list(pool.map(heaviest, range(args.at_once)))
    memory.step(f"{args.at_once} calls at once, each of {len(heaviest_call)} files of {len(big_file) / 2**20:.1f} MB "
                f"(the {MAX_BYTES_PER_CALL // 2**20} MB a call may carry)")
    engine.close()


if __name__ == "__main__":
    main()
