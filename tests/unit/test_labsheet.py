"""The true lab sheet, its rendered image and reference ranges."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from dlbmt.errors import CourseError
from dlbmt.labsheet import parse_reference_range
from dlbmt.tools.lab_sheet import render_lab_sheet, true_lab_sheet


def test_true_sheet_has_the_lab_columns_and_float_values():
    sheet = true_lab_sheet()
    assert list(sheet.columns) == ["Laborid", "Bezeichnung", "Einheit", "Normalwert", "Wert"]
    assert sheet["Wert"].dtype == "float64"
    assert len(sheet) >= 24


def test_sodium_code_is_the_string_na():
    sheet = true_lab_sheet()
    assert sheet["Laborid"].notna().all()
    assert "NA" in set(sheet["Laborid"])


def test_true_sheet_has_the_values_of_the_original_lab():
    values = dict(zip(true_lab_sheet()["Laborid"], true_lab_sheet()["Wert"], strict=True))
    assert values["CA"] == 2.43
    assert values["CHOL"] == 5.7
    assert values["MCHC"] == 20.3
    assert values["NA"] == 141


def test_most_true_values_are_inside_their_reference_range():
    sheet = true_lab_sheet()
    inside = [
        low <= value <= high
        for value, (low, high) in zip(
            sheet["Wert"], sheet["Normalwert"].map(parse_reference_range), strict=True
        )
    ]
    assert sum(inside) >= len(sheet) - 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<115", (-math.inf, 115.0)),
        (">65", (65.0, math.inf)),
        ("2.25-2.65", (2.25, 2.65)),
        ("4.0 - 9.8", (4.0, 9.8)),
        ("2,25-2,65", (2.25, 2.65)),
        ("150-350", (150.0, 350.0)),
    ],
)
def test_reference_range_is_parsed_to_low_and_high(text, expected):
    assert parse_reference_range(text) == expected


@pytest.mark.parametrize("text", ["", "normal", "2.25-", "<", "1-2-3"])
def test_unreadable_reference_range_raises_course_error(text):
    with pytest.raises(CourseError, match="parse_reference_range"):
        parse_reference_range(text)


def test_png_regeneration_gives_identical_bytes(tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    render_lab_sheet(first)
    render_lab_sheet(second)
    assert first.read_bytes() == second.read_bytes()


def test_png_is_a_small_grayscale_image(tmp_path):
    target = tmp_path / "sheet.png"
    render_lab_sheet(target)
    with Image.open(target) as image:
        assert image.mode == "L"
        assert image.width >= 600 and image.height >= 600
    assert target.stat().st_size < 200_000
