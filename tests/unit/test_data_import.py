"""`dlbmt data import kermany|mrnet DIR`: real downloads in the course's data/ layout.

The tests write tiny trees in the real formats (Kermany's greyscale JPEG folders
of varying size, MRNet's .npy volumes with 17 and 24 slices and its label files)
and check the written files against what the generators write and the loaders
read, the watermark, determinism, the manifest and every message for bad input.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from course_tools import REPO, run_dlbmt
from PIL import Image

from dlbmt import mri
from dlbmt import oct as oct_module
from dlbmt.errors import CourseError
from dlbmt.settings import DATA_DIR_VARIABLE, MANIFEST_NAME
from dlbmt.tools import manifest
from dlbmt.tools.cli import build_parser
from dlbmt.tools.data_import import import_kermany, import_mrnet, staging
from dlbmt.tools.data_import import mrnet as mrnet_import
from dlbmt.tools.recipes.oct import sample_truth

CLASSES = oct_module.CLASSES
SIZES = ((60, 90), (48, 48), (70, 40), (50, 120), (64, 80))  # (height, width), as Kermany varies
TRAIN_FILES, TEST_FILES = 4, 5  # per class in the tiny download
TRAIN_PER_CLASS, TEST_PER_CLASS = 2, 2  # per class in the import
PER_GROUP = 1  # audit cases per label x stamp group
SPARE_CASES = 10  # per label, beyond what the import needs: the shipped model's training
OCT_FILES = (
    oct_module.TRAIN_PATH,
    oct_module.TEST_PATH,
    oct_module.DRUSEN_PATH,
    *oct_module.SAMPLE_PNG_PATHS,
)


# --------------------------------------------------------------------------- tiny downloads


def write_kermany(root: Path) -> Path:
    """A Kermany OCT2017 tree: greyscale JPEGs of varying size, named as in the download."""
    rng = np.random.default_rng(7)
    for split, count in (("train", TRAIN_FILES), ("test", TEST_FILES)):
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                height, width = SIZES[i % len(SIZES)]
                pixels = rng.integers(0, 256, size=(height, width), dtype=np.uint8)
                image = Image.fromarray(pixels)
                if i == 1:
                    image = image.convert("RGB")  # some archives hold colour JPEGs of grey scans
                image.save(folder / f"{name}-{1000 + i}-{i + 1}.jpeg", format="JPEG")
    return root


def resized_sources(root: Path, split: str) -> dict[str, list[tuple[Path, np.ndarray]]]:
    """Every scan of a split, read as the course reads it, per class."""
    out = {}
    for name in CLASSES:
        out[name] = []
        for path in sorted((root / split / name).iterdir()):
            with Image.open(path) as image:
                grey = image.convert("L").resize(
                    (oct_module.IMAGE_SIZE, oct_module.IMAGE_SIZE), Image.Resampling.BILINEAR
                )
            out[name].append((path, np.asarray(grey)))
    return out


def source_of(image: np.ndarray, sources: dict) -> tuple[str, Path]:
    """(class, file) of the one source scan equal to ``image``."""
    found = [
        (name, path)
        for name, scans in sources.items()
        for path, scan in scans
        if np.array_equal(scan, image)
    ]
    assert len(found) == 1, f"{len(found)} source scans match"
    return found[0]


def mrnet_labels() -> list[int]:
    """Labels of a tiny download: enough normal and abnormal cases, plus spares."""
    tuil = [int(p is not None) for p in mri.TUIL_PATHOLOGIES]
    blank = [int(p is not None) for p in mri.BLANK_PATHOLOGIES]
    per_label = [(tuil + blank).count(label) + 2 * PER_GROUP + SPARE_CASES for label in (0, 1)]
    return [0] * per_label[0] + [1] * per_label[1]


def write_mrnet(root: Path, labels: list[int] | None = None, slices=(17, 24)) -> Path:
    """An MRNet v1.0 tree: uint8 volumes (slices, 256, 256), label files without header."""
    labels = mrnet_labels() if labels is None else labels
    rng = np.random.default_rng(5)
    order = rng.permutation(len(labels))
    split_of = ["train" if i % 3 else "valid" for i in range(len(labels))]
    rows: dict[str, list[str]] = {"train": [], "valid": []}
    for split in rows:
        (root / split / "sagittal").mkdir(parents=True)
    for i, k in enumerate(order):
        split = split_of[i]
        case_id = f"{len(rows[split]) + (1130 if split == 'valid' else 0):04d}"
        n_slices = slices[i % len(slices)]
        # Up to 200 grey levels, so that the stamp never clips here.
        volume = rng.integers(0, 200, size=(n_slices, 256, 256), dtype=np.uint8)
        np.save(root / split / "sagittal" / f"{case_id}.npy", volume)
        rows[split].append(f"{case_id},{labels[k]}")
    for split, lines in rows.items():
        (root / f"{split}-abnormal.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def entries(data: Path) -> dict[str, dict]:
    content = json.loads((data / MANIFEST_NAME).read_text(encoding="utf-8"))
    return {item["path"]: item for item in content["files"]}


def leftovers(data: Path) -> list[str]:
    """Temporary import folders left next to the data folder."""
    return sorted(p.name for p in data.parent.iterdir() if ".import-" in p.name)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def kermany(tmp_path_factory) -> Path:
    return write_kermany(tmp_path_factory.mktemp("kermany") / "OCT2017")


@pytest.fixture(scope="module")
def oct_data(tmp_path_factory, kermany):
    data = tmp_path_factory.mktemp("oct_course") / "data"
    report = import_kermany(
        kermany, data, seed=0, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
    )
    return data, report


@pytest.fixture(scope="module")
def mrnet(tmp_path_factory) -> Path:
    return write_mrnet(tmp_path_factory.mktemp("mrnet") / "MRNet-v1.0")


@pytest.fixture(scope="module")
def mri_data(tmp_path_factory, mrnet):
    data = tmp_path_factory.mktemp("mri_course") / "data"
    report = import_mrnet(mrnet, data, seed=0, audit_per_group=PER_GROUP)
    return data, report


@pytest.fixture()
def course_data(monkeypatch):
    """Point the student package's loaders at a data folder."""

    def use(folder: Path) -> None:
        monkeypatch.setenv(DATA_DIR_VARIABLE, str(folder))

    return use


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# --------------------------------------------------------------------------- Kermany: layout


