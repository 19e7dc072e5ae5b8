"""The hand-fitting widget as notebook 1 uses it: shown by a provided cell, driven by Python."""

from __future__ import annotations

import nbformat
import pytest
from course_tools import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "source" / "01_grundlagen" / "01_grundlagen.ipynb"
WIDGET_CELL = "nb1_widget_show"
# What JupyterLab 4 and Notebook 7 render with ipywidgets 8.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _cell(grade_id: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> list[nbformat.NotebookNode]:
    """The notebook's widget cell run in a real kernel, then moved through the Python API."""
    cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np\nfrom dlbmt.widgets import weight_widget_relu"
        ),
        nbformat.v4.new_code_cell(_cell(WIDGET_CELL).source),
        nbformat.v4.new_code_cell(
            "before = widget.line.get_ydata().copy()\n"
            "widget.sliders['w4'].value = -1.5\n"
            "print(not np.allclose(widget.line.get_ydata(), before))"
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    workdir = tmp_path_factory.mktemp("widget")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLBMT_DATA_DIR", str(REPO / "data"))
        patch.setenv("MPLBACKEND", "Agg")
        NotebookClient(
            notebook, timeout=120, resources={"metadata": {"path": str(workdir)}}
        ).execute()
    return notebook.cells


def test_widget_cell_is_a_locked_provided_cell():
    cell = _cell(WIDGET_CELL)
    assert cell.source.startswith("# Diese Zelle nur ausführen.")
    assert cell.metadata["nbgrader"]["locked"]


def test_widget_cell_displays_a_jupyter_widget(executed):
    mimes = {key for output in executed[1].outputs for key in output.get("data", {})}
    assert WIDGET_MIME in mimes


def test_moving_a_slider_in_the_notebook_updates_the_plotted_curve(executed):
    text = "".join(o.get("text", "") for o in executed[2].outputs if o.output_type == "stream")
    assert text.strip() == "True"
