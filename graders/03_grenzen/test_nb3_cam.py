"""Tasks 3, 4 and 9: the student's own CAM and Grad-CAM, the two heatmaps, where they peak.

The reference maps come from ``dlbmt.grading.references`` on the shipped model
loaded from data/, on the same knees that the hidden cells generate from their
seeds (``nb3_heldout.shipped_model_figures``: the coordinator computes them once
per run, since they are the same for every submission); the key holds what the
source solution's ``meine_cam`` gave on them.
"""

import numpy as np
import pytest
from nb3_heldout import GRADCAM_PROBES, LAB_GRAD_CAMS, shipped_model_figures, true_regions

# Pearson correlation of each map with the expected one, measured on the hidden (image, class)
# pairs: legitimate variants of the recipe stay above 0.94 (CAM: ReLU after instead of before
# upsampling 0.989, bicubic 0.987, nearest-neighbour 0.960, scipy zoom order 1 0.935; Grad-CAM
# at last_conv and conv3: softmax instead of the score 0.996, nearest 0.960, scipy zoom 0.946);
# wrong recipes fall below 0.75 on at least one map (min-max scaling without dropping negative
# values 0.611, absolute values -0.22, unweighted channel mean 0.22, the other class -0.50,
# always the first image -0.02, CAM of last_conv given as Grad-CAM of conv3 0.54-0.74).
CAM_MIN_CORRELATION = 0.9
# Maps are scaled to [0, 1]; float32 rounding may overshoot 1 by a few ulp. A map that is
# empty (every weighted sum negative) stays 0: the given one may not exceed this anywhere.
RANGE_TOLERANCE = 1e-5


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / scale) if scale > 0 else 0.0


def _similar(given: np.ndarray, expected: np.ndarray) -> bool:
    given, expected = np.asarray(given, dtype=float), np.asarray(expected, dtype=float)
    if given.shape != expected.shape or not np.all(np.isfinite(given)):
        return False
    if expected.max() <= 0:
        return bool(np.abs(given).max() <= RANGE_TOLERANCE)
    return _correlation(given, expected) >= CAM_MIN_CORRELATION


def _all_similar(given: np.ndarray, expected: np.ndarray) -> bool:
    return given.shape == expected.shape and all(
        _similar(g, e) for g, e in zip(given, expected, strict=True)
    )


# The smallest value a map may have at its lowest point (see the check below).
MAX_MAP_MINIMUM = 0.5


@pytest.mark.task("nb3_cam", points=1)
def test_cam_has_the_input_size_and_range(answers, key):
    """meine_cam liefert auf neuen Bildern Karten der Form (256, 256) mit Maximum 1."""
    given = answers.get("cam_hidden")
    assert given.shape == key.get("cam_hidden").shape, (
        "meine_cam soll eine Karte der Form (256, 256) liefern, also auf die Eingabegröße "
        "hochskaliert."
    )
    assert np.all(np.isfinite(given)), "Die Karten enthalten NaN oder unendliche Werte."
    assert given.min() >= -RANGE_TOLERANCE and given.max() <= 1 + RANGE_TOLERANCE, (
        "Die Werte der Karten sollen in [0, 1] liegen: negative Werte auf 0 setzen, durch das "
        "Maximum teilen."
    )
    peaks = given.reshape(len(given), -1).max(axis=1)
    assert np.allclose(peaks, 1.0, atol=RANGE_TOLERANCE), (
        "Das Maximum jeder Karte soll 1 sein (durch das Maximum teilen)."
    )
    # A CAM shows where the network looks: after the ReLU every reference map has 0 somewhere
    # (measured on the probed knees: minimum 0.0 on all six). A map that is 1 everywhere only
    # has the right format.
    lows = given.reshape(len(given), -1).min(axis=1)
    assert np.all(lows <= MAX_MAP_MINIMUM), (
        "Jede Karte soll zeigen, wo das Netz hinschaut: eine Karte, die überall (fast) gleich "
        "ist, ist keine CAM. Setzen Sie negative Werte auf 0, bevor Sie normieren."
    )


@pytest.mark.task("nb3_cam", points=1)
def test_cam_matches_the_reference_on_unseen_images(answers, key):
    """meine_cam stimmt auf neuen Bildern mit der Referenz-CAM überein."""
    assert _all_similar(answers.get("cam_hidden"), key.get("cam_hidden")), (
        "meine_cam weicht auf neuen Bildern deutlich von der CAM ab. Prüfen Sie: Merkmalskarten "
        "von last_conv für das Bild images[img_num], Gewichte der Klasse klasse (Spalte des "
        "Dense-Kernels), negative Werte auf 0 setzen, dann hochskalieren und normieren."
    )


