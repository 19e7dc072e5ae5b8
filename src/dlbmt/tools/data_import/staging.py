"""Writing an import into ``data/`` without ever leaving it half-written, and the manifest.

An import writes every file into a temporary folder next to the data folder
first. Only when all of them are written does it move the changed ones into
place, one ``os.replace`` each, and the manifest last; if a move fails, the files
already moved are put back. Files whose bytes did not change are left alone, so
that their modification times still tell whether a model was trained after them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlbmt.datafiles import DataFile
from dlbmt.errors import CourseError
from dlbmt.settings import MANIFEST_NAME
from dlbmt.tools import manifest


@dataclass(frozen=True)
class Provenance:
    """Where an imported file came from and under which licence it may be used."""

    made_by: str
    licence: str


@dataclass(frozen=True)
class Dependant:
    """A declared file that the import does not write but that depends on files it writes.

    path: the file, relative to the data folder.
    inputs: the imported files it was made from.
    command: the command that makes it again.
    """

    path: str
    inputs: tuple[str, ...]
    command: str


@dataclass
class ImportReport:
    """What an import did, and what the instructor has to do next."""

    title: str
    data_dir: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # (path, command): not replaced by the import and older than the data they depend on.
    stale: list[tuple[str, str]] = field(default_factory=list)
    # (path, command): declared but not in the data folder at all.
    missing: list[tuple[str, str]] = field(default_factory=list)
    # Dependants made after the data they depend on.
    current: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[str]:
        """The commands that make the stale and missing files again, each once, in order."""
        seen: list[str] = []
        for _, command in self.stale + self.missing:
            if command not in seen:
                seen.append(command)
        return seen

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = [f"{self.title} into {self.data_dir}:"]
        out += [f"  written    {path}" for path in self.written]
        out += [f"  unchanged  {path}" for path in self.unchanged]
        out.append(f"manifest updated: {self.data_dir / MANIFEST_NAME}")
        if self.stale or self.missing or self.current:
            out.append("not replaced by the import:")
            out += [
                f"  {path}: older than the imported data; run `{command}`"
                for path, command in self.stale
            ]
            out += [f"  {path}: missing; run `{command}`" for path, command in self.missing]
            out += [f"  {path}: made after the imported data, kept" for path in self.current]
        out += [f"note: {note}" for note in self.notes]
        out.append("next steps:")
        out += [f"  {number}. {step}" for number, step in enumerate(self.next_steps, start=1)]
        return out


def _read_previous_manifest(data_dir: Path) -> dict[str, dict]:
    if not (data_dir / MANIFEST_NAME).is_file():
        return {}
    content = manifest.read_manifest(data_dir)
    try:
        return {item["path"]: item for item in content["files"]}
    except (KeyError, TypeError):
        raise CourseError(
            f"{data_dir / MANIFEST_NAME} has no list of files with paths. Restore it from git "
            "or rebuild it with `dlbmt data manifest` before importing."
        ) from None


def _entry(path: Path, relative: str, provenance: Provenance) -> dict:
    return {
        "path": relative,
        "sha256": manifest.sha256_of(path),
        "size": path.stat().st_size,
        "made_by": provenance.made_by,
        "licence": provenance.licence,
    }


def _same_bytes(first: Path, second: Path) -> bool:
    return (
        second.is_file()
        and first.stat().st_size == second.stat().st_size
        and first.read_bytes() == second.read_bytes()
    )


class StagedImport:
    """A temporary folder next to ``data_dir`` that an import writes into, then installs.

    Use it as a context manager: the temporary folder is removed on the way out,
    whether the import was installed or failed.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise CourseError(f"The data folder {self.data_dir} is a file, not a folder.")
        if not self.data_dir.parent.is_dir():
            raise CourseError(
                f"The folder {self.data_dir.parent} does not exist, so the data folder "
                f"{self.data_dir.name}/ cannot be made in it. Check --target."
            )
        # Read before any work: a broken manifest should stop the import at once.
        self.previous = _read_previous_manifest(self.data_dir)
        self.root: Path | None = None
        self.provenance: dict[str, Provenance] = {}

    def __enter__(self) -> StagedImport:
        self.root = Path(
            tempfile.mkdtemp(prefix=f".{self.data_dir.name}.import-", dir=self.data_dir.parent)
        )
        return self

    def __exit__(self, *exc_info) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    @property
    def staged(self) -> Path:
        if self.root is None:
            raise RuntimeError("StagedImport is used outside its with block.")
        return self.root / "new"

    def file(self, relative: str, provenance: Provenance) -> Path:
        """The staged path to write ``relative`` to; records where the file comes from."""
        self.provenance[relative] = provenance
        path = self.staged / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def install(
        self, declared: Sequence[DataFile], dependants: Sequence[Dependant], report: ImportReport
    ) -> ImportReport:
        """Move the changed files into the data folder, update the manifest, fill ``report``.

        ``declared`` are the data files of the imported topic (its ``DATA_FILES``);
        every staged file must be one of them, so that the manifest keeps listing
        exactly the declared files.
        """
        declared_by_path = {entry.path: entry for entry in declared}
        undeclared = sorted(set(self.provenance) - set(declared_by_path))
        if undeclared:
            raise CourseError(
                f"The import wrote {', '.join(undeclared)}, which the topic module does not "
                "declare in DATA_FILES; the import and the module disagree. Nothing was changed."
            )
        changed = []
        for relative in sorted(self.provenance):
            if _same_bytes(self.staged / relative, self.data_dir / relative):
                report.unchanged.append(relative)
            else:
                changed.append(relative)
                report.written.append(relative)

        entries = self._manifest_entries(declared_by_path)
        manifest_text = json.dumps({"files": entries}, indent=2, ensure_ascii=False) + "\n"
        staged_manifest = self.staged / MANIFEST_NAME
        staged_manifest.write_text(manifest_text, encoding="utf-8")
        if not _same_bytes(staged_manifest, self.data_dir / MANIFEST_NAME):
            changed.append(MANIFEST_NAME)  # last, so a complete set of files is in place first
        self._swap(changed)

        for dependant in dependants:
            path = self.data_dir / dependant.path
            if not path.is_file():
                report.missing.append((dependant.path, dependant.command))
                continue
            inputs = [self.data_dir / relative for relative in dependant.inputs]
            newest_input = max((p.stat().st_mtime for p in inputs if p.is_file()), default=0.0)
            if path.stat().st_mtime < newest_input:
                report.stale.append((dependant.path, dependant.command))
            else:
                report.current.append(dependant.path)
        return report

    def _manifest_entries(self, declared: dict[str, DataFile]) -> list[dict]:
        # Entries of other topics stay exactly as they were: the import did not look at them.
        entries = {path: item for path, item in self.previous.items() if path not in declared}
        for relative, entry in declared.items():
            if relative in self.provenance:
                entries[relative] = _entry(
                    self.staged / relative, relative, self.provenance[relative]
                )
                continue
            path = self.data_dir / relative
            if not path.is_file():
                continue  # reported as missing by its dependant, or made by `dlbmt data build`
            before = self.previous.get(relative)
            kept = _entry(path, relative, Provenance(entry.made_by, entry.licence))
            if before and before.get("sha256") == kept["sha256"]:
                # Same bytes as before: keep the provenance recorded then (e.g. an earlier import).
                kept["made_by"], kept["licence"] = before["made_by"], before["licence"]
            entries[relative] = kept
        return [entries[path] for path in sorted(entries)]

    def _swap(self, changed: list[str]) -> None:
        backup = self.root / "old"
        done: list[str] = []
        self.data_dir.mkdir(exist_ok=True)
        try:
            for relative in changed:
                target = self.data_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    (backup / relative).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(target, backup / relative)
                done.append(relative)
                os.replace(self.staged / relative, target)
        except BaseException:
            for relative in reversed(done):
                target, old = self.data_dir / relative, backup / relative
                if old.exists():
                    os.replace(old, target)
                elif target.exists():
                    target.unlink()
            raise
