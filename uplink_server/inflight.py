"""Which calls are running, so that a shutdown can let them finish before it disconnects.

anvil-uplink runs each incoming call in a thread of its own, which sends the answer after the function
returns. Waiting for those threads to end (not merely for the functions to return) is what makes sure
every caller gets its answer before the connection closes.
"""

import threading
import time


class InFlightCalls:
    def __init__(self):
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._closed = False

    def enter(self) -> bool:
        """Note that the current thread is serving a call; False once closed (the server is stopping)."""
        with self._lock:
            if self._closed:
                return False
            self._threads = {thread for thread in self._threads if thread.is_alive()}
            self._threads.add(threading.current_thread())
            return True

    def count(self) -> int:
        with self._lock:
            return sum(thread.is_alive() for thread in self._threads)

    def close(self) -> int:
        """Refuse new calls from now on; return how many are running."""
        with self._lock:
            self._closed = True
            return sum(thread.is_alive() for thread in self._threads)

    def wait(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for the running calls to answer; return how many are still running."""
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(thread.is_alive() for thread in threads)
