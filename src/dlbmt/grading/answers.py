"""The answer store, read on the grader's side: a submission's recorded answers.

Layout and formats are described in :mod:`dlbmt.recording`, which writes them
in the student's kernel. This reader trusts nothing: every byte may have been
written by the student after the hidden cell ran. No pickle, npy without
pickle, size limits, no symbolic links, Keras in safe mode.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from dlbmt.recording import KINDS, MAX_FILE_BYTES, NAME_PATTERN, check_name


class MissingAnswer(Exception):
    """An answer was not recorded or could not be read safely. The message is German."""


class TaskAnswers:
    """Read-only, safe access to the recorded answers of one task (grader side)."""

    def __init__(self, root: Path, task_id: str):
        self.task_id = check_name(task_id, "Task id")
        self.root = root
        self.folder = root / task_id

    def _safe_file(self, path: Path) -> Path | None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            raise MissingAnswer(
                f"Die Antwort {path.name} in Aufgabe {self.task_id} ist keine normale Datei "
                "und wird nicht gelesen."
            )
        if info.st_size > MAX_FILE_BYTES:
            raise MissingAnswer(f"Die Antwort {path.name} in Aufgabe {self.task_id} ist zu groß.")
        return path

    def _check_folder(self) -> None:
        for folder in (self.root, self.folder):
            if folder.is_symlink():
                raise MissingAnswer(
                    f"Der Antwortordner von Aufgabe {self.task_id} ist ein symbolischer Link "
                    "und wird nicht gelesen."
                )

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        names = set()
        for path in self.folder.iterdir():
            name = path.name.split(".", 1)[0]
            if NAME_PATTERN.match(name):
                names.add(name)
        return sorted(names)

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except MissingAnswer:
            return False
        return True

    def get(self, name: str) -> Any:
        """The recorded value, or MissingAnswer with a German explanation."""
        check_name(name)
        self._check_folder()
        error_file = self._safe_file(self.folder / f"{name}.error.json")
        if error_file is not None:
            reason = _read_json(error_file).get("error", "unbekannter Fehler")
            raise MissingAnswer(
                f"`{name}` konnte in Aufgabe {self.task_id} nicht aufgezeichnet werden: {reason}"
            )
        for extension in KINDS:
            path = self._safe_file(self.folder / f"{name}{extension}")
            if path is not None:
                return _READERS[extension](path)
        raise MissingAnswer(
            f"Für Aufgabe {self.task_id} wurde `{name}` nicht aufgezeichnet. "
            "Wurden alle Zellen der Aufgabe ausgeführt und die Variable definiert?"
        )

    def model_config(self, name: str) -> dict:
        """The architecture of a recorded Keras model, read as data from its config.json."""
        import zipfile

        self._check_folder()
        path = self._safe_file(self.folder / f"{name}.keras")
        if path is None:
            raise MissingAnswer(
                f"Für Aufgabe {self.task_id} wurde kein Modell `{name}` gespeichert."
            )
        try:
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("config.json")
                if info.file_size > MAX_FILE_BYTES:
                    raise MissingAnswer(f"Die Modellbeschreibung `{name}` ist zu groß.")
                return json.loads(archive.read(info))
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
            raise MissingAnswer(
                f"Das Modell `{name}` in Aufgabe {self.task_id} ist keine gültige Keras-Datei."
            ) from None


def dense_layers(config: dict) -> list[tuple[int | None, str | None]]:
    """(units, activation) of each Dense layer in a model config read by ``model_config``."""
    layers = config.get("config", {}).get("layers", []) if isinstance(config, dict) else []
    return [
        (layer.get("config", {}).get("units"), layer.get("config", {}).get("activation"))
        for layer in layers
        if isinstance(layer, dict) and layer.get("class_name") == "Dense"
    ]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MissingAnswer(f"{path.name} ist kein gültiges JSON.") from None


def _read_value_json(path: Path) -> Any:
    payload = _read_json(path)
    if not isinstance(payload, dict) or "value" not in payload:
        raise MissingAnswer(f"{path.name} hat nicht das erwartete Format.")
    return payload["value"]


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise MissingAnswer(
            f"{path.name} ist kein gültiges numerisches Array und wird nicht gelesen."
        ) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise MissingAnswer(f"{path.name} enthält kein numerisches Array.")
    return array


def _read_csv(path: Path):
    import pandas as pd

    meta_path = path.with_name(path.name.removesuffix(".csv") + ".dtypes.json")
    meta = _read_json(meta_path) if meta_path.is_file() and not meta_path.is_symlink() else {}
    try:
        frame = pd.read_csv(path, index_col=0, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        raise MissingAnswer(f"{path.name} ist keine lesbare CSV-Tabelle.") from None
    for column, dtype in meta.get("dtypes", {}).items():
        if column in frame.columns and dtype in _SAFE_DTYPES:
            try:
                frame[column] = frame[column].astype(dtype)
            except (ValueError, TypeError):
                pass  # the grader compares dtypes and will report the difference
    frame.index.name = meta.get("index_name")
    return frame


_SAFE_DTYPES = {"float64", "float32", "int64", "int32", "bool", "object", "string", "category"}


def _read_keras(path: Path):
    import keras

    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure means: refuse this model
        raise MissingAnswer(
            f"Das Modell {path.name} konnte nicht sicher geladen werden "
            f"({type(error).__name__}). Nur Standard-Keras-Schichten sind erlaubt."
        ) from None


_READERS = {".json": _read_value_json, ".npy": _read_npy, ".csv": _read_csv, ".keras": _read_keras}


class AnswerStore:
    """All recorded answers of one notebook run."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def task(self, task_id: str) -> TaskAnswers:
        return TaskAnswers(self.root, task_id)