@pytest.mark.task("nb3_cam", points=1)
def test_cam_matches_grad_cam_on_unseen_images(answers, key):
    """meine_cam stimmt auf neuen Bildern mit Grad-CAM überein (bis auf die Normierung)."""
    expected = shipped_model_figures()["cam_probes_grad_cam"]
    assert _all_similar(answers.get("cam_hidden"), expected), (
        "meine_cam passt auf neuen Bildern nicht zu Grad-CAM, obwohl beide bei einem "
        "GAP-Dense-Kopf dieselbe Karte ergeben. Gewichten Sie die Merkmalskarten mit den "
        "Dense-Gewichten der gewünschten Klasse."
    )


@pytest.mark.task(
    "nb3_heatmaps", points=1, depends_on=("nb3_load_images", "nb3_classify", "nb3_cam")
)
def test_heatmap_of_bild_1(answers, key):
    """Map1 ist die CAM von Bild 1 für die vorhergesagte Klasse."""
    given, expected = answers.get("map1"), key.get("map1")
    assert _similar(given, expected), (
        "Map1 ist nicht die CAM von Bild 1 für die vom Netz vorhergesagte Klasse."
    )


@pytest.mark.task(
    "nb3_heatmaps", points=1, depends_on=("nb3_load_images", "nb3_classify", "nb3_cam")
)
def test_heatmap_of_bild_2(answers, key):
    """Map2 ist die CAM von Bild 2 für die vorhergesagte Klasse."""
    given, expected = answers.get("map2"), key.get("map2")
    assert _similar(given, expected), (
        "Map2 ist nicht die CAM von Bild 2 für die vom Netz vorhergesagte Klasse. Welche Klasse "
        "sagt das Netz für Bild 2 vorher?"
    )


def _region(answers, index: int) -> str:
    given = answers.get("regions")
    assert isinstance(given, list) and len(given) == 2, (
        "region_bild_1 und region_bild_2 sollen je eine Region nennen."
    )
    return given[index]


@pytest.mark.task("nb3_where_looks", points=1, depends_on=("nb3_heatmaps",))
def test_region_of_bild_1(answers, key):
    """Die genannte Region für Bild 1 ist die, in der das Maximum der CAM liegt."""
    assert _region(answers, 0) == true_regions()[0], (
        "Die Region für Bild 1 passt nicht zum Maximum der Heatmap. Schauen Sie nach, wo "
        "cam_peak(Map1) liegt, und vergleichen Sie mit STEMPEL_BOX (x = Spalte, y = Zeile)."
    )


@pytest.mark.task("nb3_where_looks", points=1, depends_on=("nb3_heatmaps",))
def test_region_of_bild_2(answers, key):
    """Die genannte Region für Bild 2 ist die, in der das Maximum der CAM liegt."""
    assert _region(answers, 1) == true_regions()[1], (
        "Die Region für Bild 2 passt nicht zum Maximum der Heatmap der vorhergesagten Klasse. "
        "Schauen Sie nach, wo cam_peak(Map2) liegt, und vergleichen Sie mit STEMPEL_BOX "
        "(x = Spalte, y = Zeile)."
    )


@pytest.mark.task("nb3_gradcam", points=1)
def test_grad_cam_on_unseen_images_at_two_layers(answers, key):
    """mein_grad_cam stimmt auf neuen Bildern an last_conv und an conv3 mit Grad-CAM überein."""
    for layer in GRADCAM_PROBES:
        expected = shipped_model_figures()[f"grad_cam_probes_{layer}"]
        assert _all_similar(answers.get(f"grad_cam_{layer}"), expected), (
            f"mein_grad_cam weicht auf neuen Bildern an der Schicht {layer} deutlich von "
            "Grad-CAM ab. Verwenden Sie die Merkmalskarten der Schicht schicht, gewichten Sie "
            "sie mit den über das Bild gemittelten Gradienten des Klassen-Scores, setzen Sie "
            "negative Werte auf 0, skalieren Sie hoch und normieren Sie."
        )


@pytest.mark.task("nb3_gradcam", points=1, depends_on=("nb3_load_images", "nb3_classify"))
def test_grad_cam_of_the_lab_images(answers, key):
    """gradcam1, gradcam2 und gradcam1_conv3 sind die Grad-CAM-Karten der vorhergesagten Klassen."""
    for name, index, layer in LAB_GRAD_CAMS:
        expected = shipped_model_figures()[name]
        assert _similar(answers.get(name), expected), (
            f"{name} ist nicht die Grad-CAM-Karte von Bild {index + 1} für die vorhergesagte "
            f"Klasse an der Schicht {layer}."
        )
