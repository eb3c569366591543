"""`digits serve` under abuse, end to end: real server processes, the real anvil-uplink client and the
loopback stand-in for Anvil (harness/anvil_stand_in.py). Rows of issue #28's table, each small and bounded
in time: a silent endpoint, SIGTERM while connecting, a dropped connection with calls in flight, a
flood from one visitor, a CSV that would hand out thousands of result ids. The load test with figures
is benchmarks/load_test.py.
"""

import io
import json
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from harness.anvil_stand_in import AnvilStandIn, HeldMedia, MediaFile, RemoteError
from test_uplink_server import FUNCTIONS, KEY, ServerProcess, png_file, png_of, served_models

SLOW_DOWN = "You are sending a lot at once; please wait a few seconds and try again."


def raw_log_lines(server: ServerProcess) -> list[str]:
    return [line for line in server.log_file.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abuse")
    models_dir, model_ids, _ = served_models(folder)
    return folder, models_dir, model_ids[0]


@pytest.fixture(scope="module")
def silent_endpoint():
    """A TCP port that takes connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    taken = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                taken.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}/uplink"
    stop.set()
    thread.join()
    for connection in taken:
        connection.close()
    listener.close()


@pytest.mark.slow  # waits out the server's 15 s connect timeout
def test_a_silent_endpoint_is_retried_and_sigterm_ends_the_server_within_10_s(served, silent_endpoint):
    folder, models_dir, model = served
    server = ServerProcess("silent", folder, ANVIL_UPLINK_URL=silent_endpoint, ANVIL_UPLINK_KEY=KEY,
                           DIGITS_MODELS_DIR=str(models_dir), DIGITS_MODELS=model)
    try:
        failed = server.wait_for_log("uplink connection failed", timeout=120)  # after CONNECT_TIMEOUT_S: cut off
        assert failed["error"] == "no answer within 15 s" and failed["retry_in_s"] == 1.0
        time.sleep(1.5)  # connecting again, to the same silence
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(15)
        assert time.monotonic() - started < 10.0
    finally:
        server.stop()
    lines = raw_log_lines(server)
    assert all(line.startswith("{") for line in lines), [line for line in lines if not line.startswith("{")]
    assert not any("XNNPACK" in line for line in lines)  # the runtime's start-up line: DEBUG, not shown at INFO


@pytest.fixture(scope="module")
def server_and_anvil(served):
    folder, models_dir, model = served
    with AnvilStandIn(KEY) as anvil:
        server = ServerProcess("abused", folder, ANVIL_UPLINK_URL=anvil.url, ANVIL_UPLINK_KEY=KEY,
                               DIGITS_MODELS_DIR=str(models_dir), DIGITS_MODELS=model)
        try:
            anvil.wait_for_functions(FUNCTIONS, timeout=180)
            yield server, anvil
        finally:
            server.stop()


@pytest.fixture(scope="module")
def seven(mnist_path) -> bytes:
    with np.load(mnist_path) as mnist:
        return png_of(mnist["x_test"][0])  # a 7


def test_one_visitor_flooding_a_function_is_told_to_slow_down_and_others_are_served(server_and_anvil, seven):
    server, anvil = server_and_anvil
    outcomes = []
    for _ in range(200):  # list_models is the cheapest call there is: the limit is on calls, not on cost
        try:
            anvil.call("list_models", session="vandal", ip="203.0.113.7")
            outcomes.append("answered")
        except RemoteError as error:
            outcomes.append(error.message)
    assert outcomes[:100] == ["answered"] * 100  # a burst a person never reaches
    assert SLOW_DOWN in outcomes and set(outcomes) == {"answered", SLOW_DOWN}
    answer = anvil.call("classify_digit", png_file(seven, "seven.png"), session="someone", ip="198.51.100.4")
    assert answer["digit"] == 7


def test_a_csv_of_2000_rows_hands_out_at_most_64_result_ids(server_and_anvil, mnist_path):
    server, anvil = server_and_anvil
    with np.load(mnist_path) as mnist:
        rows = mnist["x_test"][:2000].reshape(2000, -1)
    text = "\n".join(",".join(map(str, row)) for row in rows).encode()
    answers = anvil.call("classify_digits", [MediaFile("text/csv", text, "rows.csv")], timeout=120,
                         session="csv", ip="192.0.2.10")
    assert len(answers) == 2000
    ids = [answer["result_id"] for answer in answers]
    assert all(ids[:64]) and not any(ids[64:])


def test_a_dropped_connection_with_calls_in_flight_logs_only_json_lines(server_and_anvil, seven):
    server, anvil = server_and_anvil
    held = [HeldMedia(png_file(seven, f"{n}.png")) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(anvil.call, "classify_digit", media, timeout=20) for media in held]
        for media in held:
            assert media.fetched.wait(20)  # each function is running, asking Anvil for its file
        anvil.drop_connections()
        for call in calls:
            with pytest.raises(Exception):
                call.result(timeout=30)
    anvil.wait_for_functions(FUNCTIONS, timeout=30)  # it reconnects by itself
    assert anvil.call("classify_digit", png_file(seven, "after.png"))["digit"] == 7
    time.sleep(0.5)
    lines = raw_log_lines(server)
    assert all(line.startswith("{") for line in lines), [line for line in lines if not line.startswith("{")][:5]
    assert all(json.loads(line) for line in lines)


def near_limit_png() -> bytes:
    """39.7 million RGBA pixels (159 MB once decoded) in a small file: seconds of decoding each."""
    from PIL import Image, ImageDraw

    side = 6300
    image = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    ImageDraw.Draw(image).ellipse((side // 3, side // 4, 2 * side // 3, 3 * side // 4), outline="black",
                                  width=side // 40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@pytest.mark.slow  # eight calls of 40-megapixel pictures, then a shutdown
def test_sigterm_with_heavy_calls_running_and_waiting_answers_every_one_within_10_s(served):
    folder, models_dir, model = served
    huge = MediaFile("image/png", near_limit_png(), "huge.png")
    with AnvilStandIn(KEY) as anvil:
        server = ServerProcess("stopped-busy", folder, ANVIL_UPLINK_URL=anvil.url, ANVIL_UPLINK_KEY=KEY,
                               DIGITS_MODELS_DIR=str(models_dir), DIGITS_MODELS=model)
        try:
            anvil.wait_for_functions(FUNCTIONS, timeout=180)
            with ThreadPoolExecutor(max_workers=8) as pool:
                calls = [pool.submit(anvil.call, "classify_digits", [huge] * 4, timeout=30,
                                     session=f"heavy-{n}", ip=f"192.0.2.{n + 1}") for n in range(8)]
                time.sleep(2.0)  # two decoding, six waiting for a lane
                started = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                outcomes = []
                for call in calls:
                    try:
                        call.result(timeout=30)
                        outcomes.append("answered")
                    except RemoteError as error:
                        outcomes.append(error.message)
                server.process.wait(15)
                stopped_s = time.monotonic() - started
        finally:
            server.stop()
    assert set(outcomes) <= {"answered", "The server is restarting; please try again in a moment."}, outcomes
    assert len(outcomes) == 8 and stopped_s < 10.0
