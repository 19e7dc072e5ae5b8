"""Grader self-test by mutation: every task's stub must cost exactly its own points
and those of its declared dependents (see ``dlbmt.tools.mutation`` for the semantics).

The real course's mutants (one per autograded task with solution cells, all three
notebooks) are executed once, two at a time, in one module-scoped fixture; each
(assignment, task) is its own test, so that a failure names the task. The answer
keys are taken from the suite's ``graded_course``, which builds them anyway.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO, copy_course, graded_cells, run_dlbmt
from tiny_course import ASSIGNMENT as TINY
from tiny_course import build_tiny_course, cell_index

from dlbmt.errors import CourseError
from dlbmt.grading.course import Course
from dlbmt.tools.cli import main
from dlbmt.tools.mutation import (
    MutantResult,
    covered_by,
    expected_loss,
    format_report,
    judge,
    mutants,
    selftest,
    task_solutions,
    unknown_dependencies,
)


def _source(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def _release(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb", as_version=4)


MUTATED = [
    pytest.param(assignment, task, id=f"{assignment}-{task}")
    for assignment in ASSIGNMENTS
    for task, solution_ids in task_solutions(_source(assignment)).items()
    if solution_ids
]


def _check(task, points=1, depends_on=()):
    return {"task": task, "points": points, "depends_on": list(depends_on), "passed": True}


# --- the rules, on the real notebooks and on synthetic checks (fast) -------------------------


def test_solution_cells_are_the_ones_before_each_test_cell():
    nb1, nb3 = task_solutions(_source("01_grundlagen")), task_solutions(_source("03_grenzen"))
    assert nb1["nb1_activations"] == ("nb1_activations_answer",)
    assert nb1["nb1_keras_model"] == ("nb1_keras_answer",)
    assert nb1["nb1_keras_predict"] == ()
    assert nb1["nb1_qrs_training"] == ("nb1_qrs_model_answer",)
    assert nb3["nb3_fix_retrain"] == ("nb3_fix_retrain_answer", "nb3_fix_numbers_answer")
    assert covered_by(_source("01_grundlagen")) == {"nb1_keras_predict": "nb1_keras_model"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograded_task_has_a_mutant_or_is_covered(assignment):
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    autograded = [
        meta["grade_id"]
        for cell, meta in graded_cells(path)
        if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code"
    ]
    source = _source(assignment)
    found = {m.task for m in mutants(source, _release(assignment))}
    covered = covered_by(source)
    assert autograded, "no autograded task found"
    for task in autograded:
        assert task in found or task in covered, f"{task} has no mutant and is not covered"
    manual = [meta["grade_id"] for cell, meta in graded_cells(path) if cell["cell_type"] != "code"]
    assert not found & set(manual), "manually graded tasks are not mutated"


def test_a_mutant_puts_back_the_release_stub_and_the_hidden_tests():
    source, release = _source("03_grenzen"), _release("03_grenzen")
    reference = nbformat.read(
        REPO / "examples" / "submissions" / "reference" / "03_grenzen" / "03_grenzen.ipynb",
        as_version=4,
    )
    mutant = next(m for m in mutants(source, release, reference) if m.task == "nb3_fix_retrain")
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in mutant.notebook.cells}
    released = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells}
    for grade_id in ("nb3_fix_retrain_answer", "nb3_fix_numbers_answer"):
        assert by_id[grade_id].source == released[grade_id].source
        assert "raise NotImplementedError(" in by_id[grade_id].source
    assert "NotImplementedError" not in by_id["nb3_fix_mask_answer"].source
    assert "BEGIN HIDDEN TESTS" in by_id["nb3_fix_retrain"].source
    assert "BEGIN HIDDEN TESTS" not in str(reference)


def test_expected_loss_follows_declared_dependencies_transitively():
    checks = [
        _check("a", 2),
        _check("b", 1, depends_on=("a",)),
        _check("b", 1),  # a check of b that does not need a keeps its point
        _check("c", 3, depends_on=("b",)),  # b lost a point, so c loses: transitive
        _check("d", 1, depends_on=("c", "x")),
        _check("e", 1),
        _check("f", 1, depends_on=("e",)),
    ]
    assert expected_loss("a", checks) == {"a": 2, "b": 1, "c": 3, "d": 1, "e": 0, "f": 0}
    assert expected_loss("b", checks) == {"a": 0, "b": 2, "c": 3, "d": 1, "e": 0, "f": 0}
    assert expected_loss("e", checks) == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 1, "f": 1}
    # A task graded by no check (like a typo) costs nothing but itself.
    assert expected_loss("x", checks) == {t: (1 if t == "d" else 0) for t in "abcdef"}


def test_expected_loss_ends_on_circular_declarations():
    checks = [_check("a", depends_on=("b",)), _check("b", depends_on=("a",)), _check("c")]
    assert expected_loss("a", checks) == {"a": 1, "b": 1, "c": 0}


def test_unknown_dependencies_are_named():
    checks = [_check("a"), _check("b", depends_on=("a", "nb1_typo"))]
    assert unknown_dependencies(checks) == ["b depends on unknown task 'nb1_typo'"]


def test_a_mutant_that_loses_other_points_than_expected_is_a_mismatch():
    checks = [_check("a", 2), _check("b", 1, depends_on=("a",)), _check("c", 1)]
    exact = judge("x", "a", ("a_answer",), checks, {"a": 0, "b": 0, "c": 1})
    assert exact.ok and exact.expected == {"a": 0, "b": 0, "c": 1}
    undeclared = judge("x", "a", ("a_answer",), checks, {"a": 0, "b": 0, "c": 0})
    assert not undeclared.ok and undeclared.mismatches == {"c": (1, 0)}
    passes_without = judge("x", "a", ("a_answer",), checks, {"a": 1, "b": 1, "c": 1})
    assert passes_without.mismatches == {"a": (0, 1), "b": (0, 1)}
    crashed = MutantResult("x", "a", ("a_answer",), {"a": 0}, {}, error="boom")
    assert not crashed.ok


# --- end to end on the tiny course (seconds) -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_with_a_hidden_dependency(tmp_path_factory):
    """The tiny course, but value = square(6): tiny_value needs tiny_square's solution."""
    root = build_tiny_course(tmp_path_factory.mktemp("mutation-tiny") / "course")
    path = root / "source" / TINY / f"{TINY}.ipynb"
    source = nbformat.read(path, as_version=4)
    answer = "### BEGIN SOLUTION\nvalue = float(square(6))\n### END SOLUTION"
    source.cells[cell_index(source, "tiny_value_answer")].source = answer
    nbformat.write(source, path)
    run_dlbmt(root, "release", TINY)
    return root


