"""`digits serve`: load the models, connect to Anvil over the Uplink, serve until SIGTERM or SIGINT.

The life of a server process:
1. load and warm up the models (the status file says "loading models");
2. open the feedback store (bringing its schema up to date); if it is down, serve all the same: only
   feedback waits for it;
3. connect, retrying with growing waits until Anvil answers; an attempt that gets no answer within
   CONNECT_TIMEOUT_S (an endpoint that takes the connection and says nothing) is cut off and tried
   again. After that anvil-uplink reconnects by itself whenever the connection drops, and registers
   the functions again. If Anvil refuses the key, exit 2 at once with one log line saying so (a wrong
   key does not fix itself);
4. every STATUS_INTERVAL_S, rewrite the status file that `digits health` reads;
5. on SIGTERM/SIGINT: turn new calls away with "restarting, try again", let the running ones finish
   and answer (up to SHUTDOWN_GRACE_S, until no call has arrived for a moment); calls still waiting
   for their turn to decode STOP_WAITING_S before that are answered "restarting, try again" too, and
   so are calls still running when the grace ends.
   Then disconnect, exit 0. Whatever state the process is in (loading the models, connecting, a
   disconnect that hangs), it has ended EXIT_DEADLINE_S after the signal: under the 10 s a container
   runtime gives between SIGTERM and SIGKILL.
Several processes may serve the same app at once; Anvil spreads the calls over all of them.
"""

import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import anvil.server

from uplink_server.health import STATUS_INTERVAL_S, ServerStatus, write_status
from uplink_server.inflight import InFlightCalls
from uplink_server.logs import capture_output
from uplink_server.settings import Settings, SettingsError

SHUTDOWN_GRACE_S = 8.0  # under the 10 s a container runtime gives between SIGTERM and SIGKILL
STOP_WAITING_S = 1.5  # this long before the grace ends, calls still waiting to decode are answered
EXIT_DEADLINE_S = 9.5  # the process ends this long after the signal, whatever it was doing
DISCONNECT_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 15.0  # an attempt to connect (TCP, WebSocket handshake, Anvil's answer) gets this long
MAX_RETRY_DELAY_S = 30.0

log = logging.getLogger("uplink_server")


def serve_from_environment() -> int:
    """Entry point of `digits serve` and `python -m uplink_server`.

    Returns 2 when the settings are wrong. Otherwise it does not return: after serving it ends the
    process itself (status 0 after a clean stop), because anvil-uplink leaves threads behind that
    would keep the process alive.
    """
    try:
        settings = Settings.from_environment()
    except SettingsError as error:
        print(f"digits serve: {error}", file=sys.stderr)
        return 2
    exit_code = serve(settings)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)


def serve(settings: Settings) -> int:
    capture_output(settings.log_level)
    from digits.engine import SWITCH_INTERVAL_S

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    stop = threading.Event()

    def on_signal(number, frame):
        if not stop.is_set():
            stop.set()
            deadline = threading.Timer(EXIT_DEADLINE_S, _exit_now)
            deadline.daemon = True
            deadline.start()

    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, on_signal)
    calls = InFlightCalls()
    status = _StatusWriter(settings.status_file, calls)
    status.write("loading models")

    # The models load here rather than at import, so that a settings error is reported at once.
    import models
    from digits.preprocessing.decode import DECODE_BUDGET
    from uplink_server import functions
    from uplink_server.feedback import FeedbackDesk, model_checksums
    from uplink_server.limits import Admission
    from uplink_server.result_tokens import ResultSigner

    models_dir = settings.models_dir or models.MODELS_DIR
    engine = _load_engine(models_dir, settings.model_ids or models.MODEL_IDS)
    if stop.is_set():  # a signal while the models loaded
        if engine is not None:
            engine.close()
        status.write("stopped")
        return 0
    if engine is None:
        status.write("stopped")
        return 1
    store = _open_store(settings)
    feedback = FeedbackDesk(ResultSigner(settings.signing_secret), store,
                            model_checksums(models_dir, engine.model_ids))
    admission = Admission()
    functions.attach(engine, settings.reports_dir or models_dir / "reports", calls, feedback=feedback,
                     admission=admission)
    status.models = engine.model_ids
    status.write("serving")

    refused = threading.Event()
    threading.Thread(target=_connect, args=(settings, stop, refused, status), daemon=True, name="connect").start()
    while not stop.wait(STATUS_INTERVAL_S):
        status.write("serving")
    if refused.is_set():
        _disconnect()
        engine.close()
        status.write("stopped")
        return 2

    in_flight = calls.close()
    status.write("stopping")
    log.info("stopping", extra={"fields": {"calls_in_flight": in_flight}})
    calls.wait(SHUTDOWN_GRACE_S - STOP_WAITING_S)
    DECODE_BUDGET.close()  # what still waits for its turn answers "restarting, try again" now
    admission.close()
    abandoned = calls.wait(STOP_WAITING_S)
    for call_id in calls.running_call_ids():  # still working at the deadline: told to try again, not left unanswered
        try:
            functions.answer_restarting(call_id)
        except Exception as error:  # the connection is gone: nothing can reach the caller now
            log.warning("call not answered", extra={"fields": {"error": f"{type(error).__name__}: {error}"}})
    _disconnect()
    engine.close()
    store.close()
    status.write("stopped")
    log.log(logging.WARNING if abandoned else logging.INFO, "stopped",
            extra={"fields": {"calls_abandoned": abandoned}})
    return 1 if abandoned else 0


