"""Downloads in the real data sets' formats, filled by the course's own generators.

No real scans are available here, so the end-to-end test of ``dlbmt data import``
writes a Kermany OCT2017 tree and an MRNet v1.0 tree whose images come from the
generators: the formats are the real ones (greyscale JPEGs of Kermany's
non-square shape in class folders; uint8 ``.npy`` volumes with header-less label
files), the content is the domain the graders' thresholds were measured on.
The seeds differ from the ones that make ``data/``, so the import really brings
other images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dlbmt import mri
from dlbmt import oct as oct_module

# Kermany's scans are 512 x 496, 768 x 496 or 1536 x 496 pixels (width x height); these
# keep a similar aspect at a size that keeps the tree small. The import squeezes each into
# 128 x 128.
KERMANY_SIZES = ((128, 124), (192, 124))
KERMANY_SEEDS = {"train": 911, "test": 912}
# The generated sets vary as the course's: right eyes from one device for training, both
# eyes, tilts and devices for testing (the lesson of Notebook 2).
KERMANY_VARIATIONS = {"train": "narrow", "test": "wide"}
# The import takes Bild 1-4 and the drusen scan from test/ as well.
KERMANY_SPARE_TEST = 3
MRNET_SEED = 913
MRNET_SLICES = 3  # MRNet has 17-61; the middle slice is the same for any odd count


def write_kermany(root: Path) -> Path:
    """A Kermany OCT2017 tree with the generated sets' sizes per class, as JPEG files."""
    sizes = {
        "train": oct_module.TRAIN_PER_CLASS,
        "test": oct_module.TEST_PER_CLASS + KERMANY_SPARE_TEST,
    }
    for split, per_class in sizes.items():
        images, labels = oct_module.generate_oct_dataset(
            per_class, KERMANY_SEEDS[split], KERMANY_VARIATIONS[split]
        )
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            name = oct_module.CLASSES[int(label)]
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            width, height = KERMANY_SIZES[index % len(KERMANY_SIZES)]
            scan = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
            scan.save(folder / f"{name}-{100000 + index}-1.jpeg", format="JPEG", quality=95)
    return root


def write_mrnet(root: Path, per_label: int) -> Path:
    """An MRNet v1.0 tree of ``per_label`` normal and abnormal phantom knees, no watermark.

    The import takes its example folders and audit set from them; `dlbmt train mri`
    trains on the rest.
    """
    cases = mri.make_cases(per_label, per_label, MRNET_SEED, 0.0, 0.0)
    rows: dict[str, list[str]] = {"train": [], "valid": []}
    for index, case in enumerate(cases):
        split = "valid" if index % 5 == 0 else "train"
        folder = root / split / "sagittal"
        folder.mkdir(parents=True, exist_ok=True)
        case_id = f"{index:04d}"
        np.save(folder / f"{case_id}.npy", mri.knee_volume(case, MRNET_SLICES))
        rows[split].append(f"{case_id},{int(case.abnormal)}")
    for split, lines in rows.items():
        (root / f"{split}-abnormal.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
