"""Shared fixtures: the real MNIST file, the shipped models, the web page in a browser, PostgreSQL.

The test tiers: `pytest -m "not slow"` is the fast tier; plain `pytest` (CI) runs every tier. A test is slow
when it stands on a browser or a PostgreSQL cluster (marked here, by its fixtures) or when it trains,
fine-tunes, builds the wheel or reads thousands of files (marked in its module with @pytest.mark.slow).

The browser tests' screenshots go to a folder outside the repository; `pytest --update-docs` (with the
browser tests selected, e.g. `pytest tests/test_web_page.py tests/test_web_numbers.py
tests/test_sketch_pad.py --update-docs`) writes them into docs/, where the README shows them.
"""

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SLOW_FIXTURES = {"chromium", "page", "phone_page", "app_server", "uplink_server", "postgres"}


def pytest_addoption(parser):
    parser.addoption("--update-docs", action="store_true",
                     help="write the browser tests' screenshots into docs/ (the README's pictures)")


def pytest_configure(config):
    if config.getoption("--update-docs"):
        os.environ["DIGITS_SCREENSHOTS_DIR"] = str(REPO / "docs")  # read by harness.web_page.screenshots_dir


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the markers
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class Digits(NamedTuple):
    """MNIST digits and their labels: uint8 (N, 28, 28) and (N,); `images, labels = digits` unpacks them."""

    images: np.ndarray
    labels: np.ndarray

    def first(self, count: int) -> "Digits":
        return Digits(self.images[:count], self.labels[:count])


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The MNIST .npz named by $DIGITS_MNIST_NPZ (CI sets it), else the shared copy beside the repo."""
    path = Path(os.environ.get("DIGITS_MNIST_NPZ", REPO.parent / "shared" / "data" / "mnist.npz"))
    if not path.is_file():
        pytest.fail(f"MNIST not found at {path}: set DIGITS_MNIST_NPZ to an MNIST .npz file")
    return path


@pytest.fixture(scope="session")
def mnist_train_digits(mnist_path) -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 MNIST training digits and their labels: uint8 (1000, 28, 28) and (1000,)."""
    with np.load(mnist_path) as mnist:
        return mnist["x_train"][:1000].copy(), mnist["y_train"][:1000].copy()


@pytest.fixture(scope="session")
def mnist_test(mnist_path) -> Digits:
    """The 10,000 MNIST test digits and their labels, loaded once: what the tests read with a real model.
    The one MNIST test fixture: a test that needs fewer takes `mnist_test.first(n)`."""
    with np.load(mnist_path) as mnist:
        return Digits(mnist["x_test"].copy(), mnist["y_test"].copy())


SMALL_MNIST = {"train": 2000, "test": 600}  # digits in the small MNIST file the training tests use
SMALL_TRAINING = {"cnn": {"epochs": 2, "limit": 512}, "vit": {"epochs": 1, "limit": 256}}  # barely trained


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory, mnist_path) -> Path:
    """A small MNIST file cut from the real one: its first 2,000 training and 600 test digits."""
    with np.load(mnist_path) as mnist:
        parts = {f"{x}_{split}": mnist[f"{x}_{split}"][:count] for split, count in SMALL_MNIST.items() for x in "xy"}
    path = tmp_path_factory.mktemp("data") / "mnist_small.npz"
    np.savez(path, **parts)
    return path


class SmallModels(NamedTuple):
    folder: Path  # the .keras files and model cards
    logs: Path  # the TensorBoard logs
    settings: dict  # per model, the epochs and training images asked for (SMALL_TRAINING)
    cards: dict  # per model, the card train() returned


@pytest.fixture(scope="session")
def small_models(tmp_path_factory, small_mnist) -> SmallModels:
    """Both models trained once per session by the project's own trainer, barely (SMALL_TRAINING, on
    small_mnist): what the training, evaluation and report tests read."""
    from training.train import train

    root = tmp_path_factory.mktemp("training")
    cards = {model_id: train(model_id, data=small_mnist, out=root / "models", log_dir=root / "runs", verbose=0,
                             suite_per_style=2, typefaces=False, **settings)
             for model_id, settings in SMALL_TRAINING.items()}
    return SmallModels(root / "models", root / "runs", SMALL_TRAINING, cards)


@pytest.fixture(scope="session")
def engine():
    """The shipped models (CNN, ViT and their ensemble), served as `digits serve` serves them: one engine for
    the whole session. A broken or missing models folder fails here, it is never skipped."""
    from digits.engine import Engine

    with Engine() as engine:
        yield engine


# --- the web page in a real browser: one app server, one `digits serve`, one Chromium per session --------

WEB_KEY = "browser-tests-uplink-key"


@pytest.fixture(scope="session")
def web_tools():
    """Skip (or, in CI, fail) with the instruction when the runtime, Chromium or axe-core is missing."""
    from harness.web_page import missing_pieces

    missing = missing_pieces()
    if missing:
        message = "the browser tests need: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def uplink_stand_in(web_tools):
    from harness.anvil_stand_in import AnvilStandIn

    with AnvilStandIn(WEB_KEY) as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def uplink_server(uplink_stand_in, tmp_path_factory):
    """`digits serve` connected to the stand-in; tests may stop() and start() it, and leave it running."""
    from harness.web_page import UplinkServer

    server = UplinkServer(uplink_stand_in, WEB_KEY, tmp_path_factory.mktemp("digits-serve"))
    server.start()
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_server(uplink_stand_in):
    """anvil_app/ served to Anvil's client runtime, its server calls passed on to the uplink."""
    from harness.anvil_app_server import AnvilAppServer
    from harness.web_page import runtime_dir

    with AnvilAppServer(REPO / "anvil_app", runtime_dir(), uplink_stand_in) as server:
        yield server


@pytest.fixture(scope="session")
def chromium(web_tools):
    from playwright.sync_api import sync_playwright
    from harness.web_page import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def _new_page(chromium, viewport: dict, **options):
    context = chromium.new_context(viewport=viewport, service_workers="block", **options)
    page = context.new_page()
    page.console_messages = []  # what a developer would see in the browser's console
    page.on("console", lambda m: page.console_messages.append({"type": m.type, "text": m.text}))
    page.on("pageerror", lambda error: page.console_messages.append({"type": "pageerror", "text": str(error)}))
    return context, page


@pytest.fixture
def page(chromium):
    """A fresh desktop browser tab (its console in page.console_messages); open the app with web_page.open_app."""
    from harness.web_page import DESKTOP

    context, page = _new_page(chromium, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium):
    """A fresh tab on a phone-sized touch screen (390 x 844)."""
    from harness.web_page import PHONE

    context, page = _new_page(chromium, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    yield page
    context.close()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster (harness/postgres_cluster.py), removed at the end of the session.

    CI installs PostgreSQL (.ci/run), so there a missing one fails; elsewhere the tests that need it skip.
    """
    from harness.postgres_cluster import PostgresCluster, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    cluster = PostgresCluster(bin_dir)
    yield cluster
    cluster.remove()
