"""source -> release -> submission -> record -> grade -> gradebook -> feedback -> export."""

from __future__ import annotations

import csv
import html
import json
import re

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_gets_full_marks(graded_course, expected_scores, assignment):
    scores = graded_course["scores"][assignment]["reference"]
    expected = expected_scores[assignment]["reference"]
    assert {k: scores[k] for k in expected} == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(graded_course, expected_scores, assignment):
    scores = graded_course["scores"][assignment]["untouched"]
    autograded = {k: v for k, v in scores.items() if k in expected_scores[assignment]["untouched"]}
    assert autograded == expected_scores[assignment]["untouched"]
    assert sum(v or 0 for v in autograded.values()) == 0


def _students(expected_scores, prefix: str) -> list[tuple[str, str]]:
    return [
        (assignment, student)
        for assignment, students in sorted(expected_scores.items())
        for student in sorted(students)
        if student.startswith(prefix)
    ]


EXPECTED = json.loads((REPO / "examples" / "expected_scores.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("assignment", "student"), _students(EXPECTED, ""))
def test_every_example_submission_gets_exactly_its_expected_points(
    graded_course, expected_scores, assignment, student
):
    scores = graded_course["scores"][assignment][student]
    expected = expected_scores[assignment][student]
    assert {k: scores[k] for k in expected} == expected


@pytest.mark.parametrize(("assignment", "student"), _students(EXPECTED, "wrong_"))
def test_a_plausible_wrong_answer_loses_points_in_every_task(expected_scores, assignment, student):
    full = expected_scores[assignment]["reference"]
    kept = {task: points for task, points in expected_scores[assignment][student].items()}
    assert set(kept) == set(full)
    assert [task for task in full if kept[task] >= full[task]] == []


@pytest.mark.parametrize(("assignment", "student"), _students(EXPECTED, "valid_"))
def test_a_valid_alternative_keeps_every_point(expected_scores, assignment, student):
    assert expected_scores[assignment][student] == expected_scores[assignment]["reference"]


def test_every_assignment_has_two_wrong_and_two_valid_variants(expected_scores):
    for assignment, students in expected_scores.items():
        assert {"wrong_a", "wrong_b", "valid_a", "valid_b"} <= set(students), assignment


def test_expected_reference_scores_are_the_full_points(expected_scores):
    from course_tools import graded_cells

    for assignment, students in expected_scores.items():
        path = REPO / "source" / assignment / f"{assignment}.ipynb"
        points = {
            meta["grade_id"]: meta["points"]
            for cell, meta in graded_cells(path)
            if meta.get("grade") and cell["cell_type"] == "code"
        }
        assert students["reference"] == points


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_points_and_messages_but_no_hidden_tests(graded_course, assignment):
    root = graded_course["root"]
    pages = sorted((root / "feedback").glob(f"*/{assignment}/{assignment}.html"))
    assert len(pages) >= 7, "every example student gets feedback"
    hidden = _hidden_test_lines(assignment)
    assert len(hidden) > 20, "the check would find nothing"
    for page in pages:
        text = _page_text(page.read_text(encoding="utf-8"))
        assert "von" in text and "Punkten" in text, page
        # A student's own code may share a line with a hidden test ("continue"),
        # and feedback rightly shows the student's own code.
        own = _submitted_lines(root / "submitted" / page.parts[-3] / assignment)
        for line in hidden - own:
            assert line not in text, f"{page} shows the hidden test line {line!r}"


def _hidden_test_lines(assignment: str) -> set[str]:
    """Every line of the source's hidden test blocks that feedback could reveal."""
    from dlbmt.grading.nbgrader_plugins import ScrubHiddenTestEchoes

    source = REPO / "source" / assignment / f"{assignment}.ipynb"
    lines = {ScrubHiddenTestEchoes.begin, ScrubHiddenTestEchoes.end}
    for cell in nbformat.read(source, as_version=4).cells:
        lines |= ScrubHiddenTestEchoes()._hidden_lines(cell.source)
    # A line that the release shows as well (a key list that the visible check repeats)
    # is no secret.
    release = REPO / "release" / assignment / f"{assignment}.ipynb"
    visible = {
        line.strip()
        for cell in nbformat.read(release, as_version=4).cells
        for line in cell.source.split("\n")
    }
    return lines - visible


def _submitted_lines(folder) -> set[str]:
    """The stripped lines of a submission's own cells (test cells excluded)."""
    from dlbmt.grading.cells import is_test_cell

    return {
        line.strip()
        for path in folder.glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
        if not is_test_cell(cell)
        for line in cell.source.split("\n")
    }


def _page_text(page: str) -> str:
    """What a feedback page shows: its text without tags, entities resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize(("assignment", "student"), _students(EXPECTED, "attack_"))
def test_an_attack_scores_what_the_untouched_release_scores(expected_scores, assignment, student):
    assert expected_scores[assignment][student] == expected_scores[assignment]["untouched"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_instructors_code_is_out_of_the_kernels_reach(graded_course, assignment):
    """attack_a tried to import the reference CAM, the true lab sheet and the recipes."""
    path = graded_course["root"] / f"autograded/attack_a/{assignment}/{assignment}.ipynb"
    printed = [
        line
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output.get("text", "").splitlines()
    ]
    assert "nicht erreichbar: dlbmt.grading.references ModuleNotFoundError" in printed
    assert "nicht erreichbar: dlbmt.tools.lab_sheet ModuleNotFoundError" in printed
    assert not [line for line in printed if line.startswith("importiert:")]


def test_feedback_never_shows_the_keys_values(graded_course):
    root = graded_course["root"]
    html = (root / "feedback" / "typical" / "01_grundlagen" / "01_grundlagen.html").read_text(
        encoding="utf-8"
    )
    # The typical student's hand values are wrong; nothing may reveal the right ones.
    for leak in ("0, 6, 7", "0., 6., 7.", "[0. 6. 7.]"):
        assert leak not in html


def test_grades_export_has_every_student(graded_course, expected_scores):
    with (graded_course["root"] / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    students = {row["student_id"] for row in rows}
    assert {"reference", "untouched", "typical"} <= students
    for row in rows:
        if row["student_id"] == "reference":
            # Free-text answers wait for manual grading, so the export holds the autograded sum.
            autograded = sum(expected_scores[row["assignment"]]["reference"].values())
            assert float(row["score"]) == autograded


def test_score_table_lists_students_and_tasks(graded_course):
    from course_tools import run_dlbmt

    table = run_dlbmt(graded_course["root"], "report").stdout
    for word in ("reference", "untouched", "typical", "nb1_hand_values", "total"):
        assert word in table


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_waits_for_the_answers_graded_by_hand(graded_course, assignment):
    refused = graded_course["refused"][assignment]
    assert refused.returncode == 2
    assert "wait for grading by hand" in refused.stderr
    assert "typical (" in refused.stderr and "--provisional" in refused.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_provisional_feedback_says_which_answers_are_not_graded_yet(graded_course, assignment):
    root = graded_course["root"]
    html = (root / "feedback" / "typical" / assignment / f"{assignment}.html").read_text(
        encoding="utf-8"
    )
    assert "noch nicht bewertet" in html and "(vorläufig)" in html
    assert "Vorläufige Rückmeldung" in html
    for german in ("Ihre Antwort", "Freitextantwort", "Automatische Prüfung", "nach oben"):
        assert german in html
    for english in ("Written response", "Student's answer", "Test cell", "Score:", "(Top)"):
        assert english not in html
    # No English prompts either ("In [ ]:", "Out[ ]:").
    assert "In&nbsp;[" not in html and "Out[" not in html


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_formgrader_shows_each_rubric_beside_its_answer_and_feedback_never(
    graded_course, assignment
):
    import nbformat

    root = graded_course["root"]
    notebook = nbformat.read(
        root / "autograded" / "typical" / assignment / f"{assignment}.ipynb", as_version=4
    )
    manual = [
        i for i, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("solution")
        and cell.metadata.get("nbgrader", {}).get("grade")
    ]  # fmt: skip
    assert manual, "the notebook has free-text tasks"
    for index in manual:
        rubric = notebook.cells[index + 1]
        grade_id = notebook.cells[index].metadata["nbgrader"]["grade_id"]
        assert rubric.metadata.get("dlbmt_rubric") == grade_id
        assert "Bewertungshinweise" in rubric.source and "Musterlösung" in rubric.source
    html = (root / "feedback" / "typical" / assignment / f"{assignment}.html").read_text(
        encoding="utf-8"
    )
    assert "Bewertungshinweise" not in html and "Nur für Lehrende" not in html
    release = (REPO / "release" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    assert "Bewertungshinweise" not in release
