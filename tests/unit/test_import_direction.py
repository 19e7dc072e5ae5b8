"""Three packages for three audiences, kept apart, and hidden cells that record under their task.

* ``dlbmt`` (top level): what students install and notebooks import. It imports
  neither ``dlbmt.grading`` nor ``dlbmt.tools``.
* ``dlbmt.grading``: the engine. It never imports ``dlbmt.tools``.
* ``dlbmt.tools``: the instructor's tooling; it may import both.
Notebooks import only the top level; graders never import the tools.
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO

from dlbmt.grading.cells import grade_id, is_test_cell, recorder_ids

PACKAGE = REPO / "src" / "dlbmt"


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` statement in ``source`` names."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def violations(sources: dict[str, str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{name} imports {module}"
        for name, source in sources.items()
        for module in imported_modules(source)
        if module.startswith(forbidden)
    )


def _modules(folder) -> dict[str, str]:
    return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in folder.glob("*.py")}


def _notebook_code(path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.split("\n")
        if not line.lstrip().startswith(("%", "!"))
    )


FORBIDDEN_FOR_STUDENTS = ("dlbmt.grading", "dlbmt.tools")


def test_the_student_package_imports_neither_engine_nor_tools():
    assert violations(_modules(PACKAGE), FORBIDDEN_FOR_STUDENTS) == []


def test_the_engine_never_imports_the_tools():
    assert violations(_modules(PACKAGE / "grading"), ("dlbmt.tools",)) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graders_never_import_the_tools(assignment):
    assert violations(_modules(REPO / "graders" / assignment), ("dlbmt.tools",)) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_import_only_the_student_package(assignment):
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    assert violations({path.name: _notebook_code(path)}, FORBIDDEN_FOR_STUDENTS) == []


def test_the_direction_check_finds_a_forbidden_import():
    """The checks above can fail: a student module that imports the engine is found."""
    sources = {
        "ecg.py": "from dlbmt.grading.references import grad_cam\nimport numpy as np\n",
        "oct.py": "import dlbmt.tools.recipes.oct\n",
        "mri.py": "from dlbmt import cam\n",
    }
    assert violations(sources, FORBIDDEN_FOR_STUDENTS) == [
        "ecg.py imports dlbmt.grading.references",
        "ecg.py imports dlbmt.grading.references.grad_cam",
        "oct.py imports dlbmt.tools.recipes.oct",
    ]


def recorder_mismatches(notebook) -> list[str]:
    """Test cells whose hidden code records under another task than their grade_id."""
    return [
        f"{grade_id(cell)} records as {recorder_ids(cell)}"
        for cell in notebook.cells
        if is_test_cell(cell) and recorder_ids(cell) != [grade_id(cell)]
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_hidden_cell_records_under_its_own_grade_id(assignment):
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    assert recorder_mismatches(nbformat.read(path, as_version=4)) == []


def test_the_recorder_check_finds_a_copied_test_cell():
    """The check above can fail: a test cell that records under its neighbour's id is found."""
    path = REPO / "source" / "01_grundlagen" / "01_grundlagen.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if grade_id(c) == "nb1_keras_predict")
    copied = 'Recorder("nb1_keras_model")'
    cell.source = cell.source.replace('Recorder("nb1_keras_predict")', copied)
    assert recorder_mismatches(notebook) == ["nb1_keras_predict records as ['nb1_keras_model']"]
