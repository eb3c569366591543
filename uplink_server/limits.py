"""Who may call, and how much: every callable is open to any visitor of the page, so the server bounds
what callers can make it do.

- Calls at once: at most MAX_CALLS_IN_FLIGHT run or wait; past that a call is turned away at once with
  "busy, try again" rather than queued without end. Small calls (one file of at most SMALL_CALL_BYTES:
  a drawing, a photo of one digit) have SMALL_CALL_SLOTS more, so heavy callers cannot crowd them out.
- Two lanes: the other calls (several files, large files) take turns in HEAVY_LANES lanes, waiting at
  most HEAVY_WAIT_S for one (then "busy"); small calls go straight through. So heavy calls never
  compete with each other for more than two cores, and a person's one digit waits for none of them.
- Bytes at once: the files of the calls running or waiting come to at most MAX_UPLOAD_BYTES_IN_FLIGHT
  (they are all in memory); past that, a call that would add more than SMALL_CALL_BYTES is turned away.
- Per caller: what the Uplink tells of the caller (the page's session, the browser's address) keys a
  token bucket each: CALLER_BURST units at once, CALLER_RATE a second after that (a call costs one unit
  per file, at least one), and at most CALLS_PER_CALLER calls at once. An address may hide many people
  (an office, a school), so its limits are ADDRESS_SHARE times a session's. A call Anvil says nothing
  of, or one from this machine itself (an App Server on the same machine, the tests' stand-in), has
  only the bounds above.
"""

import ipaddress
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import anvil.server

from digits.preprocessing.budget import DecodingStopped

MAX_CALLS_IN_FLIGHT = 24  # a 2-vCPU task decodes two large pictures at once: more would only wait
HEAVY_LANES = 2
HEAVY_WAIT_S = 15.0  # under the 30 s after which the page gives up on a call
SMALL_CALL_BYTES = 256 * 1024  # a drawing or a photo of one digit on a phone screen
SMALL_CALL_SLOTS = 16
MAX_UPLOAD_BYTES_IN_FLIGHT = 160 * 2**20  # five calls of the largest size (32 MB)
CALLER_BURST, CALLER_RATE = 120.0, 4.0  # units: a person drops a folder of 64 files, then draws for a while
CALLS_PER_CALLER = 8  # the page itself makes a few calls at once as it opens (models, reports, feedback)
ADDRESS_SHARE = 4

BUSY = "The server is busy; please try again in a moment."
SLOW_DOWN = "You are sending a lot at once; please wait a few seconds and try again."
TOO_MANY_AT_ONCE = "You already have several requests running; please wait for them to finish and try again."


class Refused(Exception):
    """The call is turned away; the message says so in the page's words."""


@dataclass(frozen=True)
class Caller:
    session: str | None
    address: str | None

    @property
    def identity(self) -> str | None:
        """The one key for what a caller keeps (their answers): the address where known, as a new
        session costs only a page reload."""
        return f"address:{self.address}" if self.address else f"session:{self.session}" if self.session else None

    def keys(self) -> list[tuple[str, int]]:
        """(key, share of the per-caller limits) for each thing known of the caller."""
        keys = [(f"session:{self.session}", 1)] if self.session else []
        keys += [(f"address:{self.address}", ADDRESS_SHARE)] if self.address else []
        return keys


def current_caller() -> Caller:
    """What anvil-uplink was told of the caller of the call this thread is answering.

    The session id is in its call state (not public API: this is the one place that reads it); the
    client's address is public (anvil.server.context.client.ip), where Anvil gives one."""
    import anvil._threaded_server

    session = getattr(anvil._threaded_server.call_info, "session_id", None)
    client = getattr(anvil.server.context, "client", None)
    address = getattr(client, "ip", None)
    return Caller(session if isinstance(session, str) and session else None,
                  address if isinstance(address, str) and address and not _is_this_machine(address) else None)


def _is_this_machine(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _Bucket:
    def __init__(self, capacity: float, now: float):
        self.capacity, self.level, self.updated = capacity, capacity, now
        self.running = 0

    def refill(self, now: float, rate: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * rate)
        self.updated = now


class Admission:
    """The bounds above, for one server process; thread-safe."""

    def __init__(self, max_calls: int = MAX_CALLS_IN_FLIGHT, max_bytes: int = MAX_UPLOAD_BYTES_IN_FLIGHT,
                 burst: float = CALLER_BURST, rate: float = CALLER_RATE, calls_per_caller: int = CALLS_PER_CALLER,
                 heavy_lanes: int = HEAVY_LANES, heavy_wait_s: float = HEAVY_WAIT_S, clock=time.monotonic):
        self.max_calls, self.max_bytes = max_calls, max_bytes
        self.burst, self.rate, self.calls_per_caller = burst, rate, calls_per_caller
        self._clock = clock
        self._lock = threading.Lock()
        self._calls = 0
        self._bytes = 0
        self._buckets: dict[str, _Bucket] = {}
        self.heavy_lanes, self.heavy_wait_s = heavy_lanes, heavy_wait_s
        self._heavy_running = 0
        self._lane_free = threading.Condition()
        self._closed = False

    @contextmanager
    def admit(self, caller: Caller, upload_bytes: int, units: int):
        """Run the body as an admitted call, or raise Refused (DecodingStopped once closed)."""
        small = upload_bytes <= SMALL_CALL_BYTES and units == 1
        keys = caller.keys()
        with self._lock:
            now = self._clock()
            if self._calls >= self.max_calls + (SMALL_CALL_SLOTS if small else 0):
                raise Refused(BUSY)
            if not small and self._bytes + upload_bytes > self.max_bytes:
                raise Refused(BUSY)
            buckets = []
            for key, share in keys:
                bucket = self._buckets.get(key) or _Bucket(self.burst * share, now)
                bucket.refill(now, self.rate * share)
                if bucket.running >= self.calls_per_caller * share:
                    raise Refused(TOO_MANY_AT_ONCE)
                if bucket.level < units:
                    raise Refused(SLOW_DOWN)
                buckets.append((key, bucket))
            for key, bucket in buckets:
                bucket.level -= units
                bucket.running += 1
                self._buckets[key] = bucket
            self._calls += 1
            self._bytes += upload_bytes
            self._forget_idle(now)
        try:
            if small:
                yield
            else:
                with self._heavy_lane():
                    yield
        finally:
            with self._lock:
                self._calls -= 1
                self._bytes -= upload_bytes
                for _, bucket in buckets:
                    bucket.running -= 1

    @contextmanager
    def _heavy_lane(self):
        with self._lane_free:
            if not self._lane_free.wait_for(lambda: self._closed or self._heavy_running < self.heavy_lanes,
                                            self.heavy_wait_s):
                raise Refused(BUSY)
            if self._closed:
                raise DecodingStopped
            self._heavy_running += 1
        try:
            yield
        finally:
            with self._lane_free:
                self._heavy_running -= 1
                self._lane_free.notify()

    def close(self) -> None:
        """The server is stopping: calls waiting for a lane give up now (DecodingStopped)."""
        with self._lane_free:
            self._closed = True
            self._lane_free.notify_all()

    def _forget_idle(self, now: float) -> None:
        """Buckets full again and unused are dropped, so that memory stays bounded however many callers come."""
        if len(self._buckets) > 10_000:
            for key in [key for key, bucket in self._buckets.items()
                        if not bucket.running and bucket.level + (now - bucket.updated) * self.rate * bucket.capacity / self.burst
                        >= bucket.capacity]:
                del self._buckets[key]

    @property
    def calls(self) -> int:
        return self._calls
