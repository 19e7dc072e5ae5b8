"""How a topic module declares the files it ships in ``data/``.

The instructor's tooling (``dlbmt data build``, the manifest) collects these
declarations; the declaration itself is plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataFile:
    """One file in ``data/``.

    path: relative to the data folder, with forward slashes.
    made_by: how the file was made: generator and seed, recipe, or source package.
    licence: the licence the file is distributed under.
    build: writes the file to the given absolute path; None for recipe outputs.
    """

    path: str
    made_by: str
    licence: str
    build: Callable[[Path], None] | None = None
