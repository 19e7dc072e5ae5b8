"""Example submissions, derived from ``source/``, ``release/`` and ``examples/variants/``.

* ``reference``: the release with every answer cell filled in from the source.
* ``untouched``: the release as handed out.
* the **variant corpus**: for each assignment, ``examples/variants/<assignment>.py``
  defines ``VARIANTS = {student: {answer_grade_id: source, ...}, ...}``. Each
  variant student is the reference submission with the named answer cells
  replaced: ``wrong_*`` students give a plausible wrong answer to every task,
  ``valid_*`` students a valid alternative (another API, another approach).
  ``attack_*`` students start from the untouched release instead and try to fool
  the graders without solving anything: they must score what the release scores.
  The expected points per task are in ``examples/expected_scores.json``.
* ``typical`` is kept by hand: a student with typical mistakes.

``dlbmt examples --update`` rewrites the derived ones (the "goldens").
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import nbformat

from dlbmt.errors import CourseError
from dlbmt.grading.cells import grade_id, nbgrader_meta
from dlbmt.grading.course import Course

DERIVED_STUDENTS = ("reference", "untouched")
VARIANTS_FOLDER = Path("examples/variants")
_MARKER = re.compile(r"^\s*(#+|<!--)?\s*(BEGIN|END) SOLUTION\s*(-->)?\s*$")


def strip_solution_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _MARKER.match(line))


def reference_submission(source: Path, release: Path) -> nbformat.NotebookNode:
    """The release notebook with every answer cell filled in from the source."""
    solutions = {
        grade_id(cell): cell.source
        for cell in nbformat.read(source, as_version=4).cells
        if nbgrader_meta(cell).get("solution")
    }
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("solution") and grade_id(cell) in solutions:
            cell.source = strip_solution_markers(solutions[grade_id(cell)])
    return notebook


def variants(course: Course, assignment: str) -> dict[str, dict[str, str]]:
    """{student: {answer grade_id: source}} of the assignment's variant corpus."""
    path = course.root / VARIANTS_FOLDER / f"{assignment}.py"
    if not path.is_file():
        return {}
    return runpy.run_path(str(path))["VARIANTS"]


def variant_submission(
    reference: nbformat.NotebookNode, answers: dict[str, str], where: str
) -> nbformat.NotebookNode:
    """``reference`` with the answer cells named in ``answers`` replaced."""
    notebook = nbformat.from_dict(reference)
    cells = {grade_id(cell): cell for cell in notebook.cells if nbgrader_meta(cell).get("solution")}
    for task, source in answers.items():
        if task not in cells:
            raise CourseError(f"{where}: there is no answer cell {task!r}.")
        cells[task].source = source.strip("\n")
    return notebook


def derived_examples(course: Course) -> dict[Path, str]:
    """Relative path -> notebook text of every derived example submission."""
    files = {}
    folder = Path("examples/submissions")
    for assignment in course.assignments():
        corpus = variants(course, assignment)
        for source in course.source_notebooks(assignment):
            release = course.release / assignment / source.name
            reference = reference_submission(source, release)
            files[folder / "reference" / assignment / source.name] = nbformat.writes(reference)
            files[folder / "untouched" / assignment / source.name] = release.read_text(
                encoding="utf-8"
            )
            blank = nbformat.read(release, as_version=4)
            for student, answers in corpus.items():
                where = f"{VARIANTS_FOLDER / assignment}.py, {student}"
                base = blank if student.startswith("attack_") else reference
                notebook = variant_submission(base, answers, where)
                files[folder / student / assignment / source.name] = nbformat.writes(notebook)
    return files


def update_examples(course: Course, *, write: bool) -> list[Path]:
    """The derived example submissions that are stale; rewritten when ``write``."""
    stale = []
    for relative, text in derived_examples(course).items():
        path = course.root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
            if write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale
