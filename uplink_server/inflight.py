"""Which calls are running, so that a shutdown can let them finish before it disconnects.

anvil-uplink runs each incoming call in a thread of its own, which sends the answer after the function
returns. Waiting for those threads to end (not merely for the functions to return) is what makes sure
every caller gets its answer before the connection closes. Calls turned away while stopping are
counted too: their "restarting, try again" must also be sent before the connection closes, and calls
that were already on the wire keep arriving for a moment after SIGTERM, so the wait lasts until none
has arrived for QUIET_S.
"""

import threading
import time

QUIET_S = 0.5  # a stop waits until no call has arrived for this long


class InFlightCalls:
    def __init__(self):
        self._lock = threading.Lock()
        self._threads: dict[threading.Thread, str | None] = {}  # each call's thread, and the call's id
        self._closed = False
        self._last_arrival = time.monotonic()

    def enter(self, call_id: str | None = None) -> bool:
        """Note that the current thread is answering a call; False once closed (the server is stopping)."""
        with self._lock:
            self._threads = {thread: id_ for thread, id_ in self._threads.items() if thread.is_alive()}
            self._threads[threading.current_thread()] = call_id
            self._last_arrival = time.monotonic()
            return not self._closed

    def count(self) -> int:
        with self._lock:
            return sum(thread.is_alive() for thread in self._threads)

    def close(self) -> int:
        """Refuse new calls from now on; return how many are running."""
        with self._lock:
            self._closed = True
            return sum(thread.is_alive() for thread in self._threads)

    def running_call_ids(self) -> list[str]:
        """The ids of the calls still running (those that gave one)."""
        with self._lock:
            return [id_ for thread, id_ in self._threads.items() if thread.is_alive() and id_ is not None]

    def wait(self, timeout_s: float, quiet_s: float = QUIET_S) -> int:
        """Wait up to `timeout_s` for every call to answer and none to arrive for `quiet_s`;
        return how many are still running."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                threads, quiet_since = list(self._threads), self._last_arrival
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            now = time.monotonic()
            if now >= deadline or (now - quiet_since >= quiet_s and self.count() == 0):
                return self.count()
            time.sleep(min(0.05, max(0.0, deadline - now)))
