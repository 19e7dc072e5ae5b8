"""What Notebook 3's graders judge with: the shipped model, probe and held-out knees, the rules.

Everything here runs in the graders' process; TensorFlow is imported only when a
model is judged, so that the graders start quickly. The shipped model and the lab's
two images come from data/, the probe images and the held-out knees from the
package's generator. The probe images of the hidden cells are made with fixed
seeds that appear only in the hidden cells and here; the held-out knees of the
retraining task with the course's secret seed, so no kernel has ever seen them.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache

import numpy as np
from scipy import ndimage

from dlbmt import knee_phantom, mri
from dlbmt.grading import prepared
from dlbmt.grading.judging import applied_to, predict
from dlbmt.mri import (
    AUDIT_LABELS,
    AUDIT_SLICES,
    BLANK_FOLDER,
    MODEL,
    TUIL_CASES,
    knee_slices,
    load_audit_set,
    make_cases,
    watermark_box,
)
from dlbmt.settings import data_path

BILD_1 = f"{TUIL_CASES}/0002.npy"
BILD_2 = f"{BLANK_FOLDER}/0008.npy"
ABNORMAL = 1

# The hidden cell of nb3_cam probes meine_cam on these knees (two normal, two abnormal, stamps
# independent of the label) for these (image, class) pairs.
CAM_PROBE_SEED = 20260315
CAM_PROBE_PAIRS = ((0, 0), (0, 1), (1, 1), (2, 0), (2, 1), (3, 1))
# The hidden cell of nb3_gradcam probes mein_grad_cam on other knees, at the last convolution
# and at an earlier one, where CAM does not apply. At conv3 the map of class 0 is empty for
# every knee measured (all weighted sums negative), so only class 1 is probed there.
GRADCAM_PROBE_SEED = 20260316
GRADCAM_PROBES = {
    "last_conv": ((0, 1), (1, 0), (2, 1), (3, 0)),
    "conv3": ((0, 1), (1, 1), (2, 1), (3, 1)),
}
EARLY_CONV = "conv3"
# The Grad-CAM maps of the lab images that nb3_gradcam asks for: (answer, image, layer), each
# for the class the shipped model predicts.
LAB_GRAD_CAMS = (("gradcam1", 0, "last_conv"), ("gradcam2", 1, "last_conv"),
                 ("gradcam1_conv3", 0, EARLY_CONV))  # fmt: skip

# Region rule of nb3_where_looks: a peak in the stamp box is "stempelecke"; elsewhere it is on
# the knee when the 9 x 9 mean around it is above 0.05 (air is about 2/255, fat, the darkest
# tissue over such an area, about 45/255), otherwise "hintergrund".
TISSUE_MEAN = 0.05

# Held-out knees of nb3_fix_retrain: per label and stamp group this many, made with the secret
# seed (400 knees, about 9 s to generate). 160 knees were too few: with one secret the
# reference itself came out at 0.613 where the stamp misleads, and a valid alternative
# (other seeds) at 0.575, below the old rule of 0.58 (sampling noise of 80 knees: 0.05).
HELDOUT_PER_GROUP = 100
# The retrained model must be right where the stamp contradicts the label (healthy knees with
# and abnormal knees without stamp; a stamp detector is right on none of them), right on the
# balanced knees overall (a model that calls every knee the same, or that learned the stamp
# the other way round, is right on half of them), and its CAM must leave the stamp corner.
# Measured on 400 held-out knees each, 10 seeds per approach (dlbmt.tools.margins.nb3; the
# notebook's 150 knees per class and 8 epochs), on the anatomical knee phantom, 2026-11-29:
#   balanced retraining (rates 0.5/0.5)      conflict 0.740-0.935  accuracy 0.728-0.943
#                                            pointing game 0.00-0.02
#   stamp-label link kept (rates 0/1)        conflict 0.185-0.640  accuracy 0.500-0.775
#                                            pointing game 0.21-0.96
# The phantom's findings are easier to learn than the old cartoon's, so the stamp-label link
# no longer keeps every such model below 0.55 where the stamp misleads: the conflict rule
# sits between the two ranges (0.06 below the reference's lowest, 0.04 above the wrong
# approach's highest; the sampling noise of 200 conflict knees is about 0.03). The accuracy
# rule only keeps out models that call every knee the same or read the stamp the other way
# round (0.50).
FIX_MIN_CONFLICT = 0.68
FIX_MIN_ACCURACY = 0.58
# The CAM rule: reference 0.00-0.02, stamp-label link kept 0.21-0.96. Such a model learns the
# most conspicuous findings besides the stamp, so its CAM leaves the corner for some stamped
# knees; at most half (the rule on the cartoon knees) let some of them through.
FIX_MAX_POINTING_GAME = 0.1


def as_input(slices: np.ndarray) -> np.ndarray:
    """uint8 slices as the network's input: float32 / 255 with a channel axis."""
    # One ufunc into one new array: 0.02 s for the 400 held-out knees, where a float
    # copy divided into a second array took 0.2 s. The same values.
    return np.divide(slices, np.float32(255), dtype=np.float32)[..., None]


