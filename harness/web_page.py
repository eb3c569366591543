"""The pieces the browser tests stand on: Anvil's runtime, Chromium, `digits serve`, and reading the page.

The fixtures in conftest.py put them together: one `digits serve` process connected to an
`AnvilStandIn`, one `AnvilAppServer` serving anvil_app/ to Anvil's real client runtime, one Chromium,
and for each test a fresh page (a new browser context) opened on the app.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AXE = REPO / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
UPLINK_FUNCTIONS = {"list_models", "classify_digit", "compare_models", "model_report"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def stop_server(process: subprocess.Popen, grace_s: float) -> None:
    """Stops a server as its container would: SIGTERM, then SIGKILL if it has not ended within `grace_s`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def screenshots_dir() -> Path:
    """Where the browser tests save their screenshots: $DIGITS_SCREENSHOTS_DIR, which tests/conftest.py sets
    to docs/ under `pytest --update-docs` (the README's pictures) and otherwise to a folder outside the
    repository, so that a test run leaves the tracked files alone."""
    folder = Path(os.environ.get("DIGITS_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "digits-test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def runtime_dir() -> Path:
    """Anvil's built client runtime: $ANVIL_RUNTIME_DIR, else ../shared/anvil-runtime/client."""
    return Path(os.environ.get("ANVIL_RUNTIME_DIR") or REPO.parent / "shared" / "anvil-runtime" / "client")


def missing_pieces() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = []
    if not (runtime_dir() / "dist" / "runner2.html").is_file():
        missing.append(f"Anvil's client runtime is not at {runtime_dir()}: build it with "
                       "scripts/build_anvil_runtime.sh, or set ANVIL_RUNTIME_DIR to a built runtime's client/ folder")
    if not CHROMIUM.is_file():
        missing.append(f"no Chromium at {CHROMIUM}: apt-get install chromium (bash .ci/run does)")
    if not AXE.is_file():
        missing.append(f"no axe-core at {AXE}: npm ci --prefix tests/js (bash .ci/run does)")
    return missing


def launch_chromium(playwright):
    """Debian's Chromium, headless, asking nothing of the network."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class UplinkServer:
    """`digits serve`, as a person starts it, pointed at the stand-in for Anvil; its log in `folder`."""

    def __init__(self, stand_in, key: str, folder: Path):
        self.stand_in, self.folder = stand_in, folder
        self.environment = {name: value for name, value in os.environ.items()
                            if not name.startswith(("ANVIL_", "DIGITS_"))}
        self.environment.update(ANVIL_UPLINK_KEY=key, ANVIL_UPLINK_URL=stand_in.url, TF_CPP_MIN_LOG_LEVEL="2",
                                DIGITS_STATUS_FILE=str(folder / "uplink-status.json"),
                                DIGITS_DATA_DIR=str(folder / "data"))  # its feedback store, thrown away after
        self.process = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.folder / f"digits-serve-{self.starts}.log", "wb")
        with log:
            self.process = subprocess.Popen([sys.executable, "-m", "digits.cli", "serve"], cwd=REPO,
                                            env=self.environment, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_ready(self, timeout: float = 240) -> None:
        try:
            self.stand_in.wait_for_functions(UPLINK_FUNCTIONS, timeout=timeout)
        except TimeoutError:
            log = (self.folder / f"digits-serve-{self.starts}.log").read_text()[-3000:]
            raise TimeoutError(f"`digits serve` did not register its functions:\n{log}") from None

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process, 30)
        deadline = time.monotonic() + 10
        while self.stand_in.open_connections() and time.monotonic() < deadline:
            time.sleep(0.05)


# --- reading the page as a person sees it ----------------------------------------------------------------

CARDS = ".anvil-role-card"


def open_app(page, url: str) -> None:
    """Open the classify page and wait until it has asked the server for the models."""
    page.goto(url)
    page.locator("select option").first.wait_for(state="attached", timeout=60_000)


def open_app_without_models(page, url: str) -> None:
    page.goto(url)
    page.locator(".anvil-role-status .label-text").filter(has_text="not connected").wait_for(timeout=60_000)


def wait_until_still(page) -> None:
    """Wait until no spinner shows (Anvil's, while a server call runs; a chart's, while it draws)."""
    page.wait_for_function("""() => Array.from(document.querySelectorAll(".anvil-spinner")).every(spinner => {
        const style = getComputedStyle(spinner);
        return style.display === "none" || Number(style.opacity) === 0;
    })""")


def wait_until_read(page, timeout: float = 90_000) -> str:
    """Wait for the status line to say the files are read; return it."""
    status = page.locator(".anvil-role-status .label-text").filter(has_text="Done:")
    status.wait_for(timeout=timeout)
    return status.inner_text()


def card_facts(card) -> dict:
    """What one result card shows once drawn: title, digit, confidence, error, chart bars, images loaded."""
    def text(selector: str) -> str:
        found = card.locator(f"{selector}:visible .label-text")
        return found.first.inner_text() if found.count() else ""

    no_chart = card.locator(".anvil-role-error:visible").count() or card.get_by_text("No digit found").count()
    if not no_chart:
        card.locator(".js-plotly-plot .trace.bars .point").first.wait_for(state="attached", timeout=30_000)  # Plotly draws later
    images = card.locator("img:visible")
    for image in images.all():
        image.page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=30_000)
    return {
        "title": text(".anvil-role-subheading"),
        "digit": text(".anvil-role-digit"),
        "confidence": text(".anvil-role-confidence"),
        "error": text(".anvil-role-error"),
        "warnings": text(".anvil-role-warning"),
        "bars": card.locator(".js-plotly-plot .trace.bars .point").count(),
        "traces": card.locator(".js-plotly-plot .trace.bars").count(),
        "legend": card.locator(".js-plotly-plot .legendtext").evaluate_all("texts => texts.map(t => t.textContent)"),
        "images": [{"alt": image.get_attribute("alt"), "loaded": image.evaluate("img => img.naturalWidth > 0")}
                   for image in images.all()],
    }


def drop_files(page, target: str, paths: list[Path]) -> None:
    """Drop files on `target` as a person dragging them from a file manager: a DataTransfer holding them,
    then dragenter, dragover and drop events."""
    files = [{"name": path.name, "type": _content_type(path), "data": list(path.read_bytes())} for path in paths]
    transfer = page.evaluate_handle("""files => {
        const transfer = new DataTransfer();
        for (const f of files) transfer.items.add(new File([new Uint8Array(f.data)], f.name, {type: f.type}));
        return transfer;
    }""", files)
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})


def _content_type(path: Path) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".csv": "text/csv"}.get(
        path.suffix.lower(), "application/octet-stream")


def axe_violations(page) -> list[dict]:
    """axe-core's audit of the page as it is now: [{id, impact, help, targets}]."""
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [" ".join(map(str, node["target"])) for node in v["nodes"]]}
            for v in result["violations"]]


