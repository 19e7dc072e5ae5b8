"""`dlbmt bundle`: students get the release, the data and the student package, and nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENTS
from course_tools import REPO, copy_course, run_dlbmt

# Lines of hidden tests and solutions shorter than this ("return W, b", "x = np.asarray(x,
# dtype=float)") occur in any program; longer ones are specific to the course's answers.
MIN_SECRET_LINE = 40


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    course = copy_course(tmp_path_factory.mktemp("course"))
    target = tmp_path_factory.mktemp("bundles")
    for assignment in ASSIGNMENTS:
        run_dlbmt(course, "bundle", assignment, "--to", str(target))
    return {assignment: target / assignment for assignment in ASSIGNMENTS}


def _wheel(folder: Path) -> Path:
    (wheel,) = folder.glob("dlbmt-*-py3-none-any.whl")
    return wheel


def _texts(folder: Path) -> dict[str, str]:
    """Every text a student receives: files of the folder and of the wheel."""
    texts = {}
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".ipynb", ".md", ".csv", ".json", ".txt", ".py"}:
            texts[str(path.relative_to(folder))] = path.read_text(encoding="utf-8", errors="ignore")
    with zipfile.ZipFile(_wheel(folder)) as archive:
        for name in archive.namelist():
            texts[f"wheel:{name}"] = archive.read(name).decode("utf-8", errors="ignore")
    return texts


def _secret_lines(assignment: str) -> set[str]:
    """Lines of the source's solution and hidden-test regions that the release does not show.

    Imports and lines the released notebook itself contains (a provided cell may
    share a line with a solution) reveal nothing.
    """
    release = (REPO / "release" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    public = {
        line.strip()
        for cell in nbformat.reads(release, 4).cells
        for line in cell.source.split("\n")
    }
    lines, inside = set(), False
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in source.cells:
        for line in cell.source.split("\n"):
            if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= MIN_SECRET_LINE:
                lines.add(line.strip())
    return {line for line in lines - public if not line.startswith(("import ", "from "))}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bundle_holds_the_release_the_data_and_the_wheel(bundles, assignment):
    folder = bundles[assignment]
    released = REPO / "release" / assignment / f"{assignment}.ipynb"
    assert (folder / released.name).read_bytes() == released.read_bytes()
    assert (folder / "data" / "manifest.json").is_file()
    assert (folder / "LIESMICH.md").read_text(encoding="utf-8").count(_wheel(folder).name) >= 2


def test_wheel_holds_only_the_student_package(bundles):
    with zipfile.ZipFile(_wheel(bundles[ASSIGNMENTS[0]])) as archive:
        modules = [n for n in archive.namelist() if n.endswith(".py")]
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA")))
    assert "dlbmt/recording.py" in modules and "dlbmt/ecg.py" in modules
    assert not [m for m in modules if m.startswith(("dlbmt/grading/", "dlbmt/tools/"))]
    for instructor_only in (b"nbgrader", b"dask", b"psutil", b"setuptools"):
        assert instructor_only not in metadata


def test_installed_wheel_imports_without_the_instructor_packages(bundles, tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(tmp_path), str(_wheel(bundles[ASSIGNMENTS[0]]))],
        check=True,
    )  # fmt: skip
    probe = (
        "import importlib.util, dlbmt.recording\n"
        f"assert dlbmt.__file__.startswith({str(tmp_path)!r})\n"
        "print(importlib.util.find_spec('dlbmt.grading'), importlib.util.find_spec('dlbmt.tools'))"
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{probe}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert completed.stdout.split() == ["None", "None"]


def _leaks(folder: Path, assignment: str) -> list[str]:
    """What in the bundle reveals a solution, a hidden test or the grading state."""
    texts = _texts(folder)
    secrets = _secret_lines(assignment)
    assert secrets, "the check would find nothing"
    found = []
    for name, text in texts.items():
        markers = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "heldout_seed")
        if name.endswith(".ipynb"):
            markers += ("Recorder(",)  # the package defines it, a notebook must not call it
            text = "\n".join(cell.source for cell in nbformat.reads(text, 4).cells)
        found += [f"{name}: {marker}" for marker in markers if marker in text]
        lines = {line.strip() for line in text.split("\n")}
        found += [f"{name}: {line}" for line in sorted(secrets & lines)]
    found += [name for name in texts if name.startswith(("graders", ".grading"))]
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_answer_grader_key_or_hidden_test_in_the_bundle(bundles, assignment):
    assert _leaks(bundles[assignment], assignment) == []


def test_a_leaked_solution_line_is_found(bundles, tmp_path):
    """The check above can fail: the same bundle with one solution line in a note is refused."""
    folder = tmp_path / "bundle"
    import shutil

    shutil.copytree(bundles["01_grundlagen"], folder, ignore=shutil.ignore_patterns("data"))
    line = sorted(_secret_lines("01_grundlagen"))[0]
    (folder / "notizen.md").write_text(f"Lösung von nebenan:\n{line}\n", encoding="utf-8")
    assert _leaks(folder, "01_grundlagen") == [f"notizen.md: {line}"]
