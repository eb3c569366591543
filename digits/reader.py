"""The Python API: `Reader`, one object that loads the models once and reads digits in any picture.

    from digits import Reader

    with Reader() as reader:
        print(reader.classify("scan.png").digit)
        print(reader.read_number(photo_array).number)

A picture may be a path, the bytes of a file, a PIL image or a NumPy array. Every kind goes down the
one reading pipeline the CLI and the web page use (digits/preprocessing, digits/engine.py): a path
and bytes are read as the file they are; a PIL image or an array is first written as the PNG file a
person would save of it, so it reads exactly as `digits classify` reads that PNG. The CLI and the
Uplink functions are doors onto this module.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard, overload

import numpy as np
from PIL import Image, ImageOps

import models
from digits.engine import Classification, ClassificationError, Engine, UnknownModelError, preparation_tasks
from digits.numbers import prepare_each_number, read_number
from digits.preprocessing import MAX_FILE_BYTES, MAX_FILES_PER_CALL, MAX_PIXELS, InputError, Step
from digits.preprocessing.working import WORK_MAX_SIDE

if TYPE_CHECKING:
    from digits.numbers import NumberReading

__all__ = ["Comparison", "ImageInput", "Reader", "picture_bytes"]

ImageInput: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | Image.Image | np.ndarray
"""What the Reader reads: a path, a file's bytes, a PIL image, or a NumPy array (HxW or HxWxC)."""

_PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")  # PIL modes a PNG stores as they are
_CHANNELS = (1, 2, 3, 4)  # grey, grey and alpha, RGB, RGBA: the PIL modes L, LA, RGB, RGBA


@dataclass(frozen=True)
class Comparison:
    """Every loaded model's answer for one picture, in model order (`comparison["vit"].digit`)."""

    answers: Mapping[str, Classification]

    def __getitem__(self, model: str) -> Classification:
        return self.answers[model]

    def __iter__(self) -> Iterator[Classification]:
        return iter(self.answers.values())

    @property
    def agree(self) -> bool:
        """True when every model reads the same digit (or every model finds none)."""
        return len({answer.digit for answer in self.answers.values()}) <= 1

    def to_dict(self) -> dict[str, Any]:
        return {"agree": self.agree, "answers": {model: answer.to_dict() for model, answer in self.answers.items()}}


