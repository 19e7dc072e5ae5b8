"""Notebook 3 ("Grenzen"): its graders' thresholds and the facts its tasks rely on."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys

import nbformat
import numpy as np
import pytest
from course_tools import REPO

ASSIGNMENT = "03_grenzen"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
GRADERS = REPO / "graders" / ASSIGNMENT


def _grader_module(name: str):
    # The graders import their helper module by plain name, as pytest does in the sandbox.
    if str(GRADERS) not in sys.path:
        sys.path.insert(0, str(GRADERS))
    path = GRADERS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"nb3_graders_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(student: str) -> list:
    path = REPO / "examples" / "submissions" / student / ASSIGNMENT / NOTEBOOK
    return nbformat.read(path, as_version=4).cells


def _notebook(folder: str) -> list:
    return nbformat.read(REPO / folder / ASSIGNMENT / NOTEBOOK, as_version=4).cells


def _source(grade_id: str) -> str:
    for cell in _notebook("source"):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


def test_typical_student_changes_only_answer_cells():
    reference, typical = _cells("reference"), _cells("typical")
    assert [c.id for c in reference] == [c.id for c in typical]
    for ref, typ in zip(reference, typical, strict=True):
        if not ref.metadata.get("nbgrader", {}).get("solution"):
            assert ref.source == typ.source, f"locked cell {ref.id} differs"


def test_header_table_lists_every_graded_cell_with_its_points():
    cells = _notebook("source")
    points = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    rows = re.findall(r"^\| \d+ \| .*\(`(nb3_\w+)`\).* \| (\d+) \|$", cells[0].source, re.M)
    assert {grade_id: int(p) for grade_id, p in rows} == points
    total = re.search(r"\*\*Summe\*\* \| \*\*(\d+)\*\*", cells[0].source)
    assert total and int(total.group(1)) == sum(points.values()) == 28


def _assigned(source: str, name: str):
    """The literal assigned to ``name`` in a cell."""
    line = next(line for line in source.splitlines() if line.startswith(f"{name} = "))
    return ast.literal_eval(line.split(" = ", 1)[1])


def test_hidden_cells_probe_the_knees_that_the_graders_regenerate():
    heldout = _grader_module("nb3_heldout")
    cam = _source("nb3_cam")
    assert f"_make_cases(2, 2, {heldout.CAM_PROBE_SEED}, 0.5, 0.5)" in cam
    assert _assigned(cam, "_hidden_pairs") == list(heldout.CAM_PROBE_PAIRS)
    gradcam = _source("nb3_gradcam")
    assert f"_make_cases(2, 2, {heldout.GRADCAM_PROBE_SEED}, 0.5, 0.5)" in gradcam
    probes = {layer: list(pairs) for layer, pairs in heldout.GRADCAM_PROBES.items()}
    assert _assigned(gradcam, "_probes") == probes


def test_notebook_uses_no_solution_from_any_package():
    text = "\n".join(cell.source for cell in _notebook("source"))
    for name in ("dlbmt.grading", "dlbmt.tools", "load_bild", "visualize_class_activation_map"):
        assert name not in text, name
    assert "grad_cam(" not in text.replace("mein_grad_cam(", "")


def test_seed_advice_of_the_retraining_is_true():
    from dlbmt import mri
    from dlbmt.tools.recipes import mri as recipe

    text = _source("nb3_fix_retrain_intro")
    assert recipe.TRAIN_SEED == 1 and "Nehmen Sie nicht 1 " in text
    audit_seeds = sorted(mri.SEED_AUDIT * 100 + group for group in range(4))
    assert audit_seeds == [200, 201, 202, 203] and "nicht 200 bis 203" in text


def test_run_only_cells_name_the_open_task():
    # prepare_notebook() (first cell) shows a NotImplementedError as one German line.
    assert "prepare_notebook()" in _source("nb3_imports")
    for grade_id, name, task in (
        ("nb3_show_images", "im_array", "Aufgabe 1:"),
        ("nb3_fix_compare", "meine_cam", "Aufgabe 3:"),
        ("nb3_fix_compare", "model_neu", "Aufgabe 8b:"),
    ):
        source = _source(grade_id)
        guard = f'if "{name}" not in globals():\n    raise NotImplementedError('
        assert f'{guard}"Bearbeiten Sie zuerst {task}' in source, (grade_id, name)


def test_what_students_read_does_not_name_the_answer_of_aufgabe_6():
    text = "\n".join(cell.source for cell in _notebook("release")).lower()
    for word in ("shortcut", "clever", "confounder", "störmerkmal", "abkürzung", "nie betrachtet"):
        assert word not in text, word


def test_knee_images_are_called_generated():
    assert "Die Bilder sind generiert, keine echten Aufnahmen." in _source("nb3_intro")
    assert "show_mri_examples()" in _source("nb3_show_examples")


@pytest.fixture(scope="module")
def heldout():
    pytest.importorskip("keras")
    return _grader_module("nb3_heldout")


def test_both_lab_images_peak_in_the_stamp_corner(heldout):
    # Task 4's truth: the "gesund" map of the unstamped Bild 2 also looks at the empty corner.
    classes = heldout.predicted_classes(heldout.shipped_model(), heldout.lab_images())
    assert classes.tolist() == [1, 0]
    assert heldout.true_regions() == ("stempelecke", "stempelecke")


def test_prepared_shipped_model_figures_are_the_reference_functions_figures(
    heldout, tmp_path, monkeypatch
):
    from dlbmt.grading.prepared import PREPARED_VARIABLE
    from dlbmt.grading.references import grad_cam

    heldout.SHIPPED_MODEL_FIGURES.store(tmp_path)
    monkeypatch.setenv(PREPARED_VARIABLE, str(tmp_path))
    figures = heldout.SHIPPED_MODEL_FIGURES.get()
    model, images = heldout.shipped_model(), heldout.lab_images()
    assert figures["lab_classes"].tolist() == [1, 0]
    for name, index, layer in heldout.LAB_GRAD_CAMS:
        expected = grad_cam(model, images, index, int(figures["lab_classes"][index]), layer)
        np.testing.assert_allclose(figures[name], expected, atol=1e-6)
    probes = heldout.probe_images(heldout.GRADCAM_PROBE_SEED)
    (index, klasse), *_ = heldout.GRADCAM_PROBES[heldout.EARLY_CONV]
    np.testing.assert_allclose(
        figures[f"grad_cam_probes_{heldout.EARLY_CONV}"][0],
        grad_cam(model, probes, index, klasse, heldout.EARLY_CONV),
        atol=1e-6,
    )
    # The shipped model learned the stamp: it finds few abnormal knees without one.
    assert figures["audit_found"] <= 0.3 and figures["audit_pointing_game"] >= 0.8


def test_cam_threshold_accepts_nearest_neighbour_upsampling(heldout):
    import keras

    from dlbmt.grading.references import class_activation_map

    graders = _grader_module("test_nb3_cam")
    model, images = heldout.shipped_model(), heldout.lab_images()
    features = keras.Model(model.input, model.get_layer("last_conv").output)(images)
    weights = model.get_layer("predictions").get_weights()[0]
    for index, klasse in ((0, 1), (1, 0)):
        raw = np.maximum(np.asarray(features)[index] @ weights[:, klasse], 0)
        nearest = np.kron(raw, np.ones((16, 16))) / raw.max()
        expected = class_activation_map(model, images, index, klasse)
        assert graders._similar(nearest, expected)


def test_cam_threshold_rejects_the_other_class(heldout):
    from dlbmt.grading.references import class_activation_map

    graders = _grader_module("test_nb3_cam")
    model, images = heldout.shipped_model(), heldout.lab_images()
    wrong = class_activation_map(model, images, 0, 0)
    expected = class_activation_map(model, images, 0, 1)
    assert not graders._similar(wrong, expected)


def test_grad_cam_threshold_rejects_cam_given_as_grad_cam_of_an_earlier_layer(heldout):
    from dlbmt.grading.references import class_activation_map, grad_cam

    graders = _grader_module("test_nb3_cam")
    model, images = heldout.shipped_model(), heldout.lab_images()
    cam = class_activation_map(model, images, 0, 1)
    assert graders._similar(cam, grad_cam(model, images, 0, 1, layer_name="last_conv"))
    assert not graders._similar(cam, grad_cam(model, images, 0, 1, layer_name=heldout.EARLY_CONV))


def test_empty_reference_map_accepts_only_an_empty_map():
    graders = _grader_module("test_nb3_cam")
    empty = np.zeros((256, 256))
    assert graders._similar(np.zeros((256, 256), np.float32), empty)
    assert not graders._similar(np.full((256, 256), np.nan), empty)
    assert not graders._similar(np.eye(256), empty)


def test_audit_subset_probe_keeps_every_subgroup():
    from dlbmt.mri import load_audit_set

    hidden = _source("nb3_audit")
    assert "_fresh_table.sample(n=48, random_state=5)" in hidden
    subset = load_audit_set()[1].sample(n=48, random_state=5)
    assert subset.groupby(["label", "stamped"]).size().min() >= 5


def test_audit_grader_rejects_share_called_abnormal_as_accuracy():
    graders = _grader_module("test_nb3_shortcut")
    key = {"gesund_ohne_stempel": 1.0, "gesund_mit_stempel": 0.0}
    share_abnormal = {"gesund_ohne_stempel": 0.0, "gesund_mit_stempel": 1.0}
    keys = tuple(key)
    assert graders._same(key, key, keys)
    assert not graders._same(share_abnormal, key, keys)


def test_heldout_knees_are_balanced_and_depend_on_the_seed(heldout):
    images, labels, stamped = heldout.heldout_knees(123, per_group=2)
    assert images.shape == (8, 256, 256, 1) and images.dtype == np.float32
    for label in (0, 1):
        for stamp in (0, 1):
            assert np.sum((labels == label) & (stamped == stamp)) == 2
    other, _, _ = heldout.heldout_knees(124, per_group=2)
    assert not np.array_equal(images, other)


def test_shipped_model_fails_the_retraining_rule(heldout):
    model = heldout.shipped_model()
    figures = heldout.fix_figures(model, *heldout.heldout_knees(99, per_group=6))
    assert not heldout.finds_the_knees(figures)
    assert not heldout.looks_at_the_knee(figures)
