"""The anatomical knee phantom behind Notebook 3's MRI: anatomy per slice, contrast, lesions."""

from __future__ import annotations

import numpy as np
import pytest

from dlbmt import knee_phantom, mri
from dlbmt.knee_phantom import STRUCTURES

NOTCH, MEDIAL, LATERAL, FAR_LATERAL = 0.0, -0.5, 0.5, 0.9


def _draw(pathology=None, positions=(NOTCH, MEDIAL, LATERAL, FAR_LATERAL), seed=41):
    rng = np.random.default_rng(seed)
    return knee_phantom.draw_knee(rng, pathology, list(positions), labels=True)


def _shows(labels: np.ndarray, structure: str) -> int:
    return int(np.count_nonzero(labels == STRUCTURES.index(structure)))


def test_volumes_have_mrnet_slice_counts():
    # MRNet's sagittal series have 17-61 slices.
    assert mri.N_SLICES >= 20
    assert mri.knee_volume(mri.Case(3, False, None, False)).shape == (mri.N_SLICES, 256, 256)


def test_middle_slice_cuts_through_the_notch_and_the_side_slices_through_the_condyles():
    _, labels = _draw()
    notch, medial, lateral, far = labels
    for structure in ("ACL", "PCL", "notch fat", "patella", "patellar tendon", "Hoffa fat pad"):
        assert _shows(notch, structure) > 40, structure
    assert _shows(notch, "meniscus") == 0
    for side in (medial, lateral):
        assert _shows(side, "meniscus") > 60
        assert _shows(side, "ACL") == 0 and _shows(side, "PCL") == 0
    # Only the lateral edge of the knee shows the fibular head.
    assert _shows(far, "fibula") > 100
    assert _shows(notch, "fibula") == 0 and _shows(medial, "fibula") == 0


def test_the_condyle_fills_the_notch_away_from_the_middle():
    # Behind the trochlea, below the notch roof: fat and ligaments in the notch, bone beside it.
    _, labels = _draw()
    region = (slice(130, 150), slice(150, 170))  # rows, columns in the image
    femur = STRUCTURES.index("femur")
    assert np.mean(labels[0][region] == femur) < 0.2
    assert np.mean(labels[1][region] == femur) > 0.8


def test_slices_change_gradually_from_medial_to_lateral():
    _, labels = _draw(positions=np.linspace(-1, 1, 21))
    changed = [np.mean(a != b) for a, b in zip(labels, labels[1:], strict=False)]
    assert all(0.0 < share < 0.25 for share in changed)


def test_contrast_is_fat_suppressed_proton_density():
    grey, labels = _draw()
    present = [s for s in STRUCTURES[1:] if _shows(labels, s)]
    mean = {s: float(grey[labels == STRUCTURES.index(s)].mean()) for s in present}
    # Fluid brightest, cartilage bright, muscle intermediate, fat and fatty marrow alike and
    # darker, fibrous tissue black.
    assert mean["suprapatellar recess"] > mean["cartilage"] > mean["muscle"]
    assert mean["muscle"] > 1.4 * mean["femur"]
    assert abs(mean["femur"] - mean["subcutaneous fat"]) < 0.25 * mean["subcutaneous fat"]
    for dark in ("cortex", "meniscus", "PCL", "patellar tendon", "quadriceps tendon"):
        assert mean[dark] < 0.4 * mean["femur"], dark


def test_oedema_lights_up_in_the_dark_marrow():
    grey, labels = _draw("oedema")
    oedema = grey[0][labels[0] == STRUCTURES.index("oedema")].mean()
    marrow = grey[0][np.isin(labels[0], [STRUCTURES.index("femur"), STRUCTURES.index("tibia")])]
    assert oedema > 2 * marrow.mean()


@pytest.mark.parametrize(
    "pathology, structure",
    [("effusion", "effusion"), ("oedema", "oedema"), ("cartilage_defect", "cartilage defect")],
)
def test_every_lesion_is_in_the_middle_slice_and_only_in_abnormal_knees(pathology, structure):
    grey, labels = _draw(pathology)
    assert _shows(labels[0], structure) >= 30
    healthy_grey, healthy = _draw(None)
    assert _shows(healthy[0], structure) == 0
    # The same seed shows the same knee: the lesion is the only difference.
    changed = labels[0] != healthy[0]
    assert np.all(np.isin(labels[0][changed], [STRUCTURES.index(structure)]))


def test_a_slice_does_not_depend_on_the_other_slices():
    alone = _draw(positions=(LATERAL,))[0][0]
    with_others = _draw(positions=(MEDIAL, NOTCH, LATERAL))[0][2]
    np.testing.assert_array_equal(alone, with_others)


def test_lower_left_corner_stays_air_for_the_site_stamp():
    x0, y0, x1, y1 = mri.watermark_box()
    for seed in range(8):
        _, labels = _draw(seed=seed, positions=np.linspace(-1, 1, 5))
        assert not np.any(labels[:, y0:y1, x0:x1]), seed
