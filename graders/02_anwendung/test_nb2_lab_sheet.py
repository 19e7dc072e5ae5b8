"""Task 2a: the repaired lab sheet, the Excel date decoder and the reference-range helper.

The truth is the answer key (the source notebook's repaired sheet and the source
functions on the same hidden inputs); the damaged CSV is read from data/ here.
"""

import re

import numpy as np
import pandas as pd
import pytest

from dlbmt.labsheet import CSV_PATH
from dlbmt.settings import data_path

COLUMNS = ["Laborid", "Bezeichnung", "Einheit", "Normalwert", "Wert"]
DESCRIPTIVE_COLUMNS = ["Bezeichnung", "Einheit", "Normalwert"]
# The printed sheet has at most three decimals; 1e-6 only absorbs float parsing and
# arithmetic such as 5 + 7 / 100, never a wrong digit.
VALUE_TOLERANCE = 1e-6
# Decoded candidates are numbers with at most two decimals; 1e-9 absorbs float arithmetic.
CANDIDATE_TOLERANCE = 1e-9
# How German Excel shows a coerced date ("05. Jul", "Feb 43"); used to find those rows in the
# damaged CSV.
EXCEL_DATE = re.compile(r"\s*(\d{1,2}\. [A-Z][a-z]{2}|[A-Z][a-z]{2} \d{2})\s*")


def _sheet(answers) -> pd.DataFrame:
    frame = answers.get("lab_sheet")
    assert isinstance(frame, pd.DataFrame), "daten soll ein pandas-DataFrame sein."
    return frame


def _value_column(frame: pd.DataFrame) -> pd.Series:
    column = frame["Wert"] if "Wert" in frame.columns else frame.iloc[:, -1]
    return pd.to_numeric(column, errors="coerce")


def _text(series: pd.Series) -> list[str]:
    return ["" if pd.isna(v) else str(v) for v in series]


def _values_by_name(frame: pd.DataFrame) -> dict[str, list[float]]:
    # Rows are matched by their name (Bezeichnung), so that a lost or broken code costs only
    # the code check, not the value checks.
    assert "Bezeichnung" in frame.columns, "daten hat keine Spalte Bezeichnung."
    values: dict[str, list[float]] = {}
    for name, value in zip(_text(frame["Bezeichnung"]), _value_column(frame), strict=True):
        values.setdefault(name.strip(), []).append(float(value))
    return values


def _raw_sheet() -> pd.DataFrame:
    """The damaged CSV exactly as it lies in data/, every cell as text."""
    return pd.read_csv(
        data_path(CSV_PATH), sep=";", encoding="latin-1", keep_default_na=False, dtype=str
    )


def _value_rows(key, want_dates: bool) -> list[tuple[str, float]]:
    truth = key.get("lab_sheet")
    raw = _raw_sheet()
    dated = {
        str(name).strip()
        for name, shown in zip(raw["Bezeichnung"], raw.iloc[:, -1], strict=True)
        if EXCEL_DATE.fullmatch(str(shown))
    }
    return [
        (str(name), float(value))
        for name, value in zip(truth["Bezeichnung"], truth["Wert"], strict=True)
        if (str(name) in dated) == want_dates
    ]


def _all_values_match(answers, key, want_dates: bool) -> bool:
    given = _values_by_name(_sheet(answers))
    for name, expected in _value_rows(key, want_dates):
        found = given.get(name, [])
        if not found or not np.allclose(found, expected, atol=VALUE_TOLERANCE, rtol=0):
            return False
    return True


@pytest.mark.task("nb2_lab_sheet", points=1)
def test_columns_and_numeric_values(answers, key):
    """Spalten Laborid, Bezeichnung, Einheit, Normalwert, Wert; Wert als float64."""
    frame = _sheet(answers)
    assert list(frame.columns) == COLUMNS, (
        "daten soll genau die Spalten Laborid, Bezeichnung, Einheit, Normalwert, Wert in dieser "
        "Reihenfolge haben."
    )
    assert str(frame["Wert"].dtype) == "float64", (
        "Die Spalte Wert ist keine Gleitkommazahl-Spalte (float64). Enthält sie noch Text?"
    )


