"""``dlbmt data import kermany DIR``: Notebook 2's OCT files from the real Kermany OCT2017 data.

Kermany et al. (2018) publish greyscale JPEG B-scans of varying size in
``train/{CNV,DME,DRUSEN,NORMAL}/`` and ``test/{CNV,DME,DRUSEN,NORMAL}/``. The
import writes the files that the generator writes for Notebook 2, with the same
names, keys, shapes and dtypes:

* ``oct/oct_train.npz``: ``x`` uint8 (4 * n, 128, 128) and ``y`` int64, from ``train/``;
* ``oct/oct_test.npz``: the same from ``test/``;
* ``oct/bild_1.png`` ... ``oct/bild_4.png``: four ``test/`` scans outside
  ``oct_test.npz``, of the classes that the answer key of the diagnosis task expects
  (the OCT recipe's plan), in its order;
* ``oct/oct_drusen.png``: one more DRUSEN scan from ``test/``, outside both.

Every scan is converted to greyscale and resized to 128 x 128 pixels with Pillow
(bilinear) by :func:`dlbmt.oct.read_kermany_scan`, which
:func:`dlbmt.oct.load_kermany_folder` uses too. Which scans are taken depends
only on the seed and each file's own name (the files are ranked by a hash of
both), not on the order in which the file system lists them or on the other
files: deleting a scan that was not taken changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from dlbmt import oct as oct_module
from dlbmt.errors import CourseError
from dlbmt.oct import (
    CLASSES,
    DRUSEN_PATH,
    EXPERIMENT_PATH,
    IMAGE_SIZE,
    MODEL_PATH,
    QUALITY_PATH,
    SAMPLE_PNG_PATHS,
    TEST_PATH,
    TEST_PER_CLASS,
    TRAIN_PATH,
    TRAIN_PER_CLASS,
    read_kermany_scan,
    save_npz,
    write_samples,
)
from dlbmt.tools.data_import.staging import Dependant, ImportReport, Provenance, StagedImport
from dlbmt.tools.recipes.oct import sample_truth

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
LICENCE = "CC BY 4.0 (Kermany, Zhang and Goldbaum 2018, Mendeley Data, doi:10.17632/rscbjbr9sj.2)"
DEPENDANTS = (
    Dependant(MODEL_PATH, (TRAIN_PATH, TEST_PATH), "dlbmt train oct"),
    Dependant(QUALITY_PATH, (TRAIN_PATH, TEST_PATH), "dlbmt train oct"),
    Dependant(EXPERIMENT_PATH, (TRAIN_PATH, TEST_PATH), "dlbmt margins --record"),
)


def _layout_hint(root: Path) -> str:
    """' Did you mean ...?' when a folder below ``root`` holds train/ and test/."""
    candidates = []
    for depth in ("*", "*/*"):
        candidates += [
            p for p in sorted(root.glob(depth)) if (p / "train").is_dir() and (p / "test").is_dir()
        ]
        if candidates:
            break
    return f" Did you mean '{candidates[0]}'?" if candidates else ""


def class_folders(root: Path) -> dict[tuple[str, str], Path]:
    """``(split, class) -> folder`` of a Kermany download; a clear message when one is missing."""
    if not root.is_dir():
        raise CourseError(
            f"The folder '{root}' does not exist. Give the Kermany OCT2017 folder that holds "
            "train/ and test/ (downloaded by hand, see docs/real-data.md)."
        )
    folders = {}
    for split in SPLITS:
        if not (root / split).is_dir():
            raise CourseError(
                f"'{root}' has no {split}/ folder. A Kermany OCT2017 download holds train/ and "
                f"test/, each with the class folders {', '.join(CLASSES)}; give the folder that "
                f"holds them.{_layout_hint(root)}"
            )
        for name in CLASSES:
            folder = root / split / name
            if not folder.is_dir():
                raise CourseError(
                    f"The class folder '{folder}' is missing. A Kermany OCT2017 download has "
                    f"the class folders {', '.join(CLASSES)} in both train/ and test/; restore "
                    "it from the download."
                )
            folders[split, name] = folder
    return folders


def ranked_scans(folder: Path, seed: int, split: str) -> list[Path]:
    """The scans of one class folder in the order the import takes them.

    Each file's rank is a hash of the seed, split, class and its own name, so it
    does not depend on the other files or on the listing order. Hidden files
    (such as macOS's ``._`` copies in some archives) are skipped.
    """

    def rank(path: Path) -> tuple[str, str]:
        key = f"{seed}/{split}/{folder.name}/{path.name}".encode()
        return hashlib.sha256(key).hexdigest(), path.name

    scans = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    return sorted(scans, key=rank)


def read_scan(path: Path, size: int = IMAGE_SIZE) -> np.ndarray:
    """One scan as :func:`dlbmt.oct.read_kermany_scan` reads it, with the import's message."""
    try:
        return read_kermany_scan(path, size)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        # Pillow also reports broken headers and oversized images this way; name the file.
        raise CourseError(
            f"'{path}' is not a readable image ({error}). Replace it with the file from a fresh "
            "download, or delete it: the import then takes another scan of its class."
        ) from None


def _require_scans(ranked: list[Path], wanted: int, folder: Path, detail: str, option: str) -> None:
    if len(ranked) < wanted:
        raise CourseError(
            f"'{folder}' holds {len(ranked)} scans, but the import needs {wanted} ({detail}). "
            f"Lower {option} or use the complete download."
        )


def _dataset(
    chosen: dict[str, list[Path]], seed: int, stream: int
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of the chosen scans, shuffled like the generator's data sets."""
    labels = np.concatenate(
        [np.full(len(chosen[name]), k, dtype=np.int64) for k, name in enumerate(CLASSES)]
    )
    images = np.stack([read_scan(path) for name in CLASSES for path in chosen[name]])
    order = np.random.default_rng([seed, stream]).permutation(len(labels))
    return images[order], labels[order]


def import_kermany(
    source: str | Path,
    data_dir: str | Path,
    seed: int = 0,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
) -> ImportReport:
    """Convert a Kermany OCT2017 download into Notebook 2's files in ``data_dir``.

    ``train_per_class`` and ``test_per_class`` default to the sizes of the
    generated data. The same download and seed always give the same bytes.
    """
    train_per_class = TRAIN_PER_CLASS if train_per_class is None else train_per_class
    test_per_class = TEST_PER_CLASS if test_per_class is None else test_per_class
    for option, value in (
        ("--train-per-class", train_per_class),
        ("--test-per-class", test_per_class),
    ):
        if value < 1:
            raise CourseError(f"{option} must be 1 or more, not {value}.")
    root = Path(source).expanduser().resolve()
    folders = class_folders(root)
    sample_classes = sample_truth()
    unknown = sorted(set(sample_classes) - set(CLASSES))
    if unknown:
        raise CourseError(f"The OCT recipe's sample plan names unknown classes {unknown}.")
    per_sample_class = Counter(sample_classes)

    train: dict[str, list[Path]] = {}
    test: dict[str, list[Path]] = {}
    samples_by_class: dict[str, list[Path]] = {}
    drusen: Path | None = None
    for name in CLASSES:
        ranked = ranked_scans(folders["train", name], seed, "train")
        _require_scans(
            ranked, train_per_class, folders["train", name],
            f"{train_per_class} for oct_train.npz", "--train-per-class",
        )  # fmt: skip
        train[name] = ranked[:train_per_class]

        ranked = ranked_scans(folders["test", name], seed, "test")
        n_samples = per_sample_class[name]
        n_drusen = int(name == "DRUSEN")
        parts = [f"{test_per_class} for oct_test.npz"]
        if n_samples:
            parts.append(f"{n_samples} for Bild 1-4")
        if n_drusen:
            parts.append("1 for oct_drusen.png")
        _require_scans(
            ranked, test_per_class + n_samples + n_drusen, folders["test", name],
            " and ".join(parts), "--test-per-class",
        )  # fmt: skip
        # Bild 1-4 and the drusen scan come first, so they stay the same when the sizes change.
        samples_by_class[name] = ranked[:n_samples]
        if n_drusen:
            drusen = ranked[n_samples]
        test[name] = ranked[n_samples + n_drusen : n_samples + n_drusen + test_per_class]
    assert drusen is not None  # DRUSEN is one of CLASSES
    samples = [samples_by_class[name].pop(0) for name in sample_classes]

    where = f"imported from Kermany OCT2017, {root}"
    size = f"greyscale, resized to {IMAGE_SIZE} x {IMAGE_SIZE} with Pillow (bilinear)"
    report = ImportReport(f"imported Kermany OCT2017 from {root} (seed {seed})", Path(data_dir))
    with StagedImport(Path(data_dir)) as staged:
        report.data_dir = staged.data_dir
        for relative, chosen, per_class, stream in (
            (TRAIN_PATH, train, train_per_class, 0),
            (TEST_PATH, test, test_per_class, 1),
        ):
            split = "train" if stream == 0 else "test"
            made_by = (
                f"{where}: {per_class} scans per class from {split}/, seed {seed}, {size} "
                "(`dlbmt data import kermany`)"
            )
            x, y = _dataset(chosen, seed, stream)
            save_npz(staged.file(relative, Provenance(made_by, LICENCE)), x=x, y=y)
        # The provenance of Bild 1-4 names neither file nor class: their classes are the answer.
        samples_made_by = (
            f"{where}: test/ scans that are not in oct_test.npz, seed {seed}, {size} "
            "(`dlbmt data import kermany`)"
        )
        for relative in SAMPLE_PNG_PATHS:
            staged.file(relative, Provenance(samples_made_by, LICENCE))
        write_samples(
            np.stack([read_scan(path) for path in samples]),
            staged.staged / Path(SAMPLE_PNG_PATHS[0]).parent,
        )
        drusen_made_by = (
            f"{where}: a test/DRUSEN scan that is neither in oct_test.npz nor Bild 1-4, "
            f"seed {seed}, {size} (`dlbmt data import kermany`)"
        )
        Image.fromarray(read_scan(drusen)).save(
            staged.file(DRUSEN_PATH, Provenance(drusen_made_by, LICENCE)), format="PNG"
        )
        staged.install(oct_module.DATA_FILES, DEPENDANTS, report)

    report.notes.append(
        "`dlbmt train oct` draws new, generated Bild 1-4 with the retrained model; run this "
        "import again after it to put the real ones back (the other imported files stay "
        "byte for byte the same)."
    )
    again = f"dlbmt data import kermany '{root}' --seed {seed}"
    if train_per_class != TRAIN_PER_CLASS:
        again += f" --train-per-class {train_per_class}"
    if test_per_class != TEST_PER_CLASS:
        again += f" --test-per-class {test_per_class}"
    if report.commands:
        report.next_steps += [f"`{command}`" for command in report.commands]
        report.next_steps.append(
            f"`{again}` again, with --target if you gave one: it restores the real Bild 1-4 and "
            "records the new model files in the manifest (`dlbmt data manifest` would label "
            "the imported files as generated)"
        )
    report.next_steps += [
        "`dlbmt data verify`",
        "`dlbmt key 02_anwendung` to record the answer key on the new data",
        "read docs/real-data.md: the graders still judge retrained networks on generated scans",
    ]
    return report
