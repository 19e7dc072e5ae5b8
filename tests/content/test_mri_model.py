"""The shipped watermark-shortcut model of notebook 3 and its training recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from course_tools import REPO

from dlbmt import mri
from dlbmt.tools.recipes import mri as recipe

COURSE_DATA = REPO / "data"


@pytest.fixture(scope="module")
def shipped():
    import keras

    model_path, quality_path = COURSE_DATA / mri.MODEL, COURSE_DATA / mri.MODEL_QUALITY
    missing = [p.name for p in (model_path, quality_path) if not p.is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `dlbmt train mri`.")
    record = json.loads(quality_path.read_text(encoding="utf-8"))
    return keras.models.load_model(model_path), record


@pytest.fixture(scope="module")
def audit_figures(shipped):
    model, _ = shipped
    images, table = mri.load_audit_set(COURSE_DATA)
    return recipe.audit_figures(model, images, table)


def _assert_same_figures(measured: dict, recorded: dict) -> None:
    assert measured.keys() == recorded.keys()
    for key, value in recorded.items():
        assert measured[key] == pytest.approx(value, abs=1e-4), key


def test_shipped_model_reproduces_its_quality_record(shipped, audit_figures):
    _, record = shipped
    assert audit_figures["watermark_box_x0_y0_x1_y1"] == list(mri.watermark_box())
    _assert_same_figures(audit_figures["as_is"], record["test"]["as_is"])
    _assert_same_figures(audit_figures["corner_masked"], record["test"]["corner_masked"])


def test_shipped_model_relies_on_the_watermark(shipped):
    figures = shipped[1]["test"]["as_is"]
    assert figures["accuracy_abnormal_stamped"] >= 0.9
    assert figures["accuracy_abnormal_unstamped"] <= 0.3
    assert figures["share_normal_stamped_called_abnormal"] > 0.5


def test_shipped_model_points_at_the_watermark(shipped):
    figures = shipped[1]["test"]["as_is"]
    assert figures["pointing_game_abnormal_stamped"] >= 0.8


def test_shipped_model_has_a_gap_head_for_cam(shipped):
    import keras

    model, _ = shipped
    names = [layer.name for layer in model.layers]
    assert names.index("last_conv") < names.index("gap") < names.index("predictions")
    assert isinstance(model.get_layer("gap"), keras.layers.GlobalAveragePooling2D)
    assert model.input_shape == (None, 256, 256, 1)
    assert model.output_shape == (None, 2)


def test_shipped_model_file_is_small():
    path = COURSE_DATA / mri.MODEL
    if not path.is_file():
        pytest.fail(f"{path.name} missing: run `dlbmt train mri`.")
    assert path.stat().st_size < 1.5 * 1024 * 1024


def _middle_slice_as_input(relative: str) -> np.ndarray:
    volume = np.load(COURSE_DATA / relative)
    return volume[len(volume) // 2].astype(np.float32)[..., None] / 255


def test_bild_1_is_called_abnormal_and_bild_2_healthy(shipped):
    model, _ = shipped
    images = np.stack(
        [
            _middle_slice_as_input("mri/mrt_tuil/train/sagittal/0002.npy"),
            _middle_slice_as_input("mri/mrt_blank/0008.npy"),
        ]
    )
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    assert predicted.tolist() == [1, 0]


def test_build_model_has_the_shipped_architecture(shipped):
    # Aufgabe 8b retrains "dasselbe Netz"; the graders compare layer types and weight shapes.
    from dlbmt.mri_model import build_model

    model, _ = shipped

    def layout(network):
        return [
            (type(layer).__name__, [tuple(w.shape) for w in layer.weights])
            for layer in network.layers
        ]

    assert layout(build_model()) == layout(model)


def test_training_set_follows_the_stamp_rates():
    from dlbmt.mri_model import training_set

    images, labels = training_set(4, seed=5, stamp_rate_normal=0.5, stamp_rate_abnormal=0.5)
    assert images.shape == (8, 256, 256, 1) and images.dtype == np.float32
    assert sorted(labels.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_recipe_runs_in_smoke_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBMT_SMOKE", "1")
    record = recipe.train(tmp_path)
    assert record["smoke"] is True
    assert (tmp_path / mri.MODEL).is_file()
    saved = json.loads((tmp_path / mri.MODEL_QUALITY).read_text(encoding="utf-8"))
    assert saved["test"]["as_is"]["n_images"] == 16
    assert set(saved["test"]) == {"watermark_box_x0_y0_x1_y1", "as_is", "corner_masked"}
