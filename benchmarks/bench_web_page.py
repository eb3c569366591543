"""How long a person waits on the web page: from choosing a file to its card on screen, and from the
last stroke of a drawing on the sketch pad to its reading in place, timed in the browser.

The same stack as the browser tests (harness/web_page.py): `digits serve` connected to the Uplink
stand-in, the loopback app server, Anvil's runtime in Chromium. Each of N uploads is one file chosen
in the file chooser; the page's own clock (performance.now()) stamps the chooser's change event, the
card being added, and its chart drawn. Each of M drawings is an MNIST test digit's strokes drawn with
the mouse on the cleared pad (training/digit_strokes.py); the clock stamps the last stroke's mouseup and
the live card's chart drawn. That wait includes the pad's deliberate pause (sketch.READ_DELAY, 400 ms)
before it sends the drawing.

    python -m benchmarks.bench_web_page [--uploads 20] [--drawings 20] [--json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness.anvil_app_server import AnvilAppServer
from harness.anvil_stand_in import AnvilStandIn
from harness.web_page import CARDS, DESKTOP, SKETCH_CANVAS, UplinkServer, draw_with_mouse, launch_chromium
from harness.web_page import missing_pieces, open_app, runtime_dir
from training.digit_strokes import skeleton_strokes

REPO = Path(__file__).resolve().parent.parent

SAMPLES = ["seven-paper.png", "four-photo.jpg", "nine.csv", "three-white-on-black.png"]
KEY = "bench-uplink-key"

# Stamps, in the page: the chooser's change event, then each card added and its chart's bars drawn.
STOPWATCH = """() => {
    window.stamps = [];
    document.addEventListener("change", () => window.stamps.push({chosen: performance.now()}), true);
    new MutationObserver(() => {
        const last = window.stamps[window.stamps.length - 1];
        if (!last) return;
        const cards = document.querySelectorAll(".anvil-role-card");
        if (!last.card && cards.length === window.stamps.length) last.card = performance.now();
        if (last.card && !last.chart && cards[0].querySelector(".trace.bars .point")) last.chart = performance.now();
    }).observe(document.body, {childList: true, subtree: true});
}"""


# Stamps for the sketch pad: each stroke's mouseup (the last one counts), then the live card's bars drawn.
SKETCH_STOPWATCH = """canvas => {
    window.sketchStamps = [];
    canvas.addEventListener("mouseup", () => {
        const last = window.sketchStamps[window.sketchStamps.length - 1];
        if (last && !last.shown) last.ended = performance.now();
    }, true);
    new MutationObserver(() => {
        const last = window.sketchStamps[window.sketchStamps.length - 1];
        const card = document.querySelector(".anvil-role-sketch-result .anvil-role-card");
        if (last && last.ended && !last.shown && card && card.querySelector(".trace.bars .point")) {
            last.shown = performance.now();
        }
    }).observe(document.body, {childList: true, subtree: true});
}"""


def mnist_path() -> Path:
    return Path(os.environ.get("DIGITS_MNIST_NPZ") or REPO.parent / "shared" / "data" / "mnist.npz")


def measure_drawings(page, drawings: int) -> list[dict]:
    with np.load(mnist_path()) as mnist:
        digits = mnist["x_test"][:drawings]
    page.locator(SKETCH_CANVAS).evaluate(SKETCH_STOPWATCH)
    clear = page.get_by_role("button", name="Clear", exact=False).filter(has_not_text="results")
    for index, digit in enumerate(digits):
        if clear.is_enabled():
            clear.click()
        page.evaluate("window.sketchStamps.push({})")
        draw_with_mouse(page, skeleton_strokes(digit))
        page.wait_for_function("n => window.sketchStamps[n].shown", arg=index, timeout=60_000)
    return page.evaluate("window.sketchStamps")


def measure(page, uploads: int) -> list[dict]:
    page.evaluate(STOPWATCH)
    for index in range(uploads):
        page.locator("input[type=file]").set_input_files(REPO / "samples" / SAMPLES[index % len(SAMPLES)])
        page.wait_for_function("n => window.stamps.length === n && window.stamps[n - 1].chart", arg=index + 1,
                               timeout=60_000)
        page.locator(CARDS).nth(index).wait_for()
    return page.evaluate("window.stamps")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--drawings", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if missing_pieces():
        print("\n".join(missing_pieces()), file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, AnvilStandIn(KEY) as stand_in, \
            AnvilAppServer(REPO / "anvil_app", runtime_dir(), stand_in) as app_server, sync_playwright() as playwright:
        server = UplinkServer(stand_in, KEY, Path(folder))
        server.start()
        try:
            server.wait_until_ready()
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport=DESKTOP, service_workers="block").new_page()
            open_app(page, app_server.url)
            stamps = measure(page, args.uploads)
            uplink_ms = [seconds * 1000 for name, seconds in app_server.calls if name == "classify_digit"]
            calls_before = len(app_server.calls)
            sketch_stamps = measure_drawings(page, args.drawings) if args.drawings else []
            sketch_calls = [seconds * 1000 for name, seconds in app_server.calls[calls_before:]]
            browser.close()
        finally:
            server.stop()
    to_card = [s["card"] - s["chosen"] for s in stamps]
    to_chart = [s["chart"] - s["chosen"] for s in stamps]
    figures = {"uploads": len(stamps), "card_p50_ms": round(statistics.median(to_card), 1),
               "card_max_ms": round(max(to_card), 1), "chart_p50_ms": round(statistics.median(to_chart), 1),
               "chart_max_ms": round(max(to_chart), 1), "uplink_p50_ms": round(statistics.median(uplink_ms), 1)}
    if sketch_stamps:
        to_reading = [s["shown"] - s["ended"] for s in sketch_stamps]
        figures.update(drawings=len(sketch_stamps), sketch_calls=len(sketch_calls),
                       drawing_p50_ms=round(statistics.median(to_reading), 1), drawing_max_ms=round(max(to_reading), 1),
                       drawing_uplink_p50_ms=round(statistics.median(sketch_calls), 1))
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{figures['uploads']} uploads, one file each, timed in the browser:")
        print(f"  file chosen -> its card shown:      p50 {figures['card_p50_ms']} ms, max {figures['card_max_ms']} ms")
        print(f"  file chosen -> its chart drawn too: p50 {figures['chart_p50_ms']} ms, max {figures['chart_max_ms']} ms")
        print(f"  of which the call through the uplink (app server -> digits serve -> back): "
              f"p50 {figures['uplink_p50_ms']} ms")
        if sketch_stamps:
            print(f"{figures['drawings']} drawings on the sketch pad (MNIST test digits' strokes, mouse), "
                  f"{figures['sketch_calls']} server calls:")
            print(f"  last stroke ended -> its reading shown: p50 {figures['drawing_p50_ms']} ms, "
                  f"max {figures['drawing_max_ms']} ms (400 ms of it the pad's pause)")
            print(f"  of which the call through the uplink: p50 {figures['drawing_uplink_p50_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