@pytest.mark.task("nb2_lab_sheet", points=1)
def test_every_code_exactly_once(answers, key):
    """Jeder Laborcode des Datenblatts genau einmal, auch NA (Natrium)."""
    frame = _sheet(answers)
    assert "Laborid" in frame.columns, "daten hat keine Spalte Laborid."
    codes = [code.strip() for code in _text(frame["Laborid"])]
    expected = [str(code) for code in key.get("lab_sheet")["Laborid"]]
    assert len(codes) == len(set(codes)), (
        "Mindestens ein Laborcode kommt mehrfach vor. Ist die doppelte Zeile entfernt?"
    )
    assert sorted(codes) == sorted(expected), (
        "Die Laborcodes stimmen nicht mit dem Datenblatt überein. Fehlt ein Code, oder hat pandas "
        "einen Code beim Einlesen als fehlenden Wert (NaN) gelesen?"
    )


@pytest.mark.task("nb2_lab_sheet", points=1)
def test_texts_are_clean(answers, key):
    """Texte ohne überflüssige Leerzeichen; Bezeichnung, Einheit und Normalwert wie gedruckt."""
    frame = _sheet(answers)
    missing = [c for c in ["Laborid", *DESCRIPTIVE_COLUMNS] if c not in frame.columns]
    assert not missing, "daten fehlen Spalten mit den Texten des Datenblatts."
    for column in ["Laborid", *DESCRIPTIVE_COLUMNS]:
        assert all(text == text.strip() for text in _text(frame[column])), (
            f"In der Spalte {column} stehen noch Leerzeichen am Anfang oder Ende eines Textes."
        )
    given = set(zip(*(_text(frame[c]) for c in DESCRIPTIVE_COLUMNS), strict=True))
    truth = key.get("lab_sheet")
    expected = set(zip(*(_text(truth[c]) for c in DESCRIPTIVE_COLUMNS), strict=True))
    assert given == expected, (
        "Bezeichnung, Einheit oder Normalwert einiger Zeilen stimmen nicht mit dem Datenblatt "
        "überein. Diese Spalten brauchen keine Reparatur außer dem Entfernen von Leerzeichen."
    )


@pytest.mark.task("nb2_lab_sheet", points=1)
def test_excel_dates_are_turned_back_into_values(answers, key):
    """Werte, die Excel als Datum zeigte, stimmen mit dem Datenblatt überein."""
    assert _all_values_match(answers, key, want_dates=True), (
        "Mindestens ein Wert, den Excel in ein Datum verwandelt hat, stimmt nicht mit dem "
        "Datenblatt überein. Mehrdeutige Datumsangaben lassen sich nur mit dem Bild entscheiden – "
        "vergleichen Sie jeden dieser Werte mit dem gedruckten Datenblatt."
    )


@pytest.mark.task("nb2_lab_sheet", points=1)
def test_other_values_are_repaired(answers, key):
    """Übrige Werte (Dezimalkomma, Platzhalter, Tausenderpunkt) wie auf dem Datenblatt."""
    assert _all_values_match(answers, key, want_dates=False), (
        "Mindestens ein Wert, der kein Datum war, stimmt nicht mit dem Datenblatt überein. Denken "
        "Sie an Dezimalkommas, Platzhalter wie „ok“ und an Zahlen, die zwar wie Zahlen aussehen, "
        "aber nicht dem gedruckten Wert entsprechen."
    )


def _same_results(given, expected) -> bool:
    if not isinstance(given, list) or len(given) != len(expected):
        return False
    for mine, right in zip(given, expected, strict=True):
        if right is None:
            if mine is not None:
                return False
        elif not isinstance(mine, list) or len(mine) != len(right):
            return False
        elif not all(isinstance(v, int | float) for v in mine):
            return False
        elif not np.allclose(sorted(mine), sorted(right), atol=CANDIDATE_TOLERANCE, rtol=0):
            return False
    return True


