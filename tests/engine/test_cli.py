"""The instructor's command line: help, and clear messages instead of tracebacks."""

from __future__ import annotations

from course_tools import REPO, copy_course, run_dlbmt


def test_help_lists_the_commands(tmp_path):
    completed = run_dlbmt(REPO, "--help")
    commands = (
        "release", "bundle", "key", "autograde", "selftest", "feedback", "rubric", "export",
        "report", "data", "train", "examples", "bench", "margins",
    )  # fmt: skip
    for command in commands:
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


def test_without_bubblewrap_the_advice_is_printed_once_and_grading_goes_on(tmp_path):
    """A newcomer's machine without bubblewrap: one clear line, not one per submission."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from course_tools import submit
    from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission

    course = build_tiny_course(tmp_path / "course")
    run_dlbmt(course, "release", ASSIGNMENT)
    for student in ("anna", "ben", "cem"):
        submit(course, student, ASSIGNMENT, reference_submission(course))
    # Only the environment's programs: no bwrap on the way.
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    completed = subprocess.run(
        [sys.executable, "-m", "dlbmt.tools.cli", "autograde", ASSIGNMENT, "--workers", "2"],
        cwd=course, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.count("apt-get install bubblewrap") == 1, completed.stderr
    assert completed.stdout.count("graded") == 3