def console_problems(messages) -> list[str]:
    """The errors among a page's console messages and uncaught exceptions."""
    return [json.dumps(m) for m in messages if m["type"] in ("error", "pageerror")]


# --- the sketch pad ----------------------------------------------------------------------------------

SKETCH_CANVAS = "canvas.anvil-role-sketch-canvas"
LIVE_CARD = f".anvil-role-sketch-result {CARDS}"
KEPT_CARDS = f"{CARDS}:not(.anvil-role-sketch-result *)"  # the results' cards, not the live reading


def _on_canvas(page, strokes: list) -> list[list[tuple[float, float]]]:
    """Strokes in fractions of the side (digit_strokes.skeleton_strokes) as page coordinates on the pad."""
    box = page.locator(SKETCH_CANVAS).bounding_box()
    return [[(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke] for stroke in strokes]


def draw_with_mouse(page, strokes: list, pause_ms: float = 0) -> None:
    """Each stroke as a person draws it: press, move through its points, release; `pause_ms` between strokes."""
    for index, stroke in enumerate(_on_canvas(page, strokes)):
        if index and pause_ms:
            page.wait_for_timeout(pause_ms)
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_with_finger(page, strokes: list) -> None:
    """Each stroke as a finger on a touch screen: touchStart, touchMove through its points, touchEnd (CDP)."""
    session = page.context.new_cdp_session(page)
    for stroke in _on_canvas(page, strokes):
        swipe(session, stroke)
    session.detach()


def swipe(session, points: list) -> None:
    """One finger down at the first point, through the others, and up: real touch events, as a phone sends them."""
    def touch(kind, point=None):
        session.send("Input.dispatchTouchEvent",
                     {"type": kind, "touchPoints": [] if point is None else [{"x": point[0], "y": point[1]}]})

    touch("touchStart", points[0])
    for point in points[1:]:
        touch("touchMove", point)
    touch("touchEnd")
