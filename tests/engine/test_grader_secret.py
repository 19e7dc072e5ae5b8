"""The graders read the course's secret seed, although the secret file is the instructor's alone.

The held-out data of every notebook comes from that seed. The course keeps the
file readable by its owner only; the graders run as the sandbox's unprivileged
user and must still get the seed (a private copy), or every held-out check fails.
"""

from __future__ import annotations

import stat

from tiny_course import ASSIGNMENT, tiny_course_with_graders

from dlbmt.grading.course import Course
from dlbmt.grading.graders import run_graders

SEED_CHECK = '''
import pytest


@pytest.mark.task("tiny_value", points=1)
def test_the_graders_get_the_seed(heldout_seed):
    """Der Grader kennt das Geheimnis des Kurses."""
    assert isinstance(heldout_seed, int) and heldout_seed >= 0
'''


def test_graders_get_the_seed_of_a_secret_only_the_instructor_can_read(tmp_path):
    course = tiny_course_with_graders(tmp_path, "test_seed.py", SEED_CHECK)
    secret = course.secret_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    results = run_graders(course, ASSIGNMENT, tmp_path / "answers", tmp_path / "key", threads=1)
    check = results["tiny_value"].checks[0]
    assert check["passed"], check["message"]
    # The course's file is untouched: still the owner's alone.
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def _read_secret(root) -> str:
    return Course(root).secret_file().read_text(encoding="utf-8")


def test_processes_that_make_the_secret_at_once_all_get_the_same(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=6) as pool:
        secrets_read = set(pool.map(_read_secret, [tmp_path] * 24))
    assert len(secrets_read) == 1
    assert sorted(p.name for p in (tmp_path / ".grading").iterdir()) == ["secret.json"]
