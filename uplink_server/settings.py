"""The server's settings, all from the environment (so a container sets them, and no file holds the key).

ANVIL_UPLINK_KEY       the app's server Uplink key (required, or:)
ANVIL_UPLINK_KEY_FILE  a file holding it (a container secret)
ANVIL_UPLINK_URL       default wss://anvil.works/uplink; an Anvil App Server's is ws://HOST:3030/_/uplink
LOG_LEVEL              DEBUG, INFO (default), WARNING or ERROR
DIGITS_STATUS_FILE     the status file `digits health` reads (one per server process)
DIGITS_MODELS_DIR      where the .tflite files and cards are (default: the models package)
DIGITS_MODELS          which to serve, e.g. "cnn" (default: cnn,vit)
DIGITS_REPORTS_DIR     where `digits report` wrote (default: <models dir>/reports)
DIGITS_DATABASE_URL    the feedback store: postgresql://USER:PASSWORD@HOST/DB (default: SQLite, below)
DIGITS_DATA_DIR        where the SQLite feedback store lives (default: ~/.local/share/digits)
DIGITS_FEEDBACK_KEY    the secret that signs result ids (default: derived from the Uplink key); every
                       server of one deployment needs the same
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from digits.feedback_store import StoreSettingsError, database_url
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
    database_url: sa.URL = field(default_factory=lambda: database_url({}), repr=False)  # may hold a password
    feedback_key: str = field(default="", repr=False)  # a secret; "" means: derived from the uplink key

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        models_dir, reports_dir = environ.get("DIGITS_MODELS_DIR"), environ.get("DIGITS_REPORTS_DIR")
        model_ids = environ.get("DIGITS_MODELS")
        try:
            store_url = database_url(environ)
        except StoreSettingsError as error:
            raise SettingsError(str(error)) from None
        return cls(
            uplink_key=_uplink_key(environ),
            uplink_url=_uplink_url(environ.get("ANVIL_UPLINK_URL") or DEFAULT_UPLINK_URL),
            log_level=_log_level(environ.get("LOG_LEVEL") or "INFO"),
            status_file=Path(environ.get("DIGITS_STATUS_FILE") or DEFAULT_STATUS_FILE),
            models_dir=Path(models_dir) if models_dir else None,
            reports_dir=Path(reports_dir) if reports_dir else None,
            model_ids=tuple(m.strip() for m in model_ids.split(",") if m.strip()) if model_ids else None,
            database_url=store_url,
            feedback_key=environ.get("DIGITS_FEEDBACK_KEY", "").strip(),
        )

    @property
    def signing_secret(self) -> str:
        return self.feedback_key or self.uplink_key


def _uplink_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SettingsError(f"ANVIL_UPLINK_URL={url} is not a WebSocket URL: it should look like "
                            f"{DEFAULT_UPLINK_URL} or ws://localhost:3030/_/uplink.")
    return url


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