@lru_cache(maxsize=1)
def shipped_model():
    """The shipped knee classifier, loaded from data/."""
    import keras

    return keras.models.load_model(data_path(MODEL), compile=False)


def lab_images() -> np.ndarray:
    """Bild 1 and Bild 2 as Aufgabe 1 asks: middle slices / 255, float32 (2, 256, 256, 1)."""
    slices = []
    for relative in (BILD_1, BILD_2):
        volume = np.load(data_path(relative), allow_pickle=False)
        slices.append(volume[len(volume) // 2])
    return as_input(np.stack(slices))


def probe_images(seed: int) -> np.ndarray:
    """The four knees of a hidden probe, as the hidden cell generates them."""
    return as_input(knee_slices(make_cases(2, 2, seed, 0.5, 0.5)))


def predicted_classes(model, images: np.ndarray) -> np.ndarray:
    return np.argmax(predict(model, images, batch_size=32), axis=1)


def region_of_peak(image: np.ndarray, cam: np.ndarray) -> str:
    """Where the map peaks: "stempelecke", "knie" or "hintergrund"."""
    row, col = np.unravel_index(int(np.argmax(cam)), np.shape(cam))
    x0, y0, x1, y1 = watermark_box()
    if x0 <= col < x1 and y0 <= row < y1:
        return "stempelecke"
    tissue = ndimage.uniform_filter(np.asarray(image, dtype=np.float64)[..., 0], 9) > TISSUE_MEAN
    return "knie" if tissue[row, col] else "hintergrund"


def true_regions() -> tuple[str, ...]:
    """The region of the CAM peak of each lab image, for the class the shipped model predicts."""
    return tuple(str(region) for region in shipped_model_figures()["lab_regions"])


def _shipped_model_figures() -> dict:
    """What the shipped model gives on the hidden probes, the lab images and the audit set."""
    from dlbmt.grading.references import class_activation_map, grad_cam

    model = shipped_model()

    def grad_cams(images, pairs, layer):
        return np.stack([grad_cam(model, images, i, k, layer_name=layer) for i, k in pairs])

    cam_probes, grad_cam_probes = probe_images(CAM_PROBE_SEED), probe_images(GRADCAM_PROBE_SEED)
    images = lab_images()
    classes = predicted_classes(model, images)
    regions = [
        region_of_peak(images[i], class_activation_map(model, images, i, int(classes[i])))
        for i in range(len(images))
    ]
    audit = audit_figures(model, *load_audit_set())
    return {
        "cam_probes_grad_cam": grad_cams(cam_probes, CAM_PROBE_PAIRS, "last_conv"),
        **{
            f"grad_cam_probes_{layer}": grad_cams(grad_cam_probes, pairs, layer)
            for layer, pairs in GRADCAM_PROBES.items()
        },
        "lab_classes": classes,
        "lab_regions": np.array(regions),
        **{
            name: grad_cam(model, images, index, int(classes[index]), layer_name=layer)
            for name, index, layer in LAB_GRAD_CAMS
        },
        **{f"audit_{name}": np.float64(value) for name, value in audit.items()},
    }


# They are the same for every submission: the coordinator computes them once per run. They
# depend on this file, the generator (probe knees), the reference maps, the shipped model and
# the audit set.
SHIPPED_MODEL_FIGURES = prepared.HeldOut(
    "nb3_shipped_model",
    _shipped_model_figures,
    (
        __file__, mri.__file__, knee_phantom.__file__,
        importlib.util.find_spec("dlbmt.grading.references").origin,
        data_path(MODEL), data_path(AUDIT_SLICES), data_path(AUDIT_LABELS),
    ),
    tensorflow=True,
)  # fmt: skip


@lru_cache(maxsize=1)
def shipped_model_figures() -> dict:
    """The shipped model's maps and figures; read from the prepared copy when there is one."""
    return SHIPPED_MODEL_FIGURES.get()


def _draw_knees(seed: int, per_group: int) -> dict:
    cases = make_cases(2 * per_group, 2 * per_group, seed, 0.5, 0.5)
    return {
        "slices": knee_slices(cases),
        "labels": np.array([int(c.abnormal) for c in cases]),
        "stamped": np.array([int(c.stamped) for c in cases]),
    }


# The knees depend on the seed, the number per group, this file and the package's generator.
KNEES = prepared.HeldOut("nb3_knees", _draw_knees, (__file__, mri.__file__, knee_phantom.__file__))


def heldout_knees(seed: int, per_group: int = HELDOUT_PER_GROUP):
    """Balanced held-out knees: images, labels, stamped (normal/abnormal x with/without stamp).

    Read from the coordinator's prepared copy when there is one (drawing them takes
    about 8 s), otherwise drawn here: the same knees either way.
    """
    arrays = KNEES.get(seed, per_group)
    return as_input(arrays["slices"]), arrays["labels"], arrays["stamped"]


def prepare_heldout(seed: int, folder) -> None:
    """Called once per grading run by the coordinator (dlbmt.grading.prepared)."""
    KNEES.store(folder, seed, HELDOUT_PER_GROUP)
    SHIPPED_MODEL_FIGURES.store(folder)


def fix_figures(model, images: np.ndarray, labels: np.ndarray, stamped: np.ndarray) -> dict:
    """The retraining's figures on the given knees.

    found: share of the unstamped abnormal knees called abnormal; conflict: share right
    of the knees whose stamp contradicts the label (healthy with, abnormal without stamp);
    accuracy: share right of all; pointing_game: share of the stamped abnormal knees whose
    CAM (class "auffällig") peaks in the stamp box. Classes and maps come from one pass
    of the model over the knees.
    """
    from dlbmt.grading.references import outputs_and_class_activation_maps

    stamped_abnormal = np.flatnonzero((labels == 1) & (stamped == 1))
    with applied_to(images):
        outputs, cams = outputs_and_class_activation_maps(
            model, images, stamped_abnormal, ABNORMAL, batch_size=32
        )
    predicted = np.argmax(outputs, axis=1)
    unstamped_abnormal = (labels == 1) & (stamped == 0)
    conflict = unstamped_abnormal | ((labels == 0) & (stamped == 1))
    x0, y0, x1, y1 = watermark_box()
    peaks = [np.unravel_index(int(np.argmax(cam)), cam.shape) for cam in cams]
    return {
        "found": float(np.mean(predicted[unstamped_abnormal] == ABNORMAL)),
        "conflict": float(np.mean(predicted[conflict] == labels[conflict])),
        "accuracy": float(np.mean(predicted == labels)),
        "pointing_game": float(np.mean([x0 <= c < x1 and y0 <= r < y1 for r, c in peaks])),
    }


def audit_figures(model, images: np.ndarray, table) -> dict:
    """:func:`fix_figures` on the audit set (``table`` with the label and stamp of each image)."""
    labels = table["label"].to_numpy().astype(int)
    stamped = table["stamped"].to_numpy().astype(int)
    return fix_figures(model, images, labels, stamped)


def finds_the_knees(figures: dict) -> bool:
    return figures["conflict"] >= FIX_MIN_CONFLICT and figures["accuracy"] >= FIX_MIN_ACCURACY


def looks_at_the_knee(figures: dict) -> bool:
    return figures["pointing_game"] <= FIX_MAX_POINTING_GAME


def fix_passes(figures: dict) -> bool:
    """The graders' rule for a retrained model on the held-out knees (both checks)."""
    return finds_the_knees(figures) and looks_at_the_knee(figures)


def architecture(model) -> list[tuple[str, tuple]]:
    """Layer types and weight shapes, in order: what "the same network" means here."""
    return [
        (type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
        for layer in model.layers
    ]
