"""The one error bad input raises, and how messages name the file."""


class InputError(ValueError):
    """An upload we cannot use, with a message a person can read. The only error bad input raises."""


def describe_file(filename: str | None) -> str:
    """The file as a message names it: "'scan.png'" (long names shortened), or "This file"."""
    if not filename:
        return "This file"
    name = filename if len(filename) <= 80 else filename[:77] + "..."
    return f"'{name}'"


READABLE_KINDS = "PNG, JPEG, GIF, BMP, WebP, TIFF, HEIC, AVIF or a 28x28 CSV"


def not_readable(label: str) -> InputError:
    return InputError(f"{label} is not an image or CSV file we can read ({READABLE_KINDS}).")