def _errors(given) -> str:
    kinds = sorted({g for g in given if isinstance(g, str) and g.startswith("Fehler")})
    return f" Dabei traten Fehler auf ({', '.join(kinds)})." if kinds else ""


@pytest.mark.task("nb2_excel_decoder", points=1)
def test_unambiguous_day_month(answers, key):
    """Tag.Monat mit zweistelligem Monat (Okt, Nov, Dez): genau ein Kandidat."""
    given = answers.get("day_month_unique")
    assert _same_results(given, key.get("day_month_unique")), (
        "Für Datumsangaben mit den Monaten Okt, Nov oder Dez stimmt die Kandidatenliste nicht. "
        "Aus welchem getippten Wert entsteht z. B. „15. Okt“, und warum gibt es nur einen?"
        + _errors(given)
    )


@pytest.mark.task("nb2_excel_decoder", points=1)
def test_ambiguous_day_month_lists_both(answers, key):
    """Tag.Monat mit einstelligem Monat: beide Kandidaten (z. B. 5.7 und 5.07)."""
    given = answers.get("day_month_ambiguous")
    assert _same_results(given, key.get("day_month_ambiguous")), (
        "Für mehrdeutige Datumsangaben (Monat Jan bis Sep) stimmt die Kandidatenliste nicht. Der "
        "Monat kann mit oder ohne führende Null getippt worden sein; beide Zahlen gehören in die "
        "Liste." + _errors(given)
    )


@pytest.mark.task("nb2_excel_decoder", points=1)
def test_month_year(answers, key):
    """Monat.Jahr (z. B. „Feb 43“): die Zahl Monat,Jahr."""
    given = answers.get("month_year")
    assert _same_results(given, key.get("month_year")), (
        "Für Angaben der Form „MMM JJ“ stimmt die Kandidatenliste nicht. Achten Sie auf alle "
        "zwölf Monatsnamen und auf Leerzeichen am Rand." + _errors(given)
    )


@pytest.mark.task("nb2_excel_decoder", points=1)
def test_non_dates_give_none(answers, key):
    """Texte, die kein Excel-Datum sind, ergeben None."""
    given = answers.get("not_dates")
    assert _same_results(given, key.get("not_dates")), (
        "Für Texte, die kein Datum sind (Zahlen, Platzhalter), soll excel_datum_zu_zahl None "
        "zurückgeben." + _errors(given)
    )


def _same_decisions(given, expected) -> bool:
    if not isinstance(given, list) or len(given) != len(expected):
        return False
    for mine, right in zip(given, expected, strict=True):
        if right is None:
            if mine is not None:
                return False
        elif not isinstance(mine, int | float) or abs(mine - right) > CANDIDATE_TOLERANCE:
            return False
    return True


@pytest.mark.task("nb2_range_helper", points=1)
def test_decides_by_the_reference_range(answers, key):
    """Ein Kandidat: dieser; sonst der einzige Kandidat im Normalbereich."""
    given = answers.get("decidable")
    assert _same_decisions(given, key.get("decidable")), (
        "In Fällen, die sich entscheiden lassen, liefert wert_aus_normalbereich nicht den "
        "richtigen Kandidaten. Prüfen Sie offene Bereiche wie „<2.5“ und „>1.2“, Kandidaten genau "
        "auf einer Grenze (die Grenzen gehören zum Bereich) und den Fall mit nur einem "
        "Kandidaten." + _errors(given)
    )


@pytest.mark.task("nb2_range_helper", points=1)
def test_undecidable_gives_none(answers, key):
    """Keiner oder mehrere Kandidaten im Normalbereich: None."""
    given = answers.get("undecidable")
    assert _same_decisions(given, key.get("undecidable")), (
        "Liegen keiner oder mehrere Kandidaten im Normalbereich, soll wert_aus_normalbereich None "
        "zurückgeben. Auch ein Kandidat genau auf einer Grenze liegt im Bereich." + _errors(given)
    )
