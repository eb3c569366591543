"""The one error bad input raises, and how messages name the file and its size."""

import math

MB = 2**20
LONGEST_NAME = 80  # characters of a file's name a message shows; longer paths lose their start
QUOTED = 20  # characters of a bad value a message quotes


class InputError(ValueError):
    """An upload we cannot use, with a message a person can read. The only error bad input raises."""


def describe_file(filename: str | None) -> str:
    """The file as a message names it: "'scan.png'", a long path by its end (the file's own name, which a
    person looks for: "'...photos/2026/receipt.png'"), or "This file"."""
    if not filename:
        return "This file"
    name = filename if len(filename) <= LONGEST_NAME else "..." + filename[len("...") - LONGEST_NAME:]
    return f"'{name}'"


def in_megabytes(size: int) -> str:
    """A size in a message: megabytes to a tenth, rounded up (a file over a limit never reads as at it)."""
    return f"{math.ceil(size / MB * 10) / 10:.1f} MB"


READABLE_KINDS = "PNG, JPEG, GIF, BMP, WebP, TIFF, HEIC, AVIF or a 28x28 CSV"


def not_readable(label: str) -> InputError:
    return InputError(f"{label} is not an image or CSV file we can read ({READABLE_KINDS}).")
