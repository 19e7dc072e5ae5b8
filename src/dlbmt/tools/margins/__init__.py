"""Threshold margins: how far the graders' thresholds lie from what students hand in.

Some tasks are judged by a threshold on a network the student trained. For each
of them a module here (``nb1``, ``nb2``, ``nb3``) trains networks the way the
reference solution does and the way a typical wrong answer does, each with many
seeds, and judges every one with exactly the graders' rule. The reference
approach must pass for every seed and the wrong ones for none; the figures show
how much room there is. ``make bench`` prints them (``dlbmt bench``).

A module defines ``cases(course)``, returning a list of :class:`MarginCase`, or a
single case as module constants ``NAME``, ``THRESHOLD``, ``APPROACHES`` (approach ->
description) and a function ``run(seed, approach)``.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dlbmt.grading.course import Course

MODULES = ("nb1", "nb2", "nb3")


@dataclass(frozen=True)
class MarginCase:
    """One thresholded check and the approaches whose pass rate shows its margin.

    ``run(seed, approach)`` trains with that approach and seed and returns
    ``{"passed": bool, "figures": {name: number}}`` judged by the graders' rule.
    ``must_pass``: the approaches that must pass for every seed (the others for none).
    """

    name: str
    threshold: str
    approaches: dict[str, str]
    run: Callable[[int, str], dict]
    must_pass: tuple[str, ...] = ("reference",)
    seconds: dict = field(default_factory=dict)


def grader_module(course: Course, assignment: str, name: str):
    """A helper module of the graders (``graders/<assignment>/<name>.py``), loaded by path."""
    folder = str(course.graders / assignment)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def cases(course: Course) -> list[MarginCase]:
    found: list[MarginCase] = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"dlbmt.tools.margins.{name}")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "cases"):
            found += module.cases(course)
        else:
            found.append(
                MarginCase(module.NAME, module.THRESHOLD, dict(module.APPROACHES), module.run)
            )
    return found


def measure(course: Course, seeds: int, only: list[str] | None = None) -> list[dict]:
    """Run every case's approaches for ``seeds`` seeds; one row per case and approach."""
    rows = []
    for case in cases(course):
        if only and case.name not in only:
            continue
        for approach, description in case.approaches.items():
            results, started = [], time.monotonic()
            for seed in range(seeds):
                results.append(case.run(seed, approach))
            rows.append(
                {
                    "case": case.name,
                    "threshold": case.threshold,
                    "approach": approach,
                    "description": description,
                    "must_pass": approach in case.must_pass,
                    "passed": sum(bool(r["passed"]) for r in results),
                    "seeds": seeds,
                    "figures": _ranges([r["figures"] for r in results]),
                    "seconds_per_seed": round((time.monotonic() - started) / seeds, 1),
                }
            )
    return rows


def _ranges(figures: list[dict]) -> dict[str, tuple[float, float, float]]:
    """(min, median, max) of each figure over the seeds."""
    names = sorted({name for f in figures for name in f})
    ranges = {}
    for name in names:
        values = [float(f[name]) for f in figures if name in f]
        ranges[name] = (min(values), statistics.median(values), max(values))
    return ranges


def holds(rows: list[dict]) -> bool:
    """True when every must-pass approach passed every seed and every other none."""
    return all(row["passed"] == (row["seeds"] if row["must_pass"] else 0) for row in rows)


def format_rows(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        wanted = row["seeds"] if row["must_pass"] else 0
        mark = "ok" if row["passed"] == wanted else "MARGIN BROKEN"
        lines.append(
            f"{row['case']} [{row['approach']}] passes {row['passed']}/{row['seeds']} "
            f"(must be {wanted}/{row['seeds']}, {mark}; {row['seconds_per_seed']} s per seed)"
        )
        lines.append(f"    {row['description']}; rule: {row['threshold']}")
        for name, (low, median, high) in row["figures"].items():
            lines.append(f"    {name}: {low:.4g} .. {high:.4g} (median {median:.4g})")
    return "\n".join(lines)
