"""Example submissions: the reference solution and the untouched release, derived from
``source/`` and ``release/`` so they never drift; the typical student is kept by hand.

``python -m dlbmt.tools.examples --update`` rewrites the derived ones (the "goldens").
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from dlbmt.grading.course import Course

DERIVED_STUDENTS = ("reference", "untouched")
_MARKER = re.compile(r"^\s*(#+|<!--)?\s*(BEGIN|END) SOLUTION\s*(-->)?\s*$")


def strip_solution_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _MARKER.match(line))


def reference_submission(source: Path, release: Path) -> nbformat.NotebookNode:
    """The release notebook with every answer cell filled in from the source."""
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(source, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in solutions:
            cell.source = strip_solution_markers(solutions[grade_id])
    return notebook


def derived_examples(course: Course) -> dict[Path, str]:
    """Relative path -> notebook text of every derived example submission."""
    files = {}
    for assignment in course.assignments():
        for source in course.source_notebooks(assignment):
            release = course.release / assignment / source.name
            folder = Path("examples/submissions")
            files[folder / "reference" / assignment / source.name] = nbformat.writes(
                reference_submission(source, release)
            )
            files[folder / "untouched" / assignment / source.name] = release.read_text(
                encoding="utf-8"
            )
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the derived examples")
    args = parser.parse_args(argv)
    course = Course.find()
    stale = []
    for relative, text in derived_examples(course).items():
        path = course.root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
            if args.update:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for relative in stale:
        print(("updated " if args.update else "stale ") + str(relative))
    return 1 if stale and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