def test_kermany_import_writes_exactly_the_oct_files(oct_data):
    data, report = oct_data
    assert sorted(snapshot(data)) == sorted([*OCT_FILES, MANIFEST_NAME])
    assert sorted(report.written) == sorted(OCT_FILES)


def test_oct_arrays_have_the_generated_keys_shapes_and_dtypes(oct_data):
    data, _ = oct_data
    generated_x, generated_y = oct_module.generate_oct_dataset(1, seed=0)
    for relative, per_class in (
        (oct_module.TRAIN_PATH, TRAIN_PER_CLASS),
        (oct_module.TEST_PATH, TEST_PER_CLASS),
    ):
        arrays = _load_npz(data / relative)
        assert sorted(arrays) == ["x", "y"]
        assert arrays["x"].dtype == generated_x.dtype and arrays["y"].dtype == generated_y.dtype
        assert arrays["x"].shape == (4 * per_class, *generated_x.shape[1:])
        assert np.bincount(arrays["y"], minlength=4).tolist() == [per_class] * 4


def test_oct_loaders_of_the_student_package_read_the_imported_files(oct_data, course_data):
    data, _ = oct_data
    course_data(data)
    x_train, y_train = oct_module.load_oct_train()
    x_test, _ = oct_module.load_oct_test()
    samples = oct_module.load_oct_samples()
    drusen = oct_module.load_drusen_image()
    size = oct_module.IMAGE_SIZE
    assert x_train.shape == (4 * TRAIN_PER_CLASS, size, size) and y_train.dtype == np.int64
    assert x_test.shape == (4 * TEST_PER_CLASS, size, size)
    assert samples.shape == (4, size, size) and samples.dtype == np.uint8
    assert drusen.shape == (size, size) and drusen.dtype == np.uint8


def test_every_imported_scan_is_a_resized_source_scan_with_its_own_class(oct_data, kermany):
    data, _ = oct_data
    for relative, split in ((oct_module.TRAIN_PATH, "train"), (oct_module.TEST_PATH, "test")):
        sources = resized_sources(kermany, split)
        arrays = _load_npz(data / relative)
        files = set()
        for image, label in zip(arrays["x"], arrays["y"], strict=True):
            name, path = source_of(image, sources)
            assert name == CLASSES[label]
            files.add(path)
        assert len(files) == len(arrays["y"]), "a scan was taken twice"


def test_training_order_is_shuffled_not_class_by_class(oct_data):
    data, _ = oct_data
    labels = _load_npz(data / oct_module.TRAIN_PATH)["y"]
    assert not np.array_equal(labels, np.sort(labels))


def test_bild_1_to_4_are_test_scans_of_the_answer_keys_classes_outside_the_test_set(
    oct_data, kermany
):
    data, _ = oct_data
    sources = resized_sources(kermany, "test")
    test_images = _load_npz(data / oct_module.TEST_PATH)["x"]
    drusen = np.asarray(Image.open(data / oct_module.DRUSEN_PATH))
    for relative, truth in zip(oct_module.SAMPLE_PNG_PATHS, sample_truth(), strict=True):
        with Image.open(data / relative) as png:
            assert png.mode == "L"
            image = np.asarray(png)
        assert source_of(image, sources)[0] == truth
        assert not any(np.array_equal(image, other) for other in test_images)
        assert not np.array_equal(image, drusen)


