"""Reading nbgrader's cell metadata, and which task a cell belongs to: in one place.

nbgrader marks cells in ``cell.metadata["nbgrader"]``: ``grade_id``, ``grade``
(the cell earns points), ``solution`` (students write in it), ``locked``,
``points``. The course's cells come in four kinds:

* an autograded **test cell** (code, grade, not solution): its hidden part
  records answers, its ``grade_id`` is the task's;
* an autograded **answer cell** (code, solution, not grade): it belongs to the
  task of the next test cell;
* a **manual answer** (solution and grade): free text or code a person grades;
* everything else (instructions, provided cells).
"""

from __future__ import annotations

import re

# What a hidden test cell records under: Recorder("<task id>").
RECORDER_ID = re.compile(r"""Recorder\(\s*["']([^"']+)["']\s*\)""")


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_manual_answer(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution")) and bool(meta.get("grade"))


def test_cells(notebook) -> list:
    return [cell for cell in notebook.cells if is_test_cell(cell)]


def owning_task(notebook, index: int) -> str | None:
    """The autograded task a cell belongs to.

    A test cell is its own task; an answer cell belongs to the next test cell's
    task; any other cell to none.
    """
    cell = notebook.cells[index]
    if is_test_cell(cell):
        return grade_id(cell)
    if not is_answer_cell(cell):
        return grade_id(cell) if nbgrader_meta(cell).get("grade") else None
    for later in notebook.cells[index + 1 :]:
        if is_test_cell(later):
            return grade_id(later)
    return None


def task_answer_cells(notebook) -> dict[str, tuple[str, ...]]:
    """{autograded task: grade_ids of its answer cells}, in notebook order.

    A task whose answers sit in the cells of an earlier task gets an empty tuple.
    """
    plan: dict[str, tuple[str, ...]] = {grade_id(c): () for c in test_cells(notebook)}
    for index, cell in enumerate(notebook.cells):
        task = owning_task(notebook, index) if is_answer_cell(cell) else None
        if task is not None:
            plan[task] = (*plan[task], grade_id(cell))
    return plan


def recorder_ids(cell) -> list[str]:
    """The task ids a test cell's hidden code records under."""
    return RECORDER_ID.findall(cell.source)
