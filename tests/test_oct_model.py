"""The shipped OCT model reproduces its recorded quality; the recipe runs in smoke mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlbmt.oct import (
    CLASSES,
    MODEL_PATH,
    QUALITY_PATH,
    SAMPLES_PATH,
    TEST_PATH,
    evaluate,
    generate_oct_dataset,
    predict_classes,
    save_npz,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def shipped():
    import keras

    model = keras.models.load_model(DATA / MODEL_PATH, safe_mode=True)
    with np.load(DATA / TEST_PATH, allow_pickle=False) as archive:
        x_test, y_test = archive["x"], archive["y"]
    quality = json.loads((DATA / QUALITY_PATH).read_text(encoding="utf-8"))
    return model, x_test, y_test, quality


def test_shipped_model_reproduces_recorded_accuracy(shipped):
    model, x_test, y_test, quality = shipped
    # One test image of slack for float round-off on another CPU.
    assert evaluate(model, x_test, y_test) == pytest.approx(
        quality["accuracy"], abs=1.5 / len(y_test)
    )


def test_shipped_model_reproduces_recorded_confusion_matrix(shipped):
    from sklearn.metrics import confusion_matrix

    model, x_test, y_test, quality = shipped
    matrix = confusion_matrix(y_test, predict_classes(model, x_test), labels=[0, 1, 2, 3])
    assert np.abs(matrix - np.array(quality["confusion_matrix"])).sum() <= 2


def test_recorded_accuracy_is_in_the_range_of_the_lab(shipped):
    quality = shipped[3]
    assert 0.65 <= quality["accuracy"] <= 0.75
    assert set(quality["per_class_accuracy"]) == set(CLASSES)


def test_shipped_model_file_is_small():
    assert (DATA / MODEL_PATH).stat().st_size < 2_000_000


def test_samples_are_test_images_with_right_and_wrong_predictions(shipped):
    model, x_test, y_test, quality = shipped
    with np.load(DATA / SAMPLES_PATH, allow_pickle=False) as archive:
        images, labels, index = archive["images"], archive["labels"], archive["test_index"]
    assert np.array_equal(images, x_test[index]) and np.array_equal(labels, y_test[index])
    correct = predict_classes(model, images) == labels
    assert correct.any() and not correct.all()
    for number, entry in enumerate(quality["samples"]):
        with Image.open(DATA / "oct" / entry["file"]) as png:
            assert np.array_equal(np.asarray(png), images[number])
        assert entry["label"] == CLASSES[labels[number]]


@pytest.mark.slow
def test_recipe_runs_in_smoke_mode(tmp_path, monkeypatch):
    import keras

    from dlbmt.tools.recipes import oct as recipe

    monkeypatch.setenv("DLBMT_SMOKE", "1")
    (tmp_path / "oct").mkdir()
    for relative, seed in (("oct/oct_train.npz", 1), ("oct/oct_test.npz", 2)):
        x, y = generate_oct_dataset(2, seed=seed, size=96)
        save_npz(tmp_path / relative, x=x, y=y)
    record = recipe.train(tmp_path)
    assert record["smoke"] is True and record["epochs"] == 1
    assert 0.0 <= record["accuracy"] <= 1.0
    assert len(record["samples"]) == 4
    keras.models.load_model(tmp_path / MODEL_PATH, safe_mode=True)
    assert json.loads((tmp_path / QUALITY_PATH).read_text())["n_test"] == 8
