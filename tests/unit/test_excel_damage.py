"""German-Excel coercion rules and the damaged lab sheet CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dlbmt.errors import CourseError
from dlbmt.tools.excel_damage import (
    GERMAN_MONTHS,
    PLACEHOLDERS,
    SHEET_DATE,
    damage_lab_sheet,
    excel_coerce,
)
from dlbmt.tools.lab_sheet import build_damaged_csv, true_lab_sheet


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("5.7", "05. Jul"),
        ("5.07", "05. Jul"),
        ("20.3", "20. Mrz"),
        ("1.6", "01. Jun"),
        ("3.12", "03. Dez"),
        ("31.1", "31. Jan"),
        ("31.12", "31. Dez"),
        ("28.2", "28. Feb"),
        ("10.5", "10. Mai"),
        ("1.10", "01. Okt"),
    ],
)
def test_valid_day_month_becomes_day_month_date(typed, shown):
    assert excel_coerce(typed) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2.43", "Feb 43"),
        ("1.76", "Jan 76"),
        ("4.28", "Apr 28"),
        ("3.22", "Mrz 22"),
        ("1.15", "Jan 15"),
        ("12.13", "Dez 13"),
        ("11.99", "Nov 99"),
        ("1.2023", "Jan 23"),
        ("2.31", "Feb 31"),
    ],
)
def test_invalid_day_but_valid_month_year_becomes_month_year_date(typed, shown):
    assert excel_coerce(typed) == shown


@pytest.mark.parametrize("typed", ["31.2", "30.2", "31.4", "32.1", "0.5", "0.42", "88.5", "13.13"])
def test_text_that_is_no_date_stays_unchanged(typed):
    assert excel_coerce(typed) == typed


def test_february_29_is_a_date_only_in_a_leap_year():
    assert excel_coerce("29.2", year=2017) == "29.2"
    assert excel_coerce("29.2", year=2016) == "29. Feb"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("1.018", "1018"), ("1.250", "1250"), ("12.345", "12345"), ("1.250.000", "1250000")],
)
def test_exactly_three_digits_after_the_dot_is_a_thousands_separator(typed, shown):
    assert excel_coerce(typed) == shown


@pytest.mark.parametrize("typed", ["0.420", "1234.567"])
def test_thousands_rule_needs_a_short_first_group_without_leading_zero(typed):
    assert excel_coerce(typed) == typed


@pytest.mark.parametrize("typed", ["5.0700", "1.1899", "7.123456"])
def test_years_before_1900_or_with_odd_digit_counts_stay_unchanged(typed):
    assert excel_coerce(typed) == typed


@pytest.mark.parametrize("typed", ["21", "141", "", "n. b.", "5,7", "-5.7", "5.7.2017"])
def test_whole_numbers_and_other_text_stay_unchanged(typed):
    assert excel_coerce(typed) == typed


def test_german_month_table_uses_excel_abbreviations():
    assert [GERMAN_MONTHS[m] for m in range(1, 13)] == (
        "Jan Feb Mrz Apr Mai Jun Jul Aug Sep Okt Nov Dez".split()
    )


def test_non_string_input_raises_course_error():
    with pytest.raises(CourseError, match="excel_coerce"):
        excel_coerce(5.7)


def test_damage_needs_the_true_sheet_columns():
    with pytest.raises(CourseError, match="damage_lab_sheet"):
        damage_lab_sheet(pd.DataFrame({"Wert": [1.0]}), seed=0)


def test_same_seed_gives_identical_damage():
    sheet = true_lab_sheet()
    pd.testing.assert_frame_equal(damage_lab_sheet(sheet, 5), damage_lab_sheet(sheet, 5))


def test_damaged_sheet_has_one_duplicated_row():
    damaged = damage_lab_sheet(true_lab_sheet(), seed=3)
    assert len(damaged) == len(true_lab_sheet()) + 1
    stripped = damaged.apply(lambda column: column.str.strip())
    assert stripped.duplicated().sum() == 1


def test_damaged_sheet_contains_all_placeholders_and_a_decimal_comma():
    values = damage_lab_sheet(true_lab_sheet(), seed=3)[SHEET_DATE].str.strip()
    assert set(PLACEHOLDERS) <= set(values)
    assert values.str.fullmatch(r"\d+,\d+").any()


def test_damaged_sheet_has_stray_whitespace():
    damaged = damage_lab_sheet(true_lab_sheet(), seed=3)
    padded = damaged["Laborid"].ne(damaged["Laborid"].str.strip())
    assert padded.any()
    assert damaged[SHEET_DATE].ne(damaged[SHEET_DATE].str.strip()).any()


@pytest.fixture
def csv_bytes(tmp_path) -> bytes:
    target = tmp_path / "datenblatt.csv"
    build_damaged_csv(target)
    return target.read_bytes()


def test_csv_regeneration_gives_identical_bytes(tmp_path, csv_bytes):
    again = tmp_path / "again.csv"
    build_damaged_csv(again)
    assert again.read_bytes() == csv_bytes


def test_csv_is_latin1_with_micro_sign(csv_bytes):
    assert "µ".encode("latin-1") in csv_bytes
    with pytest.raises(UnicodeDecodeError):
        csv_bytes.decode("utf-8")


def test_csv_contains_ambiguous_and_range_decidable_dates(csv_bytes):
    values = pd.read_csv(io.BytesIO(csv_bytes), sep=";", encoding="latin-1")[SHEET_DATE]
    values = set(values.str.strip())
    # 05. Jul may be 5.7 or 5.07; 07. Sep (HB, 7.4-10.5) can only be 7.9.
    assert {"05. Jul", "20. Mrz", "07. Sep", "Feb 43", "1018"} <= values


def test_default_read_loses_sodium_code_na(csv_bytes):
    frame = pd.read_csv(io.BytesIO(csv_bytes), sep=";", encoding="latin-1")
    assert frame["Laborid"].isna().sum() == 1
    assert "NA" not in set(frame["Laborid"].dropna().str.strip())


def test_read_without_default_na_keeps_sodium_code(csv_bytes):
    frame = pd.read_csv(io.BytesIO(csv_bytes), sep=";", encoding="latin-1", keep_default_na=False)
    assert frame["Laborid"].isna().sum() == 0
    assert "NA" in set(frame["Laborid"].str.strip())
