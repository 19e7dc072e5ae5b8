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

The store's layout is ``<store>/<task_id>/<name>.<ext>``, one file per answer,
where the extension says the kind:

``.json``         numbers, strings, booleans, lists and dicts of those
``.npy``          numeric numpy arrays (never object arrays)
``.csv``          pandas DataFrames, with their dtypes in ``<name>.dtypes.json``
``.keras``        Keras models in Keras 3 format
``.error.json``   the answer could not be recorded; holds the reason

The grader's side reads it with :mod:`dlbmt.grading.answers`, which trusts none
of it: everything here runs in the student's kernel.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_FILE_BYTES = 50 * 1024 * 1024  # generous for a small Keras model; far below memory limits
KINDS = (".json", ".npy", ".csv", ".keras")


ANSWER_DIR_VARIABLE = "DLBMT_ANSWER_DIR"


def check_name(name: str, what: str = "Name") -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"{what} {name!r} must be lower-case letters, digits and underscores.")
    return name


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars and nested containers to plain JSON types, or raise TypeError."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def write_answer(task_dir: Path, name: str, value: Any) -> Path:
    """Write one answer in the safest format that holds it (kernel side)."""
    check_name(name)
    task_dir.mkdir(parents=True, exist_ok=True)
    for old in task_dir.glob(f"{name}.*"):
        old.unlink()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(value, pd.DataFrame):
        target = task_dir / f"{name}.csv"
        value.to_csv(target, index=True)
        dtypes = {str(col): str(dtype) for col, dtype in value.dtypes.items()}
        payload = {"dtypes": dtypes, "index_name": value.index.name}
        (task_dir / f"{name}.dtypes.json").write_text(json.dumps(payload), encoding="utf-8")
        return target
    if _is_keras_model(value):
        target = task_dir / f"{name}.keras"
        value.save(target)
        return target
    if isinstance(value, np.ndarray) or _is_tensor(value):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"array of dtype {array.dtype}")
        target = task_dir / f"{name}.npy"
        np.save(target, array, allow_pickle=False)
        return target
    target = task_dir / f"{name}.json"
    target.write_text(json.dumps({"value": _jsonable(value)}, allow_nan=True), encoding="utf-8")
    return target


def write_error(task_dir: Path, name: str, reason: str) -> Path:
    check_name(name)
    task_dir.mkdir(parents=True, exist_ok=True)
    for old in task_dir.glob(f"{name}.*"):
        old.unlink()
    target = task_dir / f"{name}.error.json"
    target.write_text(json.dumps({"error": reason[:500]}), encoding="utf-8")
    return target


def _is_keras_model(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith(("keras", "tf_keras")) and hasattr(value, "save")


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "numpy")


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
