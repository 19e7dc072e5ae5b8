"""Recipe for ``data/oct/oct_model.keras``: the lab's CNN trained on the small OCT training set.

The training set holds only right eyes without tilt from one device at one
vertical position; the held-out test set varies all of these. The model is
trained honestly (seed 0, 20 epochs) and typically reaches about 70 % on the
test set because of that gap, not because of a flaw in the network.

The recipe also makes Bild 1-4 of the diagnosis task (``data/oct/bild_*.png``):
fresh scans, not from the test set, of the classes in :data:`SAMPLE_PLAN`, two
of which the shipped model gets right and two wrong. Their classes are the
answer of that task, so they exist only here (instructor side): ``data/`` holds
the images and nothing that tells their class, and the sample seed is not
published either.
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
    TEST_PATH,
    TRAIN_PATH,
    VARIATIONS,
    Variation,
    generate_oct_image,
    predict_classes,
    train_oct_model,
    write_samples,
)
from dlbmt.settings import pick, smoke_mode
from dlbmt.tools.recipes import limit_tensorflow_threads

SEED = 0
EPOCHS = 20
# Bild 1-4: the true class, whether the shipped model gets it right, and the random
# stream the scan is drawn from. The notebook's answer key (nb2_oct_diagnosis) must say
# the same classes; tests/content/test_oct_model.py checks it. The streams were chosen by eye among
# the first eight (DRUSEN: 24) of each entry, rendered at notebook size: a bright lesion with
# dark fluid (CNV), a smooth pit (NORMAL), clear dark cysts in a thick retina (DME), domes of
# the RPE band on both sides of the pit (DRUSEN). A retrained model draws other scans from
# the same streams: look at them again before shipping them.
SAMPLE_PLAN: tuple[tuple[str, bool, int], ...] = (
    ("CNV", True, 3),
    ("NORMAL", False, 3),
    ("DME", True, 3),
    ("DRUSEN", False, 12),
)
# Drawn once at random; not in data/ or the student package, so the scans cannot be
# regenerated with their classes.
SAMPLE_SEED = 0x5A3E_91C4_07D2_B86F
# Both eyes, the test set's devices and position, but at most 5 degrees of tilt:
# the test set's 12 degrees can tilt small drusen beyond recognition by eye.
SAMPLE_VARIATION = Variation(
    eyes="both",
    max_tilt_deg=5.0,
    devices=VARIATIONS["wide"].devices,
    max_shift=VARIATIONS["wide"].max_shift,
)
# The shipped model's probability of the true class must be clear (>= 0.8 when it is
# right, <= 0.2 when it is wrong), so that round-off on another CPU cannot flip a choice.
CLEAR_RIGHT, CLEAR_WRONG = 0.8, 0.2
MAX_SAMPLE_DRAWS = 1000


def sample_truth() -> list[str]:
    """The true classes of Bild 1-4 (instructor only)."""
    return [name for name, _, _ in SAMPLE_PLAN]


def _load(data_dir: Path, relative: str) -> tuple[np.ndarray, np.ndarray]:
    path = data_dir / relative
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["x"], archive["y"]
    except (OSError, KeyError, ValueError) as error:
        raise CourseError(
            f"The OCT recipe cannot read {path} ({error}). Run `dlbmt data build` first."
        ) from None


def draw_samples(model) -> np.ndarray:
    """Bild 1-4 following SAMPLE_PLAN: fresh scans, uint8 (4, 128, 128)."""
    images = []
    for name, right, stream in SAMPLE_PLAN:
        label = CLASSES.index(name)
        rng = np.random.default_rng([SAMPLE_SEED, stream])
        for _ in range(MAX_SAMPLE_DRAWS):
            image = generate_oct_image(label, rng, SAMPLE_VARIATION)
            probability = float(
                model.predict(image[None, ..., None].astype("float32"), verbose=0)[0, label]
            )
            if (probability >= CLEAR_RIGHT) if right else (probability <= CLEAR_WRONG):
                images.append(image)
                break
        else:
            raise CourseError(
                f"No {name} scan that the model gets {'right' if right else 'wrong'} in "
                f"{MAX_SAMPLE_DRAWS} draws; is the model trained?"
            )
    return np.stack(images)


def build_samples(data_dir: Path, model=None) -> np.ndarray:
    """Draw Bild 1-4 with ``model`` (default: the shipped one) and write them to data/oct."""
    import keras

    data_dir = Path(data_dir)
    if model is None:
        model = keras.models.load_model(data_dir / MODEL_PATH, safe_mode=True)
    images = draw_samples(model)
    write_samples(images, (data_dir / MODEL_PATH).parent)
    return images


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


def quality_on_test_scans(model, data_dir: Path) -> dict:
    """The quality record's figures of ``model`` on the test scans in ``data_dir``."""
    x_test, y_test = _load(Path(data_dir), TEST_PATH)
    return quality_record(y_test, predict_classes(model, x_test))


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
    if smoke_mode():
        write_samples(x_test[:4], model_path.parent)
    else:
        build_samples(data_dir, shipped)

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
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
    }
    quality_path = data_dir / QUALITY_PATH
    quality_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
