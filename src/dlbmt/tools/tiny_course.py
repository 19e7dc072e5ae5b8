"""A tiny course without TensorFlow: pipeline edge cases in the tests and the scale benchmark.

Tasks: ``tiny_square`` (2 points: a function probed on hidden inputs),
``tiny_value`` (1 point: a number) and ``tiny_text`` (1 point, graded by hand).
``data/`` holds one small file listed in its manifest, and the sandbox limits are
tight (``LIMITS``), so that hostile submissions hit them within seconds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import nbformat

from dlbmt.grading.course import Course

ASSIGNMENT = "tiny"
DATA_FILE = "tiny/zahlen.csv"

# Tight limits: a tiny notebook needs a few seconds, and the hostile cases in
# tests/engine/test_tamper.py must hit each limit quickly. Timeouts in seconds, memory in bytes.
CELL_SECONDS = 10
WALL_SECONDS = 45
MEMORY_BYTES = 2 * 1024**3
MAX_PROCESSES = 64
ANSWER_FILES = 100
ANSWER_BYTES = 8 * 1024**2
LIMITS = f"""
# Limits of the tiny course (dlbmt.tools.tiny_course)
c.Execute.timeout = {CELL_SECONDS}
c.ExecutePreprocessor.timeout = {CELL_SECONDS}
c.SandboxedExecute.wall_timeout = {WALL_SECONDS}
c.SandboxedExecute.memory_limit = {MEMORY_BYTES}
c.SandboxedExecute.max_processes = {MAX_PROCESSES}
c.SandboxedExecute.answer_files = {ANSWER_FILES}
c.SandboxedExecute.answer_bytes = {ANSWER_BYTES}
"""


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}  # fmt: skip
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source, **meta):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip())
    cell.metadata.update(_meta(**meta))
    return cell


def source_notebook() -> nbformat.NotebookNode:
    cells = [
        _code(
            "# Diese Zelle nur ausführen.\nimport numpy as np", grade_id="tiny_imports", locked=True
        ),
        _code(
            """
            def square(x):
                ### BEGIN SOLUTION
                return np.asarray(x, dtype=float) ** 2
                ### END SOLUTION
            """,
            grade_id="tiny_square_answer",
            solution=True,
        ),
        _code(
            '''
            """Prüft square auf einer bekannten Eingabe."""
            ### BEGIN HIDDEN TESTS
            from dlbmt.recording import Recorder
            Recorder("tiny_square").probe("hidden", square, np.array([-1.5, 0.0, 3.0, 7.0]))
            ### END HIDDEN TESTS
            assert square(2) == 4, "square(2) soll 4 sein."
            ''',
            grade_id="tiny_square",
            grade=True,
            locked=True,
            points=2,
        ),
        _code(
            """
            ### BEGIN SOLUTION
            value = 42
            ### END SOLUTION
            """,
            grade_id="tiny_value_answer",
            solution=True,
        ),
        _code(
            '''
            """Prüft, ob value eine Zahl ist."""
            ### BEGIN HIDDEN TESTS
            from dlbmt.recording import Recorder
            Recorder("tiny_value").save("value", lambda: float(value))
            ### END HIDDEN TESTS
            assert isinstance(value, (int, float)), "value soll eine Zahl sein."
            ''',
            grade_id="tiny_value",
            grade=True,
            locked=True,
            points=1,
        ),
    ]
    text = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nWeil es so ist.\n### END SOLUTION")
    text.metadata.update(_meta("tiny_text", grade=True, solution=True, points=1))
    cells.append(text)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"
    }  # fmt: skip
    for index, cell in enumerate(notebook.cells):
        cell.id = f"tiny-{index}"
    return notebook


GRADERS = '''
import numpy as np
import pytest

# Squares of small floats are exact in float64; 1e-9 only absorbs formatting.
TOLERANCE = 1e-9


@pytest.mark.task("tiny_square", points=1)
def test_square_shape(answers, key):
    """Form der Ausgabe von square."""
    assert answers.get("hidden").shape == key.get("hidden").shape, "Falsche Form."


@pytest.mark.task("tiny_square", points=1)
def test_square_values(answers, key):
    """Werte von square auf unbekannten Eingaben."""
    assert np.allclose(answers.get("hidden"), key.get("hidden"), atol=TOLERANCE), "Falsch."


@pytest.mark.task("tiny_value", points=1)
def test_value(answers, key):
    """Die Zahl value."""
    assert answers.get("value") == key.get("value"), "value stimmt nicht."
'''


def build_tiny_course(root: Path, template: Course) -> Path:
    """Write the tiny course into ``root``, with ``template``'s nbgrader config and pytest.ini."""
    root.mkdir(parents=True, exist_ok=True)
    config = (template.root / "nbgrader_config.py").read_text(encoding="utf-8") + LIMITS
    (root / "nbgrader_config.py").write_text(config, encoding="utf-8")
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (root / "graders" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy2(template.graders / "pytest.ini", root / "graders" / "pytest.ini")
    (root / "graders" / ASSIGNMENT / "test_tiny.py").write_text(GRADERS, encoding="utf-8")
    data = root / "data" / DATA_FILE
    data.parent.mkdir(parents=True)
    data.write_text("x,quadrat\n-1.5,2.25\n3,9\n", encoding="utf-8")
    entry = {"path": DATA_FILE, "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
             "size": data.stat().st_size, "made_by": "dlbmt.tools.tiny_course",
             "licence": "CC0-1.0"}  # fmt: skip
    manifest = json.dumps({"files": [entry]}, indent=2)
    (root / "data" / "manifest.json").write_text(manifest + "\n", encoding="utf-8")
    return root


def reference_submission(root: Path) -> nbformat.NotebookNode:
    """The source notebook's solutions in the released notebook of the tiny course at ``root``."""
    from dlbmt.tools.examples import reference_submission as derive

    path = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return derive(path, root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
