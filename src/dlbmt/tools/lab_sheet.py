"""The printed lab sheet of Notebook 2 and its Excel-damaged CSV (instructor only).

This module holds the true values, so it is not part of the student package:
students get only the rendered image and the damaged CSV in ``data/labsheet/``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from dlbmt.datafiles import DataFile
from dlbmt.labsheet import CSV_PATH, PNG_PATH
from dlbmt.tools.excel_damage import SHEET_DATE, damage_lab_sheet, write_damaged_csv

DAMAGE_SEED = 3

# Code, German name, unit, reference range, value as the lab typed it.
# Several values are chosen so that Excel turns them into dates: some can be
# decided by the reference range (HB 7.9, HDL 1.6), some cannot (GLUC 5.08,
# whose candidates 5.08 and 5.8 both lie in 4.2-6.1; K 4.4, LEUK 6.3, MCHC 20.3),
# and for CHOL 5.7 the range even points to the wrong candidate 5.07; only the
# printed sheet tells.
_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("AAGE", "Alter", "Jahre", "<115", "21"),
    ("CA", "Calcium i.S.", "mmol/l", "2.25-2.65", "2.43"),
    ("CHOL", "Cholesterin", "mmol/l", "3.1-5.2", "5.7"),
    ("ERY", "Erythrozyten", "Tpt/l", "4.1-5.4", "4.28"),
    ("GGT", "Gamma-GT", "µmol/l*s", "<0.65", "0.42"),
    ("GLFR", "eGFR", "ml/min/1.73m²", ">65", "115"),
    ("GLUC", "Glucose i.S.", "mmol/l", "4.2-6.1", "5.08"),
    ("GOT", "GOT (ASAT)", "µmol/l*s", "<0.60", "0.35"),
    ("GPT", "GPT (ALAT)", "µmol/l*s", "<0.58", "0.29"),
    ("HB", "Haemoglobin", "mmol/l", "7.4-10.5", "7.9"),
    ("HDL", "HDL-Cholesterin", "mmol/l", ">1.2", "1.6"),
    ("HKT", "Haematokrit", "l/l", "0.37-0.47", "0.41"),
    ("HS", "Harnsaeure", "µmol/l", "150-350", "274"),
    ("K", "Kalium i.S.", "mmol/l", "3.8-5.5", "4.4"),
    ("KREA", "Kreatinin", "µmol/l", "<97", "71"),
    ("LDLC", "LDL-Cholesterin", "mmol/l", "<3.4", "3.12"),
    ("LEUK", "Leukozyten", "Gpt/l", "4.0-9.8", "6.3"),
    ("MCH", "MCH", "fmol", "1.70-2.05", "1.76"),
    ("MCHC", "MCHC", "mmol/l", "20.0-22.5", "20.3"),
    ("MCV", "MCV", "fl", "80-96", "88"),
    ("NA", "Natrium i.S.", "mmol/l", "136-152", "141"),
    ("THRO", "Thrombozyten", "Gpt/l", "150-400", "231"),
    ("TRI", "Triglyzeride", "mmol/l", "<1.71", "1.15"),
    ("TSHB", "TSH basal", "µIU/ml", "0.30-4.20", "3.22"),
    ("UDI", "Urin-Dichte", "g/ml", "1.010-1.030", "1.018"),
)


def true_lab_sheet() -> pd.DataFrame:
    """The lab sheet as printed by the lab: Laborid, Bezeichnung, Einheit, Normalwert, Wert.

    ``Wert`` is float64; the sodium code ``"NA"`` is a string, not a missing value.
    """
    frame = pd.DataFrame(
        list(_ROWS), columns=["Laborid", "Bezeichnung", "Einheit", "Normalwert", "Wert"]
    )
    frame["Wert"] = frame["Wert"].astype("float64")
    return frame


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    # DejaVu ships with matplotlib, so the image renders the same on every machine.
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    return ImageFont.truetype(str(path), size)


def render_lab_sheet(target: Path) -> None:
    """Render the printed "Patientendatenblatt" as a grayscale PNG at ``target``."""
    header = ["Laborid", "Bezeichnung", "Einheit", "Normalwert", SHEET_DATE]
    rows = [list(row) for row in _ROWS]
    regular, bold, title = _font(15), _font(15, bold=True), _font(22, bold=True)
    columns = [24, 124, 314, 454, 584]
    line_height, top = 24, 118
    width, height = 720, top + line_height * (len(rows) + 1) + 48
    image = Image.new("L", (width, height), color=255)
    draw = ImageDraw.Draw(image)
    draw.text((24, 20), "Patientendatenblatt", font=title, fill=0)
    draw.text(
        (24, 56), "Zentrallabor  ·  Probeneingang 31.08.2017, 08:14 Uhr", font=regular, fill=0
    )
    draw.text((24, 78), "Patientin: Erika M.  ·  Auftrag 2017-0831-017", font=regular, fill=0)
    for x, text in zip(columns, header, strict=True):
        draw.text((x, top), text, font=bold, fill=0)
    draw.line([(20, top + 21), (width - 20, top + 21)], fill=0, width=1)
    for index, row in enumerate(rows, start=1):
        y = top + index * line_height + 4
        if index % 2 == 0:
            draw.rectangle([(20, y - 3), (width - 20, y + line_height - 5)], fill=238)
        for x, text in zip(columns, row, strict=True):
            draw.text((x, y), text, font=regular, fill=0)
    footer_y = height - 34
    draw.text(
        (24, footer_y), "Werte außerhalb des Normalbereichs bitte ärztlich prüfen.", font=regular
    )
    image.save(target, format="PNG", optimize=False)


def build_damaged_csv(target: Path) -> None:
    """Write the damaged sheet (seed ``DAMAGE_SEED``) as German Excel would save it."""
    write_damaged_csv(damage_lab_sheet(true_lab_sheet(), seed=DAMAGE_SEED), target)


DATA_FILES = [
    DataFile(
        path=CSV_PATH,
        made_by=f"generator dlbmt.tools.lab_sheet.build_damaged_csv, seed {DAMAGE_SEED}",
        licence="CC0-1.0 (generated by this course)",
        build=build_damaged_csv,
    ),
    DataFile(
        path=PNG_PATH,
        made_by="generator dlbmt.tools.lab_sheet.render_lab_sheet (DejaVu Sans from matplotlib)",
        licence="CC0-1.0 (generated by this course)",
        build=render_lab_sheet,
    ),
]
