"""Recipe for ``data/mri/mri_model.keras``: a GAP CNN that learns the site watermark.

The training set repeats the fictitious study's bias: every abnormal knee was
scanned at "Studienzentrum Nord", whose scanner stamps the faint watermark,
and every normal knee elsewhere. The knees are generated, or after
``dlbmt data import mrnet`` the download's cases that data/ does not hold, with
the watermark added to every abnormal one. The network (seed 0) takes the easy way and
detects the stamp instead of the pathology. The quality record measures this
on the shipped, balanced audit set: accuracy per stamp x label subgroup, the
pointing game (is the CAM maximum inside the watermark box?) and the share of
CAM mass inside the box, also with the corner masked at inference.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from dlbmt import mri
from dlbmt.errors import CourseError
from dlbmt.mri import (
    AUDIT_LABELS,
    AUDIT_SLICES,
    METADATA,
    MODEL,
    MODEL_QUALITY,
    _as_model_input,
    build_audit_labels,
    build_audit_slices,
    load_audit_set,
    watermark_box,
)
from dlbmt.mri_model import SEED, build_model, fit, training_set
from dlbmt.settings import pick, smoke_mode
from dlbmt.tools.data_import import mrnet
from dlbmt.tools.recipes import limit_tensorflow_threads

TRAIN_SEED = 1
N_PER_CLASS = 300
EPOCHS = 10
ABNORMAL = 1
GROUPS = {
    "normal_unstamped": (0, 0),
    "normal_stamped": (0, 1),
    "abnormal_unstamped": (1, 0),
    "abnormal_stamped": (1, 1),
}


def _ratio(hits: np.ndarray) -> float | None:
    return round(float(np.mean(hits)), 4) if len(hits) else None


def shortcut_figures(model, images: np.ndarray, table, box=None) -> dict:
    """Accuracies per stamp x label subgroup plus the CAM pointing game, on the given images.

    ``table`` needs the columns ``label`` and ``stamped`` (as in the audit set).
    The CAM figures use the abnormal class on the stamped abnormal images.
    """
    from dlbmt.cam import energy_in_box, pointing_game_hit
    from dlbmt.grading.references import class_activation_maps

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
    chosen = np.flatnonzero((labels == 1) & (stamped == 1))
    for cam in class_activation_maps(model, images, chosen, ABNORMAL):
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


def _training_data(data_dir: Path, n_per_class: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """The biased training set as model input, its labels, and where it came from.

    Generated knees; or, after `dlbmt data import mrnet`, the middle slices of the
    download's cases that data/ does not hold, with the watermark on every
    abnormal one, as the generated set has it.
    """
    metadata_path = data_dir / METADATA
    metadata = json.loads(metadata_path.read_text("utf-8")) if metadata_path.is_file() else {}
    source = mrnet.imported_source(metadata)
    if source is None:
        images, labels = training_set(n_per_class, TRAIN_SEED, 0.0, 1.0)
        return images, labels, {"data": "generated knees (dlbmt.mri_model.training_set)"}
    chosen = mrnet.training_set(source, n_per_class, TRAIN_SEED)
    abnormal = chosen.labels[:, None, None] == ABNORMAL
    slices = np.where(abnormal, mri.stamp(chosen.slices), chosen.slices)
    origin = {
        "data": f"{mrnet.DATASET}: middle slices of cases not in data/, from {source['folder']}",
        "cases_available_normal_abnormal": list(chosen.available),
        "cases": chosen.cases,
    }
    return _as_model_input(slices), chosen.labels, origin


def _save_uncompiled(model, path: Path) -> None:
    import keras

    # Without optimizer state the file stays small and loads without warnings.
    shipped = keras.Model.from_config(model.get_config())
    shipped.set_weights(model.get_weights())
    path.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(path)


def train(data_dir: Path) -> dict:
    """Train on the biased data, save model and quality record into ``data_dir/mri``.

    The data are generated knees, or the imported download's unused cases (see
    :func:`_training_data`); every abnormal knee carries the watermark, no normal one.
    """
    import keras
    import tensorflow as tf

    limit_tensorflow_threads()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CourseError(f"The data folder {data_dir} does not exist.")
    n_per_class, epochs = pick(N_PER_CLASS, 24), pick(EPOCHS, 1)

    start = time.perf_counter()
    images, labels, origin = _training_data(data_dir, n_per_class)
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
            **origin,
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
