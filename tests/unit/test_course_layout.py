"""The course folder follows nbgrader's conventions and our own rules."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO, copy_course, graded_cells, run_dlbmt

READABLE_ID = re.compile(r"^nb[1-3]_[a-z0-9_]+$")


def all_course_notebooks():
    return sorted((REPO / "source").rglob("*.ipynb")) + sorted((REPO / "release").rglob("*.ipynb"))


def test_every_assignment_has_its_stable_id():
    assert set(ASSIGNMENTS) <= {"01_grundlagen", "02_anwendung", "03_grenzen"}
    assert "01_grundlagen" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_folders_hold_only_their_notebook(assignment):
    files = sorted(p.name for p in (REPO / "source" / assignment).iterdir())
    assert files == [f"{assignment}.ipynb"], "nbgrader ships every file in source/ to students"


@pytest.mark.parametrize("path", all_course_notebooks(), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        assert not cell.get("outputs"), f"{path}: stored outputs"
        assert cell.get("execution_count") is None, f"{path}: stored execution count"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_ids_are_unique_and_readable(assignment):
    ids = [
        meta["grade_id"]
        for _, meta in graded_cells(REPO / "source" / assignment / f"{assignment}.ipynb")
    ]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    unreadable = [i for i in ids if not READABLE_ID.match(i)]
    assert not unreadable, f"grade_ids must read like nb1_forward_pass: {unreadable}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_cell_has_points(assignment):
    for _, meta in graded_cells(REPO / "source" / assignment / f"{assignment}.ipynb"):
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{meta['grade_id']} has no points"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_task_cells_are_locked(assignment):
    for _, meta in graded_cells(REPO / "source" / assignment / f"{assignment}.ipynb"):
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked"), f"{meta['grade_id']}: test cells must be locked"


def _grader_points(assignment: str) -> dict[str, float]:
    points: dict[str, float] = {}
    for path in (REPO / "graders" / assignment).glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "task":
                task = node.args[0].value
                value = next(k.value.value for k in node.keywords if k.arg == "points")
                points[task] = points.get(task, 0) + value
    return points


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graders_cover_every_autograded_cell_with_its_points(assignment):
    cells = {
        meta["grade_id"]: meta["points"]
        for cell, meta in graded_cells(REPO / "source" / assignment / f"{assignment}.ipynb")
        if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code"
    }
    assert _grader_points(assignment) == cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_header_lists_each_task_and_the_sum(assignment):
    notebook = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    header = notebook.cells[0].source
    total = 0
    for _, meta in graded_cells(REPO / "source" / assignment / f"{assignment}.ipynb"):
        if meta.get("grade"):
            assert f"`{meta['grade_id']}`" in header, f"header does not list {meta['grade_id']}"
            total += meta["points"]
    assert f"**{total:g}**" in header, "header must state the sum of points"


def test_hidden_material_never_reaches_release():
    for path in (p for p in (REPO / "release").rglob("*") if p.is_file()):
        assert path.suffix == ".ipynb", f"release/ holds {path}"
        text = path.read_text(encoding="utf-8")
        for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "Recorder(", "probe("):
            assert secret not in text, f"{path} leaks {secret!r}"


def test_release_matches_a_fresh_generation(tmp_path):
    course = copy_course(tmp_path / "course", parts=("nbgrader_config.py", "source", "data"))
    run_dlbmt(course, "release")
    for committed in (REPO / "release").rglob("*.ipynb"):
        fresh = course / committed.relative_to(REPO)
        assert fresh.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
            f"{committed.relative_to(REPO)} drifted from source/: run `make release`"
        )


def test_derived_example_submissions_are_current():
    from dlbmt.grading.course import Course
    from dlbmt.tools.examples import derived_examples

    for relative, text in derived_examples(Course(REPO)).items():
        assert (REPO / relative).read_text(encoding="utf-8") == text, (
            f"{relative} is stale: run `python -m dlbmt.tools.examples --update`"
        )


def test_graders_and_key_are_ignored_by_nbgrader_release():
    config = (REPO / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "c.Execute.timeout" in config and "c.ExecutePreprocessor.timeout" in config
    assert "IHR CODE HIER" in config and "IHRE ANTWORT HIER" in config
    gitignore = (REPO / ".gitignore").read_text(encoding="utf-8")
    for folder in ("submitted/", "autograded/", "feedback/", ".grading/", "gradebook.db"):
        assert folder in gitignore
