"""The instructor's command line: help, and clear messages instead of tracebacks."""

from __future__ import annotations

from course_tools import REPO, copy_course, run_dlbmt


def test_help_lists_the_commands(tmp_path):
    completed = run_dlbmt(REPO, "--help")
    for command in ("release", "autograde", "feedback", "export", "report", "data", "train"):
        assert command in completed.stdout


def test_unknown_assignment_is_a_clear_message(tmp_path):
    completed = run_dlbmt(REPO, "autograde", "04_gibtsnicht", check=False)
    assert completed.returncode == 2
    assert "04_gibtsnicht" in completed.stderr and "01_grundlagen" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_outside_a_course_folder_is_a_clear_message(tmp_path):
    completed = run_dlbmt(tmp_path, "report", check=False)
    assert completed.returncode == 2
    assert "No course folder" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_autograde_without_submissions_says_what_to_do(tmp_path):
    course = copy_course(tmp_path / "course", parts=("nbgrader_config.py", "source", "data"))
    completed = run_dlbmt(course, "autograde", "01_grundlagen", check=False)
    assert completed.returncode == 2
    assert "No submissions" in completed.stderr and "submitted/" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_autograde_before_release_says_to_release_first(tmp_path):
    course = copy_course(tmp_path / "course", parts=("nbgrader_config.py", "source", "data"))
    submitted = course / "submitted" / "anna" / "01_grundlagen"
    submitted.mkdir(parents=True)
    (submitted / "01_grundlagen.ipynb").write_bytes(
        (REPO / "release" / "01_grundlagen" / "01_grundlagen.ipynb").read_bytes()
    )
    completed = run_dlbmt(course, "autograde", "01_grundlagen", check=False)
    assert completed.returncode == 2
    assert "dlbmt release 01_grundlagen" in completed.stderr
    assert "Traceback" not in completed.stderr
