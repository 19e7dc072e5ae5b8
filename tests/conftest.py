"""The suite's tiers, and session fixtures that execute each real notebook as rarely as possible.

Tiers, by folder; each test gets its folder's marker, and the fast tiers run first:

* ``unit``: the package's functions, data generators, the layout and static checks;
  no kernel, no training (``make test-fast``).
* ``content``: what the notebooks stand on: trained networks, the graders' helpers
  on real data, the widget in a kernel, nbgrader's validation.
* ``engine``: the grading engine on the tiny course (``tiny_course.py``): sandbox,
  attacks, workers, resume, PostgreSQL, the CLI, the bundle, plain nbgrader.
* ``course``: the real notebooks end to end: every example student graded, the
  graders' self-test, the first run of each release, the real browser.

``make test-dev`` runs all but ``course``; ``make test`` runs everything.
``graded_course`` copies the course, releases it and autogrades the example
submissions once; the course tier's tests all read that one result.
"""

from __future__ import annotations

import json
import os

import pytest
from course_tools import REPO, copy_course, gradebook_scores, run_dlbmt, submit_example

# Instructors' machines write bytecode caches; a developer's PYTHONDONTWRITEBYTECODE=1
# would hide a grading step that writes into the course (graders/__pycache__ did).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ASSIGNMENTS = sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())
TIERS = ("unit", "content", "engine", "course")


def tier_of(path) -> str:
    """The tier of a test file: the folder under tests/ that holds it."""
    relative = path.resolve().relative_to(REPO / "tests")
    if len(relative.parts) < 2 or relative.parts[0] not in TIERS:
        raise pytest.UsageError(
            f"{path}: every test file belongs in one of tests/{{{','.join(TIERS)}}}/."
        )
    return relative.parts[0]


_SECONDS_PER_TIER: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add each phase's seconds (set-up, call, tear-down) to its test's tier."""
    # Each test carries its tier's marker (pytest_collection_modifyitems).
    tier = next((name for name in TIERS if name in report.keywords), "?")
    _SECONDS_PER_TIER[tier] = _SECONDS_PER_TIER.get(tier, 0.0) + report.duration


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    if _SECONDS_PER_TIER:
        figures = ", ".join(
            f"{tier} {_SECONDS_PER_TIER[tier]:.0f} s" for tier in TIERS if tier in _SECONDS_PER_TIER
        )
        terminalreporter.write_line(f"seconds per tier: {figures}")


def pytest_collection_modifyitems(config, items):
    """Mark each test with its tier and run the fast tiers first (stable within a tier)."""
    for item in items:
        item.add_marker(getattr(pytest.mark, tier_of(item.path)))
    items.sort(key=lambda item: TIERS.index(tier_of(item.path)))


@pytest.fixture(scope="session")
def expected_scores() -> dict:
    return json.loads((REPO / "examples" / "expected_scores.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A copy of the course with every example submission autograded, feedback and export."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    run_dlbmt(course, "release")
    (course / "submitted").mkdir()
    for student in (course / "examples" / "submissions").iterdir():
        for assignment in student.iterdir():
            submit_example(course, student.name, assignment.name)
    # One run for every assignment, as an instructor grading the whole lab would.
    log = run_dlbmt(course, "autograde", "--workers", "2").stdout
    # Free text waits for grading by hand: plain feedback refuses, provisional feedback is marked.
    refused = {a: run_dlbmt(course, "feedback", a, check=False) for a in ASSIGNMENTS}
    for assignment in ASSIGNMENTS:
        run_dlbmt(course, "feedback", assignment, "--provisional")
    run_dlbmt(course, "export", "--to", "grades.csv")
    return {"root": course, "scores": gradebook_scores(course), "log": log, "refused": refused}