def _exit_now() -> None:
    """The last resort when a stop overruns EXIT_DEADLINE_S: one log line, then the process ends."""
    log.error("stop overran its deadline; exiting now", extra={"fields": {"deadline_s": EXIT_DEADLINE_S}})
    logging.shutdown()
    os._exit(1)


def _disconnect() -> None:
    """anvil.server.disconnect(), given DISCONNECT_TIMEOUT_S: it waits for a lock that a connection
    attempt to an endpoint that never answers holds for ever."""
    closing = threading.Thread(target=anvil.server.disconnect, daemon=True, name="disconnect")
    closing.start()
    closing.join(DISCONNECT_TIMEOUT_S)
    if closing.is_alive():
        _cut_off_connecting()


def _load_engine(models_dir: Path, model_ids: tuple[str, ...]):
    import models
    from digits.engine import Engine

    missing = [str(path) for path in (models.litert_path(m, models_dir) for m in model_ids) if not path.exists()]
    if missing:
        log.error("models missing", extra={"fields": {
            "files": missing, "hint": "export them (digits export MODEL; digits train MODEL writes them too) "
                                      "or name those to serve in DIGITS_MODELS"}})
        return None
    started = time.perf_counter()
    try:
        engine = Engine(model_ids, models_dir, processes=None)  # worker processes: one per core beyond the first
    except Exception:
        log.exception("models failed to load",
                      extra={"fields": {"models": list(model_ids), "dir": str(models_dir)}})
        return None
    log.info("models loaded", extra={"fields": {"models": list(engine.model_ids),
                                                "seconds": round(time.perf_counter() - started, 1)}})
    return engine


def _open_store(settings: Settings):
    from digits.feedback_store import FeedbackStore, describe

    store = FeedbackStore(settings.database_url)
    try:
        store.migrate()
        log.info("feedback store ready", extra={"fields": {"store": describe(store.url)}})
    except Exception as error:  # serve all the same; the store is tried again at the first feedback
        log.warning("feedback store unavailable", extra={"fields": {
            "store": describe(store.url), "error": f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"}})
    return store


def _connect(settings: Settings, stop: threading.Event, refused: threading.Event,
             status: "_StatusWriter") -> None:
    """Connect once, retrying with growing waits; from then on anvil-uplink reconnects by itself.

    Each attempt gets CONNECT_TIMEOUT_S; one that hangs (the endpoint took the connection and says
    nothing) is cut off. A key Anvil refuses sets `refused` and `stop`: retrying would never help.
    """
    delay = 1.0
    while not stop.is_set():
        outcome: dict = {}
        attempt = threading.Thread(target=_attempt_to_connect, args=(settings, outcome), daemon=True,
                                   name="connect-attempt")
        attempt.start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while attempt.is_alive() and time.monotonic() < deadline and not stop.is_set():
            attempt.join(0.1)
        if stop.is_set():
            return
        if attempt.is_alive():
            _cut_off_connecting()
            attempt.join(2.0)
            log.warning("uplink connection failed", extra={"fields": {
                "url": settings.uplink_url, "error": f"no answer within {CONNECT_TIMEOUT_S:g} s",
                "retry_in_s": delay}})
        elif "error" in outcome:
            error = outcome["error"]
            log.warning("uplink connection failed", extra={"fields": {
                "url": settings.uplink_url, "error": f"{type(error).__name__}: {error}", "retry_in_s": delay}})
        else:
            connected, refusal = uplink_state()
            if refusal is not None:
                log.error("uplink refused", extra={"fields": {
                    "url": settings.uplink_url, "anvil_said": refusal,
                    "fix": "set ANVIL_UPLINK_KEY to this app's server Uplink key"}})
                refused.set()
                stop.set()
                return
            status.write("serving")
            return
        stop.wait(delay)
        delay = min(2 * delay, MAX_RETRY_DELAY_S)


def _attempt_to_connect(settings: Settings, outcome: dict) -> None:
    try:
        anvil.server.connect(settings.uplink_key, url=settings.uplink_url)
    except Exception as error:
        outcome["error"] = error


def _cut_off_connecting() -> None:
    """Shut the socket of the connection anvil-uplink is opening, so that its attempt fails now.

    anvil-uplink's connect has no timeout; this reads its module state, like uplink_state."""
    connection = anvil.server._connection
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def uplink_state() -> tuple[bool, str | None]:
    """(connected to Anvil now, what Anvil said if it refused us).

    anvil-uplink has no public way to ask this, so this reads its module state; it is the only place
    that does.
    """
    connection, refusal = anvil.server._connection, anvil.server._fatal_error
    connected = connection is not None and connection.is_ready() and not connection.terminated
    return connected and refusal is None, None if refusal is None else str(refusal)


class _StatusWriter:
    """Writes the status file; the main loop and the connecting thread both call it."""

    def __init__(self, path: Path, calls: InFlightCalls):
        self.path = path
        self.calls = calls
        self.models: tuple[str, ...] = ()
        self.state = "starting"
        self._last_error: str | None = None
        self._lock = threading.Lock()

    def write(self, state: str) -> None:
        with self._lock:
            if state == "serving" and self.state in ("stopping", "stopped"):
                return  # the connecting thread came late
            self.state = state
            connected, problem = uplink_state()
            status = ServerStatus(pid=os.getpid(), state=state, connected=connected, models=self.models,
                                  calls_in_flight=self.calls.count(), updated_at=time.time(), problem=problem)
            try:
                write_status(self.path, status)
                self._last_error = None
            except OSError as error:
                if str(error) != self._last_error:  # say it once, not every few seconds
                    log.warning("status file not written",
                                extra={"fields": {"path": str(self.path), "error": str(error)}})
                self._last_error = str(error)
