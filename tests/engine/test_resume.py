"""Grading is resumable and idempotent: a second run grades only what changed,
and every result carries its provenance."""

from __future__ import annotations

import json

import pytest
from course_tools import gradebook_scores, run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission, with_answers


@pytest.fixture(scope="module")
def twice_graded(tmp_path_factory):
    course = build_tiny_course(tmp_path_factory.mktemp("resume") / "course")
    run_dlbmt(course, "release", ASSIGNMENT)
    reference = reference_submission(course)
    submit(course, "anna", ASSIGNMENT, reference)
    submit(course, "ben", ASSIGNMENT, with_answers(reference, value="value = 41"))
    first = run_dlbmt(course, "autograde", ASSIGNMENT).stdout
    scores_first = gradebook_scores(course)[ASSIGNMENT]
    second = run_dlbmt(course, "autograde", ASSIGNMENT).stdout
    scores_second = gradebook_scores(course)[ASSIGNMENT]
    submit(course, "ben", ASSIGNMENT, reference)
    third = run_dlbmt(course, "autograde", ASSIGNMENT).stdout
    return {
        "course": course, "first": first, "second": second, "third": third,
        "scores_first": scores_first, "scores_second": scores_second,
        "scores_third": gradebook_scores(course)[ASSIGNMENT],
    }  # fmt: skip


def test_second_run_grades_nothing_that_is_up_to_date(twice_graded):
    assert "graded  anna" in twice_graded["first"] and "graded  ben" in twice_graded["first"]
    assert "kept  anna" in twice_graded["second"] and "kept  ben" in twice_graded["second"]


def test_grading_again_gives_identical_scores(twice_graded):
    assert twice_graded["scores_first"] == twice_graded["scores_second"]


def test_a_changed_submission_is_graded_again_and_only_it(twice_graded):
    assert "kept  anna" in twice_graded["third"] and "graded  ben" in twice_graded["third"]
    assert twice_graded["scores_third"]["ben"]["tiny_value"] == 1
    assert twice_graded["scores_first"]["ben"]["tiny_value"] == 0


def test_each_result_carries_its_provenance(twice_graded):
    path = twice_graded["course"] / ".grading" / "results" / ASSIGNMENT / "anna.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    for field in ("submission", "graders", "source", "data_manifest", "dlbmt"):
        assert record["fingerprint"][field]
    assert record["environment"]["python"] and record["environment"]["nbgrader"]
    assert record["seconds"] > 0
    assert record["scores"]["tiny_square"] == 2


def test_force_regrades_everything_to_the_same_scores(twice_graded):
    output = run_dlbmt(twice_graded["course"], "autograde", ASSIGNMENT, "--force").stdout
    assert "graded  anna" in output and "graded  ben" in output
    assert gradebook_scores(twice_graded["course"])[ASSIGNMENT] == twice_graded["scores_third"]


def test_class_report_has_the_four_plots_and_every_student(twice_graded):
    target = twice_graded["course"] / "report.html"
    run_dlbmt(twice_graded["course"], "report", ASSIGNMENT, "--html", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.count("<img") == 4
    for title in ("Score distribution", "Pass rate", "Time per submission", "Failures by kind"):
        assert title in page
    assert "anna" in page and "ben" in page
