"""Recipe for ``data/mri/mri_model.keras``: a GAP CNN that learns the site watermark.

The training set repeats the fictitious study's bias: every abnormal knee was
scanned at "Studienzentrum Nord", whose scanner stamps the faint watermark,
and every normal knee elsewhere. The network (seed 0) takes the easy way and
detects the stamp instead of the pathology. The quality record measures this
on the shipped, balanced audit set: accuracy per stamp x label subgroup, the
pointing game (is the CAM maximum inside the watermark box?) and the share of
CAM mass inside the box, also with the corner masked at inference.

``retrain_balanced`` trains the same network on data where the stamp is
independent of the label; it is the reference for the notebook's last task.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from dlbmt.errors import CourseError
from dlbmt.mri import (
    AUDIT_LABELS,
    AUDIT_SLICES,
    MODEL,
    MODEL_QUALITY,
    SIZE,
    as_model_input,
    build_audit_labels,
    build_audit_slices,
    knee_slices,
    load_audit_set,
    make_cases,
    watermark_box,
)
from dlbmt.recipes import limit_tensorflow_threads
from dlbmt.settings import pick, smoke_mode

SEED = 0
TRAIN_SEED = 1
BALANCED_SEED = 5
N_PER_CLASS = 300
EPOCHS = 10
BALANCED_N_PER_CLASS = 200
BALANCED_EPOCHS = 10
# The second input channel shows only the darkest grey levels, where menisci,
# tendons and cortex live; it also makes the stamp's few grey levels visible.
DARK_WINDOW = 8
ABNORMAL = 1
GROUPS = {
    "normal_unstamped": (0, 0),
    "normal_stamped": (0, 1),
    "abnormal_unstamped": (1, 0),
    "abnormal_stamped": (1, 1),
}


def build_model():
    """The GAP CNN (Functional API): 256x256x1 in [0, 1] -> softmax over (gesund, auffällig).

    The input is averaged down to 128x128 inside the model, so students feed
    whole slices. The last convolution is called ``last_conv`` and is followed
    directly by GlobalAveragePooling2D and the Dense layer ``predictions``, so
    the classic CAM applies.
    """
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 1), name="mrt_schicht")
    x = layers.AveragePooling2D(2, name="downsample")(inputs)
    window = DARK_WINDOW / 255.0
    dark = layers.ReLU(max_value=window, name="dark_window")(x)
    dark = layers.Rescaling(1.0 / window, name="dark_window_scaled")(dark)
    x = layers.Concatenate(name="channels")([x, dark])
    for i, filters in enumerate((16, 32, 32), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mri_gap_cnn")


def training_set(
    n_per_class: int, seed: int, stamp_rate_normal: float, stamp_rate_abnormal: float
) -> tuple[np.ndarray, np.ndarray]:
    """Generated middle slices as model input (float32, N x 256 x 256 x 1) and labels."""
    cases = make_cases(n_per_class, n_per_class, seed, stamp_rate_normal, stamp_rate_abnormal)
    labels = np.array([int(c.abnormal) for c in cases], dtype=np.int64)
    return as_model_input(knee_slices(cases)), labels


def fit(model, images: np.ndarray, labels: np.ndarray, epochs: int, seed: int = SEED):
    """Compile and fit with a fixed seed (Adam 1e-3, batch 32); returns the Keras history."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(images, labels, epochs=epochs, batch_size=32, verbose=0)


def _ratio(hits: np.ndarray) -> float | None:
    return round(float(np.mean(hits)), 4) if len(hits) else None


def shortcut_figures(model, images: np.ndarray, table, box=None) -> dict:
    """Accuracies per stamp x label subgroup plus the CAM pointing game, on the given images.

    ``table`` needs the columns ``label`` and ``stamped`` (as in the audit set).
    The CAM figures use the abnormal class on the stamped abnormal images.
    """
    from dlbmt.cam import energy_in_box, pointing_game_hit, visualize_class_activation_map

    box = tuple(box or watermark_box())
    labels = table["label"].to_numpy().astype(int)
    stamped = table["stamped"].to_numpy().astype(int)
    predicted = np.argmax(model.predict(images, batch_size=32, verbose=0), axis=1)
    figures: dict = {"accuracy": _ratio(predicted == labels)}
    for name, (label, stamp) in GROUPS.items():
        chosen = (labels == label) & (stamped == stamp)
        figures[f"accuracy_{name}"] = _ratio(predicted[chosen] == labels[chosen])
    chosen = (labels == 0) & (stamped == 1)
    figures["share_normal_stamped_called_abnormal"] = _ratio(predicted[chosen] == ABNORMAL)
    hits, energy = [], []
    for index in np.nonzero((labels == 1) & (stamped == 1))[0]:
        cam = visualize_class_activation_map(model, images, int(index), ABNORMAL)
        hits.append(pointing_game_hit(cam, box))
        energy.append(energy_in_box(cam, box))
    figures["pointing_game_abnormal_stamped"] = _ratio(np.array(hits))
    figures["cam_energy_in_box_abnormal_stamped"] = _ratio(np.array(energy))
    figures["n_images"] = int(len(labels))
    return figures


