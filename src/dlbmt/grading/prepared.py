"""Held-out data made once per course and secret, not once per submission.

Some graders judge a student's model on data made with the course's secret seed:
Notebook 3's retraining task on 400 fresh knees, about 8 s to draw. Made in every
grader process, that is most of the time a Notebook 3 submission takes to grade.
The same holds for figures that do not depend on the submission at all, such as
the shipped model's reference maps on the hidden probe knees.

So the trusted coordinator makes it once, before the submissions are dispatched:
every ``graders/<assignment>/*_heldout.py`` module with a ``prepare_heldout(seed,
folder)`` function stores its arrays with :meth:`HeldOut.store`, and each grader process
gets a private read-only copy (:mod:`.graders`) and reads it with :meth:`HeldOut.get`.
No grader ever writes there, so a student's archive that a grader loads cannot
change what another student is judged on. A file is named by a digest of its
name, its parameters (the seed among them) and the source of the modules that
make it, so a changed generator or another secret never meets an old file, and
:func:`prepare` removes the files that no hook stored in its run: each grader
process copies the whole folder. Where nothing was prepared (plain ``nbgrader
autograde``), :meth:`HeldOut.get` makes the data itself: the same arrays, only
slower.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np

from dlbmt.grading.course import Course
from dlbmt.settings import DATA_DIR_VARIABLE

# Set for the grader process: its private copy of the prepared folder.
PREPARED_VARIABLE = "DLBMT_PREPARED_DIR"
MODULE_PATTERN = "*_heldout.py"

Arrays = dict[str, np.ndarray]
# What HeldOut.store names its files; anything else in the folder is left alone.
STORED_NAME = re.compile(r"[^.][^/]*-[0-9a-f]{24}\.npz")
# The files stored during the current prepare() run.
_stored_in_run: ContextVar[set[str] | None] = ContextVar("_stored_in_run", default=None)


@dataclass(frozen=True)
class HeldOut:
    """Held-out arrays that ``draw(*parameters)`` makes, named ``name``.

    ``sources`` are the files whose code makes them: with the parameters (the
    seed among them) they name the stored file. ``tensorflow``: ``draw`` runs a
    Keras model, so :meth:`store` imports TensorFlow quietly first. The coordinator
    of ``dlbmt autograde`` runs it, and TensorFlow's start-up lines on its error
    stream would read like a failure of the grading run.
    """

    name: str
    draw: Callable[..., Arrays]
    sources: tuple[str | Path, ...]
    tensorflow: bool = False

    def get(self, *parameters) -> Arrays:
        """The arrays, read from the prepared folder when the coordinator made them already."""
        folder = os.environ.get(PREPARED_VARIABLE)
        if folder:
            arrays = _load(Path(folder) / self.file_name(parameters))
            if arrays is not None:
                return arrays
        return self.draw(*parameters)

    def store(self, folder: Path, *parameters) -> Path:
        """Make the arrays once and keep them in ``folder``; returns the file."""
        path = folder / self.file_name(parameters)
        stored = _stored_in_run.get()
        if stored is not None:
            stored.add(path.name)
        if path.is_file():
            return path
        if self.tensorflow:
            from dlbmt.notebook import import_tensorflow_quietly

            import_tensorflow_quietly()
        arrays = self.draw(*parameters)
        handle, partial = tempfile.mkstemp(prefix=f".{self.name}-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(partial, path)  # readers see a whole file or none
        finally:
            Path(partial).unlink(missing_ok=True)
        return path

    def file_name(self, parameters: tuple) -> str:
        """``name-<digest>.npz``: the digest covers the parameters and the sources."""
        digest = hashlib.sha256(json.dumps([self.name, [str(p) for p in parameters]]).encode())
        for source in self.sources:
            digest.update(Path(source).read_bytes())
        return f"{self.name}-{digest.hexdigest()[:24]}.npz"


def _load(path: Path) -> Arrays | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError):
        return None


def folder_of(course: Course, assignment: str) -> Path:
    return course.state / "prepared" / assignment


def prepare(course: Course, assignment: str) -> Path:
    """Run every ``prepare_heldout`` of the assignment's graders; returns the folder."""
    folder = folder_of(course, assignment)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    seed = int(json.loads(course.secret_file().read_text(encoding="utf-8"))["heldout_seed"])
    stored: set[str] = set()
    token = _stored_in_run.set(stored)
    try:
        # The hooks see the course's data/ as the graders do (a shipped model, for example).
        with mock.patch.dict(os.environ, {DATA_DIR_VARIABLE: str(course.data)}):
            for path in sorted((course.graders / assignment).glob(MODULE_PATTERN)):
                hook = getattr(_module(path), "prepare_heldout", None)
                if hook is not None:
                    hook(seed, folder)
    finally:
        _stored_in_run.reset(token)
    _remove_stale(folder, stored)
    return folder


def _remove_stale(folder: Path, stored: set[str]) -> None:
    """Remove the stored files of an old secret, generator or data that no hook asked for now."""
    for path in folder.iterdir():
        if STORED_NAME.fullmatch(path.name) and path.name not in stored:
            path.unlink(missing_ok=True)


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"dlbmt_prepared_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