class Reader:
    """Reads handwritten digits in pictures with the shipped models, loaded once.

        with Reader() as reader:
            result = reader.classify("scan.png")
            print(result.digit, result.confidence, result.warnings)

    `Reader(model="cnn", models_dir=None)`:
      model       the model that answers unless a call names another: "cnn", "vit" or "ensemble"
                  (the ensemble needs both); `reader.models` lists what this reader can use.
      models_dir  a folder of LiteRT models (`<model>.tflite` with its card `<model>.json`), such as a
                  fine-tuned candidate's; default: the models shipped with the package. Every model
                  found there is loaded (a few tenths of a second).

    A picture (`ImageInput`) is a path (str or pathlib.Path), a file's bytes (PNG, JPEG, GIF, BMP,
    WebP, TIFF, HEIC, AVIF, or a 28x28 CSV), a PIL image, or a NumPy array, HxW (grey) or HxWxC with
    C = 1, 2, 3 or 4 (grey, grey and alpha, RGB, RGBA). Arrays: uint8 (or any integer type) on the
    0-255 scale; bool as black and white; float arrays whose largest value is at most 1.0 on the 0-1
    scale, others on the 0-255 scale (a float array must lie in [0, 255] and be finite). Dark or light
    ink, any background: the pipeline decides which is ink. An array or PIL image is read as the PNG a
    person would save of it; a photo read from its JPEG file (path or bytes) is known to be a photo,
    which makes the reader warier of marks that are not writing.

    Methods: `classify` (one digit per picture, or a list of pictures at once), `classify_many` (a
    list, with each unreadable picture's reason in place of its result), `read_number` (several
    digits; `read_numbers` for a list, as `classify_many`), `compare` (every model's answer). Anything wrong with a picture raises `InputError` (a
    ValueError) with the message the `digits` command prints for it.

    One reader may be shared by any number of threads: their calls share the models' batches. Close
    it (or use `with Reader() as reader:`) to stop the models' worker threads.
    """

    def __init__(self, model: str = "cnn", models_dir: str | os.PathLike[str] | None = None, *,
                 engine: Engine | None = None) -> None:
        """Load the models. `engine`: share an engine already loaded (the Uplink server's) instead;
        the reader then leaves it open when closed."""
        if engine is None:
            folder = Path(models.MODELS_DIR if models_dir is None else models_dir)
            found = tuple(m for m in models.MODEL_IDS if models.litert_path(m, folder).is_file())
            if not found:
                raise FileNotFoundError(f"No LiteRT models in {folder}: expected "
                                        f"{' or '.join(f'{m}.tflite' for m in models.MODEL_IDS)} "
                                        "(`digits export MODEL` writes them).")
            engine = Engine(model_ids=found, models_dir=folder)
            self._owns_engine = True
        else:
            self._owns_engine = False
        self._engine = engine
        self._closed = False
        try:
            self.model: str = engine.check_model(model)
        except UnknownModelError:
            self.close()
            raise

    @property
    def models(self) -> tuple[str, ...]:
        """The models this reader can answer with: those loaded, and "ensemble" when both are."""
        return self._engine.choices

    @overload
    def classify(self, image: ImageInput, *, model: str | None = None,  # type: ignore[overload-overlap]
                 name: str | None = None, trace: list[Step] | None = None) -> Classification:
        ...  # (a str is one path, never a sequence of pictures)

    @overload
    def classify(self, image: Sequence[ImageInput], *, model: str | None = None,
                 name: None = None) -> list[Classification]:
        ...

    def classify(self, image: ImageInput | Sequence[ImageInput], *, model: str | None = None,
                 name: str | None = None, trace: list[Step] | None = None) -> Classification | list[Classification]:
        """The digit in a picture, or in each picture of a list (read together, in batches).

        Returns a `Classification` (for a list, a list of them, in order): `.digit` (0-9),
        `.confidence` (calibrated: 0.9 means right about 9 times in 10), `.probabilities` (10
        values), `.warnings` (doubts about the picture, in words), `.seen` (the 28x28 uint8 image
        the model saw) and `.to_dict()`. When the picture holds no digit, digit, confidence and
        probabilities are None and the warnings say what was seen instead. In a list, a CSV file of
        many digits gives one result per row (each with its `.row`).

        `model`: this call's model instead of the reader's. `name`: what results and messages call
        a single picture (default: a path as given; otherwise none). `trace`: for a single picture, a
        list that receives what each stage of the reading pipeline decided (`digits classify --trace`).
        Raises InputError for a picture that cannot be read (in a list: the first such picture).
        """
        if _is_many(image):
            results = []
            for result in self.classify_many(image, model=model):
                if isinstance(result, ClassificationError):
                    raise InputError(result.error)
                results.append(result)
            return results
        data, name = self._opened(image, name)
        return self._engine.classify(data, self._model(model), name, trace=trace)

    def classify_many(self, images: Sequence[ImageInput], *, model: str | None = None,
                      names: Sequence[str | None] | None = None,
                      pool: Executor | None = None) -> list[Classification | ClassificationError]:
        """Each picture's `Classification`, or a `ClassificationError` (`.file`, `.error`) for one
        that cannot be read: one bad file does not stop the rest (the `digits` command's way).

        The pictures are read in groups of 64, each group's digits in one batch of model calls; a
        CSV file of many digits gives one result per row. `names`: what each picture is called in
        results and messages (default: a path as given; otherwise none). `pool`: an executor that
        prepares each group's pictures side by side (`digits.engine.preparation_pool()`, as `digits
        classify` uses for a folder).
        """
        chosen = self._model(model)
        if names is not None and len(names) != len(images):
            raise ValueError(f"{len(names)} names for {len(images)} pictures.")
        results: list[Classification | ClassificationError] = []
        uploads: list[tuple[str | None, bytes]] = []  # read, waiting for their batch
        for index, image in enumerate(images):
            try:
                data, name = self._opened(image, None if names is None else names[index])
            except InputError as error:  # in its place, after those before it
                results += self._engine.classify_batch(uploads, chosen, pool=pool) if uploads else []
                uploads = []
                results.append(ClassificationError(_given_name(image, names, index), str(error)))
                continue
            uploads.append((name, data))
            if len(uploads) == MAX_FILES_PER_CALL:  # a group at a time: memory stays bounded
                results += self._engine.classify_batch(uploads, chosen, pool=pool)
                uploads = []
        results += self._engine.classify_batch(uploads, chosen, pool=pool) if uploads else []
        return results

    def classify_batches(self, batches: Iterable[Sequence[tuple[str | None, bytes] | ClassificationError]], *,
                         model: str | None = None,
                         pool: Executor | None = None) -> Iterator[list[Classification | ClassificationError]]:
        """A folder run's groups of files, each file as (name, its bytes), or a `ClassificationError` in
        the place of one that could not be read: each group's results, as `classify_many` gives them, as
        soon as the group is done. With a `pool`, the next group is prepared while this one's model calls
        run, so the pool's processes do not wait between groups (`digits classify DIR`)."""
        return self._engine.classify_batches(batches, self._model(model), pool=pool)

    def read_number(self, image: ImageInput, *, model: str | None = None, name: str | None = None,
                    trace: list[Step] | None = None) -> NumberReading:
        """The number a picture shows: several digits side by side, read left to right.

        Returns a `NumberReading`: `.number` (a string, "" when no digit was found), `.confidence`
        (of every digit at once), `.digits` (each `.digit`, `.confidence`, `.probabilities` and
        `.box`, (left, top, right, bottom) in the picture's own pixels), `.warnings`, `.to_dict()`.
        Raises InputError for a picture that cannot be read. `trace`: a list that receives what each
        stage of the reading pipeline decided.
        """
        data, name = self._opened(image, name)
        return read_number(self._engine, data, self._model(model), name, trace=trace)

    def read_numbers(self, images: Sequence[ImageInput], *, model: str | None = None,
                     names: Sequence[str | None] | None = None,
                     pool: Executor | None = None) -> list[NumberReading | ClassificationError]:
        """Each picture's `NumberReading`, as `read_number` reads it, or a `ClassificationError` (`.file`,
        `.error`) for one that cannot be read: one bad file does not stop the rest (the `digits` command's way).

        The pictures are opened in groups of 64. `names`: as in `classify_many`. `pool`: an executor that
        prepares each group's pictures side by side (`digits.engine.preparation_pool()`, as `digits read`
        uses for a folder); the numbers are then read here, in order, while the pool prepares the rest.
        """
        chosen = self._model(model)
        if names is not None and len(names) != len(images):
            raise ValueError(f"{len(names)} names for {len(images)} pictures.")
        results: list[NumberReading | ClassificationError] = []
        for start in range(0, len(images), MAX_FILES_PER_CALL):  # a group at a time: memory stays bounded
            group: list[tuple[str | None, bytes] | ClassificationError] = []
            for index in range(start, min(start + MAX_FILES_PER_CALL, len(images))):
                try:
                    data, name = self._opened(images[index], None if names is None else names[index])
                    group.append((name, data))
                except InputError as error:
                    group.append(ClassificationError(_given_name(images[index], names, index), str(error)))
            uploads = [upload for upload in group if isinstance(upload, tuple)]
            prepared = (itertools.chain.from_iterable(pool.map(prepare_each_number, preparation_tasks(uploads)))
                        if pool is not None else itertools.repeat(None))  # None: read_number prepares it
            for upload in group:
                if isinstance(upload, ClassificationError):
                    results.append(upload)
                    continue
                (name, data), made = upload, next(prepared)
                if isinstance(made, InputError):  # the pool could not prepare it
                    results.append(ClassificationError(name, str(made)))
                    continue
                try:
                    results.append(read_number(self._engine, data, chosen, name, prepared=made))
                except InputError as error:
                    results.append(ClassificationError(name, str(error)))
        return results

    def compare(self, image: ImageInput, *, name: str | None = None) -> Comparison:
        """Every loaded model's answer for one picture, prepared once: a `Comparison` (`.answers` by
        model, `comparison["cnn"]`, `.agree`, `.to_dict()`). Raises InputError as `classify` does."""
        data, name = self._opened(image, name)
        return Comparison({result.model: result for result in self._engine.compare(data, name)})

    def explain(self, seen: np.ndarray, digit: int, *, model: str | None = None) -> np.ndarray:
        """Why `model` reads `digit` in `seen` (a result's 28x28 `.seen`): float32 (28, 28), positive
        where the ink supports the answer, negative where it speaks against it (occlusion through the
        model, digits/explain.py). `reader.explain(result.seen, result.digit, model=result.model)`."""
        return self._engine.explain(self._model(model), np.asarray(seen, np.uint8), int(digit))

    def close(self) -> None:
        """Stop the models' worker threads (an engine the reader was given stays open)."""
        if not self._closed and self._owns_engine:
            self._engine.close()
        self._closed = True

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"models={list(self.models)}"
        return f"Reader(model={self.model!r}, {state})"

    def _model(self, model: str | None) -> str:
        if self._closed:
            raise RuntimeError("This Reader is closed; open a new one.")
        return self._engine.check_model(self.model if model is None else model)

    def _opened(self, image: object, name: str | None) -> tuple[bytes, str | None]:
        if self._closed:
            raise RuntimeError("This Reader is closed; open a new one.")
        data, own_name = picture_bytes(image)
        return data, own_name if name is None else name


