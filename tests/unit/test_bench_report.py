"""What ``make bench`` prints about grading: every figure next to the target it is judged by."""

from __future__ import annotations

import sys

from dlbmt.tools import bench_grading
from dlbmt.tools.bench import print_grading


def _figures(demo: dict) -> dict:
    return {
        "cores": 2,
        "repeats": 2,
        "prepare_seconds": {"01_grundlagen": 1.3, "03_grenzen": 14.2},
        "overhead": [
            {
                "assignment": "01_grundlagen",
                "autograde_seconds": 25.8,
                "bare_seconds": 22.3,
                "overhead_percent": 15.7,
                "samples": {"autograde": [25.9, 25.8], "bare": [22.6, 22.0]},
            }
        ],
        "throughput": {
            "submissions": 6,
            "nbgrader_sequential_seconds": 170.0,
            "dlbmt_seconds": {2: 129.6},
            "speedup": {2: 1.31},
            "samples": {"nbgrader": [166.6, 173.4], "workers_2": [127.5, 131.7]},
        },
        "demo": demo,
    }


def test_each_grading_figure_is_printed_with_its_target(capsys):
    print_grading(_figures({"seconds": 225.8}))
    printed = capsys.readouterr().out
    assert "made once per course before the measurements below: 01_grundlagen 1.3 s, " in printed
    assert "25.8 s vs bare nbconvert 22.3 s (+15.7 %, target +5 %" in printed
    assert "129.6 s (1.31x; target for 2 workers 1.8x" in printed
    assert "make demo after set-up" in printed and "225.8 s (target 240 s)" in printed


def test_a_skipped_demo_says_why(capsys):
    print_grading(_figures({"skipped": "needs make"}))
    assert "make demo: skipped (needs make)" in capsys.readouterr().out


def test_the_demo_is_skipped_outside_a_virtual_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    figures = bench_grading.demo(object(), tmp_path / "demo")
    assert "virtual environment" in figures["skipped"]
    assert not (tmp_path / "demo").exists()


def test_a_lesson_figure_out_of_its_band_is_printed_and_fails_the_bench(monkeypatch, capsys):
    from dlbmt.tools import bench
    from dlbmt.tools.bench_lessons import Band

    def measured(value):
        def bench_assignment(course, assignment):
            return {
                "assignment": assignment, "reference_seconds": 30.0, "budget_seconds": 120,
                "within_budget": True, "sandboxed_recording_seconds": 29.0,
                "overhead_percent": -3.3, "metrics": {},
                "lesson": [Band("stamped abnormal knees found", value, low=0.9).as_dict()],
            }  # fmt: skip

        return bench_assignment

    parts = {"assignments": ["03_grenzen"], "grading": False, "margins": False, "scale": False}
    monkeypatch.setattr(bench, "bench_assignment", measured(0.95))
    assert bench.run_bench(None, **parts) is True
    assert "lesson: stamped abnormal knees found 0.95 (band >= 0.9, ok)" in capsys.readouterr().out
    monkeypatch.setattr(bench, "bench_assignment", measured(0.5))
    assert bench.run_bench(None, **parts) is False
    assert "0.5 (band >= 0.9, OUT OF BAND)" in capsys.readouterr().out
