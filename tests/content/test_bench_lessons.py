"""The lesson figures ``make bench`` measures again: the shipped networks on the course data,
and the reference run's recordings, each judged against its band."""

from __future__ import annotations

import json

import pytest
from course_tools import REPO

from dlbmt.grading.course import Course
from dlbmt.tools.bench_lessons import GAIN_MIN, Band, lesson_bands

FIX_BEFORE = 0.27


def _recordings(root, augmented: float, fix_after: float):
    """An answer folder as the reference run leaves it, with the two recordings the bands read."""
    values = {
        ("nb2_experiment", "accuracy_augmented"): augmented,
        ("nb3_fix_retrain", "fix_numbers"): {
            "auffaellig_ohne_stempel_vorher": FIX_BEFORE,
            "auffaellig_ohne_stempel_nachher": fix_after,
            "pointing_game_vorher": 1.0,
            "pointing_game_nachher": 0.0,
        },
    }
    for (task, name), value in values.items():
        (root / task).mkdir(parents=True)
        (root / task / f"{name}.json").write_text(json.dumps({"value": value}), encoding="utf-8")
    return root


def test_band_says_whether_the_figure_is_inside():
    assert Band("a", 0.7, 0.65, 0.75).describe() == "a 0.7 (band 0.65-0.75, ok)"
    assert Band("b", 0.31, high=0.3).describe() == "b 0.31 (band <= 0.3, OUT OF BAND)"
    assert Band("c", 0.9, low=0.9).holds and not Band("c", 0.8999, low=0.9).holds
    assert Band("d", 0.5, 0.65, 0.75).as_dict()["holds"] is False


@pytest.mark.parametrize("assignment", ["02_anwendung", "03_grenzen"])
def test_the_course_data_keeps_every_lesson_in_its_band(tmp_path, assignment):
    pytest.importorskip("keras")
    answers = _recordings(tmp_path, augmented=0.925, fix_after=0.9)
    bands = lesson_bands(Course(REPO), assignment, answers)
    assert len(bands) >= 2
    assert all(band.holds for band in bands), [band.describe() for band in bands]


def test_a_reference_that_gains_nothing_breaks_its_band(tmp_path):
    pytest.importorskip("keras")
    course = Course(REPO)
    answers = _recordings(tmp_path, augmented=0.70, fix_after=FIX_BEFORE + GAIN_MIN / 2)
    for assignment in ("02_anwendung", "03_grenzen"):
        bands = lesson_bands(course, assignment, answers)
        broken = [band.figure for band in bands if not band.holds]
        assert broken == [band.figure for band in bands if "gain" in band.figure]
        assert len(broken) == 1


def test_an_assignment_without_a_lesson_figure_has_no_bands(tmp_path):
    assert lesson_bands(Course(REPO), "01_grundlagen", tmp_path) == []
