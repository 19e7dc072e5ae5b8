"""Autograde every submission of an assignment, several at a time.

Each submission is graded by its own ``nbgrader autograde --student`` process,
which runs the notebook in the sandbox and the graders outside it. Submissions
run side by side on ``workers`` threads; each kernel gets an equal share of the
CPU cores, so that TensorFlow in one does not starve the others. A lock file per
student keeps the same student from being graded twice at the same moment.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from dlbmt.course import Course
from dlbmt.keys import ensure_key
from dlbmt.provenance import is_up_to_date, write_result


@dataclass
class Outcome:
    student: str
    graded: bool
    seconds: float
    message: str = ""


def nbgrader(course: Course, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader command on the course folder (quietly)."""
    environment = dict(os.environ, **(env or {}))
    # nbgrader creates the gradebook with alembic, which must be on PATH.
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    command = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    return subprocess.run(command, cwd=course.root, env=environment, capture_output=True, text=True)


def unreadable_notebook(course: Course, assignment: str, student: str) -> str | None:
    """Why a submitted notebook cannot be graded, or None when it can be read."""
    folder = course.submitted / student / assignment
    for source in course.source_notebooks(assignment):
        path = folder / source.name
        if not path.is_file():
            continue  # nbgrader gives a missing notebook zero points
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # noqa: BLE001 - any parse failure means: not gradable
            return (
                f"{path.relative_to(course.root)} is not a valid notebook "
                f"({type(error).__name__}). Ask the student to resubmit it, or repair the JSON."
            )
    return None


@contextmanager
def student_lock(course: Course, assignment: str, student: str):
    folder = course.state / "locks" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{student}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def grade_student(course: Course, assignment: str, student: str, threads: int) -> Outcome:
    started = time.monotonic()
    problem = unreadable_notebook(course, assignment, student)
    if problem:
        write_result(course, assignment, student, 0.0, "failed", "invalid notebook")
        return Outcome(student, False, 0.0, problem)
    with student_lock(course, assignment, student):
        completed = nbgrader(
            course, "autograde", assignment, "--student", student, "--force",
            env={"DLBMT_THREADS": str(threads)},
        )  # fmt: skip
        seconds = time.monotonic() - started
        if completed.returncode == 0:
            write_result(course, assignment, student, seconds)
            return Outcome(student, True, seconds)
    write_result(course, assignment, student, seconds, "failed", "nbgrader error")
    tail = (completed.stdout + completed.stderr).strip().splitlines()[-6:]
    return Outcome(student, False, seconds, "nbgrader autograde failed:\n  " + "\n  ".join(tail))


def autograde(
    course: Course,
    assignment: str,
    students: list[str],
    workers: int = 1,
    progress: bool = True,
    force: bool = False,
) -> list[Outcome]:
    """Grade ``students`` that are not up to date (all of them with ``force``).

    A submission that failed for a passing reason is tried once more.
    """
    for notebook in course.source_notebooks(assignment):
        ensure_key(course, assignment, notebook.stem)
    outcomes: dict[str, Outcome] = {}
    if not force:
        for student in students:
            if is_up_to_date(course, assignment, student):
                outcomes[student] = Outcome(student, True, 0.0, "up to date")
    pending = [s for s in students if s not in outcomes]
    if not pending:
        return [outcomes[s] for s in students]
    workers = max(1, min(workers, len(pending)))
    threads = max(1, (os.cpu_count() or 1) // workers)
    bar = tqdm(total=len(pending), unit="submission", disable=not progress, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(grade_student, course, assignment, s, threads) for s in pending]
        for future in futures:
            outcome = future.result()
            outcomes[outcome.student] = outcome
            bar.update(1)
    bar.close()
    for student, outcome in list(outcomes.items()):
        if not outcome.graded and not outcome.message.endswith("repair the JSON."):
            outcomes[student] = grade_student(course, assignment, student, os.cpu_count() or 1)
    return [outcomes[s] for s in students]
