"""Where the course files are, and the one switch for the fast smoke mode."""

from __future__ import annotations

import os
from pathlib import Path

from dlbmt.errors import CourseError

DATA_DIR_VARIABLE = "DLBMT_DATA_DIR"
SMOKE_VARIABLE = "DLBMT_SMOKE"
MANIFEST_NAME = "manifest.json"


def smoke_mode() -> bool:
    """True when ``DLBMT_SMOKE=1``: smaller data and fewer epochs, for quick checks.

    The sources are never edited to make a run fast; everything that trains or
    generates asks this function instead.
    """
    return os.environ.get(SMOKE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(real, smoke):
    """Return ``smoke`` in smoke mode and ``real`` otherwise."""
    return smoke if smoke_mode() else real


def _package_course_root() -> Path:
    # An editable install lives at <course>/src/dlbmt; its course root holds data/.
    return Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The folder with the course data.

    Looked up in this order: the ``DLBMT_DATA_DIR`` environment variable, a
    ``data/`` folder with a manifest in the working directory or one of its
    parents (students open the notebooks inside the course folder), and the
    course folder this package was installed from.
    """
    explicit = os.environ.get(DATA_DIR_VARIABLE)
    if explicit:
        path = Path(explicit)
        if not path.is_dir():
            raise CourseError(
                f"{DATA_DIR_VARIABLE} zeigt auf {path}, aber das ist kein Ordner. Setzen Sie "
                "die Variable auf den Ordner data/ des Kurses oder löschen Sie sie."
            )
        return path
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "data"
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    fallback = _package_course_root() / "data"
    if (fallback / MANIFEST_NAME).is_file():
        return fallback
    raise CourseError(
        "Der Datenordner des Kurses wurde nicht gefunden. Öffnen Sie das Notebook im Kursordner "
        f"(neben data/) oder setzen Sie {DATA_DIR_VARIABLE} auf den Ordner mit {MANIFEST_NAME}."
    )


def data_path(relative: str) -> Path:
    """Absolute path of a course data file, with a clear message when it is missing."""
    path = data_dir() / relative
    if not path.exists():
        raise CourseError(
            f"Die Datei {relative} fehlt in {path.parent}. Bitten Sie die Betreuung um den "
            "vollständigen Ordner data/ (oder führen Sie `dlbmt data build` aus)."
        )
    return path