def test_selftest_finds_an_undeclared_dependency_and_accepts_the_declared_one(
    tiny_with_a_hidden_dependency, monkeypatch, capsys
):
    root = tiny_with_a_hidden_dependency
    monkeypatch.chdir(root)
    assert main(["selftest", TINY, "--workers", "2"]) == 1
    table = capsys.readouterr().out
    assert "tiny_square" in table and "MISMATCH" in table
    assert "tiny_value: expected 1, got 0" in table

    graders = root / "graders" / TINY / "test_tiny.py"
    text = graders.read_text(encoding="utf-8")
    declared = '@pytest.mark.task("tiny_value", points=1, depends_on=("tiny_square",))'
    graders.write_text(text.replace('@pytest.mark.task("tiny_value", points=1)', declared))
    report = selftest(Course(root), assignments=TINY, workers=2)
    assert report.ok, format_report(report)
    assert report.result(TINY, "tiny_square").expected == {"tiny_square": 0.0, "tiny_value": 0.0}
    assert report.result(TINY, "tiny_value").expected == {"tiny_square": 2.0, "tiny_value": 0.0}


def test_selftest_refuses_tasks_without_a_mutant(tiny_with_a_hidden_dependency, monkeypatch):
    monkeypatch.chdir(tiny_with_a_hidden_dependency)
    with pytest.raises(CourseError, match="No mutant for tiny_text"):
        selftest(Course(tiny_with_a_hidden_dependency), assignments=TINY, tasks=["tiny_text"])
    assert main(["selftest", TINY, "--task", "tiny_typo"]) == 2


# --- the real course: every mutant, executed once -------------------------------------------


@pytest.fixture(scope="module")
def mutation_report(tmp_path_factory, graded_course):
    root = copy_course(tmp_path_factory.mktemp("mutation"))
    # The suite's graded course has built the answer keys already; they are current for this
    # copy too (same source and data), so the self-test executes only the mutants.
    keys = graded_course["root"] / ".grading" / "key"
    if keys.is_dir():
        shutil.copytree(keys, root / ".grading" / "key")
    report = selftest(Course(root), assignments=ASSIGNMENTS, workers=2)
    print(format_report(report))
    return report


@pytest.mark.parametrize(("assignment", "task"), MUTATED)
def test_mutant_loses_exactly_its_task_and_declared_dependents(mutation_report, assignment, task):
    result = mutation_report.result(assignment, task)
    assert not result.error, result.describe()
    assert result.actual == result.expected, result.describe()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_key_gets_full_marks_and_declarations_name_real_tasks(mutation_report, assignment):
    (notebook,) = [n for n in mutation_report.notebooks if n.assignment == assignment]
    assert not notebook.baseline_problems
    assert not notebook.unknown_dependencies
    assert {r.task for r in notebook.results} | set(notebook.covered_by) == set(notebook.tasks)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_tasks_without_solution_cells_are_taken_by_the_covering_mutant(mutation_report, assignment):
    (notebook,) = [n for n in mutation_report.notebooks if n.assignment == assignment]
    for task, by in notebook.covered_by.items():
        result = mutation_report.result(assignment, by)
        assert result.expected[task] == 0 and result.actual.get(task) == 0, (
            f"{task} has no solution cells; {by}'s mutant must take its points (declare "
            f'depends_on=("{by}",) on its checks)'
        )
