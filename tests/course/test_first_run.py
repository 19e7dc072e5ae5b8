"""A student's first run: the untouched release, top to bottom, is quiet and speaks German.

Every open task shows one red German line that names what to do, never a
traceback, and no cell shows a pink error-stream block (TensorFlow's start-up
lines, warnings). The release runs in a plain kernel as on a student's laptop;
the graded runs (reference, untouched and typical, in the sandbox) are checked
from the suite's graded course, whose outputs students see in their feedback.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO
from nbclient import NotebookClient

# What the traceback of an untouched notebook may show: our one-line messages.
PYTHON_TRACEBACK = "Traceback (most recent call last)"
FRAME_MARKER = "----> "


def _blocks(notebook) -> tuple[list[str], list[list[str]]]:
    """(texts of error-stream blocks, tracebacks of error blocks) of an executed notebook."""
    stderr, errors = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                stderr.append(output.text)
            elif output.output_type == "error":
                errors.append(output.traceback)
    return stderr, errors


def _assert_quiet(notebook, where: str) -> int:
    stderr, errors = _blocks(notebook)
    assert not stderr, f"{where}: pink error-stream block(s): {stderr[:2]}"
    for traceback in errors:
        text = "\n".join(traceback)
        assert len(traceback) == 1, f"{where}: a traceback instead of one line:\n{text[:800]}"
        assert PYTHON_TRACEBACK not in text and FRAME_MARKER not in text, text[:800]
    return len(errors)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_shows_one_german_line_per_open_task(assignment, tmp_path, monkeypatch):
    notebook = nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    # As on a laptop: no variable that quiets TensorFlow, the data where the course keeps it.
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setenv("DLBMT_DATA_DIR", str(REPO / "data"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(
        notebook, timeout=300, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    open_tasks = _assert_quiet(notebook, f"release/{assignment}")
    assert open_tasks > 0  # the stubs do raise: the check above has something to look at
    messages = [o.traceback[0] for c in notebook.cells for o in c.get("outputs", [])
                if o.output_type == "error"]  # fmt: skip
    assert any("Aufgabe" in m for m in messages), messages[:3]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("student", ["reference", "untouched", "typical"])
def test_graded_runs_are_quiet(graded_course, assignment, student):
    path = graded_course["root"] / "autograded" / student / assignment / f"{assignment}.ipynb"
    _assert_quiet(nbformat.read(path, as_version=4), f"autograded/{student}/{assignment}")


def test_the_check_finds_a_pink_block_and_a_traceback():
    noisy = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    noisy.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="W0000 ...")]
    with pytest.raises(AssertionError, match="pink"):
        _assert_quiet(noisy, "demo")
    noisy.cells[0].outputs = [
        nbformat.v4.new_output(
            "error",
            ename="ValueError",
            evalue="x",
            traceback=["-----", "Traceback (most recent call last)", "ValueError: x"],
        )  # fmt: skip
    ]
    with pytest.raises(AssertionError, match="traceback instead of one line"):
        _assert_quiet(noisy, "demo")
