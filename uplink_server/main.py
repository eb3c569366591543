"""`digits serve`: load the models, connect to Anvil over the Uplink, serve until SIGTERM or SIGINT.

The life of a server process:
1. load and warm up the models (the status file says "loading models");
2. open the feedback store (bringing its schema up to date); if it is down, serve all the same: only
   feedback waits for it;
3. connect, retrying until Anvil answers; after that anvil-uplink reconnects by itself whenever the
   connection drops, and registers the functions again. If Anvil refuses the key, exit 2 at once
   with one log line saying so (a wrong key does not fix itself);
4. every STATUS_INTERVAL_S, rewrite the status file that `digits health` reads;
5. on SIGTERM/SIGINT: turn new calls away with "restarting, try again", let the running ones finish
   and answer (up to SHUTDOWN_GRACE_S, until no call has arrived for a moment), disconnect, exit 0.
Several processes may serve the same app at once; Anvil spreads the calls over all of them.
"""

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import anvil.server

from uplink_server.health import STATUS_INTERVAL_S, ServerStatus, write_status
from uplink_server.inflight import InFlightCalls
from uplink_server.logs import configure_logging
from uplink_server.settings import Settings, SettingsError

SHUTDOWN_GRACE_S = 8.0  # under the 10 s a container runtime gives between SIGTERM and SIGKILL
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
    configure_logging(settings.log_level)
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda number, frame: stop.set())
    calls = InFlightCalls()
    status = _StatusWriter(settings.status_file, calls)
    status.write("loading models")

    # The models load here rather than at import, so that a settings error is reported at once.
    import models
    from uplink_server import functions
    from uplink_server.feedback import FeedbackDesk, model_checksums
    from uplink_server.result_tokens import ResultSigner

    models_dir = settings.models_dir or models.MODELS_DIR
    engine = _load_engine(models_dir, settings.model_ids or models.MODEL_IDS)
    if engine is None:
        status.write("stopped")
        return 1
    store = _open_store(settings)
    feedback = FeedbackDesk(ResultSigner(settings.signing_secret), store,
                            model_checksums(models_dir, engine.model_ids))
    functions.attach(engine, settings.reports_dir or models_dir / "reports", calls, feedback=feedback)
    status.models = engine.model_ids
    status.write("serving")

    refused = threading.Event()
    threading.Thread(target=_connect, args=(settings, stop, refused, status), daemon=True, name="connect").start()
    while not stop.wait(STATUS_INTERVAL_S):
        status.write("serving")
    if refused.is_set():
        anvil.server.disconnect()
        engine.close()
        status.write("stopped")
        return 2

    in_flight = calls.close()
    status.write("stopping")
    log.info("stopping", extra={"fields": {"calls_in_flight": in_flight}})
    abandoned = calls.wait(SHUTDOWN_GRACE_S)
    anvil.server.disconnect()
    engine.close()
    store.close()
    status.write("stopped")
    log.log(logging.WARNING if abandoned else logging.INFO, "stopped",
            extra={"fields": {"calls_abandoned": abandoned}})
    return 1 if abandoned else 0


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
        engine = Engine(model_ids, models_dir)
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

    A key Anvil refuses sets `refused` and `stop`: retrying would never help.
    """
    delay = 1.0
    while not stop.is_set():
        try:
            anvil.server.connect(settings.uplink_key, url=settings.uplink_url)
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
        except Exception as error:
            log.warning("uplink connection failed", extra={"fields": {
                "url": settings.uplink_url, "error": f"{type(error).__name__}: {error}", "retry_in_s": delay}})
        stop.wait(delay)
        delay = min(2 * delay, MAX_RETRY_DELAY_S)


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