def test_drusen_image_is_a_drusen_test_scan_outside_the_test_set(oct_data, kermany):
    data, _ = oct_data
    image = np.asarray(Image.open(data / oct_module.DRUSEN_PATH))
    assert source_of(image, resized_sources(kermany, "test"))[0] == "DRUSEN"
    test_images = _load_npz(data / oct_module.TEST_PATH)["x"]
    assert not any(np.array_equal(image, other) for other in test_images)


def test_default_sizes_are_the_generated_sets(kermany, tmp_path):
    """Without options the import asks for as many scans as the generator makes."""
    with pytest.raises(CourseError) as error:
        import_kermany(kermany, tmp_path / "data")
    message = str(error.value)
    assert f"needs {oct_module.TRAIN_PER_CLASS} " in message and "--train-per-class" in message


# --------------------------------------------------------------------------- Kermany: determinism


def test_same_download_and_seed_give_identical_bytes(oct_data, kermany, tmp_path):
    data, _ = oct_data
    again = tmp_path / "data"
    import_kermany(
        kermany, again, seed=0, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
    )
    assert snapshot(again) == snapshot(data)


def test_another_seed_takes_other_scans(oct_data, kermany, tmp_path):
    data, _ = oct_data
    other = tmp_path / "data"
    import_kermany(
        kermany, other, seed=1, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
    )
    sources = resized_sources(kermany, "train")

    def taken(folder):
        return {source_of(x, sources)[1] for x in _load_npz(folder / oct_module.TRAIN_PATH)["x"]}

    assert taken(other) != taken(data)


def test_deleting_a_scan_that_was_not_taken_changes_nothing(oct_data, kermany, tmp_path):
    data, _ = oct_data
    copy = shutil.copytree(kermany, tmp_path / "OCT2017")
    sources = resized_sources(copy, "train")
    taken = {source_of(x, sources)[1].name for x in _load_npz(data / oct_module.TRAIN_PATH)["x"]}
    spare = next(path for path, _ in sources["CNV"] if path.name not in taken)
    spare.unlink()
    # The manifest names the download's folder; compare the data files themselves.
    first = import_kermany(
        copy, tmp_path / "a", train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
    )
    assert first.written
    for relative in OCT_FILES:
        assert (tmp_path / "a" / relative).read_bytes() == (data / relative).read_bytes()


# --------------------------------------------------------------------------- Kermany: manifest


def test_kermany_manifest_verifies_and_names_source_and_licence(oct_data, kermany):
    data, _ = oct_data
    assert manifest.verify(data) == []
    listed = entries(data)
    assert sorted(listed) == sorted(OCT_FILES)
    for relative in OCT_FILES:
        assert listed[relative]["made_by"].startswith(
            f"imported from Kermany OCT2017, {kermany.resolve()}"
        )
        assert listed[relative]["licence"].startswith("CC BY 4.0")


def test_provenance_of_bild_1_to_4_tells_no_class(oct_data):
    data, _ = oct_data
    for relative in oct_module.SAMPLE_PNG_PATHS:
        made_by = entries(data)[relative]["made_by"]
        assert not any(name in made_by for name in CLASSES), made_by
        assert ".jpeg" not in made_by


def test_models_not_in_the_data_folder_are_reported_with_their_recipe(oct_data):
    _, report = oct_data
    assert (oct_module.MODEL_PATH, "dlbmt train oct") in report.missing
    assert (oct_module.QUALITY_PATH, "dlbmt train oct") in report.missing
    text = "\n".join(report.lines())
    assert "next steps:" in text and "1. `dlbmt train oct`" in text
    assert "dlbmt data verify" in text and "dlbmt key 02_anwendung" in text


# Recorded for the model before the import; the recipe's declaration says less.
MODEL_MADE_BY = "recipe `dlbmt train oct`, seed 0, on the generated scans"


def _course_like(tmp_path: Path) -> Path:
    """A data folder with an older model and another topic's file, both in the manifest."""
    data = tmp_path / "data"
    (data / "oct").mkdir(parents=True)
    (data / "ecg").mkdir()
    (data / "ecg" / "qrs.csv").write_text("a,b\n1,2\n")
    for relative in (oct_module.MODEL_PATH, oct_module.QUALITY_PATH, oct_module.EXPERIMENT_PATH):
        (data / relative).write_bytes(b"trained on generated scans " + relative.encode())
    files = []
    for relative, made_by in (
        ("ecg/qrs.csv", "generator dlbmt.ecg, seed 1"),
        (oct_module.MODEL_PATH, MODEL_MADE_BY),
        (oct_module.QUALITY_PATH, MODEL_MADE_BY),
        (oct_module.EXPERIMENT_PATH, "`dlbmt margins --record`"),
    ):
        path = data / relative
        files.append(
            {
                "path": relative,
                "sha256": manifest.sha256_of(path),
                "size": path.stat().st_size,
                "made_by": made_by,
                "licence": "CC0-1.0 (generated by this course)",
            }
        )
        os.utime(path, (1_000_000_000, 1_000_000_000))  # long before any import
    (data / MANIFEST_NAME).write_text(json.dumps({"files": files}, indent=2))
    return data


