"""The shipped OCT model reproduces its recorded quality; Bild 1-4 are fresh scans whose classes
only the recipe (instructor side) and the answer key know; the recipe runs in smoke mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from course_tools import REPO
from PIL import Image

from dlbmt.oct import (
    CLASSES,
    EXPERIMENT_PATH,
    IMAGE_SIZE,
    MODEL_PATH,
    QUALITY_PATH,
    SAMPLE_PNG_PATHS,
    TEST_PATH,
    TRAIN_PATH,
    evaluate,
    generate_oct_dataset,
    load_oct_samples,
    predict_classes,
    save_npz,
)
from dlbmt.tools.recipes import oct as recipe

DATA = REPO / "data"


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


def _scans(relative: str) -> np.ndarray:
    with np.load(DATA / relative, allow_pickle=False) as archive:
        return archive["x"]


def test_samples_are_neither_test_nor_training_scans():
    samples = load_oct_samples()
    assert samples.shape == (4, IMAGE_SIZE, IMAGE_SIZE) and samples.dtype == np.uint8
    for relative in (TEST_PATH, TRAIN_PATH):
        shipped = _scans(relative).reshape(-1, IMAGE_SIZE * IMAGE_SIZE)
        for image in samples:
            assert not (shipped == image.reshape(1, -1)).all(axis=1).any(), relative


def test_data_holds_nothing_that_tells_the_classes_of_the_samples():
    oct_files = sorted(p.name for p in (DATA / "oct").iterdir())
    assert oct_files == sorted(
        [Path(p).name for p in SAMPLE_PNG_PATHS]
        + [Path(p).name for p in (MODEL_PATH, QUALITY_PATH, TEST_PATH, TRAIN_PATH, EXPERIMENT_PATH)]
        + ["oct_drusen.png"]
    )
    quality = json.loads((DATA / QUALITY_PATH).read_text(encoding="utf-8"))
    assert "samples" not in quality
    for relative in SAMPLE_PNG_PATHS:
        with Image.open(DATA / relative) as png:
            assert png.mode == "L" and not png.info, relative


def test_shipped_model_gets_the_samples_right_and_wrong_as_planned(shipped):
    model = shipped[0]
    truth = [CLASSES.index(name) for name in recipe.sample_truth()]
    correct = (predict_classes(model, load_oct_samples()) == truth).tolist()
    assert correct == [right for _, right, _ in recipe.SAMPLE_PLAN]


def test_shipped_model_is_sure_of_its_wrong_answers(shipped):
    """The answer key of nb2_oct_explain says so."""
    probabilities = shipped[0].predict(load_oct_samples()[..., None].astype("float32"), verbose=0)
    wrong = [not right for _, right, _ in recipe.SAMPLE_PLAN]
    assert (probabilities.max(axis=1)[wrong] >= 0.9).all()


def test_recipe_draws_the_shipped_samples_again(shipped):
    assert np.array_equal(recipe.draw_samples(shipped[0]), load_oct_samples())


def test_answer_key_diagnoses_are_the_recipe_truth():
    import ast

    import nbformat

    source = DATA.parent / "source" / "02_anwendung" / "02_anwendung.ipynb"
    cell = next(
        c
        for c in nbformat.read(source, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "nb2_oct_diagnosis_answer"
    )
    namespace: dict = {}
    exec(compile(ast.parse(cell.source), "answer", "exec"), {"CLASSES": CLASSES}, namespace)  # noqa: S102
    assert namespace["diagnosen"] == recipe.sample_truth()


def test_sample_seed_is_neither_in_the_student_package_nor_in_data():
    import dlbmt

    seed = str(recipe.SAMPLE_SEED)
    hex_seed = f"{recipe.SAMPLE_SEED:x}"
    package = Path(dlbmt.__file__).parent
    for path in [*package.glob("*.py"), *DATA.rglob("*.json")]:
        text = path.read_text(encoding="utf-8").lower().replace("_", "")
        assert seed not in text and hex_seed not in text, path


def test_recipe_runs_in_smoke_mode(tmp_path, monkeypatch):
    import keras

    from dlbmt.tools.recipes import oct as recipe

    monkeypatch.setenv("DLBMT_SMOKE", "1")
    (tmp_path / "oct").mkdir()
    for relative, seed in (("oct/oct_train.npz", 1), ("oct/oct_test.npz", 2)):
        x, y = generate_oct_dataset(2, seed=seed)
        save_npz(tmp_path / relative, x=x, y=y)
    record = recipe.train(tmp_path)
    assert record["smoke"] is True and record["epochs"] == 1
    assert 0.0 <= record["accuracy"] <= 1.0
    assert "samples" not in record
    assert all((tmp_path / relative).is_file() for relative in SAMPLE_PNG_PATHS)
    keras.models.load_model(tmp_path / MODEL_PATH, safe_mode=True)
    assert json.loads((tmp_path / QUALITY_PATH).read_text())["n_test"] == 8
