"""Digit Classifier: handwritten digits from real uploads, served to an Anvil app.

From Python (docs/python-api.md):

    from digits import Reader

    with Reader() as reader:
        result = reader.classify("scan.png")      # a path, bytes, a PIL image or a NumPy array
        print(result.digit, result.confidence)
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digits.engine import Classification, ClassificationError, UnknownModelError
    from digits.numbers import DigitReading, NumberReading
    from digits.preprocessing import InputError
    from digits.reader import Comparison, ImageInput, Reader

__all__ = ["Classification", "ClassificationError", "Comparison", "DigitReading", "ImageInput", "InputError",
           "NumberReading", "Reader", "UnknownModelError"]

_HOMES = {"Classification": "digits.engine", "ClassificationError": "digits.engine",
          "UnknownModelError": "digits.engine", "DigitReading": "digits.numbers", "NumberReading": "digits.numbers",
          "InputError": "digits.preprocessing", "Comparison": "digits.reader", "ImageInput": "digits.reader",
          "Reader": "digits.reader"}


def __getattr__(name: str) -> Any:
    """The API, imported on first use (PEP 562): `import digits.cli` stays light for `digits health`."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'digits' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
