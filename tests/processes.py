"""Whether a process has ended, for tests that kill the server's worker processes."""

import os
import time


def ended(pid: int) -> bool:
    """The process has ended: gone, or a zombie its parent has not yet reaped, every thread of it ended
    (a killed process's first thread can be a zombie while others still hold its files)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X") and os.listdir(f"/proc/{pid}/task") == [str(pid)]
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, /proc was read
        return True


def wait_until_ended(pid: int, seconds: float) -> bool:
    """Whether the process ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while not ended(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return ended(pid)
