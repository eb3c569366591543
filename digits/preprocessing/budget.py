"""A bound on the pixels being decoded at once, so that many huge uploads queue instead of adding up.

A picture is decoded at full size before it can be shrunk to the working size: one of MAX_PIXELS RGBA
pixels holds 160 MB while it is read. Each decode reserves its pixel count here first; past the budget,
it waits until earlier decodes finish. Small pictures cost next to nothing and rarely wait.
"""

import threading
from contextlib import contextmanager


class PixelBudget:
    """A semaphore weighted by pixels: reservations wait, in turn, while they would exceed the capacity."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._in_use = 0
        self._queue: list[object] = []  # waiting reservations, first come first served
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int):
        pixels = min(pixels, self.capacity)  # one larger than the whole budget runs alone
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._queue[0] is ticket and self._in_use + pixels <= self.capacity)
            finally:  # reserved, or given up (interrupted): either way no longer in line
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may fit too
            self._in_use += pixels
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= pixels
                self._changed.notify_all()

    @property
    def in_use(self) -> int:
        return self._in_use
