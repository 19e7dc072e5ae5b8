"""The answer key: the answers recorded the same way from the source notebook.

It is made by executing the instructor's source notebook with recording on, and
lives in the course's ``.grading/`` folder, which git ignores and nbgrader never
releases. It is rebuilt when the source notebook or the data change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

import dlbmt
from dlbmt.errors import CourseError
from dlbmt.grading.course import Course, file_digest
from dlbmt.grading.execution import execute_notebook
from dlbmt.grading.sandbox import Limits

INFO_NAME = "key_info.json"


def _fingerprint(course: Course, notebook_path: Path) -> dict:
    manifest = course.data / "manifest.json"
    return {
        "source": file_digest(notebook_path),
        "data": file_digest(manifest) if manifest.is_file() else None,
        "dlbmt": dlbmt.__version__,
    }


def key_is_current(course: Course, assignment: str, notebook: str) -> bool:
    folder = course.key_dir(assignment, notebook)
    info = folder / INFO_NAME
    source = course.source / assignment / f"{notebook}.ipynb"
    if not info.is_file():
        return False
    recorded = json.loads(info.read_text(encoding="utf-8"))
    return recorded.get("fingerprint") == _fingerprint(course, source)


def build_key(course: Course, assignment: str, notebook: str, limits: Limits | None = None) -> Path:
    """Execute the source notebook and store its recorded answers as the key."""
    source = course.source / assignment / f"{notebook}.ipynb"
    if not source.is_file():
        raise CourseError(f"The source notebook {source} is missing.")
    folder = course.key_dir(assignment, notebook)
    if folder.exists():
        shutil.rmtree(folder)
    answers = folder / "answers"
    result = execute_notebook(
        nbformat.read(source, as_version=4), answer_dir=answers, data_dir=course.data,
        limits=limits or Limits.from_config(course.config()),
    )  # fmt: skip
    errors = [
        i for i, cell in enumerate(result.notebook.cells)
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
        and "raises-exception" not in cell.metadata.get("tags", [])
    ]  # fmt: skip
    if errors or result.events or not result.finished:
        shutil.rmtree(folder, ignore_errors=True)
        raise CourseError(
            f"The source notebook {source} does not run cleanly (cells with errors: {errors}, "
            f"limits hit: {result.events}). Fix it before grading."
        )
    info = {"fingerprint": _fingerprint(course, source), "seconds": round(result.seconds, 1)}
    (folder / INFO_NAME).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return answers


def ensure_key(
    course: Course, assignment: str, notebook: str, limits: Limits | None = None
) -> Path:
    if not key_is_current(course, assignment, notebook):
        build_key(course, assignment, notebook, limits)
    return course.key_dir(assignment, notebook) / "answers"
