"""The course folder and the places in it."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dlbmt.errors import CourseError

# What a working copy of the course needs to release and grade: the config, the notebooks,
# the graders and the data (not the gradebook, submissions or the instructor's secret).
GRADING_PARTS = ("nbgrader_config.py", "source", "release", "graders", "data")


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course whose folder holds ``start`` (default: the working directory)."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
                return cls(folder)
        raise CourseError(
            f"No course folder found at or above {here}: it needs nbgrader_config.py and "
            "source/. Run the command inside the course folder."
        )

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def graders(self) -> Path:
        return self.root / "graders"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def state(self) -> Path:
        """Instructor-only grading state: answer keys and recorded answers. Ignored by git."""
        return self.root / ".grading"

    def assignments(self) -> list[str]:
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and p.name[0] not in "._")

    def check_assignment(self, assignment: str) -> str:
        if assignment not in self.assignments():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(
                f"There is no assignment {assignment!r} in {self.source}. Known: {known}."
            )
        return assignment

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source / assignment).glob("*.ipynb"))

    def key_dir(self, assignment: str, notebook: str) -> Path:
        return self.state / "key" / assignment / notebook

    def secret_file(self) -> Path:
        """The course's own secret: the seed of the held-out data the graders judge with.

        Made at random the first time it is needed and kept in ``.grading/``, which
        git ignores and nothing releases. It never reaches ``data/``, the package,
        the release or a kernel, so no submission can prepare for that data. Keep it
        for the whole term: grading again with another secret may change scores.
        """
        path = self.state / "secret.json"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Several processes may get here at once (workers, key and self-test); the first
            # link wins and every process then reads that one secret.
            handle, partial = tempfile.mkstemp(prefix="secret-", dir=path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump({"heldout_seed": secrets.randbits(62)}, file)
            os.chmod(partial, 0o600)
            try:
                os.link(partial, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(partial)
        return path

    def answers_dir(self, assignment: str, student: str, notebook: str) -> Path:
        return self.submission_answers(assignment, student) / notebook

    def submission_answers(self, assignment: str, student: str) -> Path:
        """The recorded answers of all notebooks of one submission."""
        return self.state / "answers" / assignment / student

    def result_file(self, assignment: str, student: str) -> Path:
        """The provenance record of one graded submission."""
        return self.state / "results" / assignment / f"{student}.json"

    def lock_file(self, assignment: str, student: str) -> Path:
        return self.state / "locks" / assignment / f"{student}.lock"

    @property
    def work(self) -> Path:
        """Scratch space of grading runs (gradebook snapshots)."""
        return self.state / "work"

    def mutation_dir(self, assignment: str, notebook: str) -> Path:
        """Where the graders' self-test keeps each mutant's run for inspection."""
        return self.state / "mutation" / assignment / notebook

    def config(self):
        """The traitlets config of the course's ``nbgrader_config.py``."""
        from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

        try:
            return PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        except ConfigFileNotFound:
            raise CourseError(f"{self.root / 'nbgrader_config.py'} is missing.") from None
        except Exception as error:  # noqa: BLE001 - a broken config is the instructor's to fix
            raise CourseError(
                f"{self.root / 'nbgrader_config.py'} cannot be read ({type(error).__name__}: "
                f"{error}). Fix the file and run the command again."
            ) from None

    def students(self, assignment: str) -> list[str]:
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / assignment).is_dir())

    def copy_parts(self, target: Path, parts: Sequence[str]) -> Path:
        """Copy the named top-level files and folders (those that exist) into ``target``."""
        return copy_parts(self.root, target, parts)


def copy_parts(folder: Path, target: Path, parts: Sequence[str]) -> Path:
    """Copy the named files and folders of ``folder`` (those that exist) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for part in parts:
        source = folder / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, target / part)
    return target


def file_digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if "__pycache__" in file.parts:
                continue
            if file.is_symlink():  # by where it points: a link may lead to /dev/zero
                digest.update(f"{file.relative_to(path.parent)} -> {os.readlink(file)}".encode())
            elif file.is_file():
                digest.update(str(file.relative_to(path.parent)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()
