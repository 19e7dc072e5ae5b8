"""Every read and write of nbgrader's gradebook goes through here.

The gradebook is SQLite by default or any database SQLAlchemy reaches through
``c.CourseDirectory.db_url`` in ``nbgrader_config.py`` (PostgreSQL for large
courses). Grading writes it from one place only: workers grade into a private
SQLite copy of the assignment's structure, hand back what the submission earned
as plain data (:func:`submission_record`), and the coordinating process merges
that into the real gradebook (:func:`merge_submission`). Student code never
sees either database.
"""

from __future__ import annotations

import shutil
import warnings
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from dlbmt.errors import CourseError
from dlbmt.grading.course import Course

DEFAULT_DB_URL = "sqlite:///gradebook.db"
# What a submission adds to the gradebook; everything else is the course's structure.
SUBMISSION_TABLES = ("submitted_assignment", "submitted_notebook", "grade", "comment")


@contextmanager
def quiet_sqlalchemy():
    """Hide the SAWarnings nbgrader's gradebook code raises under SQLAlchemy 2.

    They concern nbgrader's session handling, not anything an instructor can fix.
    """
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def db_url(course: Course, config=None) -> str:
    """The gradebook's URL; a relative SQLite path is relative to the course folder."""
    config = config if config is not None else course.config()
    url = config.CourseDirectory.get("db_url", DEFAULT_DB_URL)
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(course.root / url[len(prefix) :])
    return url


@contextmanager
def open_gradebook(course: Course):
    from nbgrader.api import Gradebook

    config = course.config()
    url = db_url(course, config)
    try:
        gradebook = Gradebook(url, config.CourseDirectory.get("course_id", "default_course"))
    except Exception as error:  # noqa: BLE001 - e.g. a database server that is down
        raise CourseError(
            f"The gradebook at {_safe_url(url)} cannot be opened "
            f"({type(error).__name__}). Check c.CourseDirectory.db_url in nbgrader_config.py "
            "and that the database server runs."
        ) from None
    try:
        yield gradebook
    finally:
        gradebook.close()


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return url.split(":", 1)[0] + "://..."


def is_released(course: Course, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    with open_gradebook(course) as gradebook:
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def snapshot_structure(course: Course, target: Path) -> Path:
    """Copy the gradebook without any submission into a new SQLite file ``target``.

    Workers grade into copies of it, so that nbgrader finds the assignment's
    cells and students without touching the real gradebook.
    """
    from nbgrader.api import Base
    from sqlalchemy import create_engine, select, text

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    source = create_engine(db_url(course))
    destination = create_engine(f"sqlite:///{partial}")
    try:
        with source.connect() as reader, destination.begin() as writer:
            Base.metadata.create_all(writer)
            # nbgrader stamps a new gradebook by running the `alembic` program, which
            # is only found with the environment activated; the real gradebook's stamp
            # is the right one anyway, and a stamped file makes nbgrader skip that step.
            stamp = reader.execute(text("SELECT version_num FROM alembic_version")).scalars()
            writer.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            for version in stamp:
                writer.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version}
                )
            for table in Base.metadata.sorted_tables:
                if table.name in SUBMISSION_TABLES:
                    continue
                rows = [dict(row._mapping) for row in reader.execute(select(table))]
                if rows:
                    writer.execute(table.insert(), rows)
    finally:
        source.dispose()
        destination.dispose()
    partial.replace(target)
    return target


def private_copy(structure: Path, folder: Path) -> str:
    """A fresh private gradebook for one submission; returns its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "gradebook.db"
    shutil.copyfile(structure, database)
    return f"sqlite:///{database}"


def submission_record(url: str, assignment: str, student: str) -> dict:
    """What the submission earned, as plain data: grades, comments, timestamp, penalties."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        notebooks = {}
        for notebook in submission.notebooks:
            notebooks[notebook.name] = {
                "late_submission_penalty": notebook.late_submission_penalty,
                "grades": {
                    grade.name: {
                        "auto_score": grade.auto_score,
                        "needs_manual_grade": grade.needs_manual_grade,
                    }
                    for grade in notebook.grades
                },
                "comments": {comment.name: comment.auto_comment for comment in notebook.comments},
            }
    return {"timestamp": timestamp, "notebooks": notebooks}


def merge_submission(gradebook, assignment: str, student: str, record: dict) -> None:
    """Write one submission's grading into the real gradebook (the single writer).

    Scores a person gave by hand are kept; like nbgrader, a cell with a manual
    score or without an automatic one is flagged for a person to look at.
    """
    with quiet_sqlalchemy():
        _merge(gradebook, assignment, student, record)


def _merge(gradebook, assignment: str, student: str, record: dict) -> None:
    gradebook.update_or_create_student(student)
    timestamp = record.get("timestamp")
    extra = {"timestamp": datetime.fromisoformat(timestamp)} if timestamp else {}
    gradebook.update_or_create_submission(assignment, student, **extra)
    for name, notebook in record["notebooks"].items():
        submitted = gradebook.find_submission_notebook(name, assignment, student)
        submitted.late_submission_penalty = notebook["late_submission_penalty"]
        for grade_id, values in notebook["grades"].items():
            grade = gradebook.find_grade(grade_id, name, assignment, student)
            grade.auto_score = values["auto_score"]
            grade.needs_manual_grade = (
                values["needs_manual_grade"]
                or grade.manual_score is not None
                or grade.auto_score is None
            )
        for cell, text in notebook["comments"].items():
            gradebook.find_comment(cell, name, assignment, student).auto_comment = text
    gradebook.db.commit()


def auto_scores(course: Course, assignment: str, student: str) -> dict[str, float | None]:
    """{grade_id: automatic score} of a submission; empty when it is not in the gradebook."""
    with open_gradebook(course) as gradebook:
        return scores_in(gradebook, assignment, student)


def scores_in(gradebook, assignment: str, student: str) -> dict[str, float | None]:
    """:func:`auto_scores` in an open gradebook."""
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {}
    return {
        grade.name: grade.auto_score for notebook in submission.notebooks
        for grade in notebook.grades
    }  # fmt: skip


def record_scores(record: dict) -> dict[str, float | None]:
    """{grade_id: automatic score} of a :func:`submission_record`."""
    return {
        grade_id: values["auto_score"]
        for notebook in record["notebooks"].values()
        for grade_id, values in notebook["grades"].items()
    }


def pending_manual_grades(course: Course, assignment: str) -> dict[str, int]:
    """{student: answers that still wait for grading by hand} for ``assignment``."""
    from nbgrader.api import MissingEntry

    from dlbmt.grading.nbgrader_plugins import is_pending

    pending: dict[str, int] = {}
    with open_gradebook(course) as gradebook, quiet_sqlalchemy():
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return {}
        for submission in submissions:
            count = sum(is_pending(g) for nb in submission.notebooks for g in nb.grades)
            if count:
                pending[submission.student.id] = count
    return dict(sorted(pending.items()))
