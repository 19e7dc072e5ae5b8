"""``dlbmt data import mrnet DIR``: Notebook 3's knee files from the real MRNet v1.0 data.

MRNet (Bien et al. 2018) keeps one sagittal volume per case in
``train/sagittal/NNNN.npy`` and ``valid/sagittal/NNNN.npy`` (uint8, slices x 256
x 256, 17 to 61 slices) and the labels in ``train-abnormal.csv`` and
``valid-abnormal.csv`` (rows ``0000,1``, no header). The import writes the
course's MRI layout from both splits together:

* the stamping site's folder (:data:`dlbmt.mri.TUIL_FOLDER`): ``train-abnormal.csv``
  and the volumes ``0000.npy`` ... in :data:`dlbmt.mri.TUIL_CASES`, all with the
  site watermark, with the labels of the generated folder (mostly abnormal);
* the unstamped folder (:data:`dlbmt.mri.BLANK_FOLDER`): ``abnormal.csv`` and
  volumes without watermark (mostly normal);
* the audit set: middle slices of further cases, balanced over label x stamp
  (:data:`dlbmt.mri.AUDIT_SLICES`, :data:`dlbmt.mri.AUDIT_LABELS`);
* :data:`dlbmt.mri.CASES_TABLE` and :data:`dlbmt.mri.METADATA`, the latter also
  naming the MRNet file each course file came from.

Imported volumes keep their own number of slices. The watermark is added by the
generator's own :func:`dlbmt.mri.stamp`: ``mri.WATERMARK_OFFSET`` grey levels on the
inked pixels, clipped to 0-255. MRNet only says normal or abnormal, so the
pathology column reads ``abnormal`` for every abnormal case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlbmt import mri
from dlbmt.errors import CourseError
from dlbmt.tools.data_import.staging import Dependant, ImportReport, Provenance, StagedImport

SPLITS = ("train", "valid")
MIN_TRAINING_PER_CLASS = 8
PLANE = "sagittal"
PATHOLOGY = "abnormal"  # MRNet's abnormal label names no particular finding
DATASET = "MRNet v1.0 (Bien et al. 2018), sagittal plane"
LICENCE = "Stanford MRNet Dataset Research Use Agreement (not redistributable)"
DEPENDANTS = (
    # The model is trained on the download's cases that data/ does not use, which the
    # metadata lists; its quality is measured on the audit set.
    Dependant(mri.MODEL, (mri.METADATA,), "dlbmt train mri"),
    Dependant(mri.MODEL_QUALITY, (mri.AUDIT_SLICES, mri.AUDIT_LABELS), "dlbmt train mri"),
)


@dataclass(frozen=True)
class SourceCase:
    """One MRNet case: split, case number (the file name without .npy) and label."""

    split: str
    case_id: str
    label: int

    @property
    def relative(self) -> str:
        return f"{self.split}/{PLANE}/{self.case_id}.npy"

    def rank(self, seed: int) -> tuple[str, str]:
        # Depends only on the seed and the case itself, not on which other cases exist.
        key = f"{seed}/{self.relative}".encode()
        return hashlib.sha256(key).hexdigest(), self.relative


def read_labels(path: Path) -> dict[str, int]:
    """``case number -> 0 or 1`` from an MRNet label file, with the import's messages."""
    if not path.is_file():
        raise CourseError(
            f"The label file '{path}' is missing. MRNet keeps each split's labels next to the "
            f"split folders: {path.name} with rows such as '0000,1' and no header. Copy it "
            "from the download."
        )
    try:
        return mri.read_mrnet_labels(path)
    except mri.MalformedLabelRow as bad:
        raise CourseError(
            f"'{path}', line {bad.line}: expected 'case number,0 or 1' such as '0000,1', "
            f"found {bad.text!r}. MRNet's label files have no header; fix or restore the line."
        ) from None


