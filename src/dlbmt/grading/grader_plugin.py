"""pytest plugin that turns the hidden graders into per-task scores.

It is infrastructure, not grading logic: it holds no expected values. Graders
live in ``graders/<assignment>/test_*.py`` and mark each test with the task it
scores::

    @pytest.mark.task("nb1_forward_pass", points=1)
    def test_hand_values(answers, key):
        "Die von Hand berechneten Ausgaben."
        assert np.allclose(answers.get("hand_values"), key.get("hand_values")), "..."

Failure messages shown to students are the German texts after ``assert``. They
must never contain expected values; other exceptions are reported only by type.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlbmt.grading.answers import AnswerStore, MissingAnswer

GENERIC_FAILURE = "Die Antwort hat nicht das erwartete Format ({kind})."


def pytest_addoption(parser):
    group = parser.getgroup("dlbmt")
    group.addoption("--answers", help="answer store of the submission to grade")
    group.addoption("--key", help="answer store recorded from the source notebook")
    group.addoption("--report", help="where to write the JSON report")
    group.addoption("--secret", help="the course's secret file (seed of the held-out data)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "task(task_id, points, depends_on=()): the grade cell this test scores"
    )
    config._dlbmt_results = []


def _task_marker(item):
    marker = item.get_closest_marker("task")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.task(...) marker.")
    task_id = marker.args[0] if marker.args else marker.kwargs["task_id"]
    points = marker.kwargs.get("points", marker.args[1] if len(marker.args) > 1 else None)
    if points is None:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.task needs points=.")
    return task_id, float(points), tuple(marker.kwargs.get("depends_on", ()))


def _given_path(request, option: str) -> Path:
    """The path given with ``option``; without it the test is skipped (a grader run gives all)."""
    path = request.config.getoption(option)
    if not path:
        pytest.skip(f"no {option} given")
    return Path(path)


@pytest.fixture(scope="session")
def answer_store(request) -> AnswerStore:
    return AnswerStore(_given_path(request, "--answers"))


@pytest.fixture(scope="session")
def key_store(request) -> AnswerStore:
    return AnswerStore(_given_path(request, "--key"))


@pytest.fixture(scope="session")
def heldout_seed(request) -> int:
    """The course's secret seed: held-out data made with it is data no kernel ever had."""
    secret = _given_path(request, "--secret")
    return int(json.loads(secret.read_text(encoding="utf-8"))["heldout_seed"])


@pytest.fixture
def answers(request, answer_store):
    """The submission's recorded answers for the test's task."""
    return answer_store.task(_task_marker(request.node)[0])


@pytest.fixture
def key(request, key_store):
    """The answers recorded from the source notebook for the test's task."""
    return key_store.task(_task_marker(request.node)[0])


def _message(excinfo) -> str:
    if excinfo is None:
        return ""
    error = excinfo.value
    if isinstance(error, MissingAnswer):
        return str(error)
    if isinstance(error, AssertionError) and error.args and isinstance(error.args[0], str):
        return error.args[0]
    return GENERIC_FAILURE.format(kind=type(error).__name__)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "setup" and report.outcome != "passed" or report.when == "call":
        task_id, points, depends_on = _task_marker(item)
        passed = report.outcome == "passed"
        doc = (item.function.__doc__ or "").strip().splitlines()
        item.config._dlbmt_results.append(
            {
                "nodeid": item.nodeid,
                "task": task_id,
                "points": points,
                "depends_on": list(depends_on),
                "passed": passed,
                "check": doc[0] if doc else item.name,
                "message": "" if passed else _message(call.excinfo),
            }
        )


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--report")
    if path:
        payload = {"exitstatus": int(exitstatus), "tests": session.config._dlbmt_results}
        Path(path).write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
