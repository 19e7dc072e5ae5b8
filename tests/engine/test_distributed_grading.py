"""Grading on Dask, with the coordinator as the only writer of the gradebook."""

from __future__ import annotations

import json

import pytest
from course_tools import gradebook_scores, run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission, with_answers

from dlbmt.grading.autograde import grade_submission
from dlbmt.grading.course import Course
from dlbmt.grading.gradebook import snapshot_structure

EXPECTED = {"anna": (2, 1), "ben": (2, 0), "cleo": (0, 1)}


def _course(root):
    course = build_tiny_course(root / "course")
    run_dlbmt(course, "release", ASSIGNMENT)
    reference = reference_submission(course)
    submit(course, "anna", ASSIGNMENT, reference)
    submit(course, "ben", ASSIGNMENT, with_answers(reference, value="value = 41"))
    submit(course, "cleo", ASSIGNMENT, with_answers(reference, square="def square(x):\n    pass"))
    return course


def _auto(course):
    scores = gradebook_scores(course).get(ASSIGNMENT, {})
    return {s: (row["tiny_square"], row["tiny_value"]) for s, row in scores.items()}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def test_existing_cluster_grades_like_the_local_run(tmp_path, cluster):
    course = _course(tmp_path)
    output = run_dlbmt(course, "autograde", ASSIGNMENT, "--scheduler", cluster.scheduler_address)
    assert output.stdout.count("graded") == 3
    assert _auto(course) == EXPECTED
    record = json.loads((course / ".grading/results" / ASSIGNMENT / "ben.json").read_text())
    assert record["status"] == "graded" and record["scores"]["tiny_value"] == 0


def test_a_worker_never_writes_the_gradebook(tmp_path):
    """The worker returns what was earned; only the coordinator writes it."""
    course = _course(tmp_path)
    structure = snapshot_structure(Course(course), tmp_path / "structure.db")
    before = (course / "gradebook.db").read_bytes()
    outcome = grade_submission(Course(course), ASSIGNMENT, "ben", structure, threads=1)
    assert outcome.graded
    assert (course / "gradebook.db").read_bytes() == before
    assert _auto(course) == {}
    grades = outcome.gradebook["notebooks"][ASSIGNMENT]["grades"]
    assert grades["tiny_square"]["auto_score"] == 2 and grades["tiny_value"]["auto_score"] == 0


def test_a_run_killed_after_grading_merges_the_record_without_grading_again(tmp_path):
    course = _course(tmp_path)
    structure = snapshot_structure(Course(course), tmp_path / "structure.db")
    for student in ("anna", "ben"):  # graded, but the coordinator died before merging
        grade_submission(Course(course), ASSIGNMENT, student, structure, threads=1)
    output = run_dlbmt(course, "autograde", ASSIGNMENT).stdout
    assert "kept  anna  (merged from its record)" in output
    assert "kept  ben  (merged from its record)" in output
    assert "graded  cleo" in output
    assert _auto(course) == EXPECTED


def test_manual_scores_survive_a_regrade(tmp_path):
    from nbgrader.api import Gradebook

    course = _course(tmp_path)
    run_dlbmt(course, "autograde", ASSIGNMENT, "--student", "anna")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        text = gradebook.find_grade("tiny_text", ASSIGNMENT, ASSIGNMENT, "anna")
        text.manual_score = 1
        gradebook.db.commit()
    run_dlbmt(course, "autograde", ASSIGNMENT, "--student", "anna", "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        text = gradebook.find_grade("tiny_text", ASSIGNMENT, ASSIGNMENT, "anna")
        assert text.manual_score == 1 and text.needs_manual_grade
        assert gradebook.find_submission(ASSIGNMENT, "anna").score == 4


def test_unreachable_scheduler_is_a_clear_message_and_changes_nothing(tmp_path, monkeypatch):
    course = _course(tmp_path)
    # Dask's own setting shortens the wait for the scheduler (30 s by default).
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    before = (course / "gradebook.db").read_bytes()
    completed = run_dlbmt(
        course, "autograde", ASSIGNMENT, "--scheduler", "tcp://127.0.0.1:9", check=False
    )
    assert completed.returncode == 2
    assert "No Dask scheduler answers at tcp://127.0.0.1:9" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert (course / "gradebook.db").read_bytes() == before


def test_zero_workers_is_refused(tmp_path):
    course = _course(tmp_path)
    completed = run_dlbmt(course, "autograde", ASSIGNMENT, "--workers", "0", check=False)
    assert completed.returncode == 2 and "--workers must be 1 or more" in completed.stderr


def _lock_taken_for_one_submission() -> str:
    from dlbmt.grading.autograde import _cluster_lock

    return type(_cluster_lock(ASSIGNMENT, "anna")).__name__


def test_on_a_dask_worker_the_lock_holds_across_the_cluster(cluster):
    from distributed import Client

    with Client(cluster) as client:
        assert client.submit(_lock_taken_for_one_submission, pure=False).result() == "Lock"


def test_outside_a_dask_worker_grading_neither_locks_on_nor_imports_dask():
    """Importing distributed only to learn that this is no worker cost 0.3 s per run."""
    import subprocess
    import sys

    probe = (
        "import sys; from dlbmt.grading.autograde import _cluster_lock; "
        f"print(type(_cluster_lock({ASSIGNMENT!r}, 'anna')).__name__, 'distributed' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.stdout.split() == ["nullcontext", "False"], completed.stderr[-2000:]
