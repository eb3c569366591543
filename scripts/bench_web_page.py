"""How long a person waits on the web page: from choosing a file to its card on screen, timed in the browser.

The same stack as the browser tests (tests/web_page.py): `digits serve` connected to the Uplink
stand-in, the loopback app server, Anvil's runtime in Chromium. Each of N uploads is one file chosen
in the file chooser; the page's own clock (performance.now()) stamps the chooser's change event, the
card being added, and its chart drawn.

    python scripts/bench_web_page.py [--uploads 20] [--json]
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from anvil_app_server import AnvilAppServer  # noqa: E402
from anvil_stand_in import AnvilStandIn  # noqa: E402
from web_page import CARDS, DESKTOP, UplinkServer, launch_chromium, missing_pieces, open_app  # noqa: E402
from web_page import runtime_dir  # noqa: E402

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
            browser.close()
        finally:
            server.stop()
    to_card = [s["card"] - s["chosen"] for s in stamps]
    to_chart = [s["chart"] - s["chosen"] for s in stamps]
    figures = {"uploads": len(stamps), "card_p50_ms": round(statistics.median(to_card), 1),
               "card_max_ms": round(max(to_card), 1), "chart_p50_ms": round(statistics.median(to_chart), 1),
               "chart_max_ms": round(max(to_chart), 1), "uplink_p50_ms": round(statistics.median(uplink_ms), 1)}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{figures['uploads']} uploads, one file each, timed in the browser:")
        print(f"  file chosen -> its card shown:      p50 {figures['card_p50_ms']} ms, max {figures['card_max_ms']} ms")
        print(f"  file chosen -> its chart drawn too: p50 {figures['chart_p50_ms']} ms, max {figures['chart_max_ms']} ms")
        print(f"  of which the call through the uplink (app server -> digits serve -> back): "
              f"p50 {figures['uplink_p50_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
