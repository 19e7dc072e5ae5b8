"""The course on imported data: download -> import -> train -> import again -> release -> grade.

An instructor's documented path (docs/real-data.md) with downloads in the real
formats, a Kermany OCT2017 JPEG tree and an MRNet v1.0 ``.npy`` tree, whose
images come from the course's generators with other seeds (tests/phantom_downloads.py).
The notebooks and graders are the unchanged ones; the answer keys are recorded
again by ``dlbmt autograde`` because the manifest changed. Every example
submission graded here must get exactly the points it gets on the generated data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_tools import copy_course, gradebook_scores, run_dlbmt, submit_example
from phantom_downloads import write_kermany, write_mrnet

from dlbmt import mri
from dlbmt import oct as oct_module
from dlbmt.grading.cells import grade_id
from dlbmt.grading.course import Course
from dlbmt.grading.keys import key_is_current
from dlbmt.settings import DATA_DIR_VARIABLE, MANIFEST_NAME

ASSIGNMENTS = ("02_anwendung", "03_grenzen")
REGIONS_TASK = "nb3_where_looks"
# Full marks, zero, and a plausible wrong answer that loses points in several tasks.
STUDENTS = ("reference", "untouched", "wrong_b")
# As many as the recipe takes from generated knees, so that its figures compare like for like
# (with 150 per class the stamp was learned as well, but the pointing game fell to 0.53).
MRI_TRAINING_PER_CLASS = 300


@pytest.fixture(scope="module")
def imported_course(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    kermany = write_kermany(downloads / "OCT2017")
    # Per label: the example folders, the default audit set, and the shipped model's training.
    per_label = 10 + 2 * mri.AUDIT_PER_GROUP + MRI_TRAINING_PER_CLASS
    mrnet = write_mrnet(downloads / "MRNet-v1.0", per_label)
    course = copy_course(tmp_path_factory.mktemp("imported"))
    imports = (("data", "import", "kermany", str(kermany)), ("data", "import", "mrnet", str(mrnet)))
    logs = [run_dlbmt(course, *command).stdout for command in imports]
    run_dlbmt(course, "train", "oct")
    run_dlbmt(course, "train", "mri")
    # Again, as the first import's report says: the real Bild 1-4 back, the new models recorded.
    logs += [run_dlbmt(course, *command).stdout for command in imports]
    verify = run_dlbmt(course, "data", "verify").stdout
    # As docs/real-data.md asks: the regions that the source notebook states as constants are
    # read off the new maps; the reference student, who reads them right, states the same.
    regions = heatmap_regions(course)
    state_regions(course / "source" / "03_grenzen" / "03_grenzen.ipynb", regions)
    state_regions(example(course, "reference"), regions)
    run_dlbmt(course, "release")
    for student in STUDENTS:
        for assignment in ASSIGNMENTS:
            submit_example(course, student, assignment)
    grading = run_dlbmt(course, "autograde", "--workers", "2", *ASSIGNMENTS).stdout
    return {
        "root": course,
        "regions": regions,
        "logs": logs,
        "verify": verify,
        "grading": grading,
        "scores": gradebook_scores(course),
    }


def heatmap_regions(course: Path) -> list[str]:
    """Where the shipped model's heat maps of Bild 1 and 2 peak, on the course's data.

    The instructor looks at the maps; the graders' own rule stands in for the eye
    here. A subprocess, because the graders' module caches the maps of the data it
    saw first.
    """
    code = "import json, nb3_heldout; print(json.dumps(nb3_heldout.true_regions()))"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=course / "graders" / "03_grenzen",
        env={**os.environ, DATA_DIR_VARIABLE: str(course / "data")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def example(course: Path, student: str) -> Path:
    return course / "examples" / "submissions" / student / "03_grenzen" / "03_grenzen.ipynb"


def state_regions(path: Path, regions: list[str]) -> None:
    """Write ``regions`` into the notebook's answer to nb3_where_looks."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if grade_id(c) == "nb3_where_looks_answer")
    for number, region in enumerate(regions, start=1):
        cell.source, count = re.subn(
            rf'^region_bild_{number} = ".*"$', f'region_bild_{number} = "{region}"',
            cell.source, flags=re.MULTILINE,
        )  # fmt: skip
        assert count == 1, cell.source
    nbformat.write(notebook, path)


