"""Reading a model's analysis report (`models/reports/<model>/`), as the app's model page shows it.

`digits report MODEL` (training/report.py) writes the folder; serving only reads it, without Keras.
"""

import json
import os
from pathlib import Path

import models


class ReportError(Exception):
    """No report (or an incomplete one) where one was expected; the message says how to make it."""


def load_report(model: str, reports_dir: str | os.PathLike = models.REPORTS_DIR) -> dict:
    """summary.json of `model`'s report, each figure with its PNG bytes under "png"."""
    from digits.engine import UnknownModelError

    if model not in models.MODEL_IDS:
        raise UnknownModelError(f"There are reports for {', '.join(models.MODEL_IDS)} only, not {model!r}.")
    folder = Path(reports_dir) / model
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        raise ReportError(f"There is no report for the {model} model yet ({summary_file} is missing); "
                          f"generate it with `digits report {model}`.")
    summary = json.loads(summary_file.read_text())
    for figure in summary["figures"]:
        path = folder / Path(figure["file"]).name  # a file beside summary.json, never elsewhere
        if not path.is_file():
            raise ReportError(f"The {model} report is incomplete ({path} is missing); regenerate it with "
                              f"`digits report {model}`.")
        figure["png"] = path.read_bytes()
    return summary
