"""Session-wide fixtures: every real notebook is executed as few times as possible.

``graded_course`` copies the course, releases it and autogrades the example
submissions once; the pipeline tests all read that one result. Edge cases run on
the tiny course in ``tiny_course.py``, which executes in seconds.
"""

from __future__ import annotations

import json
import os

import pytest
from course_tools import REPO, copy_course, gradebook_scores, run_dlbmt

# Instructors' machines write bytecode caches; a developer's PYTHONDONTWRITEBYTECODE=1
# would hide a grading step that writes into the course (graders/__pycache__ did).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ASSIGNMENTS = sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def expected_scores() -> dict:
    return json.loads((REPO / "examples" / "expected_scores.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A copy of the course with every example submission autograded, feedback and export."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    run_dlbmt(course, "release")
    (course / "submitted").mkdir()
    for student in (course / "examples" / "submissions").iterdir():
        for assignment in student.iterdir():
            target = course / "submitted" / student.name / assignment.name
            target.mkdir(parents=True)
            for notebook in assignment.glob("*.ipynb"):
                target.joinpath(notebook.name).write_bytes(notebook.read_bytes())
    # One run for every assignment, as an instructor grading the whole lab would.
    log = run_dlbmt(course, "autograde", "--workers", "2").stdout
    # Free text waits for grading by hand: plain feedback refuses, provisional feedback is marked.
    refused = {a: run_dlbmt(course, "feedback", a, check=False) for a in ASSIGNMENTS}
    for assignment in ASSIGNMENTS:
        run_dlbmt(course, "feedback", assignment, "--provisional")
    run_dlbmt(course, "export", "--to", "grades.csv")
    return {"root": course, "scores": gradebook_scores(course), "log": log, "refused": refused}
