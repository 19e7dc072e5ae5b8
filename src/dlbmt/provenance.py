"""Per-submission result records: what was graded, with what, and what came out.

A record is written atomically to ``.grading/results/<assignment>/<student>.json``
after a submission is graded. It lets a killed or repeated run grade only what is
missing or changed: a submission is up to date when its record's fingerprint
(the submission, the graders, the source notebook, the data manifest and this
package's version) still matches and the gradebook still holds the same scores.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import dlbmt
from dlbmt.course import Course, file_digest

PACKAGES = ("nbgrader", "tensorflow-cpu", "keras", "numpy", "pandas")


def fingerprint(course: Course, assignment: str, student: str) -> dict:
    manifest = course.data / "manifest.json"
    return {
        "submission": file_digest(course.submitted / student / assignment),
        "graders": file_digest(course.graders / assignment),
        "source": file_digest(course.source / assignment),
        "data_manifest": file_digest(manifest) if manifest.is_file() else None,
        "dlbmt": dlbmt.__version__,
    }


def environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(), **versions}


def result_path(course: Course, assignment: str, student: str) -> Path:
    return course.state / "results" / assignment / f"{student}.json"


def gradebook_scores(course: Course, assignment: str, student: str) -> dict[str, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    database = course.root / "gradebook.db"
    if not database.is_file():
        return {}
    with Gradebook(f"sqlite:///{database}") as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {
            grade.name: grade.auto_score for notebook in submission.notebooks
            for grade in notebook.grades
        }  # fmt: skip


def limits_hit(course: Course, assignment: str, student: str) -> list[dict]:
    """The limits the sandbox reported for this student's notebooks in the last run."""
    folder = course.state / "answers" / assignment / student
    events: list[dict] = []
    for path in sorted(folder.glob("*.events.json")) if folder.is_dir() else []:
        try:
            events += json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
    return events


def write_result(
    course: Course,
    assignment: str,
    student: str,
    seconds: float,
    status: str = "graded",
    problem: str | None = None,
) -> Path:
    record = {
        "assignment": assignment,
        "student": student,
        "status": status,
        "problem": problem,
        "limits": limits_hit(course, assignment, student) if status == "graded" else [],
        "fingerprint": fingerprint(course, assignment, student),
        "environment": environment(),
        "seconds": round(seconds, 1),
        "scores": gradebook_scores(course, assignment, student),
    }
    target = result_path(course, assignment, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=1, sort_keys=True)
    os.replace(temporary, target)  # atomic: a killed run never leaves half a record
    return target


def read_result(course: Course, assignment: str, student: str) -> dict | None:
    path = result_path(course, assignment, student)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_up_to_date(course: Course, assignment: str, student: str) -> bool:
    record = read_result(course, assignment, student)
    if record is None or record.get("status") != "graded":
        return False
    if record.get("fingerprint") != fingerprint(course, assignment, student):
        return False
    scores = gradebook_scores(course, assignment, student)
    return bool(scores) and scores == record.get("scores")
