"""What an attacker might send, and what they get: bounded work, readable refusals, no traceback.

Each test reproduces one row of issue #28's table, small and seeded. The figures (CPU seconds, p50,
peak memory) come from scripts/time_hostile_pictures.py and scripts/load_test.py, not from here.
"""

import io
import os
import subprocess
import sys
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
