"""A PostgreSQL gradebook (``c.CourseDirectory.db_url``) against a real server.

``.ci/run`` starts the server and sets DLBMT_TEST_POSTGRES_URL to an account that
may create databases; each run gets a database of its own and drops it after.
"""

from __future__ import annotations

import os
import uuid

import pytest
from course_tools import run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission, with_answers

from dlbmt.grading.course import Course
from dlbmt.grading.gradebook import auto_scores, db_url

ADMIN_URL = os.environ.get("DLBMT_TEST_POSTGRES_URL")

if not ADMIN_URL:
    if os.environ.get("DLBMT_REQUIRE_POSTGRES"):
        raise RuntimeError("DLBMT_REQUIRE_POSTGRES is set but DLBMT_TEST_POSTGRES_URL is not.")
    pytest.skip(
        "no PostgreSQL server: run .ci/start-postgres and set DLBMT_TEST_POSTGRES_URL",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def database():
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"dlbmt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, database):
    course = build_tiny_course(tmp_path_factory.mktemp("pg") / "course")
    config = course / "nbgrader_config.py"
    config.write_text(
        config.read_text(encoding="utf-8") + f"\nc.CourseDirectory.db_url = {database!r}\n",
        encoding="utf-8",
    )
    run_dlbmt(course, "release", ASSIGNMENT)
    reference = reference_submission(course)
    submit(course, "anna", ASSIGNMENT, reference)
    submit(course, "ben", ASSIGNMENT, with_answers(reference, value="value = 41"))
    submit(course, "cleo", ASSIGNMENT, with_answers(reference, square="def square(x):\n    pass"))
    first = run_dlbmt(course, "autograde", ASSIGNMENT, "--workers", "2")
    return {"course": course, "url": database, "first": first}


def _scores(course, student):
    scores = auto_scores(Course(course), ASSIGNMENT, student)
    return {task: scores[task] for task in ("tiny_square", "tiny_value")}


def test_the_course_really_uses_postgresql(graded):
    assert db_url(Course(graded["course"])) == graded["url"]
    assert db_url(Course(graded["course"])).startswith("postgresql")
    assert not (graded["course"] / "gradebook.db").exists()


def test_scores_land_in_the_postgresql_gradebook(graded):
    assert _scores(graded["course"], "anna") == {"tiny_square": 2, "tiny_value": 1}
    assert _scores(graded["course"], "ben") == {"tiny_square": 2, "tiny_value": 0}
    assert _scores(graded["course"], "cleo") == {"tiny_square": 0, "tiny_value": 1}


def test_export_and_score_table_read_postgresql(graded):
    course = graded["course"]
    run_dlbmt(course, "export", "--to", "grades.csv")
    rows = (course / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 4 and all(name in "\n".join(rows) for name in ("anna", "ben", "cleo"))
    table = run_dlbmt(course, "report", ASSIGNMENT).stdout
    assert "anna" in table and "4/4" not in table  # tiny_text waits for a person


def test_a_second_run_keeps_everything(graded):
    output = run_dlbmt(graded["course"], "autograde", ASSIGNMENT).stdout
    assert output.count("kept") == 3
