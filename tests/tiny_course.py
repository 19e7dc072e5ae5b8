"""The tiny course for the tests (built by :mod:`dlbmt.tools.tiny_course`), and cell helpers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from course_tools import REPO

from dlbmt.grading.course import Course
from dlbmt.tools import tiny_course
from dlbmt.tools.tiny_course import (  # noqa: F401 - the tests import them from here
    ANSWER_BYTES,
    ANSWER_FILES,
    ASSIGNMENT,
    CELL_SECONDS,
    DATA_FILE,
    MAX_PROCESSES,
    MEMORY_BYTES,
    WALL_SECONDS,
    reference_submission,
    source_notebook,
)


def build_tiny_course(root: Path) -> Path:
    return tiny_course.build_tiny_course(root, Course(REPO))


def tiny_course_with_graders(root: Path, name: str, source: str) -> Course:
    """A tiny course whose graders are the one module ``name`` (for checks that probe the
    graders' sandbox), with an empty answer store and key beside it: root/answers, root/key.
    """
    course = Course(build_tiny_course(root / "course"))
    folder = course.graders / ASSIGNMENT
    for module in folder.glob("test_*.py"):
        module.unlink()
    (folder / name).write_text(source, encoding="utf-8")
    for store in ("answers", "key"):
        (root / store).mkdir()
    return course


def cell_index(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def with_answers(notebook, square: str | None = None, value: str | None = None):
    """A copy of ``notebook`` with the answer cells replaced."""
    notebook = nbformat.from_dict(notebook)
    if square is not None:
        notebook.cells[cell_index(notebook, "tiny_square_answer")].source = square
    if value is not None:
        notebook.cells[cell_index(notebook, "tiny_value_answer")].source = value
    return notebook


def insert_student_cell(notebook, before_grade_id: str, source: str):
    notebook = nbformat.from_dict(notebook)
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip())
    cell.id = f"student-{len(notebook.cells)}"
    notebook.cells.insert(cell_index(notebook, before_grade_id), cell)
    return notebook
