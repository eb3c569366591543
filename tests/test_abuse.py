"""What an attacker might send, and what they get: bounded work, readable refusals, no traceback.

Each test reproduces one row of issue #28's table, small and seeded. The figures (CPU seconds, p50,
peak memory) come from benchmarks/time_hostile_pictures.py and benchmarks/load_test.py, not from here.
"""

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.preprocessing import prepare_number, prepare_upload
from digits.preprocessing.locate import A_PATTERN, NO_DIGIT_WARNING
from digits.preprocessing.locate.marks import MAX_MARKS, ink_marks

REPO = Path(__file__).resolve().parent.parent
PATTERN = NO_DIGIT_WARNING.format(A_PATTERN)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def dots_png() -> bytes:
    """The issue's 1.6 KB PNG of 65,000 dots: every other pixel of every other row black on 512 x 512 white."""
    pixels = np.full((512, 512), 255, np.uint8)
    pixels[::2, ::2] = 0
    return _png(pixels)


def test_a_picture_of_65000_dots_is_a_pattern_not_a_digit_nor_a_number():
    data = dots_png()
    assert len(data) < 2000
    assert prepare_upload(data, "dots.png").warnings == (PATTERN,)
    number = prepare_number(data, "dots.png")
    assert number.marks == () and number.warnings == (PATTERN,)


def test_patterns_and_line_art_are_read_without_a_traceback():
    """Pictures with no paper beside the ink (a pattern filling the picture, thin line art) once made the
    polarity stage index an empty side: every one now gets an answer or a readable "no digit"."""
    from training import not_digits

    for kind in (not_digits.pattern, not_digits.line_art):
        for seed in range(60):
            prepared = prepare_upload(kind(np.random.default_rng([7, seed])))
            assert prepared.pixels.shape == (28, 28) and (prepared.has_digit or prepared.warnings), (kind.__name__, seed)


def test_the_marks_looked_at_one_by_one_are_capped_at_the_heaviest():
    random = np.random.default_rng(28)
    ink = np.zeros((512, 512), np.float32)
    ink[random.random(ink.shape) < 0.2] = 200.0  # salt: tens of thousands of one-pixel marks
    ink[200:300, 240:252] = 255.0  # and one upright bar that outweighs each of them
    marks = ink_marks(ink, noise=0.0, drawn=True)
    assert marks.crowded
    assert 0 < np.count_nonzero(marks.masses) <= MAX_MARKS


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "digits.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def test_the_cli_refuses_a_device_a_fifo_and_a_huge_file_without_reading_them(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as file:
        file.truncate(8 * 2**30)  # 8 GB, sparse: reading it whole would take the memory
    result = _cli("classify", "/dev/zero", str(fifo), str(huge), timeout=30)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == ["/dev/zero: error: /dev/zero is a device, not a file; give an image or CSV file",
                     f"{fifo}: error: {fifo} is a pipe (FIFO), not a file; give an image or CSV file",
                     f"{huge}: error: {huge} is 8,192.0 MB; the limit is 10 MB per file"]
    assert "Traceback" not in result.stderr


def test_a_closed_pipe_ends_the_cli_quietly():
    command = f"{sys.executable} -m digits.cli classify {' '.join(['samples/'] * 20)} | head -1"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


# --- admission: bounds on calls in flight, on their bytes, per caller ------------------------------------

from uplink_server.limits import (  # noqa: E402
    BUSY, SLOW_DOWN, SMALL_CALL_BYTES, TOO_MANY_AT_ONCE, Admission, Caller, Refused)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _hold(admission: Admission, caller: Caller, upload_bytes: int = 10**6, units: int = 1):
    """Admit a call and keep it running while its context (returned) is referenced."""
    context = admission.admit(caller, upload_bytes, units)
    context.__enter__()
    return context


def test_past_the_calls_in_flight_a_call_is_told_the_server_is_busy_and_small_calls_still_get_in():
    admission = Admission(max_calls=3, calls_per_caller=10, heavy_lanes=3)
    running = [_hold(admission, Caller(f"s{n}", None)) for n in range(3)]
    with pytest.raises(Refused, match=BUSY):
        _hold(admission, Caller("late", None))
    with admission.admit(Caller("one-digit", None), upload_bytes=400, units=1):  # a 28x28 PNG: the small lane
        pass
    running[0].__exit__(None, None, None)
    with admission.admit(Caller("late", None), 10**6, 1):  # a place came free
        assert admission.calls == 3


