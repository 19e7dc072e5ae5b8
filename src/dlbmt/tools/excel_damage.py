"""What a German-locale Excel does to decimal numbers that were typed with a dot.

In German Excel the decimal separator is the comma and the dot separates
thousands or the parts of a date. A value such as ``5.7`` typed into a cell is
therefore not read as five point seven. This module simulates the rules, so that
the course can ship a realistically damaged lab sheet. It does *not* contain the
repair: undoing the damage is the students' task.

Rules implemented by :func:`excel_coerce` (for text of the form ``A.B``, both
parts made of digits; anything else is returned unchanged):

1. Thousands separator: ``A`` has one to three digits without a leading zero and
   every group after a dot has exactly three digits (``1.018`` -> ``1018``,
   ``1.250.000`` -> ``1250000``). Excel then stores a whole number.
2. Day.month: ``A`` is a valid day of month ``B`` (1 to 12) in the year Excel
   assumes for dates without a year (the current year; here a parameter that
   defaults to the year of the course's lab sheet, 2017, which is not a leap
   year). Excel shows it as ``DD. MMM``: ``5.7`` and ``5.07`` -> ``05. Jul``,
   ``20.3`` -> ``20. Mrz``. Invalid days such as ``31.2`` or ``0.5`` fall through.
3. Month.year: ``A`` is a month (1 to 12) and ``B`` a year with one or two
   digits or four digits from 1900 on (Excel's first year). Excel shows it as
   ``MMM YY``: ``2.43`` -> ``Feb 43``, ``1.76`` -> ``Jan 76``, ``1.2023`` -> ``Jan 23``.
4. Otherwise Excel keeps the typed text (it is no number in a German locale),
   so the text comes out unchanged (``0.42``, ``31.2``, ``88.5``).
"""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

from dlbmt.errors import CourseError

# Month abbreviations exactly as German Excel displays them in "MMM" formats.
GERMAN_MONTHS: dict[int, str] = {
    1: "Jan",
    2: "Feb",
    3: "Mrz",
    4: "Apr",
    5: "Mai",
    6: "Jun",
    7: "Jul",
    8: "Aug",
    9: "Sep",
    10: "Okt",
    11: "Nov",
    12: "Dez",
}

DEFAULT_YEAR = 2017
SHEET_DATE = "31.08.2017"
PLACEHOLDERS = ("zu groß", "ok", "n. b.")

_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
_TWO_PARTS = re.compile(r"(\d+)\.(\d+)")


def _is_valid_day(day: int, month: int, year: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def excel_coerce(text: str, year: int = DEFAULT_YEAR) -> str:
    """The cell text that German Excel shows after ``text`` was typed into a cell.

    ``year`` is the year Excel assumes for a day.month entry (it decides
    whether ``29.2`` is a date). See the module docstring for the rules.
    """
    if not isinstance(text, str):
        raise CourseError(f"excel_coerce expects a string, got {type(text).__name__}.")
    typed = text.strip()
    if _THOUSANDS.fullmatch(typed):
        return typed.replace(".", "")
    match = _TWO_PARTS.fullmatch(typed)
    if match is None:
        return text
    first, second = match.groups()
    if len(second) <= 2 and _is_valid_day(int(first), int(second), year):
        return f"{int(first):02d}. {GERMAN_MONTHS[int(second)]}"
    four_digit_year = len(second) == 4 and 1900 <= int(second) <= 9999
    if 1 <= int(first) <= 12 and (len(second) <= 2 or four_digit_year):
        return f"{GERMAN_MONTHS[int(first)]} {int(second) % 100:02d}"
    return text


def _value_text(value: float) -> str:
    # The shortest text that gives back the float, as a person would type it ("5.7", "21").
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def damage_lab_sheet(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A lab sheet as it comes back from German Excel and careless typing.

    ``df`` has the columns of :func:`dlbmt.labsheet.true_lab_sheet`. The result
    holds only strings; its value column is titled with the sheet date like the
    lab's export. Faults: every value passes through :func:`excel_coerce`;
    values that Excel left alone get, at random, a decimal comma or a text
    placeholder (``zu groß``, ``ok``, ``n. b.``); one row is duplicated; some
    codes and values get stray spaces. The code ``NA`` (sodium) stays ``NA``.
    """
    required = ["Laborid", "Bezeichnung", "Einheit", "Normalwert", "Wert"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CourseError(
            f"damage_lab_sheet needs the columns {required}; missing: {missing}. "
            "Pass the table from dlbmt.labsheet.true_lab_sheet()."
        )
    rng = np.random.default_rng(seed)
    typed = [_value_text(v) for v in df["Wert"]]
    shown = [excel_coerce(t) for t in typed]
    # Only values that Excel kept get other faults, so every date remains visible.
    untouched = [i for i, (t, s) in enumerate(zip(typed, shown, strict=True)) if t == s]
    # Sodium keeps its value so that the "NA" pitfall is the only thing to see in its row.
    untouched = [i for i in untouched if str(df["Laborid"].iloc[i]).strip() != "NA"]
    decimals = [i for i in untouched if "." in typed[i]]
    comma_rows = sorted(
        int(i) for i in rng.choice(decimals, size=min(2, len(decimals)), replace=False)
    )
    for row in comma_rows:
        shown[row] = typed[row].replace(".", ",")
    rest = [i for i in untouched if i not in comma_rows]
    placeholder_rows = rng.choice(rest, size=min(len(PLACEHOLDERS), len(rest)), replace=False)
    for placeholder, row in zip(PLACEHOLDERS, placeholder_rows, strict=False):
        shown[int(row)] = placeholder
    codes = [str(c) for c in df["Laborid"]]
    for row in rng.choice(len(df), size=3, replace=False):
        codes[row] = codes[row] + " "
    for row in rng.choice(len(df), size=3, replace=False):
        shown[row] = " " + shown[row]
    damaged = pd.DataFrame(
        {
            "Laborid": codes,
            "Bezeichnung": [str(v) for v in df["Bezeichnung"]],
            "Einheit": [str(v) for v in df["Einheit"]],
            "Normalwert": [str(v) for v in df["Normalwert"]],
            SHEET_DATE: shown,
        }
    )
    duplicate = int(rng.integers(1, len(damaged)))
    order = list(range(duplicate + 1)) + [duplicate] + list(range(duplicate + 1, len(damaged)))
    return damaged.iloc[order].reset_index(drop=True)


def write_damaged_csv(damaged: pd.DataFrame, target) -> None:
    """Write ``damaged`` as German Excel saves CSV: ``;``-separated, latin-1, CRLF."""
    text = damaged.to_csv(sep=";", index=False, lineterminator="\r\n")
    with open(target, "wb") as handle:
        handle.write(text.encode("latin-1"))
