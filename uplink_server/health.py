"""The status file a running server keeps fresh, and the health check that reads it (`digits health`).

The server rewrites the file every few seconds; a check then needs no connection to the server, only
the file: is it recent, is the uplink connected, are the models loaded. Each server process needs its
own file (DIGITS_STATUS_FILE) when several share a filesystem.
"""

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_STATUS_FILE = Path(tempfile.gettempdir()) / "digits-uplink-status.json"
STATUS_INTERVAL_S = 2.0  # how often the server rewrites the file
DEFAULT_MAX_AGE_S = 30.0  # older than this, the server is stuck or gone


@dataclass(frozen=True)
class ServerStatus:
    pid: int
    state: str  # "loading models", "serving", "stopping" or "stopped"
    connected: bool  # the uplink is connected to Anvil now
    models: tuple[str, ...]  # loaded and warmed up
    calls_in_flight: int
    updated_at: float  # Unix time of this heartbeat
    problem: str | None = None  # what Anvil said when it refused the connection, if it did

    def to_dict(self) -> dict:
        return {**asdict(self), "models": list(self.models)}


def write_status(path: Path, status: ServerStatus) -> None:
    """Replace the file in one step, so a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as file:
        json.dump(status.to_dict(), file)
    os.replace(file.name, path)


def read_status(path: Path) -> ServerStatus:
    fields = json.loads(Path(path).read_text())
    return ServerStatus(**{**fields, "models": tuple(fields["models"])})


def health_check(status_file: Path = DEFAULT_STATUS_FILE, max_age_s: float = DEFAULT_MAX_AGE_S,
                 now: float | None = None) -> tuple[bool, str]:
    """(healthy, a sentence saying why): healthy means a fresh heartbeat, a connected uplink, models loaded."""
    try:
        status = read_status(status_file)
    except FileNotFoundError:
        return False, f"unhealthy: no status file at {status_file} (is the server running?)"
    except (OSError, ValueError, TypeError, KeyError):
        return False, f"unhealthy: the status file {status_file} is unreadable"
    age = (time.time() if now is None else now) - status.updated_at
    if status.state in ("stopping", "stopped"):
        return False, f"unhealthy: the server (pid {status.pid}) is {status.state}"
    if age > max_age_s:
        return False, (f"unhealthy: the last heartbeat of pid {status.pid} is {age:.0f} s old "
                       f"(limit {max_age_s:.0f} s): the server is stuck or gone")
    if not status.models:
        return False, f"unhealthy: {status.state} (pid {status.pid}), no models loaded yet"
    if not status.connected:
        reason = f": Anvil said {status.problem!r}" if status.problem else " (trying again; see the server log)"
        return False, f"unhealthy: the uplink is not connected{reason}"
    return True, (f"healthy: uplink connected, models {', '.join(status.models)} loaded, "
                  f"{status.calls_in_flight} calls in flight (pid {status.pid}, heartbeat {age:.0f} s ago)")


def main(status_file: Path | str | None = None, max_age_s: float = DEFAULT_MAX_AGE_S) -> int:
    """`digits health`: print the verdict; exit status 0 when healthy, 1 when not."""
    status_file = status_file or os.environ.get("DIGITS_STATUS_FILE") or DEFAULT_STATUS_FILE
    healthy, message = health_check(Path(status_file), max_age_s)
    print(message)
    return 0 if healthy else 1