def source_cases(root: Path) -> list[SourceCase]:
    """Every case of both splits that has a volume, with its label."""
    if not root.is_dir():
        raise CourseError(
            f"The folder '{root}' does not exist. Give the MRNet v1.0 folder that holds train/, "
            "valid/ and the *-abnormal.csv files (downloaded by hand, see docs/real-data.md)."
        )
    cases = []
    for split in SPLITS:
        folder = root / split / PLANE
        if not folder.is_dir():
            raise CourseError(
                f"The folder '{folder}' is missing. MRNet v1.0 has train/{PLANE}/ and "
                f"valid/{PLANE}/ with one NNNN.npy volume per case; give the folder that holds "
                "train/, valid/ and the *-abnormal.csv files."
            )
        label_file = root / f"{split}-abnormal.csv"
        labels = read_labels(label_file)
        volumes = sorted(p for p in folder.glob("*.npy") if not p.name.startswith("."))
        if not volumes:
            raise CourseError(f"The folder '{folder}' holds no .npy volumes.")
        for path in volumes:
            case_id = path.stem.zfill(4) if path.stem.isdigit() else path.stem
            if case_id not in labels:
                raise CourseError(
                    f"'{path}' has no row in '{label_file}'. Add its row (e.g. '{case_id},0') "
                    "or remove the file."
                )
            cases.append(SourceCase(split, path.stem, labels[case_id]))
    return cases


def read_volume(root: Path, case: SourceCase) -> np.ndarray:
    """The case's volume, memory-mapped, after checking that it is an MRNet sagittal volume."""
    path = root / case.relative
    try:
        volume = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise CourseError(
            f"'{path}' is not a readable .npy array ({error}). Replace it with the file from "
            f"the download, or remove it and its row in {case.split}-abnormal.csv."
        ) from None
    if volume.dtype != np.uint8 or volume.ndim != 3 or volume.shape[1:] != (mri.SIZE, mri.SIZE):
        raise CourseError(
            f"'{path}' holds an array of shape {volume.shape} and dtype {volume.dtype}; MRNet's "
            f"sagittal volumes are uint8 arrays of shape (slices, {mri.SIZE}, {mri.SIZE}). "
            f"Replace it with the file from the download, or remove it and its row in "
            f"{case.split}-abnormal.csv."
        )
    if volume.shape[0] < 1:
        raise CourseError(f"'{path}' has no slices. Replace it with the file from the download.")
    return volume


