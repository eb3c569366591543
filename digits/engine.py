"""The inference engine: preprocessed uploads in, predictions out, fast and thread-safe.

Each model is loaded once, wrapped in a `tf.function` with a fixed input signature and warmed up, so a
call runs a ready graph instead of `model.predict`'s per-call setup. Calls from many threads are
coalesced: one worker thread per model takes every request waiting in its queue and runs them as one
batch (micro-batching, as TF Serving does), so concurrent users share each model call and a lone
caller waits for nobody.
"""

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import models
from digits.preprocessing import (
    IMAGE_SIZE,
    MAX_CSV_ROWS,
    InputError,
    PreparedImage,
    prepare_file,
    prepare_upload,
    preview_png,
    to_model_input,
)

ENSEMBLE = "ensemble"
MODEL_CHOICES = (*models.MODEL_IDS, ENSEMBLE)


class UnknownModelError(InputError):
    pass


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of log-probabilities / temperature: below 1 sharpens, above 1 softens, the ranking stays."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, None)) / temperature
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Classification:
    file: str | None
    model: str
    digit: int
    confidence: float
    probabilities: tuple[float, ...]
    warnings: tuple[str, ...]
    latency_ms: float
    pixels: np.ndarray = field(repr=False)  # the 28x28 uint8 image the model saw
    row: int | None = None  # a CSV of many digits: its data row, from 1
    label: int | None = None  # ... and the digit its label column gives

    @classmethod
    def of(cls, filename: str | None, model: str, probabilities: np.ndarray, image: PreparedImage,
           latency_ms: float) -> "Classification":
        digit = int(np.argmax(probabilities))
        return cls(file=filename, model=model, digit=digit, confidence=float(probabilities[digit]),
                   probabilities=tuple(float(p) for p in probabilities), warnings=image.warnings,
                   latency_ms=latency_ms, pixels=image.pixels, row=image.row, label=image.label)

    def to_dict(self) -> dict:
        return {
            **{key: value for key, value in (("row", self.row), ("label", self.label)) if value is not None},
            "file": self.file,
            "model": self.model,
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
            "warnings": list(self.warnings),
            "latency_ms": round(self.latency_ms, 3),
        }

    def preview_png(self, scale: int = 8) -> bytes:
        return preview_png(self.pixels, scale)


@dataclass(frozen=True)
class ClassificationError:
    """An input that could not be classified, and why, in words a person can act on."""

    file: str | None
    error: str

    def to_dict(self) -> dict:
        return {"file": self.file, "error": self.error}


class _BatchingRunner:
    """Runs one model; requests queued while it is busy go together in its next batch."""

    def __init__(self, predict_fn, max_batch: int):
        self._predict = predict_fn
        self._max_batch = max_batch
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self.requests_served = 0
        self.batches_run = 0
        self._thread = threading.Thread(target=self._serve, daemon=True, name="batcher")
        self._thread.start()

    def submit(self, image: np.ndarray) -> Future:
        future: Future = Future()
        self._requests.put((image, future))
        return future

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while (first := self._requests.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    break
                if request is None:
                    self._requests.put(None)  # stop after this batch
                    break
                batch.append(request)
            try:
                probabilities = self._predict(np.stack([image for image, _ in batch]))
            except Exception as error:  # the callers get the error; the worker lives on
                for _, future in batch:
                    future.set_exception(error)
                continue
            self.batches_run += 1
            self.requests_served += len(batch)
            for (_, future), row in zip(batch, probabilities):
                future.set_result(row)


def _compiled_predict(model, temperature: float):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1], tf.float32)],
                 reduce_retracing=True)
    def predict(images):
        return model(images, training=False)

    run = predict.get_concrete_function()  # called directly: skips tf.function's per-call dispatch (~0.2 ms)
    return lambda images: apply_temperature(run(tf.constant(images)).numpy(), temperature)


