"""data/ holds exactly the declared files, each matching the manifest, and the
generators rebuild them byte for byte."""

from __future__ import annotations

import json

import pytest
from course_tools import REPO

from dlbmt.tools import manifest

DATA = REPO / "data"


def _committed() -> dict[str, dict]:
    return {
        item["path"]: item for item in json.loads((DATA / "manifest.json").read_text())["files"]
    }


def test_every_file_in_data_is_in_the_manifest():
    on_disk = {
        str(p.relative_to(DATA))
        for p in DATA.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert on_disk == set(_committed())


def test_manifest_lists_exactly_the_declared_files():
    assert [f.path for f in manifest.declared_files()] == sorted(_committed())


def test_files_match_their_hash_and_size():
    assert manifest.verify(DATA) == []
    for path, item in _committed().items():
        assert (DATA / path).stat().st_size == item["size"]


def test_every_entry_has_provenance_and_licence():
    for item in _committed().values():
        assert item["made_by"].strip() and item["licence"].strip(), item["path"]


@pytest.mark.parametrize(
    "entry", [f for f in manifest.declared_files() if f.build], ids=lambda f: f.path
)
def test_regenerating_gives_identical_bytes(entry, tmp_path):
    target = tmp_path / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    entry.build(target)
    assert target.read_bytes() == (DATA / entry.path).read_bytes()


def test_a_changed_file_is_reported(tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    first = sorted(_committed())[0]
    (copy / first).write_bytes((copy / first).read_bytes() + b"\0")
    assert manifest.verify(copy) == [f"{first}: content differs from the manifest"]
