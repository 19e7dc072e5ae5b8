"""The montage of the course's generated images, with the anatomy labelled (docs/phantoms.png).

It shows what the generators draw, so that an instructor can judge them before
teaching with them: three slices of one knee volume with their structures
named, the three knee findings, and one OCT scan per class with its layers and
finding named. The labels come from the generators themselves (the phantom's
structure map ``dlbmt.mri.knee_anatomy`` and ``dlbmt.oct.landmarks_of``), so
they sit where each structure was drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from dlbmt import mri, oct
from dlbmt.knee_phantom import STRUCTURES

MONTAGE = Path("docs/phantoms.png")
# A healthy knee and the same knee with each finding: the seed fixes the anatomy.
KNEE_SEED = 3041
SLICES = (
    ("middle slice: intercondylar notch", 0, (
        "quadriceps tendon", "patella", "suprapatellar recess", "femur", "Hoffa fat pad",
        "patellar tendon", "ACL", "PCL", "tibia", "popliteal artery",
    )),
    ("medial slice: femoral condyle", -5, (
        "subcutaneous fat", "femur", "cartilage", "meniscus", "tibia", "physis", "muscle",
    )),
    ("lateral edge", 9, ("femur", "meniscus", "fibula", "tibia")),
)  # fmt: skip
FINDINGS = (
    ("effusion", "effusion", "joint effusion"),
    ("oedema", "oedema", "bone-marrow oedema"),
    ("cartilage_defect", "cartilage defect", "cartilage defect"),
)
OCT_LABELS = {
    "CNV": ("CNV lesion", "subretinal fluid", "choroid"),
    "DME": ("cyst", "RPE", "fovea"),
    "DRUSEN": ("druse", "fovea", "choroid"),
    "NORMAL": ("vitreous", "fovea", "nerve fibre layer", "RPE", "choroid"),
}
NAMES = {
    "femur": "femur",
    "physis": "physeal scar",
    "fibula": "fibular head",
    "cartilage": "articular cartilage",
    "meniscus": "meniscus",
    "Hoffa fat pad": "Hoffa's fat pad",
    "ACL": "anterior cruciate lig.",
    "PCL": "posterior cruciate lig.",
}


def _anchor(labels: np.ndarray, structure: str) -> tuple[float, float] | None:
    """The pixel deepest inside the structure (x, y), or None if the slice does not show it."""
    mask = labels == STRUCTURES.index(structure)
    if not mask.any():
        return None
    depth = ndimage.distance_transform_edt(mask)
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return float(x), float(y)


def _label(ax, labels: np.ndarray, structures) -> None:
    anchors = [(s, _anchor(labels, s)) for s in structures]
    anchors = [(s, a) for s, a in anchors if a is not None]
    # Anterior structures are named on the left, posterior ones on the right, spread in y.
    for side, x_text, align in (("left", -8, "right"), ("right", 264, "left")):
        group = [(s, a) for s, a in anchors if (a[0] < 128) == (side == "left")]
        group.sort(key=lambda item: item[1][1])
        for i, (structure, (x, y)) in enumerate(group):
            y_text = 20 + i * (216 / max(len(group) - 1, 1)) if len(group) > 1 else y
            ax.annotate(
                NAMES.get(structure, structure),
                xy=(x, y),
                xytext=(x_text, y_text),
                ha=align,
                va="center",
                fontsize=9,
                arrowprops={"arrowstyle": "-", "color": "gold", "lw": 0.8},
                annotation_clip=False,
            )


def _label_oct(ax, points: dict, names: tuple[str, ...], size: int) -> None:
    """Name the structures in the dark vitreous above the retina and below the choroid."""
    above = [n for n in names if points[n][1] < 0.62 * size]
    below = [n for n in names if n not in above]
    # Neighbouring names alternate between two rows, inward from the image's edge.
    for group, y_text, step in (
        (above, 0.07 * size, 0.09 * size),
        (below, 0.94 * size, -0.09 * size),
    ):
        for i, structure in enumerate(sorted(group, key=lambda n: points[n][0])):
            x, y = points[structure]
            x_text = (i + 0.5) * size / len(group)
            ax.annotate(
                structure,
                xy=(x, y),
                xytext=(x_text, y_text + (i % 2) * step),
                ha="center",
                va="center",
                fontsize=8,
                color="white",
                arrowprops={"arrowstyle": "-", "color": "gold", "lw": 0.8},
            )


def write_montage(target: Path = MONTAGE) -> Path:
    """Draw the montage and write it as PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    healthy = mri.Case(KNEE_SEED, False, None, False)
    volume, anatomy = mri.knee_volume(healthy), mri.knee_anatomy(healthy)
    middle = mri.N_SLICES // 2
    figure = plt.figure(figsize=(16, 13.5))
    rows = figure.subfigures(3, 1, height_ratios=(1.2, 1.0, 1.0), hspace=0.0)
    axes = rows[0].subplots(1, 3, gridspec_kw={"wspace": 0.95, "left": 0.09, "right": 0.91})
    for ax, (title, offset, structures) in zip(axes, SLICES, strict=True):
        ax.imshow(volume[middle + offset], cmap="gray", vmin=0, vmax=255)
        _label(ax, anatomy[middle + offset], structures)
        ax.set_title(f"{title}\n(slice {middle + offset + 1} of {mri.N_SLICES})", fontsize=10)
    rows[0].suptitle("One generated knee volume, healthy", fontsize=12)

    axes = rows[1].subplots(1, 4)
    axes[0].imshow(volume[middle], cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("healthy", fontsize=10)
    for ax, (pathology, structure, title) in zip(axes[1:], FINDINGS, strict=True):
        case = mri.Case(KNEE_SEED, True, pathology, False)
        ax.imshow(mri.knee_volume(case, n_slices=1)[0], cmap="gray", vmin=0, vmax=255)
        outline = mri.knee_anatomy(case, n_slices=1)[0] == STRUCTURES.index(structure)
        ax.contour(outline, levels=[0.5], colors="gold", linewidths=0.8)
        ax.set_title(f"{title} (outlined)", fontsize=10)
    rows[1].suptitle("The same knee with each finding, middle slice", fontsize=12)

    axes = rows[2].subplots(1, 4, gridspec_kw={"wspace": 0.08})
    # The scans of oct.reference_examples(), drawn again with their landmarks.
    rng = np.random.default_rng(oct.REFERENCE_SEED)
    for ax, name in zip(axes, oct.CLASSES, strict=True):
        image, points = oct.landmarks_of(oct.CLASSES.index(name), rng)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        _label_oct(ax, points, OCT_LABELS[name], image.shape[0])
        ax.set_title(name, fontsize=10)
    size = oct.IMAGE_SIZE
    rows[2].suptitle(f"Generated OCT B-scans, one per class ({size} x {size} pixels)", fontsize=12)
    for ax in figure.get_axes():
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(
        "Generated images of the course, not patient data: knee MRI phantom "
        "(sagittal, fat-suppressed proton density, MRNet's shape) and OCT",
        fontsize=13,
        y=1.03,
    )
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=72, bbox_inches="tight")
    plt.close(figure)
    return target
