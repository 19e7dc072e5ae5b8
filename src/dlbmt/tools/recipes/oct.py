"""Recipe for ``data/oct/oct_model.keras``: the lab's CNN trained on the small OCT training set.

The training set holds only right eyes without tilt from one device at one
vertical position; the held-out test set varies all of these. The model is
trained honestly (seed 0, 20 epochs) and typically reaches about 70 % on the
test set because of that gap, not because of a flaw in the network.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from dlbmt.errors import CourseError
from dlbmt.oct import (
    CLASSES,
    MODEL_PATH,
    QUALITY_PATH,
    SAMPLE_PNG_PATHS,
    TEST_PATH,
    TRAIN_PATH,
    predict_classes,
    train_oct_model,
    write_samples,
)
from dlbmt.settings import pick, smoke_mode
from dlbmt.tools.recipes import limit_tensorflow_threads

SEED = 0
EPOCHS = 20
# Bild 1-4: whether the shipped model should get each one right.
SAMPLE_PATTERN = (True, False, True, False)


def _load(data_dir: Path, relative: str) -> tuple[np.ndarray, np.ndarray]:
    path = data_dir / relative
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["x"], archive["y"]
    except (OSError, KeyError, ValueError) as error:
        raise CourseError(
            f"The OCT recipe cannot read {path} ({error}). Run `dlbmt data build` first."
        ) from None


def choose_samples(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Test indices for Bild 1-4 following SAMPLE_PATTERN, each from another class if possible."""
    chosen: list[int] = []
    for wanted in SAMPLE_PATTERN:
        candidates = [
            i
            for i in range(len(labels))
            if i not in chosen and (predicted[i] == labels[i]) == wanted
        ]
        fresh = [i for i in candidates if labels[i] not in labels[chosen]]
        pool = fresh or candidates or [i for i in range(len(labels)) if i not in chosen]
        chosen.append(pool[0])
    return np.asarray(chosen, dtype=np.int64)


def quality_record(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Overall accuracy, per-class accuracy (recall) and confusion matrix (rows = true class)."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    matrix = confusion_matrix(labels, predicted, labels=list(range(len(CLASSES))))
    totals = matrix.sum(axis=1)
    per_class = {
        name: round(float(matrix[k, k] / totals[k]), 4) if totals[k] else None
        for k, name in enumerate(CLASSES)
    }
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def train(data_dir: Path) -> dict:
    """Train, evaluate and save the OCT model and its quality record into ``data_dir/oct``."""
    import keras
    import tensorflow as tf

    limit_tensorflow_threads()
    data_dir = Path(data_dir)
    x_train, y_train = _load(data_dir, TRAIN_PATH)
    x_test, y_test = _load(data_dir, TEST_PATH)
    if smoke_mode():
        x_train, y_train, x_test, y_test = x_train[:16], y_train[:16], x_test[:16], y_test[:16]
    epochs = pick(EPOCHS, 1)

    start = time.perf_counter()
    model = train_oct_model(x_train, y_train, epochs=epochs, seed=SEED)
    seconds = time.perf_counter() - start

    # An uncompiled copy has no optimizer state: the file stays small and loads
    # without optimizer warnings. Students predict with it or compile it themselves.
    shipped = keras.Model.from_config(model.get_config())
    shipped.set_weights(model.get_weights())
    model_path = data_dir / MODEL_PATH
    model_path.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(model_path)

    predicted = predict_classes(shipped, x_test)
    samples = choose_samples(y_test, predicted)
    write_samples(x_test[samples], y_test[samples], samples, model_path.parent)

    record = {
        "model": MODEL_PATH,
        "test_set": TEST_PATH,
        "classes": list(CLASSES),
        **quality_record(y_test, predicted),
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
        "epochs": epochs,
        "seed": SEED,
        "smoke": smoke_mode(),
        "training_seconds": round(seconds, 1),
        "parameters": int(shipped.count_params()),
        "samples": [
            {
                "file": Path(png).name,
                "test_index": int(index),
                "label": CLASSES[int(y_test[index])],
                "predicted": CLASSES[int(predicted[index])],
            }
            for png, index in zip(SAMPLE_PNG_PATHS, samples, strict=True)
        ],
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
    }
    quality_path = data_dir / QUALITY_PATH
    quality_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
