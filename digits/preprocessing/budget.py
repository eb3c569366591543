"""A bound on the memory that decoding pictures takes at once, so that many huge uploads queue instead
of adding up.

A picture is decoded at full size before it can be shrunk to the working size: one of MAX_PIXELS RGBA
pixels holds 160 MB while it is read. Each decode reserves its cost here first (decode.py estimates it
from the size and the format's decoder); past the budget, it waits until earlier decodes finish, in
turn. Small pictures have a lane of their own: they never wait behind large ones, so one caller's
huge uploads cannot hold up a person's one small drawing. A server that is stopping calls `close()`:
whatever still waits gives up at once with DecodingStopped, rather than after the process is gone.
"""

import threading
from contextlib import contextmanager


class DecodingStopped(Exception):
    """The budget was closed (the server is stopping) while this decode waited for its turn."""


class PixelBudget:
    """A semaphore weighted by cost: reservations wait, in turn, while they would exceed the capacity.

    Reservations of at most `small` come out of `small_capacity` instead, without waiting in line
    (unless the whole small lane is taken)."""

    def __init__(self, capacity: int, small: int = 0, small_capacity: int = 0):
        self.capacity = capacity
        self.small, self.small_capacity = small, small_capacity
        self._in_use = 0
        self._small_in_use = 0
        self._queue: list[object] = []  # waiting reservations, first come first served
        self._changed = threading.Condition()
        self._closed = False

    def reserve(self, cost: int):
        """A context manager holding `cost` of the budget while it is open (waiting, in turn, to enter)."""
        if cost <= self.small and self.small_capacity:
            return _SmallReservation(self, cost)
        return self._reserved(cost)

    @contextmanager
    def _reserved(self, cost: int):
        cost = min(cost, self.capacity)  # one larger than the whole budget runs alone
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                self._changed.wait_for(lambda: self._closed or (self._queue[0] is ticket
                                                                and self._in_use + cost <= self.capacity))
            finally:  # reserved, or given up (interrupted, closed): either way no longer in line
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may fit too
            if self._closed:
                raise DecodingStopped
            self._in_use += cost
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= cost
                self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiting reservation with DecodingStopped; later ones fail at once too."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def in_use(self) -> int:
        return self._in_use + self._small_in_use


class _SmallReservation:
    """A reservation in the small lane. A class rather than a generator: every small upload (a 28x28
    drawing) makes one, and the generator's machinery cost more than the lock (2.5 us a reservation, not 6)."""

    __slots__ = ("budget", "cost")

    def __init__(self, budget: PixelBudget, cost: int):
        self.budget, self.cost = budget, cost

    def __enter__(self) -> None:
        budget, cost = self.budget, self.cost
        with budget._changed:
            budget._changed.wait_for(lambda: budget._closed or budget._small_in_use + cost <= budget.small_capacity)
            if budget._closed:
                raise DecodingStopped
            budget._small_in_use += cost

    def __exit__(self, *exception) -> None:
        with self.budget._changed:
            self.budget._small_in_use -= self.cost
            self.budget._changed.notify_all()
