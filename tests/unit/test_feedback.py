"""Feedback texts about limits: which task sees them and how they name the cell."""

from __future__ import annotations

from dlbmt.grading.feedback import limit_messages

ANSWER_LOOP = {"limit": "cell_time", "cell": 4, "grade_id": "nb1_x_answer", "task": "nb1_x"}
PLAIN_CELL_MEMORY = {"limit": "memory", "cell": 0, "grade_id": None}
WALL = {"limit": "wall_time", "seconds": 1800}


def test_cells_are_counted_from_one_and_named_by_their_id():
    (text,) = limit_messages([ANSWER_LOOP], "nb1_x")
    assert text.startswith("Zelle 5 (nb1_x_answer) hat das Zeitlimit pro Zelle")
    (text,) = limit_messages([PLAIN_CELL_MEMORY], "nb1_x")
    assert text.startswith("Zelle 1 hat das Speicherlimit")


def test_a_limit_in_an_answer_cell_concerns_only_its_task():
    assert limit_messages([ANSWER_LOOP], "nb1_y") == []
    assert len(limit_messages([ANSWER_LOOP], "nb1_x")) == 1


def test_limits_outside_tasks_and_of_the_whole_notebook_concern_every_task():
    texts = limit_messages([PLAIN_CELL_MEMORY, WALL], "nb1_y")
    assert len(texts) == 2 and "1800 s" in texts[1]
