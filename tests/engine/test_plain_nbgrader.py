"""Plain nbgrader commands on the course folder keep the guarantees of `dlbmt autograde`.

nbgrader copies a submission's other files with ``shutil.copy`` and reads a
submitted notebook wherever a link points. With the course's nbgrader_config.py
neither a linked file nor a linked notebook reaches autograded/ or feedback/.
"""

from __future__ import annotations

import os

import pytest
from course_tools import run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission

from dlbmt.grading.commands import run_module


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = build_tiny_course(tmp_path_factory.mktemp("tiny") / "course")
    run_dlbmt(course, "release", ASSIGNMENT)
    source = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submit(course, "with_links", ASSIGNMENT, reference_submission(course))
    folder = course / "submitted" / "with_links" / ASSIGNMENT
    (folder / "loesung.txt").symlink_to(source)
    (folder / "unterordner").mkdir()
    (folder / "unterordner" / "graders.py").symlink_to(course / "graders" / ASSIGNMENT)
    (folder / "notizen.txt").write_text("eigene Notizen", encoding="utf-8")
    linked = course / "submitted" / "linked_notebook" / ASSIGNMENT
    linked.mkdir(parents=True)
    (linked / f"{ASSIGNMENT}.ipynb").symlink_to(source)
    autograde = run_module("nbgrader", "autograde", ASSIGNMENT, cwd=course)
    feedback = run_module("nbgrader", "generate_feedback", ASSIGNMENT, cwd=course)
    return {"course": course, "autograde": autograde, "feedback": feedback}


def _files(folder):
    return sorted(
        os.path.relpath(os.path.join(here, name), folder)
        for here, _, names in os.walk(folder)
        for name in names
    )


def test_plain_autograde_copies_no_linked_file(plain):
    folder = plain["course"] / "autograded" / "with_links" / ASSIGNMENT
    assert _files(folder) == ["notizen.txt", f"{ASSIGNMENT}.ipynb"]


def test_plain_autograde_refuses_a_linked_notebook_and_says_why(plain):
    course = plain["course"]
    assert not (course / "autograded" / "linked_notebook").exists()
    log = plain["autograde"].stdout + plain["autograde"].stderr
    assert "symbolic link" in log and "linked_notebook" in log


def test_plain_feedback_carries_no_linked_file_and_no_solution(plain):
    folder = plain["course"] / "feedback" / "with_links" / ASSIGNMENT
    assert _files(folder) == ["notizen.txt", f"{ASSIGNMENT}.html"]
    for name in _files(plain["course"] / "feedback"):
        text = (plain["course"] / "feedback" / name).read_text(encoding="utf-8", errors="ignore")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name


def test_the_honest_part_of_the_submission_is_graded(plain):
    from course_tools import gradebook_scores

    scores = gradebook_scores(plain["course"])[ASSIGNMENT]["with_links"]
    assert (scores["tiny_square"], scores["tiny_value"]) == (2, 1)
