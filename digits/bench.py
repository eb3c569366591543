"""`digits bench`: how fast and how lean the engine turns PNG bytes into answers, against the alternatives.

Inputs are MNIST test digits saved as PNG files' bytes, as a person would upload them. Figures, all
from one run (the ratios are what to compare; absolute times drift with the machine's load):
- the evidence map's latency per model (digits/explain.py; `digits bench --explanations` times only it);
- single-image end-to-end latency (p50, p99) per model on LiteRT (the engine as it serves);
- the Python API (`digits.Reader`) beside the engine it calls, on the same 28x28 uploads, and on the
  same digits given as uint8 arrays;
- a naive Keras app: the same preprocessing, then `model.predict` once per image;
- bulk throughput, and throughput with 1 and with 16 concurrent callers while every caller is busy (and
  over whole rounds, their drain included), with the CPU time each request costs (this process and its
  worker processes), the cores that kept busy, and the bound the CPU sets on the cores there are;
- a whole number: `read_number` (the number reader, the CNN confirming digits apart) on 6 test digits
  written in a row on white paper (p50, p99);
- a serving process of its own (engine and anvil-uplink, as `digits serve` loads them): cold start
  (process start to models ready) and resident memory after warm-up and after 1,000 calls;
- photos (`digits bench --photos` times only these): phone photos of a page on a table as JPEG at
  1200x900, 3000x2250 and 4032x3024, each one's answer (p50) beside the time Pillow takes only to
  decode the file at no less than the working size (its JPEG draft), the target of 2 x that + 8 ms
  and whether it is met (also in the thread's CPU time), and the reading's own decode stage;
- a folder run: 2,000 mixed uploads (phone photos, scanned pages, CSVs, 28x28 PNGs: `mixed_uploads`)
  through `Engine.classify_batches` in groups of 64, prepared one after another in this process, then by
  a pool of one process per core (`preparation_pool`, a group ahead), as `digits classify DIR` does: from
  the pool's making (its start included, files prepared here while it starts) and warm; the start's
  length; each way's CPU time per upload.
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import models
from digits.engine import SWITCH_INTERVAL_S, Engine, available_cores, preparation_pool
from digits.preprocessing import IMAGE_SIZE, per_call, prepare_upload, to_model_input
from digits.preprocessing.decode import decode
from digits.preprocessing.working import WORK_MAX_SIDE

PROBE_CALLS = 1000
PHOTO_SIZES = ((1200, 900), (3000, 2250), (4032, 3024))  # a small phone photo, 7 and 12 megapixels


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


def tensorflow_importable() -> bool:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def six_digit_numbers(test_images: np.ndarray, count: int) -> list[bytes]:
    """`count` numbers of 6 MNIST test digits side by side (some gaps tight), dark on white, 84 px tall."""
    numbers = []
    for start in range(0, 6 * count, 6):
        cols = [image[:, image.max(axis=0) > 0] for image in test_images[start:start + 6]]
        gaps = [np.zeros((IMAGE_SIZE, 1 + (i * 3 + start) % 6), np.uint8) for i in range(6)]
        row = np.concatenate([np.zeros((IMAGE_SIZE, 10), np.uint8)] + [a for pair in zip(cols, gaps) for a in pair]
                             + [np.zeros((IMAGE_SIZE, 10), np.uint8)], axis=1)
        image = Image.fromarray(255 - row).resize((row.shape[1] * 3, IMAGE_SIZE * 3), Image.Resampling.BICUBIC)
        numbers.append(png_bytes(np.asarray(image)))
    return numbers


def number_latency(engine: Engine, uploads: list[bytes]) -> dict:
    from digits.numbers import read_number

    read_number(engine, uploads[0])  # loads the number reader
    return percentiles_ms(time_each(lambda data: read_number(engine, data, "cnn"), uploads))


def engine_latency(engine: Engine, uploads: list[bytes]) -> dict:
    return {model: percentiles_ms(time_each(lambda data: engine.classify(data, model), uploads))
            for model in engine.model_ids}


def api_latency(engine: Engine, uploads: list[bytes], arrays: np.ndarray, model: str = "cnn") -> dict:
    """`Reader.classify` against `Engine.classify` on the same PNG bytes, timed in turns so both meet the
    same machine; and `Reader.classify` on the same digits as uint8 arrays (written as PNG first)."""
    from digits.reader import Reader

    reader = Reader(model, engine=engine)
    engine_times, api_times, array_times = [], [], []
    for number, (data, pixels) in enumerate(zip(uploads, arrays)):
        turns = [(engine_times, lambda item: engine.classify(item, model)), (api_times, reader.classify)]
        for times, classify in turns[::-1] if number % 2 else turns:  # each goes first half the time
            times += time_each(classify, [data])
        array_times += time_each(reader.classify, [pixels])
    figures = {"engine": percentiles_ms(engine_times), "api": percentiles_ms(api_times),
               "api_array": percentiles_ms(array_times)}
    figures["api_vs_engine_p50"] = round(figures["api"]["p50_ms"] / figures["engine"]["p50_ms"], 3)
    return figures


def naive_latency(uploads: list[bytes], model_id: str = "cnn") -> dict:
    """A plain Keras app: the same preprocessing, then one `model.predict` call per request."""
    model = models.load_keras_model(model_id)
    predict = lambda data: model.predict(to_model_input(prepare_upload(data).pixels[np.newaxis]), verbose=0)
    predict(uploads[0])
    return percentiles_ms(time_each(predict, uploads))


def concurrent_throughput(engine: Engine, uploads: list[bytes], callers: int, model: str = "cnn",
                          pool: ThreadPoolExecutor | None = None) -> float:
    """Images per second from `callers` threads; `pool`, when given, holds those threads already warm."""
    return concurrent_rates(engine, uploads, callers, model, pool)[0]


def concurrent_rates(engine: Engine, uploads: list[bytes], callers: int, model: str = "cnn",
                     pool: ThreadPoolExecutor | None = None) -> tuple[float, float]:
    """Images per second from `callers` threads over the whole run, and while every caller had a call in
    flight: from the start until the last upload was taken up, counting the calls answered by then. A
    server under steady load is always in the second state; the first adds the drain at the run's end,
    when the last calls leave cores idle (docs/speed.md, *16 callers, eleventh round*). With too few
    uploads for any to be answered before the last is taken up, both are the whole run's rate.
    `pool`, when given, holds the threads already warm."""
    if pool is None:
        with ThreadPoolExecutor(callers) as pool:
            list(pool.map(lambda data: engine.classify(data, model), uploads[:callers]))  # threads up and warm
            return concurrent_rates(engine, uploads, callers, model, pool)
    taken, answered = [], []  # (list.append is atomic: no lock among the callers)

    def call(data: bytes):
        taken.append(time.perf_counter())
        result = engine.classify(data, model)
        answered.append(time.perf_counter())
        return result

    started = time.perf_counter()
    list(pool.map(call, uploads))
    whole = len(uploads) / (time.perf_counter() - started)
    last_taken = max(taken)
    answered_by_then = sum(1 for moment in answered if moment <= last_taken)
    return whole, (answered_by_then / (last_taken - started) if answered_by_then else whole)


def concurrent_in_turns(engine: Engine, uploads: list[bytes], rounds: int = 4, model: str = "cnn") -> dict:
    """Images per second with 1 and with 16 callers, in turns over `rounds` slices of the uploads (a machine
    whose load changes slows both alike), and the median of 16 over 1 within a round, while every caller
    is busy (`concurrent_rates`: a server under steady load never drains) and over the whole round, its
    drain included. The callers are threads that stay up between rounds and switch as often as the
    server's (its Uplink threads do both).
    Also the CPU time per request (this process and its worker processes, over all the rounds), the
    cores it kept busy (CPU per request x requests a second, over whole rounds: 16 callers at 2.0 on two
    cores leave none idle) and the bound the CPU sets on 16 over 1 however busy the machine is: a lone
    caller keeps one core busy, so the cores there are read at most cores x (CPU per request, 1 caller) /
    (CPU per request, 16 callers) times as many (docs/speed.md)."""
    steady, whole, cpu_s = {1: [], 16: []}, {1: [], 16: []}, {1: 0.0, 16: 0.0}
    size = max(1, len(uploads) // rounds)

    def timed(pool: ThreadPoolExecutor, callers: int, window: list[bytes]) -> None:
        pids = engine.lanes.worker_pids() if engine.lanes else ()
        started = cpu_seconds(pids)
        rate, steady_rate = concurrent_rates(engine, window, callers, model, pool)
        cpu_s[callers] += cpu_seconds(pids) - started
        whole[callers].append(rate)
        steady[callers].append(steady_rate)

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        with ThreadPoolExecutor(1) as one_caller, ThreadPoolExecutor(16) as sixteen_callers:
            for pool in (one_caller, sixteen_callers):  # threads up, and every worker process warm
                list(pool.map(lambda data: engine.classify(data, model), uploads[:64]))
            for start in range(0, size * rounds, size):
                timed(one_caller, 1, uploads[start:start + size])
                timed(sixteen_callers, 16, uploads[start:start + size])
    finally:
        sys.setswitchinterval(switch_interval)
    cpu_1, cpu_16 = (1000 * cpu_s[callers] / (size * rounds) for callers in (1, 16))
    gain = lambda rates: round(float(np.median(np.array(rates[16]) / np.array(rates[1]))), 2)  # noqa: E731
    return {"concurrent_1_images_per_s": round(float(np.median(steady[1])), 1),
            "concurrent_16_images_per_s": round(float(np.median(steady[16])), 1),
            "concurrency_gain_in_a_round": gain(steady),
            "concurrency_gain_in_a_round_with_drain": gain(whole),
            "concurrent_1_cpu_ms_per_request": round(cpu_1, 3), "concurrent_16_cpu_ms_per_request": round(cpu_16, 3),
            **{f"concurrent_{callers}_cores_busy": round(cpu * float(np.median(whole[callers])) / 1000, 2)
               for callers, cpu in ((1, cpu_1), (16, cpu_16))},
            "concurrency_gain_bound_by_cpu": round(available_cores() * cpu_1 / cpu_16, 2) if cpu_16 else None}


def serving_process(uploads: list[bytes], calls: int = PROBE_CALLS) -> dict:
    """Cold start and memory of a fresh process that loads what `digits serve` loads (see `probe`)."""
    with tempfile.TemporaryDirectory() as folder:
        for number, data in enumerate(uploads):
            (Path(folder) / f"{number:04d}.png").write_bytes(data)
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "digits.bench", folder, str(calls)],
                                   stdout=subprocess.PIPE, text=True)
        ready = json.loads(process.stdout.readline())
        cold_start_s = time.perf_counter() - started
        done = json.loads(process.stdout.readline())
        process.wait(timeout=60)
    return {"cold_start_s": round(cold_start_s, 3), "rss_after_warmup_mib": ready["rss_mib"],
            "rss_after_calls_mib": done["rss_mib"], "peak_rss_mib": done["peak_rss_mib"], "calls": calls,
            "worker_processes": done["worker_processes"], "worker_processes_rss_mib": done["worker_processes_rss_mib"],
            "tensorflow_loaded": done["tensorflow_loaded"]}


def run_benchmark(test_images: np.ndarray, single: int = 500, naive: int = 50, concurrent: int = 1000,
                  bulk: int = 2000) -> dict:
    uploads = [png_bytes(pixels) for pixels in test_images[:max(single, concurrent, bulk)]]
    figures = {"serving_process": serving_process(uploads[:100])}  # first, while this process is small
    with Engine(processes=None) as engine:  # as `digits serve` runs it: worker processes for concurrent calls
        if engine.lanes:
            engine.lanes.wait_until_ready()
        figures.update(engine_latency(engine, uploads[:single]))
        figures["read_number_6_digits"] = number_latency(engine, six_digit_numbers(test_images, max(10, single // 3)))
        figures["api_cnn"] = api_latency(engine, uploads[:single], test_images[:single])
        started = time.perf_counter()
        engine.classify_batch([(None, data) for data in uploads[:bulk]])
        figures["batch_images_per_s"] = round(bulk / (time.perf_counter() - started), 1)
        figures.update(concurrent_in_turns(engine, uploads[:concurrent]))
        figures["explanation"] = explanation_latency(engine, test_images[:min(single, 200)])
        figures["workers"] = engine.workers
        figures["worker_processes"] = engine.lanes.processes if engine.lanes else 0
        figures["photos"] = photo_latency(engine, test_images, repeat=max(1, min(5, single // 100)))
        figures["folder"] = folder_throughput(engine, mixed_uploads(test_images, bulk))
    figures["concurrency_gain_16_vs_1"] = round(
        figures["concurrent_16_images_per_s"] / figures["concurrent_1_images_per_s"], 2)
    if not tensorflow_importable():
        return figures
    figures["naive"] = naive_latency(uploads[:naive], "cnn")
    figures["naive_vit"] = naive_latency(uploads[:naive], "vit")
    for model, naive_figures in (("cnn", figures["naive"]), ("vit", figures["naive_vit"])):
        figures[f"speedup_vs_naive_{model}"] = round(naive_figures["p50_ms"] / figures[model]["p50_ms"], 1)
    return figures


def page_photo(digit: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> bytes:
    """A phone photo (JPEG) of a digit written on a light page lying on a wooden table, lit from one side."""
    width, height = size
    small_w, small_h = width // 4, height // 4  # drawn at a quarter of the size, then enlarged as a lens blurs
    picture = np.empty((small_h, small_w, 3), np.float32)
    picture[:] = (128, 96, 70)
    picture += rng.normal(0, 6, (small_h, 1, 1)) * np.sin(np.arange(small_w) / 9.0)[None, :, None]  # grain
    top, left, bottom, right = small_h // 6, small_w // 5, small_h * 5 // 6, small_w * 4 // 5
    picture[top:bottom, left:right] = (236, 233, 226)
    side = (bottom - top) // 2
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), np.float32)[..., None] / 255
    y, x = top + (bottom - top - side) // 2 + int(rng.integers(-side // 4, side // 4)), (left + right - side) // 2
    picture[y:y + side, x:x + side] = picture[y:y + side, x:x + side] * (1 - ink) + np.array([35, 38, 60]) * ink
    picture *= (0.75 + 0.25 * np.arange(small_w) / small_w)[None, :, None]  # light from the right
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    noisy = np.asarray(image, np.int16) + rng.integers(-3, 4, (height, width, 1), dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def draft_decode(data: bytes) -> Image.Image:
    """Only decoding a JPEG at no less than the working size (Pillow's draft): the issue's reference. The
    reading decodes smaller where the decoder can make the working size itself (`pipeline_decode_p50_ms`:
    its decode stage, pixels ready for the next)."""
    image = Image.open(io.BytesIO(data))
    shrink = max(image.size) / WORK_MAX_SIDE
    image.draft("RGB", (int(image.width / shrink), int(image.height / shrink)))
    image.load()
    return image


def photo_latency(engine: Engine, test_images: np.ndarray, test_labels: np.ndarray | None = None,
                  per_size: int = 3, repeat: int = 5, model: str = "cnn") -> dict:
    """Per photo size: the answer's latency (p50, `Engine.classify`) and the draft decode's, timed in turns,
    against the target (2 x the decode + 8 ms); also both in this thread's CPU time, less swayed by other
    processes on a busy machine (the model runs in the calling thread when a copy is free, as here)."""
    figures = {}
    rng = np.random.default_rng(0)
    for width, height in PHOTO_SIZES:
        photos = [page_photo(digit, (width, height), rng) for digit in test_images[:per_size]]
        engine.classify(photos[0], model)  # warm
        decodes, own_decodes, answers, results, decode_cpu, answer_cpu = [], [], [], [], [], []
        for _ in range(repeat):
            for data in photos:
                cpu = time.thread_time()
                decodes += time_each(draft_decode, [data])
                decode_cpu.append(time.thread_time() - cpu)
                own_decodes += time_each(lambda item: decode(item, "photo.jpg"), [data])
                cpu, started = time.thread_time(), time.perf_counter()
                results.append(engine.classify(data, model))
                answers.append(time.perf_counter() - started)
                answer_cpu.append(time.thread_time() - cpu)
        decode_ms, answer_ms = percentiles_ms(decodes)["p50_ms"], percentiles_ms(answers)["p50_ms"]
        decode_cpu_ms, answer_cpu_ms = percentiles_ms(decode_cpu)["p50_ms"], percentiles_ms(answer_cpu)["p50_ms"]
        figures[f"{width}x{height}"] = {
            "answer_p50_ms": answer_ms, "draft_decode_p50_ms": decode_ms,
            "target_ms": round(2 * decode_ms + 8, 3), "target_met": answer_ms <= round(2 * decode_ms + 8, 3),
            "answer_vs_decode": round(answer_ms / decode_ms, 2),
            "answer_cpu_p50_ms": answer_cpu_ms, "draft_decode_cpu_p50_ms": decode_cpu_ms,
            "target_met_in_cpu_time": answer_cpu_ms <= 2 * decode_cpu_ms + 8,
            "pipeline_decode_p50_ms": percentiles_ms(own_decodes)["p50_ms"],
            "megabytes": round(sum(map(len, photos)) / len(photos) / 2**20, 2),
            **({"right": round(float(np.mean([r.digit == test_labels[i % per_size]
                                               for i, r in enumerate(results)])), 3)}
               if test_labels is not None else {})}
    return figures


def photo_table(photos: dict) -> str:
    """`photo_latency`'s figures as lines a person reads: each size's answer beside its decode and the target."""
    lines = ["photo (JPEG)   answer p50   draft decode p50   target (2 x decode + 8 ms)   met    in CPU time: answer / target"]
    for size, row in photos.items():
        cpu_target = 2 * row["draft_decode_cpu_p50_ms"] + 8
        lines.append(f"{size:<14} {row['answer_p50_ms']:8.1f} ms {row['draft_decode_p50_ms']:14.1f} ms "
                     f"{row['target_ms']:22.1f} ms     {'yes' if row['target_met'] else 'NO ':<6} "
                     f"{row['answer_cpu_p50_ms']:.1f} / {cpu_target:.1f} ms ({'met' if row['target_met_in_cpu_time'] else 'not met'})")
    return "\n".join(lines)


def page_scan(digit: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (850, 1100)) -> bytes:
    """A scanned page (greyscale PNG, 100 dpi letter): a digit written a little off the middle of a
    white sheet, the scanner's faint noise and a grey edge where the lid did not close."""
    width, height = size
    page = np.full((height, width), 246, np.float32) + rng.normal(0, 2, (height, width))
    page[:, :12] = 200  # the lid's shadow
    side = int(rng.integers(90, 160))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255
    y, x = int(rng.integers(height // 4, height // 2)), int(rng.integers(width // 4, width // 2))
    page[y:y + side, x:x + side] = page[y:y + side, x:x + side] * (1 - ink) + 40 * ink
    buffer = io.BytesIO()
    Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def digits_csv(images: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """A CSV of digits as MNIST's CSV copies hold them: one row of 784 values each, after a label."""
    header = (["label"] if labels is not None else []) + [f"pixel{i}" for i in range(IMAGE_SIZE * IMAGE_SIZE)]
    rows = [",".join(header)]
    for number, image in enumerate(images):
        values = image.reshape(-1).tolist()
        rows.append(",".join(map(str, ([int(labels[number])] if labels is not None else []) + values)))
    return ("\n".join(rows) + "\n").encode()


def mixed_uploads(test_images: np.ndarray, count: int) -> list[tuple[str, bytes]]:
    """`count` uploads as a folder of mixed uploads holds them, in each eight: two 1200x900 phone photos
    (JPEG), a scanned page (PNG), a CSV of four digits and four 28x28 PNGs."""
    rng = np.random.default_rng(1)
    photos = [page_photo(digit, PHOTO_SIZES[0], rng) for digit in test_images[:8]]
    scans = [page_scan(digit, rng) for digit in test_images[8:16]]

    def upload(n: int) -> tuple[str, bytes]:
        if n % 8 in (0, 4):
            return f"{n:05d}.jpg", photos[n // 4 % len(photos)]
        if n % 8 == 2:
            return f"{n:05d}-scan.png", scans[n // 8 % len(scans)]
        if n % 8 == 6:
            return f"{n:05d}.csv", digits_csv(test_images[n:n + 4])
        return f"{n:05d}.png", png_bytes(test_images[n])

    return [upload(n) for n in range(count)]


def cpu_seconds(pids=()) -> float:
    """CPU time so far of this process (all its threads) and of the processes `pids` (Linux)."""
    total = sum(os.times()[:2])
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def folder_throughput(engine: Engine, uploads: list[tuple[str, bytes]], model: str = "cnn") -> dict:
    """Uploads per second through `classify_batches` in groups of 64, prepared one after another in this
    process (as before folder runs used processes), then by a pool of one process per worker, as `digits
    classify DIR` does: first from the pool's making, its start included (this process prepares files
    while the pool's processes start: `PreparationPool`), then again with the pool warm; the answers must
    agree. The start is this process's first forkserver pool's (a later pool's server is running already).
    Also the pool's start alone (from its making to its first answer), the uploads prepared here meanwhile,
    and the ratio as it was taken before the start was hidden (the warm run plus the start, one after the
    other); each way's CPU time per upload (this process and the pool's), and from them, where other
    programs share the cores (a busy machine gives this command only its share of them), an ESTIMATE of
    the ratio on cores of its own: the pool's processes each on a core, at the rate their CPU time per
    upload allows, against the process alone at its own."""
    def run(pool, pids=()) -> tuple[float, float, list]:
        started, cpu, results = time.perf_counter(), cpu_seconds(pids), []
        for group in engine.classify_batches(per_call(uploads), model, pool=pool):
            results += group
        return (time.perf_counter() - started, cpu_seconds(pids) - cpu,
                [(getattr(r, "digit", None), getattr(r, "error", None)) for r in results])

    serial_s, serial_cpu, serial_answers = run(None)
    figures = {"uploads": len(uploads), "workers": engine.workers, "serial_per_s": round(len(uploads) / serial_s, 1),
               "serial_cpu_ms_per_upload": round(1000 * serial_cpu / len(uploads), 2)}
    started = time.perf_counter()
    pool = preparation_pool(engine.workers)
    if pool is None:
        return figures
    try:
        with_start_answers = run(pool)[2]
        with_start_s = time.perf_counter() - started  # from the pool's making: its start included
        pool.ready.result()
        pids = list(pool._processes)  # (the executor's own record of its processes)
        parallel_s, parallel_cpu, parallel_answers = run(pool, pids)
    finally:
        pool.shutdown()
    own_cores = min(engine.workers, available_cores())
    return {**figures, "pool_start_s": round(pool.start_s, 2),
            "prepared_here_while_pool_started": pool.prepared_while_starting,
            "parallel_per_s": round(len(uploads) / parallel_s, 1),
            "parallel_vs_serial": round(serial_s / parallel_s, 2),
            "parallel_with_start_vs_serial": round(serial_s / with_start_s, 2),
            "parallel_with_start_apart_vs_serial": round(serial_s / (parallel_s + pool.start_s), 2),
            "parallel_cpu_ms_per_upload": round(1000 * parallel_cpu / len(uploads), 2),
            "parallel_vs_serial_on_own_cores_estimated": round(own_cores * serial_cpu / parallel_cpu, 2),
            "load_average": round(os.getloadavg()[0], 1),
            "same_answers": serial_answers == parallel_answers == with_start_answers}


def run_photo_benchmark(test_images: np.ndarray, test_labels: np.ndarray | None = None, folder: int = 512,
                        repeat: int = 5) -> dict:
    """`digits bench --photos`: the photo sizes against their decode, and a folder run's throughput."""
    with Engine() as engine:
        return {"workers": engine.workers, "photos": photo_latency(engine, test_images, test_labels, repeat=repeat),
                "folder": folder_throughput(engine, mixed_uploads(test_images, folder))}


def explanation_latency(engine: Engine, test_images: np.ndarray) -> dict:
    """Per model: the time to compute one evidence map (Engine.explain) for a digit it answered, and,
    timed in turn with it (a busy machine slows both alike), one answer for the same 28x28 image."""
    figures = {}
    for model in engine.model_ids:
        digits = engine.predict_probabilities(model, test_images).argmax(axis=1)
        engine.explain(model, test_images[0], int(digits[0]))  # warm
        maps, answers = [], []
        for image, digit in zip(test_images, digits.tolist()):
            maps += time_each(lambda item: engine.explain(model, item, digit), [image])
            answers += time_each(lambda item: engine.predict_one(model, item), [image])
        figures[model] = {**percentiles_ms(maps), "one_answer_p50_ms": percentiles_ms(answers)["p50_ms"]}
        figures[model]["map_vs_one_answer"] = round(figures[model]["p50_ms"] / figures[model]["one_answer_p50_ms"], 1)
    return figures


def run_explanation_benchmark(test_images: np.ndarray, count: int = 200) -> dict:
    """`digits bench --explanations`: only the evidence maps' latency, on MNIST test digits."""
    with Engine() as engine:
        return {"explanation": explanation_latency(engine, test_images[:count])}


def rss_mib(field: str = "VmRSS", pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} in /proc/self/status: this needs Linux")


def probe(folder: Path, calls: int) -> None:
    """The serving process `serving_process` starts: one JSON line when the models are ready and warm,
    another after `calls` classifications (CNN, ViT and ensemble in turn)."""
    import anvil.server  # noqa: F401  (the server imports it)

    uploads = [path.read_bytes() for path in sorted(folder.iterdir())]
    with Engine(processes=None) as engine:  # as `digits serve` starts it
        print(json.dumps({"rss_mib": rss_mib()}), flush=True)
        for number in range(calls):
            engine.classify(uploads[number % len(uploads)], engine.choices[number % len(engine.choices)])
        workers = engine.lanes.worker_pids() if engine.lanes and engine.lanes.wait_until_ready() else []
        print(json.dumps({"rss_mib": rss_mib(), "peak_rss_mib": rss_mib("VmHWM"),
                          "worker_processes": len(workers),
                          "worker_processes_rss_mib": round(sum(rss_mib("VmRSS", pid) for pid in workers), 1),
                          "tensorflow_loaded": "tensorflow" in sys.modules}), flush=True)


if __name__ == "__main__":
    probe(Path(sys.argv[1]), int(sys.argv[2]))
