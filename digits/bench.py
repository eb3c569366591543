"""`digits bench`: how fast the engine turns PNG bytes into answers, next to a naive Keras app.

Inputs are MNIST test digits saved as PNG files' bytes, as a person would upload them. Figures:
single-image end-to-end latency (p50, p99) per model; the same for a naive baseline that calls
`model.predict` once per image; bulk throughput; throughput with 1 and with 16 concurrent callers.
"""

import io
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

import models
from digits.engine import Engine
from digits.preprocessing import prepare_upload, to_model_input


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def percentiles_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "n": len(ms)}


def time_each(function, items) -> list[float]:
    times = []
    for item in items:
        started = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - started)
    return times


def naive_latency(uploads: list[bytes], model_id: str = "cnn") -> dict:
    """A plain Keras app: the same preprocessing, then one `model.predict` call per request."""
    import keras

    model = keras.saving.load_model(models.model_path(model_id), compile=False)
    predict = lambda data: model.predict(to_model_input(prepare_upload(data).pixels[np.newaxis]), verbose=0)
    predict(uploads[0])
    return percentiles_ms(time_each(predict, uploads))


def concurrent_throughput(engine: Engine, uploads: list[bytes], callers: int, model: str = "cnn") -> float:
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(lambda data: engine.classify(data, model), uploads[:callers]))  # threads up and warm
        started = time.perf_counter()
        list(pool.map(lambda data: engine.classify(data, model), uploads))
        return len(uploads) / (time.perf_counter() - started)


def run_benchmark(test_images: np.ndarray, single: int = 500, naive: int = 50, concurrent: int = 1000,
                  bulk: int = 2000) -> dict:
    uploads = [png_bytes(pixels) for pixels in test_images[:max(single, concurrent, bulk)]]
    with Engine() as engine:
        figures = {
            model: percentiles_ms(time_each(lambda data: engine.classify(data, model), uploads[:single]))
            for model in engine.model_ids
        }
        figures["naive"] = naive_latency(uploads[:naive])
        started = time.perf_counter()
        engine.classify_batch([(None, data) for data in uploads[:bulk]])
        figures["batch_images_per_s"] = round(bulk / (time.perf_counter() - started), 1)
        figures["concurrent_1_images_per_s"] = round(concurrent_throughput(engine, uploads[:concurrent], 1), 1)
        figures["concurrent_16_images_per_s"] = round(concurrent_throughput(engine, uploads[:concurrent], 16), 1)
    figures["speedup_vs_naive_cnn"] = round(figures["naive"]["p50_ms"] / figures["cnn"]["p50_ms"], 1)
    figures["concurrency_gain_16_vs_1"] = round(
        figures["concurrent_16_images_per_s"] / figures["concurrent_1_images_per_s"], 2)
    return figures