def middle_slice(volume: np.ndarray) -> np.ndarray:
    """The slice that Notebook 3 and the graders use: index ``len(volume) // 2``."""
    return np.array(volume[len(volume) // 2], dtype=np.uint8)


@dataclass(frozen=True)
class TrainingSet:
    """Middle slices (uint8, N x 256 x 256, no watermark) and labels of unused cases."""

    slices: np.ndarray
    labels: np.ndarray
    cases: list[str]  # the download's files, in the order of the slices
    available: tuple[int, int]  # unused normal and abnormal cases in the download


def imported_source(metadata: dict) -> dict | None:
    """The ``source`` entry of an imported ``mri/metadata.json``; None for generated data."""
    source = metadata.get("source")
    return source if isinstance(source, dict) and source.get("dataset") == DATASET else None


def training_set(source: dict, n_per_class: int, seed: int) -> TrainingSet:
    """Up to ``n_per_class`` cases per label from the download, none of which data/ holds.

    ``source`` is the metadata's ``source`` entry (:func:`imported_source`). Both
    labels get the same number of cases, the smaller class's count when the
    download has fewer than ``n_per_class`` unused cases of it (MRNet v1.0 has
    about 270 normal knees in all). Cases are taken by rank of a hash of the seed
    and their path, like the import's, so the choice does not depend on listing order.
    """
    if not source.get("folder"):
        raise CourseError(
            f"data/{mri.METADATA} does not name the folder the knees were imported from (an "
            "import by an older version of the course). Run `dlbmt data import mrnet` again, "
            "then `dlbmt train mri`."
        )
    root = Path(source["folder"])
    if not root.is_dir():
        raise CourseError(
            f"data/{mri.METADATA} says the knees were imported from '{root}', which is no longer "
            "there. Run `dlbmt data import mrnet` again with the folder's new place, then "
            "`dlbmt train mri`."
        )
    used = set(source["volumes"].values()) | set(source["audit_slices"])
    unused = [case for case in source_cases(root) if case.relative not in used]
    pools = [sorted((c for c in unused if c.label == label), key=lambda c: c.rank(seed))
             for label in (0, 1)]  # fmt: skip
    available = (len(pools[0]), len(pools[1]))
    if min(available) < MIN_TRAINING_PER_CLASS:
        raise CourseError(
            f"'{root}' has {available[0]} normal and {available[1]} abnormal cases that data/ does "
            f"not use; training needs at least {MIN_TRAINING_PER_CLASS} of each. Import again "
            "with a smaller --audit-per-group, or from the complete download."
        )
    n = min(n_per_class, *available)
    chosen = pools[0][:n] + pools[1][:n]
    order = np.random.default_rng(seed).permutation(len(chosen))
    chosen = [chosen[i] for i in order]
    slices = np.stack([middle_slice(read_volume(root, case)) for case in chosen])
    labels = np.array([case.label for case in chosen], dtype=np.int64)
    return TrainingSet(slices, labels, [case.relative for case in chosen], available)


def _save_npy(target: Path, array: np.ndarray) -> None:
    np.save(target, np.ascontiguousarray(array, dtype=np.uint8), allow_pickle=False)


def _too_few(root: Path, label: int, have: int, need: int, examples: int, per_group: int) -> str:
    kind = "normal cases (label 0)" if label == 0 else "abnormal cases (label 1)"
    return (
        f"'{root}' has {have} {kind} with a volume in train/{PLANE}/ and valid/{PLANE}/, but "
        f"the import needs {need}: {examples} for the example folders and 2 x {per_group} for "
        "the audit set. Lower --audit-per-group or use the complete download."
    )


def import_mrnet(
    source: str | Path, data_dir: str | Path, seed: int = 0, audit_per_group: int | None = None
) -> ImportReport:
    """Convert an MRNet v1.0 download into Notebook 3's files in ``data_dir``.

    ``audit_per_group`` (cases per label x stamp group of the audit set) defaults
    to the generated audit set's. The same download and seed give the same bytes.
    """
    per_group = mri.AUDIT_PER_GROUP if audit_per_group is None else audit_per_group
    if per_group < 1:
        raise CourseError(f"--audit-per-group must be 1 or more, not {per_group}.")
    root = Path(source).expanduser().resolve()
    cases = source_cases(root)
    tuil_labels = [int(p is not None) for p in mri.TUIL_PATHOLOGIES]
    blank_labels = [int(p is not None) for p in mri.BLANK_PATHOLOGIES]
    pools = {}
    for label in (0, 1):
        ranked = sorted((c for c in cases if c.label == label), key=lambda c: c.rank(seed))
        examples = tuil_labels.count(label) + blank_labels.count(label)
        if len(ranked) < examples + 2 * per_group:
            raise CourseError(
                _too_few(root, label, len(ranked), examples + 2 * per_group, examples, per_group)
            )
        pools[label] = iter(ranked)
    # The example folders take the first cases, so they stay the same when the audit size changes.
    tuil = [next(pools[label]) for label in tuil_labels]
    blank = [next(pools[label]) for label in blank_labels]
    audit = [
        (next(pools[label]), stamped)
        for label in (0, 1)
        for stamped in (0, 1)
        for _ in range(per_group)
    ]
    order = np.random.default_rng(seed).permutation(len(audit))
    audit = [audit[i] for i in order]

    where = f"imported from MRNet v1.0, {root}"
    watermark = (
        f"site watermark added with dlbmt.mri.stamp ({mri.WATERMARK_OFFSET} grey levels on the "
        "inked pixels)"
    )
    labels_made_by = (
        f"{where}: labels from train-abnormal.csv and valid-abnormal.csv, seed {seed} "
        "(`dlbmt data import mrnet`)"
    )
    report = ImportReport(f"imported MRNet v1.0 from {root} (seed {seed})", Path(data_dir))
    with StagedImport(Path(data_dir)) as staged:
        report.data_dir = staged.data_dir
        cases_rows, origins, slice_counts = [], {}, []
        folders = (
            (mri.TUIL_CASES, tuil, True, "train-abnormal.csv", mri.TUIL_FOLDER),
            (mri.BLANK_FOLDER, blank, False, "abnormal.csv", mri.BLANK_FOLDER),
        )
        for folder, chosen, stamped, label_name, label_folder in folders:
            label_rows = []
            for i, case in enumerate(chosen):
                relative = f"{folder}/{i:04d}.npy"
                volume = read_volume(root, case)
                made_by = f"{where}: {case.relative}" + (f", {watermark}" if stamped else "")
                target = staged.file(relative, Provenance(made_by, LICENCE))
                _save_npy(target, mri.stamp(volume) if stamped else volume)
                site = mri.STAMP_SITE if stamped else mri.OTHER_SITES[i % len(mri.OTHER_SITES)]
                pathology = PATHOLOGY if case.label else ""
                cases_rows.append(
                    [relative.removeprefix("mri/"), f"{i:04d}", site, case.label, pathology,
                     int(stamped)]
                )  # fmt: skip
                label_rows.append([f"{i:04d}", case.label])
                origins[relative] = case.relative
                slice_counts.append(len(volume))
            mri.write_csv(
                staged.file(f"{label_folder}/{label_name}", Provenance(labels_made_by, LICENCE)),
                label_rows,
            )
        mri.write_csv(
            staged.file(mri.CASES_TABLE, Provenance(labels_made_by, LICENCE)),
            cases_rows,
            ["path", "case_id", "site", "label", "pathology", "stamped"],
        )

        slices, audit_rows, k = [], [], 0
        for index, (case, stamped) in enumerate(audit):
            middle = middle_slice(read_volume(root, case))
            slices.append(mri.stamp(middle) if stamped else middle)
            if stamped:
                site = mri.STAMP_SITE
            else:
                site, k = mri.OTHER_SITES[k % len(mri.OTHER_SITES)], k + 1
            pathology = PATHOLOGY if case.label else ""
            audit_rows.append([index, case.label, stamped, pathology, site])
        audit_made_by = (
            f"{where}: middle slices of {len(audit)} cases, balanced over label x stamp, "
            f"seed {seed}; {watermark} on the stamped half (`dlbmt data import mrnet`)"
        )
        _save_npy(
            staged.file(mri.AUDIT_SLICES, Provenance(audit_made_by, LICENCE)), np.stack(slices)
        )
        mri.write_csv(
            staged.file(mri.AUDIT_LABELS, Provenance(labels_made_by, LICENCE)),
            audit_rows,
            ["index", "label", "stamped", "pathology", "site"],
        )

        meta = mri.study_description()  # the generated study's, then what differs
        meta["image"] = {
            "shape": [None, mri.SIZE, mri.SIZE],
            "slices_min_max": [min(slice_counts), max(slice_counts)],
            "dtype": "uint8",
            "plane": PLANE,
        }
        meta["pathologies"] = [PATHOLOGY]
        meta["audit_set"]["per_group"] = per_group
        meta["source"] = {
            "dataset": DATASET,
            "folder": str(root),
            "licence": LICENCE,
            "seed": seed,
            "volumes": origins,
            "audit_slices": [case.relative for case, _ in audit],
        }
        mri.write_json(staged.file(mri.METADATA, Provenance(labels_made_by, LICENCE)), meta)
        staged.install(mri.DATA_FILES, DEPENDANTS, report)

    report.notes.append(
        f"`dlbmt train mri` trains {mri.MODEL} on the cases of '{root}' that data/ does not use "
        "(the watermark on every abnormal one) and measures it on the imported audit set. It "
        "reads them from that folder: keep it where it is until the model is trained."
    )
    report.notes.append(
        "MRNet's Research Use Agreement does not allow passing the data on: check it before "
        "`dlbmt bundle` copies data/ to students."
    )
    again = f"dlbmt data import mrnet '{root}' --seed {seed}"
    if per_group != mri.AUDIT_PER_GROUP:
        again += f" --audit-per-group {per_group}"
    if report.commands:
        report.next_steps += [f"`{command}`" for command in report.commands]
        report.next_steps.append(
            f"`{again}` again, with --target if you gave one: it records the new model files "
            "in the manifest (`dlbmt data manifest` would label the imported files as generated)"
        )
    report.next_steps += [
        "`dlbmt data verify`",
        "`dlbmt key 03_grenzen` to record the answer key on the new data",
        "read docs/real-data.md: the graders still judge students' retrained networks on "
        "generated knees",
    ]
    return report