def test_heavy_calls_take_turns_in_two_lanes_and_small_ones_pass_them_by():
    import threading

    admission = Admission(heavy_wait_s=0.2)
    lanes = [_hold(admission, Caller(f"heavy-{n}", None), 3 * 10**6, 4) for n in range(2)]  # noqa: F841
    with pytest.raises(Refused, match=BUSY):  # no lane came free in time
        _hold(admission, Caller("heavy-3", None), 3 * 10**6, 4)
    with admission.admit(Caller("one-digit", None), 400, 1):
        pass
    outcome = []

    def wait_for_a_lane():
        try:
            with Admission.admit(patient, Caller("heavy-4", None), 3 * 10**6, 4):
                outcome.append("ran")
        except DecodingStopped:
            outcome.append("stopped: restarting")

    patient = Admission(heavy_lanes=0, heavy_wait_s=30)
    waiter = threading.Thread(target=wait_for_a_lane)
    waiter.start()
    time.sleep(0.2)
    patient.close()  # the server is stopping
    waiter.join(5)
    assert outcome == ["stopped: restarting"]


def test_the_bytes_of_calls_in_flight_are_bounded():
    admission = Admission(max_bytes=50 * 2**20)
    running = _hold(admission, Caller("a", None), 28 * 2**20, 3)  # noqa: F841 (held while it is referenced)
    with pytest.raises(Refused, match=BUSY):
        _hold(admission, Caller("b", None), 28 * 2**20, 3)
    with admission.admit(Caller("c", None), SMALL_CALL_BYTES, 1):
        pass


def test_one_caller_gets_a_few_calls_at_once_and_a_rate_and_a_readable_refusal_past_them():
    clock = FakeClock()
    admission = Admission(burst=10, rate=2, calls_per_caller=2, clock=clock)
    visitor = Caller("session-1", "10.0.0.1")
    held = [_hold(admission, visitor), _hold(admission, visitor)]
    with pytest.raises(Refused, match=TOO_MANY_AT_ONCE):
        _hold(admission, visitor)
    for context in held:
        context.__exit__(None, None, None)
    for _ in range(8):
        with admission.admit(visitor, 100, 1):
            pass
    with pytest.raises(Refused, match=SLOW_DOWN):  # 10 in the burst, all spent
        _hold(admission, visitor)
    with admission.admit(Caller("session-2", "10.0.0.2"), 100, 1):  # someone else is not held back
        pass
    clock.now += 1.0  # two units back a second
    for _ in range(2):
        with admission.admit(visitor, 100, 1):
            pass
    with pytest.raises(Refused, match=SLOW_DOWN):
        _hold(admission, visitor)


def test_new_sessions_from_one_address_share_the_address_s_larger_limit():
    admission = Admission(burst=10, rate=0.0001, calls_per_caller=100)
    spent = 0
    with pytest.raises(Refused, match=SLOW_DOWN):
        for number in range(100):  # a fresh session id for every call: the address still counts them
            with admission.admit(Caller(f"session-{number}", "10.0.0.9"), 100, 1):
                spent += 1
    assert spent == 40  # the address's burst: four sessions' worth


# --- the decode budget: real costs, a small lane ---------------------------------------------------------

from digits.preprocessing import InputError  # noqa: E402
from digits.preprocessing.budget import DecodingStopped, PixelBudget  # noqa: E402
from digits.preprocessing.decode import DECODE_BUDGET_BYTES, decode_cost  # noqa: E402


