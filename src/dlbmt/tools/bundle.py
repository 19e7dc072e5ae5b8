"""``dlbmt bundle ASSIGNMENT``: exactly what students receive, in one folder.

The bundle holds the released notebook(s) of the assignment, the course data
and a wheel of the student package: the top level of ``dlbmt``, without
``dlbmt.grading`` and ``dlbmt.tools``, and with only the dependencies that
notebooks need. Students can read everything they install, so the bundle holds
no answer, grader, key or solution; the tests check that.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import metadata
from pathlib import Path

import dlbmt
from dlbmt.errors import CourseError
from dlbmt.grading.commands import require_ok, run_module
from dlbmt.grading.course import Course

# Subpackages that never leave the instructor's machine.
INSTRUCTOR_PACKAGES = ("grading", "tools")
# What the notebooks need; their version ranges are the instructor package's own.
STUDENT_DEPENDENCIES = (
    "tensorflow-cpu", "keras", "numpy", "pandas", "scikit-learn", "scipy", "matplotlib",
    "pillow", "ipywidgets", "ipykernel", "neurokit2", "wfdb", "mlxtend",
)  # fmt: skip
README_NAME = "LIESMICH.md"
README = """# {assignment} – Versuch „Deep Learning in der Biomedizintechnik“

Dieser Ordner enthält alles, was Sie für den Versuch brauchen:

- `{notebooks}`: das Notebook, das Sie bearbeiten und abgeben,
- `data/`: die Daten des Versuchs (bitte nicht verändern),
- `{wheel}`: das Kurspaket `dlbmt` mit Ladefunktionen, Plots und Widgets.

Einrichten (einmal, mit Python 3.11 oder 3.12):

```bash
python -m venv .venv
source .venv/bin/activate        # Windows: .venv\\Scripts\\activate
pip install {wheel} jupyterlab
jupyter lab {first_notebook}
```

Öffnen Sie das Notebook in diesem Ordner, damit es den Ordner `data/` findet
(oder setzen Sie die Umgebungsvariable `DLBMT_DATA_DIR` auf ihn).
"""


def student_dependencies() -> list[str]:
    """The requirements of the student package, pinned as the installed ``dlbmt`` pins them."""
    pinned = [req for req in metadata.requires("dlbmt") or [] if "extra ==" not in req]
    chosen = [req for req in pinned if _name(req) in STUDENT_DEPENDENCIES]
    missing = set(STUDENT_DEPENDENCIES) - {_name(req) for req in chosen}
    if missing:
        raise CourseError(
            f"The installed dlbmt does not require {sorted(missing)}; reinstall it "
            "(pip install -e .) or update STUDENT_DEPENDENCIES in dlbmt.tools.bundle."
        )
    return chosen


def _name(requirement: str) -> str:
    for separator in "<>=!~[; ":
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower()


def build_student_wheel(target: Path) -> Path:
    """Build the wheel of the student package into ``target``; returns its path."""
    package = Path(dlbmt.__file__).resolve().parent
    info = metadata.metadata("dlbmt")
    dependencies = ",\n".join(f'    "{req}"' for req in student_dependencies())
    with tempfile.TemporaryDirectory(prefix="dlbmt-wheel-") as scratch:
        project = Path(scratch)
        shutil.copytree(
            package,
            project / "src" / "dlbmt",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *INSTRUCTOR_PACKAGES),
        )
        (project / "pyproject.toml").write_text(
            f"""[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "dlbmt"
version = "{dlbmt.__version__}"
description = "Kurspaket des Versuchs 'Deep Learning in der Biomedizintechnik'"
requires-python = "{info["Requires-Python"]}"
license = "{info.get("License-Expression", "MIT")}"
dependencies = [
{dependencies},
]

[tool.setuptools.packages.find]
where = ["src"]
""",
            encoding="utf-8",
        )
        target.mkdir(parents=True, exist_ok=True)
        require_ok(
            run_module("pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                       "--wheel-dir", str(target), str(project), cwd=project),
            "Building the student wheel",
        )  # fmt: skip
    return target / f"dlbmt-{dlbmt.__version__}-py3-none-any.whl"


def bundle(course: Course, *, assignment: str, target: Path) -> Path:
    """Write the student bundle of ``assignment`` into ``target/<assignment>/``."""
    course.check_assignment(assignment)
    release = course.release / assignment
    notebooks = sorted(release.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(
            f"release/{assignment}/ holds no notebook. Run `dlbmt release {assignment}` first."
        )
    folder = target / assignment
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(release, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(course.data, folder / "data", ignore=shutil.ignore_patterns("__pycache__"))
    wheel = build_student_wheel(folder)
    (folder / README_NAME).write_text(
        README.format(
            assignment=assignment,
            notebooks=", ".join(n.name for n in notebooks),
            first_notebook=notebooks[0].name,
            wheel=wheel.name,
        ),
        encoding="utf-8",
    )
    return folder
