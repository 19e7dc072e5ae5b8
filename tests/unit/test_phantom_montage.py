"""docs/phantoms.png: the montage of the generated images with the knee anatomy labelled."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dlbmt import mri
from dlbmt.tools import phantom_montage as montage


def test_every_named_structure_is_in_the_slice_that_names_it():
    # A label without its structure would point at nothing; the montage would drop it silently.
    anatomy = mri.knee_anatomy(mri.Case(montage.KNEE_SEED, False, None, False))
    middle = mri.N_SLICES // 2
    for title, offset, structures in montage.SLICES:
        for structure in structures:
            assert montage._anchor(anatomy[middle + offset], structure) is not None, (
                title,
                structure,
            )


def test_every_finding_is_outlined_in_the_middle_slice():
    for pathology, structure, _ in montage.FINDINGS:
        case = mri.Case(montage.KNEE_SEED, True, pathology, False)
        anatomy = mri.knee_anatomy(case, n_slices=1)[0]
        assert montage._anchor(anatomy, structure) is not None, pathology


def test_anchor_lies_inside_its_structure():
    labels = np.zeros((20, 20), np.uint8)
    labels[5:15, 2:6] = 3
    x, y = montage._anchor(labels, montage.STRUCTURES[3])
    assert labels[int(y), int(x)] == 3
    assert montage._anchor(labels, montage.STRUCTURES[4]) is None


def test_montage_is_written_as_a_png(tmp_path):
    target = montage.write_montage(tmp_path / "docs" / "phantoms.png")
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.width > 900 and image.height > 700


def _patch_mean(image: np.ndarray, point: tuple[float, float]) -> float:
    x, y = (int(round(v)) for v in point)
    return float(image[y - 1 : y + 2, x - 1 : x + 2].mean())


def test_oct_labels_point_at_their_structures():
    # Dark structures (vitreous, fluid, cysts) and bright bands (RPE, nerve fibres) are told
    # apart by the grey level around the labelled pixel of the scan the montage shows.
    from dlbmt import oct as oct_module

    rng = np.random.default_rng(oct_module.REFERENCE_SEED)
    drawn = []
    for label, name in enumerate(oct_module.CLASSES):
        image, points = oct_module.landmarks_of(label, rng)
        drawn.append(image)
        assert set(montage.OCT_LABELS[name]) <= set(points), name
        for dark in ("vitreous", "cyst", "subretinal fluid"):
            if dark in points:
                assert _patch_mean(image, points[dark]) < 45, (name, dark)
        for bright in ("RPE", "nerve fibre layer"):
            assert _patch_mean(image, points[bright]) > 120, (name, bright)
    # The montage shows exactly the scans of the notebook's example figure.
    assert np.array_equal(np.stack(drawn), oct_module.reference_examples()[0])
