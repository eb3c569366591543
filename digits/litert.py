"""A model exported to LiteRT (`models/<id>.tflite`), run on XNNPACK at a few fixed batch sizes.

An interpreter is not thread-safe, so a `LiteRTModel` belongs to one thread (the engine's worker for
that model). It holds one interpreter per batch size, each allocated once: a call is split into
batches of those sizes, never padded, so no tensor is ever reallocated while serving.
"""

from pathlib import Path

import numpy as np

import models
from digits.preprocessing import IMAGE_SIZE

BATCH_SIZES = (1, 4, 16, 64)
THREADS_PER_INTERPRETER = 1  # each model has its own worker thread; more threads per call only contend here


class MissingModelError(FileNotFoundError):
    pass


def batch_plan(count: int, sizes: tuple[int, ...] = BATCH_SIZES) -> list[int]:
    """The fixed batch sizes that make up `count` images exactly: the largest that the rest fills, again
    and again. Never padded: on XNNPACK an image costs about the same at any batch size and a model call
    only about 0.04 ms more, so a padded image costs more than the calls it saves (thread CPU time, CNN
    and ViT: 3 images as 1+1+1 took 1.82 / 2.18 ms against 2.32 / 2.65 ms padded to 4; 14 as 4+4+4+1+1
    8.4 / 9.6 ms against 9.7 / 10.9 ms padded to 16; 60 as 16+16+16+4+4+4 36.0 / 40.6 ms against 39.7 /
    46.3 ms padded to 64)."""
    plan = []
    while count > 0:
        plan.append(max(size for size in sizes if size <= count))
        count -= plan[-1]
    return plan


class LiteRTModel:
    def __init__(self, path: Path, batch_sizes: tuple[int, ...] = BATCH_SIZES):
        from ai_edge_litert.interpreter import Interpreter

        self.batch_sizes = tuple(sorted(batch_sizes))
        self._interpreters = {}
        for size in self.batch_sizes:
            interpreter = Interpreter(model_path=str(path), num_threads=THREADS_PER_INTERPRETER)
            (image,), (output,) = interpreter.get_input_details(), interpreter.get_output_details()
            interpreter.resize_tensor_input(image["index"], [size, IMAGE_SIZE, IMAGE_SIZE, 1], strict=True)
            interpreter.allocate_tensors()
            self._interpreters[size] = (interpreter, image["index"], output["index"])

    def predict(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, 28, 28, 1) in [0, 1] -> probabilities (N, 10)."""
        if len(images) in self._interpreters:  # one batch of a size there is (a lone upload: 1): no split, no copies
            interpreter, image, output = self._interpreters[len(images)]
            interpreter.set_tensor(image, np.ascontiguousarray(images, dtype=np.float32))
            interpreter.invoke()
            return interpreter.get_tensor(output)
        answers, start = [], 0
        for size in batch_plan(len(images), self.batch_sizes):
            interpreter, image, output = self._interpreters[size]
            interpreter.set_tensor(image, np.ascontiguousarray(images[start:start + size], dtype=np.float32))
            interpreter.invoke()
            answers.append(interpreter.get_tensor(output))
            start += size
        return np.concatenate(answers) if answers else np.zeros((0, 10), np.float32)


def load_litert(model_id: str, models_dir: Path = models.MODELS_DIR) -> LiteRTModel:
    """The shipped LiteRT model; a clear error when it was not exported, or not from the current `.keras`."""
    path = models.litert_path(model_id, models_dir)
    if not path.is_file():
        raise MissingModelError(f"No LiteRT model at {path}; run `digits export {model_id}` "
                                f"(it converts {models.model_path(model_id, models_dir).name}).")
    card = models.card_path(model_id, models_dir)
    recorded = models.load_card(model_id, models_dir).get("tflite", {}).get("sha256") if card.is_file() else None
    if recorded and recorded != models.file_sha256(path):
        raise MissingModelError(f"{path} is not the file its card records; run `digits export {model_id}` again.")
    return LiteRTModel(path)