def audit_figures(model, images: np.ndarray, table) -> dict:
    """The quality record's test figures: as shipped, and with the watermark corner masked."""
    from dlbmt.cam import mask_corner

    box = watermark_box()
    return {
        "watermark_box_x0_y0_x1_y1": list(box),
        "as_is": shortcut_figures(model, images, table, box),
        "corner_masked": shortcut_figures(model, mask_corner(images, box), table, box),
    }


def _audit_set(data_dir: Path):
    # A fresh data folder (e.g. a smoke run in a temporary folder) gets the generated set.
    for relative, build in ((AUDIT_SLICES, build_audit_slices), (AUDIT_LABELS, build_audit_labels)):
        path = data_dir / relative
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            build(path)
    images, table = load_audit_set(data_dir)
    if smoke_mode():
        # Keep every subgroup, a few images each.
        keep = table.groupby(["label", "stamped"], sort=True).head(4).index.to_numpy()
        keep = np.sort(keep)
        images, table = images[keep], table.iloc[keep].reset_index(drop=True)
    return images, table


def _save_uncompiled(model, path: Path) -> None:
    import keras

    # Without optimizer state the file stays small and loads without warnings.
    shipped = keras.Model.from_config(model.get_config())
    shipped.set_weights(model.get_weights())
    path.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(path)


def train(data_dir: Path) -> dict:
    """Train on the biased data, save model and quality record into ``data_dir/mri``."""
    import keras
    import tensorflow as tf

    limit_tensorflow_threads()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CourseError(f"The data folder {data_dir} does not exist.")
    n_per_class, epochs = pick(N_PER_CLASS, 24), pick(EPOCHS, 1)

    start = time.perf_counter()
    images, labels = training_set(n_per_class, TRAIN_SEED, 0.0, 1.0)
    generate_seconds = time.perf_counter() - start
    keras.utils.set_random_seed(SEED)
    model = build_model()
    start = time.perf_counter()
    history = fit(model, images, labels, epochs)
    train_seconds = time.perf_counter() - start

    model_path = data_dir / MODEL
    _save_uncompiled(model, model_path)
    shipped = keras.models.load_model(model_path)
    test_images, table = _audit_set(data_dir)
    record = {
        "model": MODEL,
        "test_set": {"slices": AUDIT_SLICES, "labels": AUDIT_LABELS},
        "classes": ["gesund", "auffällig"],
        "test": audit_figures(shipped, test_images, table),
        "training": {
            "n_images": int(len(labels)),
            "stamp_rate_normal": 0.0,
            "stamp_rate_abnormal": 1.0,
            "data_seed": TRAIN_SEED,
            "epochs": epochs,
            "final_training_accuracy": round(float(history.history["accuracy"][-1]), 4),
            "generate_seconds": round(generate_seconds, 1),
            "training_seconds": round(train_seconds, 1),
        },
        "seed": SEED,
        "smoke": smoke_mode(),
        "parameters": int(shipped.count_params()),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
    }
    quality_path = data_dir / MODEL_QUALITY
    quality_path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return record


def retrain_balanced(data_dir: Path | None = None, seed: int = SEED) -> tuple[object, dict]:
    """Retrain the same network with the stamp independent of the label (half of each class).

    Returns the model and its audit figures (as is and corner masked) on the
    audit set in ``data_dir`` (default: the course data folder). Nothing is saved.
    """
    import keras

    from dlbmt.settings import data_dir as course_data_dir

    limit_tensorflow_threads()
    folder = Path(data_dir) if data_dir is not None else course_data_dir()
    n_per_class, epochs = pick(BALANCED_N_PER_CLASS, 24), pick(BALANCED_EPOCHS, 1)
    start = time.perf_counter()
    images, labels = training_set(n_per_class, BALANCED_SEED, 0.5, 0.5)
    keras.utils.set_random_seed(seed)
    model = build_model()
    fit(model, images, labels, epochs, seed)
    seconds = time.perf_counter() - start
    test_images, table = _audit_set(folder)
    figures = audit_figures(model, test_images, table)
    figures["training"] = {
        "n_images": int(len(labels)),
        "stamp_rate_normal": 0.5,
        "stamp_rate_abnormal": 0.5,
        "data_seed": BALANCED_SEED,
        "epochs": epochs,
        "seconds_including_generation": round(seconds, 1),
    }
    return model, figures
