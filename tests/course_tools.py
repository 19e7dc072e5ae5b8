"""Shared helpers for the test suite: copying the course, running the CLI, reading scores."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat

from dlbmt.grading.commands import run_module
from dlbmt.grading.course import GRADING_PARTS, Course

REPO = Path(__file__).resolve().parents[1]
COURSE_PARTS = (*GRADING_PARTS, "examples")


def copy_course(target: Path, parts=COURSE_PARTS) -> Path:
    return Course(REPO).copy_parts(target, parts)


def run_dlbmt(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    completed = run_module("dlbmt", *args, cwd=course)
    if check and completed.returncode != 0:
        raise AssertionError(
            f"dlbmt {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def gradebook_scores(course: Path) -> dict[str, dict[str, dict[str, float]]]:
    """{assignment: {student: {grade_id: score}}} read from the course's gradebook."""
    from nbgrader.api import Gradebook

    result: dict = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                row = result.setdefault(assignment.name, {}).setdefault(submission.student.id, {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        row[grade.name] = grade.score
    return result


def submit(course: Path, student: str, assignment: str, notebook: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")


def submit_example(course: Path, student: str, assignment: str) -> None:
    """Copy an example student's notebooks of ``assignment`` into the course's submitted/."""
    source = course / "examples" / "submissions" / student / assignment
    target = course / "submitted" / student / assignment
    target.mkdir(parents=True)
    for notebook in source.glob("*.ipynb"):
        target.joinpath(notebook.name).write_bytes(notebook.read_bytes())


def graded_cells(notebook_path: Path):
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            yield cell, meta