def test_older_model_files_are_reported_as_needing_training(kermany, tmp_path):
    data = _course_like(tmp_path)
    report = import_kermany(
        kermany, data, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS
    )
    assert report.stale == [
        (oct_module.MODEL_PATH, "dlbmt train oct"),
        (oct_module.QUALITY_PATH, "dlbmt train oct"),
        (oct_module.EXPERIMENT_PATH, "dlbmt margins --record"),
    ]
    assert report.commands == ["dlbmt train oct", "dlbmt margins --record"]
    assert manifest.verify(data) == []


def test_other_topics_entries_stay_exactly_as_they_were(kermany, tmp_path):
    data = _course_like(tmp_path)
    before = entries(data)["ecg/qrs.csv"]
    import_kermany(kermany, data, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
    assert entries(data)["ecg/qrs.csv"] == before
    # The model's bytes did not change, so what was recorded for it still holds.
    assert entries(data)[oct_module.MODEL_PATH]["made_by"] == MODEL_MADE_BY


def test_importing_again_after_training_keeps_the_data_and_records_the_new_model(kermany, tmp_path):
    data = _course_like(tmp_path)
    options = {"train_per_class": TRAIN_PER_CLASS, "test_per_class": TEST_PER_CLASS}
    import_kermany(kermany, data, **options)
    imported = snapshot(data)
    # What `dlbmt train oct` does: a new model and generated Bild 1-4, after the import.
    later = (data / oct_module.TRAIN_PATH).stat().st_mtime + 10
    for relative in (oct_module.MODEL_PATH, oct_module.QUALITY_PATH):
        (data / relative).write_bytes(b"retrained " + relative.encode())
        os.utime(data / relative, (later, later))
    (data / oct_module.SAMPLE_PNG_PATHS[0]).write_bytes(b"a generated scan")
    assert manifest.verify(data) != []

    report = import_kermany(kermany, data, **options)
    assert report.written == [oct_module.SAMPLE_PNG_PATHS[0]]
    assert oct_module.TRAIN_PATH in report.unchanged
    assert report.current == [oct_module.MODEL_PATH, oct_module.QUALITY_PATH]
    assert report.stale == [(oct_module.EXPERIMENT_PATH, "dlbmt margins --record")]
    assert manifest.verify(data) == []
    for relative in OCT_FILES:
        assert (data / relative).read_bytes() == imported[relative]
    model = entries(data)[oct_module.MODEL_PATH]
    assert model["sha256"] == manifest.sha256_of(data / oct_module.MODEL_PATH)
    assert model["made_by"] == next(
        f.made_by for f in oct_module.DATA_FILES if f.path == oct_module.MODEL_PATH
    )


# --------------------------------------------------------------------------- Kermany: bad input


def _kermany_copy(kermany: Path, tmp_path: Path) -> Path:
    return shutil.copytree(kermany, tmp_path / "OCT2017")


def _kermany_fails(source: Path, data: Path, **options) -> str:
    options = {"train_per_class": TRAIN_PER_CLASS, "test_per_class": TEST_PER_CLASS, **options}
    with pytest.raises(CourseError) as error:
        import_kermany(source, data, **options)
    return str(error.value)


def test_missing_class_folder_is_named(kermany, tmp_path):
    source = _kermany_copy(kermany, tmp_path)
    shutil.rmtree(source / "test" / "NORMAL")
    message = _kermany_fails(source, tmp_path / "data")
    assert str(source / "test" / "NORMAL") in message
    assert "CNV, DME, DRUSEN, NORMAL" in message and "restore" in message


def test_folder_above_the_download_suggests_the_right_one(kermany, tmp_path):
    message = _kermany_fails(kermany.parent, tmp_path / "data")
    assert "has no train/ folder" in message and f"Did you mean '{kermany}'" in message


def test_missing_download_folder_is_named(tmp_path):
    message = _kermany_fails(tmp_path / "nowhere", tmp_path / "data")
    assert str(tmp_path / "nowhere") in message and "does not exist" in message


def test_unreadable_jpeg_is_named_and_nothing_is_written(kermany, tmp_path):
    source = _kermany_copy(kermany, tmp_path)
    data = _course_like(tmp_path)
    before = snapshot(data)
    for path in (source / "train" / "DME").iterdir():
        path.write_bytes(b"not a JPEG")  # every DME scan, so a taken one is among them
    message = _kermany_fails(source, data)
    assert str(source / "train" / "DME") in message and "not a readable image" in message
    assert "delete it" in message
    assert snapshot(data) == before
    assert leftovers(data) == []


def test_too_few_scans_name_the_folder_and_the_option(kermany, tmp_path):
    message = _kermany_fails(kermany, tmp_path / "data", test_per_class=TEST_FILES)
    # CNV's test folder holds 5 scans; the import needs 5 for the test set and 1 for Bild 1.
    assert str(kermany / "test" / "CNV") in message
    assert f"holds {TEST_FILES} scans" in message and "--test-per-class" in message
    assert not (tmp_path / "data").exists()


def test_sizes_below_one_are_refused(kermany, tmp_path):
    message = _kermany_fails(kermany, tmp_path / "data", train_per_class=0)
    assert "--train-per-class must be 1 or more" in message


@pytest.mark.parametrize("failing_call", [5, 6], ids=["moving an old file", "moving a new one"])
def test_a_failure_while_swapping_puts_the_old_files_back(
    kermany, tmp_path, monkeypatch, failing_call
):
    data = _course_like(tmp_path)
    options = {"train_per_class": TRAIN_PER_CLASS, "test_per_class": TEST_PER_CLASS}
    import_kermany(kermany, data, seed=0, **options)
    before = snapshot(data)
    real_replace = os.replace
    calls = []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == failing_call:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        import_kermany(kermany, data, seed=1, **options)
    monkeypatch.setattr(staging.os, "replace", real_replace)
    assert snapshot(data) == before
    assert leftovers(data) == []


# --------------------------------------------------------------------------- MRNet: layout


def _origins(data: Path) -> dict[str, str]:
    return json.loads((data / mri.METADATA).read_text(encoding="utf-8"))["source"]["volumes"]


def _source_labels(mrnet: Path) -> dict[str, int]:
    labels = {}
    for split in ("train", "valid"):
        for case_id, label in read_csv(mrnet / f"{split}-abnormal.csv"):
            labels[f"{split}/sagittal/{case_id}.npy"] = int(label)
    return labels


def test_mrnet_import_writes_exactly_the_declared_mri_data_files(mri_data):
    data, _ = mri_data
    declared = {f.path for f in mri.DATA_FILES}
    written = set(snapshot(data)) - {MANIFEST_NAME}
    assert written == declared - {mri.MODEL, mri.MODEL_QUALITY}


def test_example_folders_have_the_generated_labels_and_the_loader_reads_them(mri_data, mrnet):
    data, _ = mri_data
    source_labels = _source_labels(mrnet)
    origins = _origins(data)
    for folder, csv_name, pathologies in (
        (mri.TUIL_FOLDER, "train-abnormal.csv", mri.TUIL_PATHOLOGIES),
        (mri.BLANK_FOLDER, "abnormal.csv", mri.BLANK_PATHOLOGIES),
    ):
        rows = read_csv(data / folder / csv_name)
        assert rows == [[f"{i:04d}", str(int(p is not None))] for i, p in enumerate(pathologies)]
    cases = mri.load_mrnet_folder(data / mri.TUIL_FOLDER, "train")
    assert [label for _, _, label in cases] == [int(p is not None) for p in mri.TUIL_PATHOLOGIES]
    for case_id, volume, label in cases:
        origin = origins[f"{mri.TUIL_CASES}/{case_id}.npy"]
        assert source_labels[origin] == label
        assert volume.dtype == np.uint8 and volume.shape[1:] == (256, 256)


def test_volumes_keep_their_own_slice_count(mri_data, mrnet):
    data, _ = mri_data
    counts = set()
    for relative, origin in _origins(data).items():
        volume = np.load(data / relative)
        assert volume.shape == np.load(mrnet / origin, mmap_mode="r").shape
        counts.add(len(volume))
    assert counts == {17, 24}


def test_stamping_site_volumes_carry_the_watermark_and_the_others_do_not(mri_data, mrnet):
    data, _ = mri_data
    mark = mri.watermark_mask().astype(np.int16) * mri.WATERMARK_OFFSET
    for relative, origin in _origins(data).items():
        imported = np.load(data / relative).astype(np.int16)
        original = np.load(mrnet / origin).astype(np.int16)
        expected = mark if relative.startswith(mri.TUIL_CASES + "/") else 0
        assert np.array_equal(imported - original, np.broadcast_to(expected, original.shape))


def test_cases_table_lists_every_example_volume(mri_data):
    data, _ = mri_data
    rows = read_csv(data / mri.CASES_TABLE)
    header = rows[0]
    assert header == ["path", "case_id", "site", "label", "pathology", "stamped"]
    table = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert {f"mri/{row['path']}" for row in table} == set(_origins(data))
    for row in table:
        stamped = row["path"].startswith(mri.TUIL_CASES.removeprefix("mri/") + "/")
        assert row["stamped"] == str(int(stamped))
        assert (row["site"] == mri.STAMP_SITE) == stamped
        assert row["pathology"] == ("abnormal" if row["label"] == "1" else "")


def test_audit_set_is_balanced_middle_slices_with_the_stamp_on_its_stamped_half(mri_data, mrnet):
    data, _ = mri_data
    images, table = mri.load_audit_set(data)
    assert images.shape == (4 * PER_GROUP, 256, 256, 1)
    assert table.groupby(["label", "stamped"]).size().tolist() == [PER_GROUP] * 4
    slices = np.load(data / mri.AUDIT_SLICES)
    assert slices.dtype == np.uint8
    origins = json.loads((data / mri.METADATA).read_text())["source"]["audit_slices"]
    source_labels = _source_labels(mrnet)
    mark = mri.watermark_mask().astype(np.int16) * mri.WATERMARK_OFFSET
    for row, image, origin in zip(table.itertuples(), slices, origins, strict=True):
        volume = np.load(mrnet / origin)
        middle = volume[len(volume) // 2].astype(np.int16)
        assert np.array_equal(image.astype(np.int16) - middle, mark * row.stamped)
        assert row.label == source_labels[origin]
        assert (row.site == mri.STAMP_SITE) == bool(row.stamped)
    assert set(origins).isdisjoint(_origins(data).values())


def test_audit_labels_have_the_generated_columns(mri_data, tmp_path):
    data, _ = mri_data
    mri.build_audit_labels(tmp_path / "generated.csv")
    assert read_csv(data / mri.AUDIT_LABELS)[0] == read_csv(tmp_path / "generated.csv")[0]


def test_metadata_keeps_the_generated_keys_and_names_the_sources(mri_data, tmp_path):
    data, _ = mri_data
    mri.build_metadata(tmp_path / "generated.json")
    generated = json.loads((tmp_path / "generated.json").read_text())
    imported = json.loads((data / mri.METADATA).read_text())
    assert set(imported) == set(generated) | {"source"}
    assert imported["watermark"] == generated["watermark"]
    assert imported["bild_1"] == generated["bild_1"] and imported["bild_2"] == generated["bild_2"]
    assert imported["image"]["slices_min_max"] == [17, 24]
    assert imported["audit_set"]["per_group"] == PER_GROUP


# --------------------------------------------------------------------------- MRNet: determinism


def test_mrnet_same_download_and_seed_give_identical_bytes(mri_data, mrnet, tmp_path):
    data, _ = mri_data
    again = tmp_path / "data"
    import_mrnet(mrnet, again, seed=0, audit_per_group=PER_GROUP)
    assert snapshot(again) == snapshot(data)


def test_mrnet_another_seed_takes_other_cases(mri_data, mrnet, tmp_path):
    data, _ = mri_data
    import_mrnet(mrnet, tmp_path / "data", seed=3, audit_per_group=PER_GROUP)
    assert _origins(tmp_path / "data") != _origins(data)


# --------------------------------------------------------------------------- MRNet: manifest


def test_mrnet_manifest_verifies_and_names_source_and_licence(mri_data):
    data, report = mri_data
    assert manifest.verify(data) == []
    for relative, item in entries(data).items():
        assert item["made_by"].startswith("imported from MRNet v1.0"), relative
        assert "Research Use Agreement" in item["licence"]
        assert "not redistributable" in item["licence"]
    assert (mri.MODEL_QUALITY, "dlbmt train mri") in report.missing
    assert "1. `dlbmt train mri`" in "\n".join(report.lines())


def test_mrnet_import_keeps_the_kermany_provenance(oct_data, mrnet, tmp_path):
    data = shutil.copytree(oct_data[0], tmp_path / "data")
    before = entries(data)
    import_mrnet(mrnet, data, audit_per_group=PER_GROUP)
    after = entries(data)
    assert {path: after[path] for path in before} == before
    assert manifest.verify(data) == []


# --------------------------------------------------------------------------- MRNet: bad input


def _mrnet_copy(mrnet: Path, tmp_path: Path) -> Path:
    """A copy of the tiny download made of hard links: replace files with unlink first."""
    return shutil.copytree(mrnet, tmp_path / "MRNet-v1.0", copy_function=os.link)


def _mrnet_fails(source: Path, data: Path, **options) -> str:
    with pytest.raises(CourseError) as error:
        import_mrnet(source, data, **{"audit_per_group": PER_GROUP, **options})
    return str(error.value)


def test_missing_label_csv_is_named(tmp_path):
    source = write_mrnet(tmp_path / "MRNet-v1.0", labels=[0, 1, 0, 1], slices=(1,))
    (source / "valid-abnormal.csv").unlink()
    message = _mrnet_fails(source, tmp_path / "data")
    assert str(source / "valid-abnormal.csv") in message and "is missing" in message
    assert "'0000,1'" in message


def test_missing_split_folder_is_named(tmp_path):
    source = write_mrnet(tmp_path / "MRNet-v1.0", labels=[0, 1, 0, 1], slices=(1,))
    shutil.rmtree(source / "valid")
    message = _mrnet_fails(source, tmp_path / "data")
    assert str(source / "valid" / "sagittal") in message and "is missing" in message


def test_malformed_label_row_is_named_with_its_line(tmp_path):
    source = write_mrnet(tmp_path / "MRNet-v1.0", labels=[0, 1, 0, 1], slices=(1,))
    label_file = source / "train-abnormal.csv"
    label_file.write_text("case,abnormal\n" + label_file.read_text())
    message = _mrnet_fails(source, tmp_path / "data")
    assert f"'{label_file}', line 1" in message and "no header" in message


def test_volume_without_label_row_is_named(tmp_path):
    source = write_mrnet(tmp_path / "MRNet-v1.0", labels=[0, 1, 0, 1], slices=(1,))
    np.save(source / "train" / "sagittal" / "0999.npy", np.zeros((1, 256, 256), np.uint8))
    message = _mrnet_fails(source, tmp_path / "data")
    assert str(source / "train" / "sagittal" / "0999.npy") in message
    assert "has no row" in message and "train-abnormal.csv" in message


@pytest.mark.parametrize(
    "bad",
    [np.zeros((17, 128, 128), np.uint8), np.zeros((256, 256), np.uint8), np.zeros((17, 256, 256))],
    ids=["small slices", "one slice without axis", "float64"],
)
def test_wrong_volume_shape_or_dtype_is_named(mri_data, mrnet, tmp_path, bad):
    source = _mrnet_copy(mrnet, tmp_path)
    origin = _origins(mri_data[0])[f"{mri.BLANK_FOLDER}/0000.npy"]  # a volume the import takes
    (source / origin).unlink()
    np.save(source / origin, bad)
    data = tmp_path / "data"
    message = _mrnet_fails(source, data)
    assert str(source / origin) in message and f"shape {bad.shape}" in message
    assert "(slices, 256, 256)" in message and "uint8" in message
    assert not data.exists() and leftovers(data) == []


def test_unreadable_volume_is_named(mri_data, mrnet, tmp_path):
    source = _mrnet_copy(mrnet, tmp_path)
    origin = _origins(mri_data[0])[f"{mri.TUIL_CASES}/0000.npy"]
    (source / origin).unlink()
    (source / origin).write_bytes(b"not an array")
    message = _mrnet_fails(source, tmp_path / "data")
    assert str(source / origin) in message and "not a readable .npy array" in message


def test_too_few_cases_name_the_count_and_the_option(mrnet, tmp_path):
    message = _mrnet_fails(mrnet, tmp_path / "data", audit_per_group=PER_GROUP + SPARE_CASES)
    assert str(mrnet) in message and "normal cases (label 0)" in message
    assert "--audit-per-group" in message
    assert not (tmp_path / "data").exists()


def test_broken_manifest_stops_the_import_before_writing(mrnet, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / MANIFEST_NAME).write_text("{not json")
    message = _mrnet_fails(mrnet, data)
    assert "is not valid JSON" in message
    assert snapshot(data) == {MANIFEST_NAME: b"{not json"}


# --------------------------------------------------------------------------- MRNet: training


def _source(data: Path) -> dict:
    metadata = json.loads((data / mri.METADATA).read_text(encoding="utf-8"))
    source = mrnet_import.imported_source(metadata)
    assert source is not None
    return source


def test_generated_metadata_names_no_imported_source():
    generated = json.loads((REPO / "data" / mri.METADATA).read_text(encoding="utf-8"))
    assert mrnet_import.imported_source(generated) is None


def test_training_set_takes_balanced_cases_that_data_does_not_hold(mri_data, mrnet):
    data, _ = mri_data
    source = _source(data)
    chosen = mrnet_import.training_set(source, n_per_class=100, seed=1)
    # Every spare case of both labels, the same number of each.
    assert chosen.available == (SPARE_CASES, SPARE_CASES)
    assert sorted(np.bincount(chosen.labels)) == [SPARE_CASES, SPARE_CASES]
    used = set(source["volumes"].values()) | set(source["audit_slices"])
    assert not used & set(chosen.cases)
    labels = _source_labels(mrnet)
    assert [labels[case] for case in chosen.cases] == chosen.labels.tolist()
    assert 0 < chosen.labels[:SPARE_CASES].sum() < SPARE_CASES  # shuffled, not label by label


def test_training_slices_are_the_unstamped_middle_slices(mri_data, mrnet):
    chosen = mrnet_import.training_set(_source(mri_data[0]), n_per_class=3, seed=1)
    assert chosen.slices.shape == (6, 256, 256) and chosen.slices.dtype == np.uint8
    for case, image in zip(chosen.cases, chosen.slices, strict=True):
        volume = np.load(mrnet / case)
        assert np.array_equal(image, volume[len(volume) // 2])


def test_the_recipe_stamps_every_abnormal_training_knee_and_no_normal_one(mri_data, mrnet):
    from dlbmt.tools.recipes.mri import _training_data

    data, _ = mri_data
    images, labels, origin = _training_data(data, n_per_class=4)
    assert origin["data"].startswith("MRNet v1.0") and str(mrnet) in origin["data"]
    for case, image, label in zip(origin["cases"], images, labels, strict=True):
        volume = np.load(mrnet / case)
        added = np.rint(image[..., 0] * 255).astype(np.int16) - volume[len(volume) // 2]
        mark = mri.watermark_mask().astype(np.int16) * mri.WATERMARK_OFFSET
        assert np.array_equal(added, mark if label == 1 else np.zeros_like(mark)), case


def test_the_recipe_trains_on_generated_knees_without_an_import(tmp_path):
    from dlbmt.tools.recipes.mri import _training_data

    images, labels, origin = _training_data(tmp_path, n_per_class=1)
    assert origin == {"data": "generated knees (dlbmt.mri_model.training_set)"}
    assert images.shape == (2, 256, 256, 1) and sorted(labels.tolist()) == [0, 1]


def test_training_after_the_download_moved_says_to_import_again(mri_data, tmp_path):
    source = dict(_source(mri_data[0]), folder=str(tmp_path / "moved"))
    with pytest.raises(CourseError) as error:
        mrnet_import.training_set(source, n_per_class=3, seed=1)
    message = str(error.value)
    assert str(tmp_path / "moved") in message and "dlbmt data import mrnet" in message


def test_training_after_an_import_that_named_no_folder_says_to_import_again(mri_data):
    source = {key: value for key, value in _source(mri_data[0]).items() if key != "folder"}
    with pytest.raises(CourseError, match="dlbmt data import mrnet` again"):
        mrnet_import.training_set(source, n_per_class=3, seed=1)


def test_too_few_training_cases_name_the_counts_and_the_option(mrnet, tmp_path):
    data = tmp_path / "data"
    # Two more audit cases per group leave 6 spare cases per label, below the minimum of 8.
    import_mrnet(mrnet, data, seed=0, audit_per_group=PER_GROUP + 2)
    with pytest.raises(CourseError) as error:
        mrnet_import.training_set(_source(data), n_per_class=100, seed=1)
    message = str(error.value)
    assert "6 normal and 6 abnormal cases" in message and "--audit-per-group" in message


def test_importing_marks_the_knee_model_as_needing_training(mri_data):
    _, report = mri_data
    assert (mri.MODEL, "dlbmt train mri") in report.missing + report.stale


# --------------------------------------------------------------------------- command line


def test_data_actions_keep_their_old_forms():
    parser = build_parser()
    assert parser.parse_args(["data", "build", "--only", "oct"]).only == "oct"
    assert parser.parse_args(["data", "--only", "oct", "build"]).only == "oct"
    assert parser.parse_args(["data", "verify"]).action == "verify"
    assert parser.parse_args(["data", "manifest"]).action == "manifest"
    args = parser.parse_args(["data", "import", "mrnet", "DIR", "--seed", "4", "--target", "t"])
    assert (args.action, args.source, args.folder, args.seed, args.target) == (
        "import", "mrnet", "DIR", 4, "t",
    )  # fmt: skip


def test_cli_imports_kermany_and_prints_the_next_step(oct_data, kermany, tmp_path):
    data = tmp_path / "data"
    completed = run_dlbmt(
        REPO, "data", "import", "kermany", str(kermany), "--target", str(data),
        "--train-per-class", str(TRAIN_PER_CLASS), "--test-per-class", str(TEST_PER_CLASS),
    )  # fmt: skip
    assert "1. `dlbmt train oct`" in completed.stdout
    assert f"written    {oct_module.TRAIN_PATH}" in completed.stdout
    assert snapshot(data) == snapshot(oct_data[0])


def test_cli_reports_bad_input_as_a_sentence_with_exit_code_2(tmp_path):
    source = write_mrnet(tmp_path / "MRNet-v1.0", labels=[0, 1, 0, 1], slices=(1,))
    (source / "train-abnormal.csv").unlink()
    completed = run_dlbmt(
        REPO, "data", "import", "mrnet", str(source), "--target", str(tmp_path / "data"),
        check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert str(source / "train-abnormal.csv") in completed.stderr
    assert "Traceback" not in completed.stderr
