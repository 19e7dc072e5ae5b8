"""The patient lab sheet of Notebook 2: where its files are, and reading reference ranges.

The printed sheet is ``data/labsheet/patientendatenblatt.png``; the same sheet
after a trip through German Excel is ``data/labsheet/datenblatt.csv``. Students
repair the CSV and compare their result with the image. The true values exist
only as the image: the sheet itself is made by the instructor's tooling.
"""

from __future__ import annotations

import math
import re

from dlbmt.errors import CourseError

PNG_PATH = "labsheet/patientendatenblatt.png"
CSV_PATH = "labsheet/datenblatt.csv"

_NUMBER = r"\s*(\d+(?:[.,]\d+)?)\s*"
_BETWEEN = re.compile(_NUMBER + r"[-–]" + _NUMBER)
_BELOW = re.compile(r"\s*<" + _NUMBER)
_ABOVE = re.compile(r"\s*>" + _NUMBER)


def parse_reference_range(text: str) -> tuple[float, float]:
    """``(low, high)`` of a reference range such as ``"2.25-2.65"``, ``"<115"`` or ``">65"``.

    Open ends are ``-inf`` and ``inf``. Decimal commas are accepted.
    """

    def number(part: str) -> float:
        return float(part.replace(",", "."))

    if not isinstance(text, str):
        raise CourseError(f"parse_reference_range erwartet einen Text, bekam aber {text!r}.")
    if match := _BETWEEN.fullmatch(text):
        return number(match.group(1)), number(match.group(2))
    if match := _BELOW.fullmatch(text):
        return -math.inf, number(match.group(1))
    if match := _ABOVE.fullmatch(text):
        return number(match.group(1)), math.inf
    raise CourseError(
        f"parse_reference_range kann {text!r} nicht lesen. Möglich sind die Formen "
        "„2.25-2.65“, „<115“ und „>65“."
    )
