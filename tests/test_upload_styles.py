"""The upload-style measurement (training/upload_styles.py): the same digits read clean and in each upload
style, each style's lost digits put down to the stage that lost them."""

import numpy as np
import pytest
from PIL import Image

from digits.preprocessing import prepare_upload
from training.data import load_mnist
from training.style_shift import validation_digits
from training.upload_styles import UPLOAD_STYLES, measure, stage_of
from upload_files import png


def traced(data: bytes):
    trace = []
    prepared = prepare_upload(data, "upload.png", trace=trace)
    return trace, bool(prepared.pixels.any())


def test_a_blank_page_is_lost_at_locate_and_a_clean_digit_at_no_stage(mnist_path):
    digits, _ = validation_digits(load_mnist(mnist_path))
    assert stage_of(*traced(png(np.full((200, 200), 245, np.uint8)))) == "locate"
    enlarged = np.asarray(Image.fromarray(255 - digits[0]).resize((112, 112), Image.BICUBIC))
    assert stage_of(*traced(png(enlarged))) == ""


def test_only_upload_styles_are_measured():
    """The glyph styles redraw the digit's shape (a continental 1, a barred 7): no upload of the same digit."""
    assert "phone_photo" in UPLOAD_STYLES and "binary_box_16" in UPLOAD_STYLES
    assert not {"continental_1", "barred_7", "closed_4", "straight_tail_9"} & set(UPLOAD_STYLES)


@pytest.mark.slow  # 2 x 40 uploads rendered and read, in spawned processes
def test_scans_and_drawings_of_validation_digits_lose_hardly_any_against_the_same_digits_clean(mnist_path, engine):
    figures = measure("validation", per_style=40, styles=["jpeg_scan", "transparent_drawing"], data=mnist_path,
                      engine=engine)
    assert [one.style for one in figures] == ["jpeg_scan", "transparent_drawing"]
    for one in figures:
        assert one.n == 40
        assert one.clean_right - one.lost + one.gained == one.style_right
        assert sum(one.lost_at.values()) == one.lost
        assert one.lost <= 2, one.to_dict()  # 0 of 150 and 2 of 150 in the measurement (docs/typefaces.md)