def picture_bytes(image: object) -> tuple[bytes, str | None]:
    """A picture as the file the pipeline reads, with its name: a path's contents and the path as
    given; bytes as they are; a PIL image or a NumPy array as PNG bytes (see `Reader` for the rule
    on array values). Raises InputError for anything else, or a file that cannot be read."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image), None
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            return path.read_bytes(), str(image)
        except OSError as error:  # the `digits` command's words for it
            raise InputError(f"cannot read {image}: {error.strerror or error}") from None
    if isinstance(image, Image.Image):
        return _png_of_image(image), None
    if isinstance(image, np.ndarray):
        _channels(image)
        _check_pixel_count(image.shape[1], image.shape[0])
        return _png_of_image(Image.fromarray(_as_uint8(image))), None  # its mode from its channels
    raise InputError(f"Cannot read a {type(image).__name__} as a picture: give a path, a file's bytes, a PIL image "
                     "or a NumPy array (HxW or HxWxC).")


def _png_of_image(image: Image.Image) -> bytes:
    """The PNG a person would save of the picture: turned upright by its EXIF orientation, if any
    (the pipeline turns a file so), in a mode PNG stores (others, such as CMYK, as RGB)."""
    _check_pixel_count(image.width, image.height)
    try:
        image.load()  # a lazily opened file is read now: it may be damaged
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(f"This PIL image could not be loaded: {error}.") from None
    image = ImageOps.exif_transpose(image)
    if image.mode == "F":  # 32-bit float pixels: the array rule
        image = Image.fromarray(_as_uint8(np.asarray(image)), "L")
    elif image.mode not in _PNG_MODES:
        try:
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        except ValueError:  # rare modes such as LAB that Pillow cannot convert
            raise InputError(f"This PIL image uses a colour mode ({image.mode}) we cannot read.") from None
    buffer = io.BytesIO()
    # The level changes the size, never the pixels: fast for small pictures, smaller for large ones.
    image.save(buffer, format="PNG", compress_level=1 if image.width * image.height < 1_000_000 else 6)
    if buffer.tell() > MAX_FILE_BYTES:  # the pipeline's limit on a file, said for a picture in memory
        raise InputError(f"This {image.width}x{image.height} picture comes to {buffer.tell() / 2**20:.1f} MB as PNG; "
                         f"the limit is {MAX_FILE_BYTES // 2**20} MB. Shrink it first (the reader works at "
                         f"{WORK_MAX_SIDE} pixels on its longer side), or give the photo's own JPEG file.")
    return buffer.getvalue()


def _check_pixel_count(width: int, height: int) -> None:
    """The pipeline's limits on a picture's size, checked before it is written as PNG."""
    if width < 1 or height < 1:
        raise InputError(f"A picture of {width}x{height} has no pixels.")
    if width * height > MAX_PIXELS:
        raise InputError(f"This picture has too many pixels (over {MAX_PIXELS // 1_000_000} million); "
                         "please send a smaller one.")


def _channels(array: np.ndarray) -> int:
    if array.ndim == 2:
        return 1
    if array.ndim == 3 and array.shape[2] in _CHANNELS:
        return int(array.shape[2])
    raise InputError(f"An array of shape {array.shape} is not a picture: give HxW (grey) or HxWxC with C = 1, 2, "
                     "3 or 4 (grey, grey and alpha, RGB, RGBA). For many pictures, give a list of arrays.")


def _as_uint8(array: np.ndarray) -> np.ndarray:
    """Pixels on the 0-255 scale as uint8: integers as they are, bool as 0/255, floats by the rule
    that a largest value of at most 1.0 means the 0-1 scale."""
    _channels(array)
    if array.size == 0:
        raise InputError(f"An array of shape {array.shape} has no pixels.")
    pixels = array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if np.issubdtype(pixels.dtype, np.integer):
        lowest, highest = int(pixels.min()), int(pixels.max())
        if lowest < 0 or highest > 255:
            raise InputError(f"An integer array's pixels must lie in 0-255; these run from {lowest} to {highest}.")
        return pixels.astype(np.uint8)
    if np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise InputError("A float array's pixels must be numbers; this one holds NaN or infinity.")
        low, high = float(pixels.min()), float(pixels.max())
        if low < 0 or high > 255:
            raise InputError(f"A float array's pixels must lie in 0-1 or 0-255; these run from {low:g} to {high:g}.")
        scale = 255.0 if high <= 1.0 else 1.0
        return np.rint(pixels.astype(np.float64) * scale).astype(np.uint8)
    raise InputError(f"An array of {pixels.dtype} is not a picture: give uint8, another integer type, bool or float.")


def _is_many(image: object) -> TypeGuard[Sequence[ImageInput]]:
    """A list, tuple or other sequence of pictures (a str, bytes or array is one picture)."""
    return isinstance(image, Sequence) and not isinstance(image, (str, bytes, bytearray, memoryview))


def _given_name(image: object, names: Sequence[str | None] | None, index: int) -> str | None:
    if names is not None:
        return names[index]
    return str(image) if isinstance(image, (str, os.PathLike)) else None