def _png_one_pixel_wide(height: int) -> bytes:
    """A grey PNG 1 pixel wide, written directly: 75 KB for 39 million rows."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\x00\xff" * height, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_pictures_whose_decoders_would_take_too_much_memory_are_refused_before_decoding():
    with pytest.raises(InputError, match="too large to read as PNG: 1 x 39,000,000 pixels"):
        prepare_upload(_png_one_pixel_wide(39_000_000), "tall.png")
    buffer = io.BytesIO()
    Image.new("RGB", (6324, 6324), "white").save(buffer, format="WEBP", lossless=True)  # 40 Mpx in 1.6 KB
    with pytest.raises(InputError, match=r"too large to read as WEBP: 6,324 x 6,324 pixels .* \(or as a PNG or JPEG\)"):
        prepare_upload(buffer.getvalue(), "big.webp")
    assert decode_cost(6324, 6324, "PNG") <= DECODE_BUDGET_BYTES  # the largest PNG still fits
    assert decode_cost(4000, 3000, "HEIF") <= DECODE_BUDGET_BYTES  # a 12 Mpx phone photo too


def test_a_small_decode_does_not_wait_behind_large_ones_and_a_closed_budget_wakes_its_waiters():
    import threading

    budget = PixelBudget(100, small=5, small_capacity=20)
    first = budget.reserve(100)
    first.__enter__()  # a large decode holds the whole budget
    waiting_outcome = []

    def large_waiter():
        try:
            with budget.reserve(60):
                waiting_outcome.append("ran")
        except DecodingStopped:
            waiting_outcome.append("stopped")

    waiter = threading.Thread(target=large_waiter)
    waiter.start()
    with budget.reserve(3):  # the small lane: at once
        assert budget.in_use == 103
    budget.close()
    waiter.join(5)
    assert waiting_outcome == ["stopped"]
    first.__exit__(None, None, None)


# --- feedback: capped per visitor and per day; the public summary counts visitors, not rows ---------------

from types import SimpleNamespace  # noqa: E402

from digits.feedback_store import FeedbackStore, database_url  # noqa: E402
from uplink_server.feedback import ANSWERS_PER_CALLER_PER_DAY, ENOUGH_TODAY, FeedbackDesk  # noqa: E402
from uplink_server.result_tokens import ResultSigner  # noqa: E402


def _result(model: str, digit: int, pixels: np.ndarray):
    probabilities = tuple(0.91 if d == digit else 0.01 for d in range(10))
    return SimpleNamespace(model=model, digit=digit, probabilities=probabilities, pixels=pixels)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
    return request.getfixturevalue("postgres").create_database("abuse")


def test_a_vandal_saves_a_day_s_cap_of_answers_and_counts_once_in_what_people_corrected(store_url, tmp_path,
                                                                                         mnist_path):
    with np.load(mnist_path) as mnist:
        ones, fours = mnist["x_train"][mnist["y_train"] == 1][:150], mnist["x_train"][mnist["y_train"] == 4][:3]
    store = FeedbackStore(database_url({"DIGITS_DATABASE_URL": store_url}))
    desk = FeedbackDesk(ResultSigner("a test secret"), store, {"cnn": "0" * 64})
    saved, refused = 0, []
    for pixels in ones:  # one address, 150 results of 1s, each "corrected" to 7
        try:
            desk.record(desk.result_id(_result("cnn", 1, pixels)), 7, "address:203.0.113.9")
            saved += 1
        except InputError as error:
            refused.append(str(error))
    assert saved == ANSWERS_PER_CALLER_PER_DAY and set(refused) == {ENOUGH_TODAY}
    for number, pixels in enumerate(fours):  # three people each correct a 4 the model read as 9
        desk.record(desk.result_id(_result("cnn", 9, pixels)), 4, f"address:198.51.100.{number}")
    summary = desk.summary("cnn")
    assert summary["common_mistakes"][0] == {"true": 4, "predicted": 9, "count": 3}
    assert {"true": 7, "predicted": 1, "count": 1} in summary["common_mistakes"]
    assert summary["corrected"] == 4
    assert store.count() == ANSWERS_PER_CALLER_PER_DAY + 3  # the rows are all kept, for training
    if store_url.startswith("sqlite"):
        assert "203.0.113.9" not in (tmp_path / "feedback.sqlite3").read_bytes().decode("latin-1")
    store.close()


SHM_SCRIPT = """
import os, sys
import numpy as np
from digits.feedback_store import Feedback, FeedbackStore, StoreError, database_url
store = FeedbackStore(database_url({"DIGITS_DATA_DIR": sys.argv[1]}))
def save(key):
    store.add(Feedback(result_key=key, model="cnn", model_sha256="0" * 64, predicted=1, probabilities=None,
                       digit=7, pixels=np.zeros((28, 28), np.uint8)))
save("first")
shm = os.path.join(sys.argv[1], "feedback.sqlite3-shm")
if os.path.exists(shm):
    os.truncate(shm, 0)  # what killed the server with SIGBUS on the next save
try:
    save("second")
    print("saved", store.count())
except StoreError as error:
    print("refused", error)
"""


def test_a_damaged_shared_memory_file_does_not_kill_the_process(tmp_path):
    result = subprocess.run([sys.executable, "-c", SHM_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                            timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-2000:]  # -7: SIGBUS
    assert result.stdout.startswith(("saved 2", "refused"))
