"""The server's settings, all from the environment (so a container sets them, and no file holds the key).

ANVIL_UPLINK_KEY       the app's server Uplink key (required, or:)
ANVIL_UPLINK_KEY_FILE  a file holding it (a container secret)
ANVIL_UPLINK_URL       default wss://anvil.works/uplink; an Anvil App Server's is ws://HOST:3030/_/uplink
LOG_LEVEL              DEBUG, INFO (default), WARNING or ERROR
DIGITS_STATUS_FILE     the status file `digits health` reads (one per server process)
DIGITS_MODELS_DIR      where the .tflite files and cards are (default: the models package)
DIGITS_MODELS          which to serve, e.g. "cnn" (default: cnn,vit)
DIGITS_REPORTS_DIR     where `digits report` wrote (default: <models dir>/reports)
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from uplink_server.health import DEFAULT_STATUS_FILE

DEFAULT_UPLINK_URL = "wss://anvil.works/uplink"  # anvil-uplink's own default: Anvil's hosted service
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    uplink_key: str = field(repr=False)  # a secret: never printed or logged
    uplink_url: str = DEFAULT_UPLINK_URL
    log_level: str = "INFO"
    status_file: Path = DEFAULT_STATUS_FILE
    models_dir: Path | None = None  # None: the models shipped in the `models` package
    reports_dir: Path | None = None  # None: <models dir>/reports, where `digits report` writes
    model_ids: tuple[str, ...] | None = None  # None: every model there is (cnn and vit)

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        models_dir, reports_dir = environ.get("DIGITS_MODELS_DIR"), environ.get("DIGITS_REPORTS_DIR")
        model_ids = environ.get("DIGITS_MODELS")
        return cls(
            uplink_key=_uplink_key(environ),
            uplink_url=environ.get("ANVIL_UPLINK_URL") or DEFAULT_UPLINK_URL,
            log_level=_log_level(environ.get("LOG_LEVEL") or "INFO"),
            status_file=Path(environ.get("DIGITS_STATUS_FILE") or DEFAULT_STATUS_FILE),
            models_dir=Path(models_dir) if models_dir else None,
            reports_dir=Path(reports_dir) if reports_dir else None,
            model_ids=tuple(m.strip() for m in model_ids.split(",") if m.strip()) if model_ids else None,
        )


def _uplink_key(environ) -> str:
    key, key_file = environ.get("ANVIL_UPLINK_KEY", "").strip(), environ.get("ANVIL_UPLINK_KEY_FILE")
    if key:
        return key
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as error:
            raise SettingsError(f"ANVIL_UPLINK_KEY_FILE={key_file} cannot be read: {error.strerror}.") from None
        if not key:
            raise SettingsError(f"ANVIL_UPLINK_KEY_FILE={key_file} is empty.")
        return key
    raise SettingsError(
        "No Anvil Uplink key: set ANVIL_UPLINK_KEY to the app's server Uplink key (in the Anvil editor: "
        "the gear menu, Uplink...), or ANVIL_UPLINK_KEY_FILE to a file holding it.")


def _log_level(name: str) -> str:
    if name.upper() not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={name} is not one of {', '.join(LOG_LEVELS)}.")
    return name.upper()