class Engine:
    def __init__(self, model_ids=models.MODEL_IDS, models_dir: Path = models.MODELS_DIR, max_batch: int = 64):
        import keras

        self.model_ids = tuple(model_ids)
        self.ensemble_weights = models.ensemble_weights(models_dir)
        self.cards = {}
        self._predict = {}
        for model_id in self.model_ids:
            model = keras.saving.load_model(models.model_path(model_id, models_dir), compile=False)
            card = models.card_path(model_id, models_dir)
            self.cards[model_id] = models.load_card(model_id, models_dir) if card.exists() else {}
            # The card's temperature (training/calibrate.py) makes the confidence mean what it says.
            self._predict[model_id] = _compiled_predict(model, self.cards[model_id].get("temperature", 1.0))
        for predict in self._predict.values():  # trace and warm up before the first user arrives
            for batch in (1, 8):
                predict(np.zeros((batch, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32))
        self._runners = {m: _BatchingRunner(self._predict[m], max_batch) for m in self.model_ids}

    @property
    def choices(self) -> tuple[str, ...]:
        both = all(m in self.model_ids for m in models.MODEL_IDS)
        return (*self.model_ids, ENSEMBLE) if both else self.model_ids

    def check_model(self, model: str) -> str:
        if model not in self.choices:
            raise UnknownModelError(f"Unknown model {model!r}; choose one of: {', '.join(self.choices)}.")
        return model

    def predict_probabilities(self, model: str, images: np.ndarray, chunk: int = 500) -> np.ndarray:
        """uint8 images (N, 28, 28) -> probabilities (N, 10), in large batches (evaluation, bulk CLI)."""
        self.check_model(model)
        if model == ENSEMBLE:
            return self._combine([self.predict_probabilities(m, images, chunk) for m in models.MODEL_IDS])
        inputs = to_model_input(images)
        return np.concatenate([self._predict[model](inputs[i:i + chunk]) for i in range(0, len(inputs), chunk)])

    def predict_one(self, model: str, pixels: np.ndarray) -> np.ndarray:
        """One 28x28 uint8 image -> its 10 probabilities, sharing a batch with concurrent callers."""
        self.check_model(model)
        model_input = to_model_input(pixels[np.newaxis])[0]
        members = models.MODEL_IDS if model == ENSEMBLE else (model,)
        futures = [self._runners[m].submit(model_input) for m in members]
        answers = [future.result() for future in futures]
        return self._combine(answers) if model == ENSEMBLE else answers[0]

    def _combine(self, per_model: list[np.ndarray]) -> np.ndarray:
        """The ensemble's probabilities: the members' (in models.MODEL_IDS order), weighted by their shares."""
        return np.average(per_model, axis=0, weights=[self.ensemble_weights[m] for m in models.MODEL_IDS])

    def classify_prepared(self, image: PreparedImage, model: str, filename: str | None = None,
                          started: float | None = None) -> Classification:
        started = time.perf_counter() if started is None else started
        probabilities = self.predict_one(model, image.pixels)
        return Classification.of(filename, model, probabilities, image, (time.perf_counter() - started) * 1000)

    def classify(self, data: bytes, model: str = "cnn", filename: str | None = None) -> Classification:
        """Upload bytes -> the model's verdict. Raises InputError for anything a person must fix."""
        started = time.perf_counter()
        self.check_model(model)
        return self.classify_prepared(prepare_upload(data, filename), model, filename, started)

    def classify_batch(self, uploads: list[tuple[str | None, bytes]], model: str = "cnn",
                       max_rows: int = MAX_CSV_ROWS) -> list[Classification | ClassificationError]:
        """Many uploads at once (the CLI, bulk jobs): each prepared alone, then batched model calls.

        A CSV of many digits gives one result per row; all files together may hold `max_rows` digits.
        """
        self.check_model(model)
        started = time.perf_counter()
        prepared: list[tuple[str | None, PreparedImage | ClassificationError]] = []
        for filename, data in uploads:
            try:
                images = prepare_file(data, filename)
            except InputError as error:
                images = [ClassificationError(filename, str(error))]
            if len(prepared) + len(images) > max_rows:
                images = [ClassificationError(filename, f"Too many digits in one call: this file would bring them "
                                                        f"past {max_rows:,}; please send it on its own.")]
            prepared += [(filename, image) for image in images]
        good = [image for _, image in prepared if isinstance(image, PreparedImage)]
        probabilities = iter(self.predict_probabilities(model, np.stack([image.pixels for image in good]))
                             if good else [])
        latency_ms = (time.perf_counter() - started) * 1000 / max(len(prepared), 1)
        return [image if isinstance(image, ClassificationError)
                else Classification.of(filename, model, next(probabilities), image, latency_ms)
                for filename, image in prepared]

    def compare(self, data: bytes, filename: str | None = None) -> list[Classification]:
        started = time.perf_counter()
        image = prepare_upload(data, filename)
        return [self.classify_prepared(image, model, filename, started) for model in self.model_ids]

    def batching_stats(self) -> dict[str, dict[str, int]]:
        """Per model: requests served and the model calls they took (fewer calls = more sharing)."""
        return {m: {"requests": r.requests_served, "batches": r.batches_run} for m, r in self._runners.items()}

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
