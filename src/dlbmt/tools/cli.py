"""``dlbmt``: the instructor's command-line tool for the course.

Every command works on the course folder that holds the working directory and
keeps plain ``nbgrader`` commands working on the same folder. Exit codes: 0 when
all went well, 1 when a check found something (the self-test, stale examples,
data that do not match the manifest, a broken budget or margin), 2 for a usage
error or a failure, with a sentence that says what to do.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dlbmt.errors import CourseError
from dlbmt.grading.commands import require_ok, run_module
from dlbmt.grading.course import Course


class CheckFailed(Exception):
    """A check ran and found something; the command exits with 1."""


def _assignments(course: Course, names: list[str]) -> list[str]:
    return [course.check_assignment(n) for n in names] if names else course.assignments()


def cmd_release(course: Course, args) -> None:
    for assignment in _assignments(course, args.assignments):
        require_ok(
            run_module("nbgrader", "generate_assignment", assignment, "--force", cwd=course.root),
            f"Releasing {assignment}",
        )
        print(f"released {assignment} -> release/{assignment}/")


def cmd_key(course: Course, args) -> None:
    from dlbmt.grading.keys import build_key

    for assignment in _assignments(course, args.assignments):
        for notebook in course.source_notebooks(assignment):
            build_key(course, assignment, notebook.stem)
            print(f"recorded the answer key of {assignment}/{notebook.name}")


def cmd_bundle(course: Course, args) -> None:
    from dlbmt.tools.bundle import bundle

    folder = bundle(course, assignment=args.assignment, target=Path(args.to).resolve())
    print(f"student bundle written to {folder}")


def cmd_autograde(course: Course, args) -> None:
    from dlbmt.grading.autograde import autograde
    from dlbmt.grading.status import Status

    if args.workers < 1:
        raise CourseError("--workers must be 1 or more.")
    jobs = []
    for assignment in _assignments(course, args.assignments):
        submitted = course.students(assignment)
        students = [s for s in args.student if s in submitted] if args.student else submitted
        if students:
            _require_released(course, assignment)
        jobs += [(assignment, student) for student in students]
    if not jobs:
        wanted = " ".join(args.assignments) or "any assignment"
        raise CourseError(
            f"No submissions for {wanted} in {course.submitted}. Collect them first "
            "(submitted/<student>/<assignment>/<notebook>.ipynb)."
        )
    started = time.monotonic()
    outcomes = autograde(
        course, jobs=jobs, workers=args.workers, force=args.force, scheduler=args.scheduler
    )
    seconds = time.monotonic() - started
    several = len({a for a, _ in jobs}) > 1
    for outcome in outcomes:
        who = f"{outcome.assignment}/{outcome.student}" if several else outcome.student
        if outcome.status.kept:
            note = "up to date" if outcome.status is Status.UP_TO_DATE else "merged from its record"
            print(f"{'kept':>7}  {who}  ({note})")
        else:
            status = "graded" if outcome.graded else "FAILED"
            print(f"{status:>7}  {who}  ({outcome.seconds:.0f} s)")
    graded = [o for o in outcomes if o.status is Status.GRADED]
    if graded:
        merged = sum(o.merge_seconds for o in graded)
        print(
            f"{len(graded)} submissions in {seconds:.1f} s ({seconds / len(graded):.2f} s each); "
            f"merging into the gradebook took {merged:.2f} s "
            f"({1000 * merged / len(graded):.1f} ms each)"
        )
    failed = [o for o in outcomes if not o.graded]
    for outcome in failed:
        print(f"\n{outcome.assignment}/{outcome.student}: {outcome.message}", file=sys.stderr)
    if failed:
        raise CourseError(f"{len(failed)} of {len(jobs)} submissions could not be graded.")


def _require_released(course: Course, assignment: str) -> None:
    from dlbmt.grading.gradebook import is_released

    if not is_released(course, assignment):
        raise CourseError(
            f"{assignment} is not in the gradebook yet. Run `dlbmt release {assignment}` "
            "first: it registers the assignment's grade cells with nbgrader."
        )


def cmd_selftest(course: Course, args) -> None:
    from dlbmt.tools.mutation import format_report, selftest

    report = selftest(
        course,
        assignments=_assignments(course, args.assignments),
        workers=args.workers,
        tasks=args.task,
    )
    print(format_report(report))
    if not report.ok:
        raise CheckFailed(
            "The graders' self-test found tasks whose loss differs from what they declare."
        )


def cmd_feedback(course: Course, args) -> None:
    from dlbmt.grading.gradebook import pending_manual_grades

    assignment = course.check_assignment(args.assignment)
    pending = pending_manual_grades(course, assignment)
    if pending:
        total = sum(pending.values())
        listed = ", ".join(f"{student} ({count})" for student, count in list(pending.items())[:10])
        more = f" and {len(pending) - 10} more" if len(pending) > 10 else ""
        answers = "1 answer" if total == 1 else f"{total} answers"
        students = "1 student" if len(pending) == 1 else f"{len(pending)} students"
        summary = (
            f"{answers} of {students} in {assignment} {'waits' if total == 1 else 'wait'} "
            f"for grading by hand: {listed}{more}."
        )
        if not args.provisional:
            raise CourseError(
                f"{summary} Grade them in formgrader first, or write provisional feedback with "
                f"`dlbmt feedback {assignment} --provisional` (marked as provisional)."
            )
        print(f"provisional feedback: {summary}")
    require_ok(
        run_module("nbgrader", "generate_feedback", assignment, "--force", cwd=course.root),
        "Feedback",
    )
    print(f"feedback written to feedback/<student>/{assignment}/")


def cmd_rubric(course: Course, args) -> None:
    import nbformat

    from dlbmt.grading.rubrics import rubrics

    for assignment in _assignments(course, args.assignments):
        for path in course.source_notebooks(assignment):
            for rubric in rubrics(nbformat.read(path, as_version=4)).values():
                print(f"== {assignment}/{path.stem}: {rubric.grade_id} ({rubric.points:g} points)")
                print(rubric.rubric)
                print(f"Musterlösung:\n{rubric.model_answer}\n")


def cmd_export(course: Course, args) -> None:
    require_ok(run_module("nbgrader", "export", "--to", args.to, cwd=course.root), "Export")
    print(f"grades exported to {args.to}")


def cmd_report(course: Course, args) -> None:
    from dlbmt.tools.report import score_table

    print(score_table(course, assignment=args.assignment))
    if args.html:
        from dlbmt.tools.class_report import write_report

        if not args.assignment:
            raise CourseError(
                "--html needs an assignment, e.g. `dlbmt report 01_grundlagen --html r.html`."
            )
        path = write_report(
            course, assignment=course.check_assignment(args.assignment), target=Path(args.html)
        )
        print(f"class report written to {path}")


def cmd_data(course: Course, args) -> None:
    from dlbmt.tools import manifest

    if args.action == "import":
        _import_data(course, args)
    elif args.action == "build":
        built = manifest.build_files(course.data, only=args.only)
        manifest.write_manifest(course.data)
        print(f"built {len(built)} files; manifest written")
        if not args.only or args.only.startswith(("mri", "oct")):
            from dlbmt.tools.phantom_montage import MONTAGE, write_montage

            # The montage shows what the generators draw; it changes only with them.
            print(f"wrote {write_montage(course.root / MONTAGE)}")
    elif args.action == "manifest":
        print(f"wrote {manifest.write_manifest(course.data)}")
    else:
        problems = manifest.verify(course.data)
        for problem in problems:
            print(problem)
        if problems:
            raise CheckFailed(f"{len(problems)} data files do not match the manifest.")
        print("all data files match the manifest")


def _import_data(course: Course, args) -> None:
    from dlbmt.tools import data_import

    target = Path(args.target).resolve() if args.target else course.data
    if args.source == "kermany":
        report = data_import.import_kermany(
            args.folder, target, seed=args.seed,
            train_per_class=args.train_per_class, test_per_class=args.test_per_class,
        )  # fmt: skip
    else:
        report = data_import.import_mrnet(
            args.folder, target, seed=args.seed, audit_per_group=args.audit_per_group
        )
    print("\n".join(report.lines()))


def cmd_train(course: Course, args) -> None:
    import importlib
    import json

    from dlbmt.tools.recipes import RECIPES

    if args.recipe not in RECIPES:
        raise CourseError(f"Unknown recipe {args.recipe!r}. Known: {', '.join(RECIPES)}.")
    record = importlib.import_module(f"dlbmt.tools.recipes.{args.recipe}").train(course.data)
    print(json.dumps(record, indent=1, ensure_ascii=False))


def cmd_examples(course: Course, args) -> None:
    from dlbmt.tools.examples import update_examples

    stale = update_examples(course, write=args.update)
    for relative in stale:
        print(("updated " if args.update else "stale ") + str(relative))
    if stale and not args.update:
        raise CheckFailed(
            f"{len(stale)} example submissions are stale: run `dlbmt examples --update`."
        )
    if not stale:
        print("all derived example submissions are current")


def cmd_bench(course: Course, args) -> None:
    from dlbmt.tools.bench import run_bench

    if args.repeats < 1 or args.seeds < 1:
        raise CourseError("--repeats and --seeds must be 1 or more.")
    ok = run_bench(
        course,
        assignments=_assignments(course, args.assignments),
        grading=not args.no_grading,
        margins=not args.no_margins,
        scale=not args.no_scale,
        repeats=args.repeats,
        seeds=args.seeds,
        json_path=Path(args.json) if args.json else None,
    )
    if not ok:
        raise CheckFailed("A notebook went over its time budget or a threshold margin broke.")


def cmd_margins(course: Course, args) -> None:
    from dlbmt.tools import margins

    if args.seeds < 1:
        raise CourseError("--seeds must be 1 or more.")
    if args.record:
        from dlbmt.tools import manifest
        from dlbmt.tools.margins import nb2

        nb2.record(course, args.seeds)
        manifest.write_manifest(course.data)
        print(f"{args.seeds} seeds measured; data/{nb2.EXPERIMENT_PATH} and the manifest written")
        return
    known = [case.name for case in margins.cases(course)]
    unknown = sorted(set(args.case or ()) - set(known))
    if unknown:
        raise CourseError(f"Unknown margin case {', '.join(unknown)}. Known: {', '.join(known)}.")
    rows = margins.measure(course, args.seeds, only=args.case)
    print(margins.format_rows(rows))
    if not margins.holds(rows):
        raise CheckFailed(
            "A threshold margin broke: an approach did not pass or fail as it should."
        )


# Commands that load or train networks.
USES_TENSORFLOW = ("data", "train", "bench", "margins")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlbmt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate release/ from source/ (nbgrader)")
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser(
        "bundle", help="write what students receive: release, data and the student package"
    )
    p.add_argument("assignment")
    p.add_argument("--to", default="bundle", help="folder for the bundle (default: bundle/)")
    p.set_defaults(run=cmd_bundle)

    p = sub.add_parser("key", help="record the answer key from the source notebooks")
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.set_defaults(run=cmd_key)

    p = sub.add_parser("autograde", help="grade submitted/<student>/<assignment> in the sandbox")
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument(
        "--workers", type=int, default=1,
        help="submissions graded at the same time on a local Dask cluster (default 1)",
    )  # fmt: skip
    p.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT",
        help="grade on an existing Dask cluster instead (workers must see the course folder)",
    )  # fmt: skip
    p.add_argument(
        "--force", action="store_true", help="regrade submissions that are up to date, too"
    )
    p.set_defaults(run=cmd_autograde)

    p = sub.add_parser(
        "selftest", help="check the graders: each task's stub must lose exactly its points"
    )
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.add_argument("--workers", type=int, default=2, help="notebooks executed at a time")
    p.add_argument("--task", action="append", help="only this task's mutant (repeatable)")
    p.set_defaults(run=cmd_selftest)

    p = sub.add_parser("feedback", help="write feedback HTML without hidden tests")
    p.add_argument("assignment")
    p.add_argument(
        "--provisional", action="store_true",
        help="write feedback although answers still wait for grading by hand (marked as such)",
    )  # fmt: skip
    p.set_defaults(run=cmd_feedback)

    p = sub.add_parser("rubric", help="print the rubric and model answer of every free-text task")
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.set_defaults(run=cmd_rubric)

    p = sub.add_parser("export", help="export the grades as CSV (nbgrader export)")
    p.add_argument("--to", default="grades.csv")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("report", help="print the score table per student and task")
    p.add_argument("assignment", nargs="?")
    p.add_argument("--html", help="also write the class report with plots to this file")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("data", help="build, verify or import data/ and its manifest")
    only = "only files whose path starts with this"
    # Accepted before the action too (`dlbmt data --only oct build`), as it always was.
    p.add_argument("--only", help=only)
    p.set_defaults(run=cmd_data)
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("build", help="run the generators and write the manifest")
    a.add_argument("--only", default=argparse.SUPPRESS, help=only)
    for action, text in (
        ("verify", "check data/ against the manifest"),
        ("manifest", "rewrite the manifest from the files"),
    ):
        a = actions.add_parser(action, help=text)
        a.add_argument("--only", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    a = actions.add_parser(
        "import",
        help="convert a real download (Kermany OCT2017, MRNet v1.0) into data/",
        description="Convert a data set that you downloaded by hand into the course's data/ "
        "layout and update the manifest. See docs/real-data.md.",
    )
    sources = a.add_subparsers(dest="source", required=True)
    k = sources.add_parser("kermany", help="Notebook 2's OCT files from Kermany OCT2017")
    k.add_argument("folder", help="the OCT2017 folder that holds train/ and test/")
    k.add_argument(
        "--train-per-class", type=int, metavar="N",
        help="scans per class in oct_train.npz (default: as many as the generated set)",
    )  # fmt: skip
    k.add_argument(
        "--test-per-class", type=int, metavar="N",
        help="scans per class in oct_test.npz (default: as many as the generated set)",
    )  # fmt: skip
    m = sources.add_parser("mrnet", help="Notebook 3's knee files from MRNet v1.0")
    m.add_argument("folder", help="the MRNet-v1.0 folder that holds train/, valid/ and the CSVs")
    m.add_argument(
        "--audit-per-group", type=int, metavar="N",
        help="audit cases per label x stamp group (default: as many as the generated set)",
    )  # fmt: skip
    for q in (k, m):
        q.add_argument(
            "--seed", type=int, default=0, metavar="N", help="chooses the cases (default 0)"
        )
        q.add_argument(
            "--target", metavar="DIR", help="the data folder to write (default: the course's data/)"
        )

    p = sub.add_parser("train", help="train a model that a notebook loads")
    p.add_argument("recipe")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser(
        "examples", help="check (or --update) the example submissions derived from source"
    )
    p.add_argument("--update", action="store_true", help="rewrite the stale ones")
    p.set_defaults(run=cmd_examples)

    p = sub.add_parser("bench", help="runtime figures, grading speed and threshold margins")
    p.add_argument("assignments", nargs="*", help="default: all assignments")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--no-grading", action="store_true", help="skip overhead and throughput")
    p.add_argument("--no-margins", action="store_true", help="skip the threshold margins")
    p.add_argument(
        "--no-scale", action="store_true", help="skip the scale benchmark (16-256 tiny submissions)"
    )
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs per compared figure")
    p.add_argument("--seeds", type=int, default=10, help="seeds per margin approach")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser(
        "margins", help="how often reference, alternative and wrong approaches pass, over seeds"
    )
    p.add_argument("--case", action="append", help="only this case (repeatable)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per approach (default 10)")
    p.add_argument(
        "--record", action="store_true",
        help="measure Notebook 2's retraining experiment and write the figures its text states "
        "(data/oct/oct_experiment.json) and the manifest",
    )  # fmt: skip
    p.set_defaults(run=cmd_margins)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # Warnings for the instructor read like the command's other messages.
    print(f"dlbmt: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _show_warning
    args = build_parser().parse_args(argv)
    # Importing data reads images and arrays only; TensorFlow would add seconds for nothing.
    if args.command in USES_TENSORFLOW and getattr(args, "action", None) != "import":
        from dlbmt.notebook import import_tensorflow_quietly

        # TensorFlow's start-up lines on stderr would read like an error of the command.
        import_tensorflow_quietly()
    try:
        args.run(Course.find(), args)
    except CheckFailed as failure:
        print(f"dlbmt: {failure}", file=sys.stderr)
        return 1
    except CourseError as error:
        print(f"dlbmt: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
