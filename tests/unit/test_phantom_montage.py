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
