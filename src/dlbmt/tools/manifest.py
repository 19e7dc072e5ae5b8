"""The data manifest: every file that students load, with hash, size, provenance and licence.

Each topic module (``dlbmt.ecg``, ``dlbmt.oct`` ...) declares its files in a
module-level ``DATA_FILES`` list. Files with a ``build`` function are made by a
deterministic generator and can be rebuilt byte for byte; files without one are
made by a training recipe (``dlbmt train NAME``) and are only hashed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

from dlbmt.datafiles import DataFile
from dlbmt.errors import CourseError
from dlbmt.settings import MANIFEST_NAME

# Topic modules that declare data files, in a stable order.
TOPIC_MODULES = (
    "dlbmt.ecg",
    "dlbmt.mnist",
    "dlbmt.tools.lab_sheet",
    "dlbmt.oct",
    "dlbmt.mri",
)


def declared_files() -> list[DataFile]:
    """All declared data files, sorted by path."""
    files: list[DataFile] = []
    for name in TOPIC_MODULES:
        module = importlib.import_module(name)
        files.extend(getattr(module, "DATA_FILES", []))
    paths = [f.path for f in files]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise CourseError(f"Data files declared twice: {', '.join(duplicates)}.")
    return sorted(files, key=lambda f: f.path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_files(data_dir: Path, only: str | None = None) -> list[Path]:
    """Run every generator (or those whose path starts with ``only``) into ``data_dir``."""
    built = []
    for entry in declared_files():
        if entry.build is None or (only and not entry.path.startswith(only)):
            continue
        target = data_dir / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        entry.build(target)
        built.append(target)
    return built


def manifest_entries(data_dir: Path) -> list[dict]:
    entries = []
    for entry in declared_files():
        path = data_dir / entry.path
        if not path.is_file():
            raise CourseError(
                f"{entry.path} is declared but missing from {data_dir}. "
                "Run `dlbmt data build` (or the training recipe named in its provenance)."
            )
        entries.append(
            {
                "path": entry.path,
                "sha256": sha256_of(path),
                "size": path.stat().st_size,
                "made_by": entry.made_by,
                "licence": entry.licence,
            }
        )
    return entries


def write_manifest(data_dir: Path) -> Path:
    target = data_dir / MANIFEST_NAME
    text = json.dumps({"files": manifest_entries(data_dir)}, indent=2, ensure_ascii=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target


def read_manifest(data_dir: Path) -> dict:
    path = data_dir / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path} is missing. Run `dlbmt data build`.") from None
    except json.JSONDecodeError as error:
        raise CourseError(f"{path} is not valid JSON ({error}). Rebuild it.") from None


def verify(data_dir: Path) -> list[str]:
    """Problems found when the files are compared with the manifest (empty when all is well)."""
    problems = []
    for item in read_manifest(data_dir)["files"]:
        path = data_dir / item["path"]
        if not path.is_file():
            problems.append(f"{item['path']}: missing")
        elif sha256_of(path) != item["sha256"]:
            problems.append(f"{item['path']}: content differs from the manifest")
    return problems
