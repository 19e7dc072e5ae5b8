"""The shipped watermark-shortcut model of notebook 3 and its training recipe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlbmt import mri
from dlbmt.tools.recipes import mri as recipe

COURSE_DATA = Path(__file__).resolve().parents[1] / "data"


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


def test_bild_1_is_called_abnormal_and_bild_2_healthy(shipped):
    model, _ = shipped
    images = np.stack(
        [
            mri.load_bild(COURSE_DATA / "mri/mrt_tuil/train/sagittal/0002.npy"),
            mri.load_bild(COURSE_DATA / "mri/mrt_blank/0008.npy"),
        ]
    )
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    assert predicted.tolist() == [1, 0]


@pytest.mark.slow
def test_recipe_runs_in_smoke_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBMT_SMOKE", "1")
    record = recipe.train(tmp_path)
    assert record["smoke"] is True
    assert (tmp_path / mri.MODEL).is_file()
    saved = json.loads((tmp_path / mri.MODEL_QUALITY).read_text(encoding="utf-8"))
    assert saved["test"]["as_is"]["n_images"] == 16
    assert set(saved["test"]) == {"watermark_box_x0_y0_x1_y1", "as_is", "corner_masked"}