def stated_regions(course: Path, student: str) -> list[str]:
    text = example(course, student).read_text(encoding="utf-8")
    return re.findall(r'region_bild_\d = \\"(\w+)\\"', text)


def test_import_reports_name_the_training_and_the_keys_as_next_steps(imported_course):
    first_kermany, first_mrnet, _, _ = imported_course["logs"]
    assert "`dlbmt train oct`" in first_kermany
    assert "`dlbmt key 02_anwendung`" in first_kermany
    assert "`dlbmt train mri`" in first_mrnet
    assert "`dlbmt key 03_grenzen`" in first_mrnet


def test_after_training_and_importing_again_only_the_optional_margins_are_stale(imported_course):
    # `dlbmt margins --record` (10 seeds of three approaches) is an optional step.
    optional = f"{oct_module.EXPERIMENT_PATH}: older than the imported data"
    for log in imported_course["logs"][2:]:
        assert "older than the imported data" not in log.replace(optional, "")
        assert "missing; run" not in log


def test_the_data_the_notebooks_ran_on_is_the_imported_data(imported_course):
    course = imported_course["root"]
    manifest = json.loads((course / "data" / MANIFEST_NAME).read_text(encoding="utf-8"))
    made_by = {item["path"]: item["made_by"] for item in manifest["files"]}
    imported = [
        oct_module.TRAIN_PATH,
        oct_module.TEST_PATH,
        *oct_module.SAMPLE_PNG_PATHS,
        mri.AUDIT_SLICES,
        f"{mri.TUIL_CASES}/0002.npy",
    ]
    for path in imported:
        assert made_by[path].startswith("imported from"), path
    assert made_by[oct_module.MODEL_PATH].startswith("recipe")
    assert "all data files match the manifest" in imported_course["verify"]


def test_the_shipped_knee_model_is_trained_on_the_downloads_other_cases(imported_course):
    course = imported_course["root"]
    quality = json.loads((course / "data" / mri.MODEL_QUALITY).read_text(encoding="utf-8"))
    training = quality["training"]
    assert training["data"].startswith("MRNet v1.0")
    assert training["n_images"] == 2 * MRI_TRAINING_PER_CLASS
    metadata = json.loads((course / "data" / mri.METADATA).read_text(encoding="utf-8"))
    in_data = set(metadata["source"]["volumes"].values()) | set(metadata["source"]["audit_slices"])
    assert not in_data & set(training["cases"])
    # The lesson holds on the imported knees: the model found the watermark, not the findings.
    as_is = quality["test"]["as_is"]
    assert as_is["accuracy_abnormal_stamped"] >= 0.9
    assert as_is["accuracy_abnormal_unstamped"] <= 0.3
    assert as_is["pointing_game_abnormal_stamped"] >= 0.8


def test_the_answer_keys_are_recorded_on_the_imported_data(imported_course):
    course = Course(imported_course["root"])
    for assignment in ASSIGNMENTS:
        assert key_is_current(course, assignment, assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_gets_its_points_of_the_generated_data(
    imported_course, expected_scores, assignment, student
):
    expected = dict(expected_scores[assignment][student])
    scores = imported_course["scores"][assignment][student]
    if assignment == "03_grenzen":
        # Where the maps peak depends on the data: one point per region that matches them.
        stated = stated_regions(imported_course["root"], student)
        truth = imported_course["regions"]
        expected[REGIONS_TASK] = sum(a == b for a, b in zip(stated, truth, strict=False))
    assert {task: scores[task] for task in expected} == expected


def test_the_stated_regions_of_the_examples_were_read_from_their_notebooks(imported_course):
    assert stated_regions(imported_course["root"], "reference") == imported_course["regions"]
    assert stated_regions(imported_course["root"], "wrong_b") == ["hintergrund", "knie"]
    assert stated_regions(imported_course["root"], "untouched") == []
