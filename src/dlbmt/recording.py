"""Recording answers from inside a notebook (used by the hidden part of test cells).

The hidden part of a test cell does not judge. It writes the task's answers as
plain data into the submission's answer store; the graders judge them later in
a separate process. Outside of grading (no ``DLBMT_ANSWER_DIR``) recording does
nothing, so students and instructors can run every cell as usual.

    rec = Recorder("nb1_forward_pass")
    rec.save("hand_values", lambda: hand_values)
    rec.probe("predictions", lambda x: model.predict(x, verbose=0), probe_inputs)

Each answer is taken from a function so that a missing variable or a crash
costs only that answer, and the reason is kept for the feedback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlbmt.answers import write_answer, write_error

ANSWER_DIR_VARIABLE = "DLBMT_ANSWER_DIR"


def answer_dir() -> Path | None:
    value = os.environ.get(ANSWER_DIR_VARIABLE)
    return Path(value) if value else None


class Recorder:
    """Records the answers of one task into the answer store."""

    def __init__(self, task_id: str):
        self.task_id = task_id
        root = answer_dir()
        self.folder = root / task_id if root else None

    @property
    def active(self) -> bool:
        return self.folder is not None

    def save(self, name: str, get_value: Callable[[], Any]) -> None:
        """Record the value returned by ``get_value()``, or why it could not be had."""
        if not self.active:
            return
        try:
            value = get_value()
        except Exception as error:  # noqa: BLE001 - the reason goes to the feedback
            write_error(self.folder, name, f"{type(error).__name__}: {error}")
            return
        self._write(name, value)

    def probe(self, name: str, function: Callable[..., Any], *inputs: Any) -> None:
        """Call a student's function on inputs they never saw and record what comes back."""
        self.save(name, lambda: function(*inputs))

    def _write(self, name: str, value: Any) -> None:
        try:
            write_answer(self.folder, name, value)
        except Exception as error:  # noqa: BLE001
            write_error(
                self.folder, name, f"Typ {type(value).__name__} kann nicht gespeichert werden"
            )
            del error
