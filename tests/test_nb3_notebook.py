"""Notebook 3 ("Grenzen"): its graders' thresholds and the facts its tasks rely on."""

from __future__ import annotations

import importlib.util

import nbformat
import numpy as np
import pytest
from course_tools import REPO

ASSIGNMENT = "03_grenzen"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _grader_module(name: str):
    path = REPO / "graders" / ASSIGNMENT / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"nb3_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(student: str) -> list:
    path = REPO / "examples" / "submissions" / student / ASSIGNMENT / NOTEBOOK
    return nbformat.read(path, as_version=4).cells


def test_typical_student_changes_only_answer_cells():
    reference, typical = _cells("reference"), _cells("typical")
    assert [c.id for c in reference] == [c.id for c in typical]
    for ref, typ in zip(reference, typical, strict=True):
        if not ref.metadata.get("nbgrader", {}).get("solution"):
            assert ref.source == typ.source, f"locked cell {ref.id} differs"


@pytest.fixture(scope="module")
def shipped():
    keras = pytest.importorskip("keras")
    from dlbmt.mri import load_bild
    from dlbmt.settings import data_path

    model = keras.models.load_model(data_path("mri/mri_model.keras"))
    images = np.stack(
        [load_bild("mri/mrt_tuil/train/sagittal/0002.npy"), load_bild("mri/mrt_blank/0008.npy")]
    )
    return model, images


def test_both_lab_images_peak_in_the_stamp_corner(shipped):
    # Task 4's truth: the "gesund" map of the unstamped Bild 2 also looks at the empty corner.
    from dlbmt.cam import pointing_game_hit, visualize_class_activation_map
    from dlbmt.mri import watermark_box

    model, images = shipped
    classes = np.argmax(model.predict(images, verbose=0), axis=1)
    assert classes.tolist() == [1, 0]
    for index in range(2):
        cam = visualize_class_activation_map(model, images, index, int(classes[index]))
        assert pointing_game_hit(cam, watermark_box())


def _upsample_nearest(raw: np.ndarray) -> np.ndarray:
    return np.kron(raw, np.ones((16, 16)))


def test_cam_threshold_accepts_nearest_neighbour_upsampling(shipped):
    from dlbmt.cam import visualize_class_activation_map

    graders = _grader_module("test_nb3_cam")
    model, images = shipped
    import keras

    features = keras.Model(model.input, model.get_layer("last_conv").output)(images)
    weights = model.get_layer("predictions").get_weights()[0]
    for index, klasse in ((0, 1), (1, 0)):
        raw = np.maximum(np.asarray(features)[index] @ weights[:, klasse], 0)
        nearest = _upsample_nearest(raw) / raw.max()
        expected = visualize_class_activation_map(model, images, index, klasse)
        assert graders._all_similar(nearest[None], expected[None])


def test_cam_threshold_rejects_the_other_class(shipped):
    from dlbmt.cam import visualize_class_activation_map

    graders = _grader_module("test_nb3_cam")
    model, images = shipped
    wrong = visualize_class_activation_map(model, images, 0, 0)
    expected = visualize_class_activation_map(model, images, 0, 1)
    assert not graders._all_similar(wrong[None], expected[None])


def test_audit_grader_rejects_share_called_abnormal_as_accuracy():
    graders = _grader_module("test_nb3_shortcut")
    key = {"gesund_ohne_stempel": 1.0, "gesund_mit_stempel": 0.0}
    share_abnormal = {"gesund_ohne_stempel": 0.0, "gesund_mit_stempel": 1.0}
    keys = tuple(key)
    assert graders._same(key, key, keys)
    assert not graders._same(share_abnormal, key, keys)
