"""Per-submission result records: what was graded, with what, and what came out.

A record is written atomically to ``.grading/results/<assignment>/<student>.json``
after a submission is graded. It lets a killed or repeated run grade only what is
missing or changed: a submission is up to date when its record's fingerprint
(the submission, the graders, the source notebook, the data manifest and this
package's version) still matches. The record also holds what the submission
earned, so a run killed after grading but before the gradebook was written
merges it from the record instead of grading it again.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import dlbmt
from dlbmt.grading.course import Course, file_digest
from dlbmt.grading.gradebook import record_scores

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
    return course.result_file(assignment, student)


def limits_hit(course: Course, assignment: str, student: str) -> list[dict]:
    """The limits the sandbox reported for this student's notebooks in the last run."""
    folder = course.submission_answers(assignment, student)
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
    *,
    graded_as: dict,
    gradebook: dict | None = None,
    problem: str | None = None,
) -> dict:
    """Record a grading; ``graded_as`` is the fingerprint taken before it started.

    ``gradebook`` is what the submission earned (see
    :func:`dlbmt.grading.gradebook.submission_record`); without it the grading failed.
    """
    record = {
        "assignment": assignment,
        "student": student,
        "status": "graded" if gradebook is not None else "failed",
        "problem": problem,
        "limits": limits_hit(course, assignment, student) if gradebook is not None else [],
        "fingerprint": graded_as,
        "environment": environment(),
        "seconds": round(seconds, 1),
        "scores": record_scores(gradebook) if gradebook is not None else {},
        "gradebook": gradebook,
    }
    target = result_path(course, assignment, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=1, sort_keys=True)
    os.replace(temporary, target)  # atomic: a killed run never leaves half a record
    return record


def read_result(course: Course, assignment: str, student: str) -> dict | None:
    path = result_path(course, assignment, student)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_current(record: dict | None, course: Course, assignment: str, student: str) -> bool:
    """Whether ``record`` graded exactly the submission, graders, source and data of now."""
    return (
        record is not None
        and record.get("status") == "graded"
        and isinstance(record.get("gradebook"), dict)
        and record.get("fingerprint") == fingerprint(course, assignment, student)
    )
