"""Synthetic knee MRI with the site watermark, and the MRNet-style loaders of dlbmt.mri."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps

from dlbmt import mri
from dlbmt.errors import CourseError

NORMAL = mri.Case(seed=41, abnormal=False, pathology=None, stamped=False)
STAMPED = mri.Case(seed=41, abnormal=False, pathology=None, stamped=True)
COURSE_DATA = Path(__file__).resolve().parents[1] / "data"


def _box_mask() -> np.ndarray:
    x0, y0, x1, y1 = mri.watermark_box()
    mask = np.zeros((mri.SIZE, mri.SIZE), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _write_mrnet(root: Path, split: str = "train", plane: str = "sagittal") -> None:
    folder = root / split / plane
    folder.mkdir(parents=True)
    for i, slices in enumerate((3, 5)):
        np.save(folder / f"{i:04d}.npy", np.full((slices, 8, 8), i, np.uint8))
    (root / f"{split}-abnormal.csv").write_text("0000,0\n0001,1\n", encoding="utf-8")


def test_same_case_gives_identical_bytes():
    assert mri.knee_volume(NORMAL).tobytes() == mri.knee_volume(NORMAL).tobytes()


def test_different_seeds_give_different_knees():
    other = mri.Case(seed=42, abnormal=False, pathology=None, stamped=False)
    assert not np.array_equal(mri.knee_volume(NORMAL), mri.knee_volume(other))


def test_volume_has_mrnet_shape_and_dtype():
    volume = mri.knee_volume(NORMAL)
    assert volume.shape == (mri.N_SLICES, 256, 256)
    assert volume.dtype == np.uint8


def test_middle_slice_does_not_depend_on_slice_count():
    single = mri.knee_volume(NORMAL, n_slices=1)[0]
    np.testing.assert_array_equal(single, mri.middle_slice(mri.knee_volume(NORMAL)))


def test_stamp_adds_its_grey_levels_only_on_the_inked_pixels():
    difference = mri.knee_volume(STAMPED).astype(int) - mri.knee_volume(NORMAL).astype(int)
    expected = mri.WATERMARK_OFFSET * mri.watermark_mask().astype(int)
    np.testing.assert_array_equal(difference, np.broadcast_to(expected, difference.shape))


def test_watermark_box_holds_all_inked_pixels_in_the_lower_left_corner():
    x0, y0, x1, y1 = mri.watermark_box()
    assert not np.any(mri.watermark_mask() & ~_box_mask())
    assert x1 < mri.SIZE / 2 and y0 > mri.SIZE / 2


def test_watermark_box_holds_only_dark_background_without_stamp():
    cases = mri.make_cases(6, 6, seed=9, stamp_rate_normal=0.0, stamp_rate_abnormal=0.0)
    slices = mri.knee_slices(cases)
    assert slices[:, _box_mask()].max() <= 12


def _colour_contrast(cmap_name: str) -> float:
    # Mean colour distance between stamped and unstamped corner, as imshow shows it.
    x0, y0, x1, y1 = mri.watermark_box()
    cmap = colormaps[cmap_name]
    plain = mri.middle_slice(mri.knee_volume(NORMAL)).astype(float)
    stamped = mri.middle_slice(mri.knee_volume(STAMPED)).astype(float)
    low, high = plain.min(), plain.max()
    ink = mri.watermark_mask()[y0:y1, x0:x1]
    colours = [
        cmap((image[y0:y1, x0:x1] - low) / (high - low))[..., :3] for image in (plain, stamped)
    ]
    return float(np.abs(colours[1] - colours[0]).sum(axis=-1)[ink].mean())


@pytest.mark.parametrize("cmap_name", ["gray", "jet"])
def test_watermark_is_nearly_invisible_with_gray_and_jet(cmap_name):
    assert _colour_contrast(cmap_name) < 0.1


@pytest.mark.parametrize("cmap_name", ["flag", "prism"])
def test_watermark_stands_out_with_periodic_colormaps(cmap_name):
    assert _colour_contrast(cmap_name) > 0.3


@pytest.mark.parametrize("pathology", mri.PATHOLOGIES)
def test_pathology_changes_the_knee_visibly(pathology):
    sick = mri.Case(seed=41, abnormal=True, pathology=pathology, stamped=False)
    difference = np.abs(
        mri.middle_slice(mri.knee_volume(sick)).astype(int)
        - mri.middle_slice(mri.knee_volume(NORMAL)).astype(int)
    )
    assert np.count_nonzero(difference > 40) >= 30
    assert not np.any(difference[_box_mask()])


def test_make_cases_follows_the_stamp_rates_exactly():
    cases = mri.make_cases(10, 20, seed=4, stamp_rate_normal=0.2, stamp_rate_abnormal=0.5)
    normal = [c for c in cases if not c.abnormal]
    abnormal = [c for c in cases if c.abnormal]
    assert sum(c.stamped for c in normal) == 2
    assert sum(c.stamped for c in abnormal) == 10
    assert all(c.pathology in mri.PATHOLOGIES for c in abnormal)


def test_audit_set_is_balanced_over_stamp_and_label():
    counts: dict[tuple[bool, bool], int] = {}
    for case, site in mri.audit_cases():
        key = (case.abnormal, case.stamped)
        counts[key] = counts.get(key, 0) + 1
        assert (site == mri.STAMP_SITE) == case.stamped
    assert counts == {key: mri.AUDIT_PER_GROUP for key in counts} and len(counts) == 4


def test_bild_1_is_stamped_abnormal_and_bild_2_unstamped_abnormal():
    cases = {path: case for path, _, _, case in mri._example_cases()}
    bild_1 = cases["mri/mrt_tuil/train/sagittal/0002.npy"]
    bild_2 = cases["mri/mrt_blank/0008.npy"]
    assert bild_1.abnormal and bild_1.stamped
    assert bild_2.abnormal and not bild_2.stamped


def test_data_files_live_under_mri_and_are_declared_once():
    paths = [f.path for f in mri.DATA_FILES]
    assert len(paths) == len(set(paths))
    assert all(path.startswith("mri/") for path in paths)


def test_rebuilding_a_volume_gives_identical_bytes(tmp_path):
    entry = next(f for f in mri.DATA_FILES if f.path.endswith("mrt_blank/0008.npy"))
    entry.build(tmp_path / "a.npy")
    entry.build(tmp_path / "b.npy")
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_label_csv_is_written_in_mrnet_style(tmp_path):
    mri.build_tuil_labels(tmp_path / "train-abnormal.csv")
    lines = (tmp_path / "train-abnormal.csv").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "0002,1"
    assert len(lines) == len(mri.TUIL_PATHOLOGIES)


def test_load_mrnet_folder_reads_cases_and_labels(tmp_path):
    _write_mrnet(tmp_path)
    cases = mri.load_mrnet_folder(tmp_path)
    assert [(case_id, label) for case_id, _, label in cases] == [("0000", 0), ("0001", 1)]
    assert cases[1][1].shape == (5, 8, 8)


def test_load_mrnet_folder_reads_the_valid_split_and_other_planes(tmp_path):
    _write_mrnet(tmp_path, split="valid", plane="coronal")
    cases = mri.load_mrnet_folder(tmp_path, split="valid", plane="coronal")
    assert len(cases) == 2


def test_load_mrnet_folder_without_plane_folder_raises_course_error(tmp_path):
    _write_mrnet(tmp_path)
    with pytest.raises(CourseError, match="axial"):
        mri.load_mrnet_folder(tmp_path, plane="axial")


def test_load_mrnet_folder_without_label_csv_raises_course_error(tmp_path):
    _write_mrnet(tmp_path)
    (tmp_path / "train-abnormal.csv").unlink()
    with pytest.raises(CourseError, match="train-abnormal.csv"):
        mri.load_mrnet_folder(tmp_path)


def test_load_mrnet_folder_with_malformed_csv_raises_course_error(tmp_path):
    _write_mrnet(tmp_path)
    (tmp_path / "train-abnormal.csv").write_text("0000;0\n", encoding="utf-8")
    with pytest.raises(CourseError, match="line 1"):
        mri.load_mrnet_folder(tmp_path)


def test_load_mrnet_folder_with_unlabelled_volume_raises_course_error(tmp_path):
    _write_mrnet(tmp_path)
    (tmp_path / "train-abnormal.csv").write_text("0000,0\n", encoding="utf-8")
    with pytest.raises(CourseError, match="0001.npy"):
        mri.load_mrnet_folder(tmp_path)


def test_load_mrnet_folder_with_broken_volume_raises_course_error(tmp_path):
    _write_mrnet(tmp_path)
    (tmp_path / "train" / "sagittal" / "0001.npy").write_bytes(b"not an array")
    with pytest.raises(CourseError, match="0001.npy"):
        mri.load_mrnet_folder(tmp_path)


def test_load_mrnet_folder_with_unknown_split_raises_course_error(tmp_path):
    with pytest.raises(CourseError, match="split"):
        mri.load_mrnet_folder(tmp_path, split="test")


def test_load_bild_returns_middle_slice_as_model_input(tmp_path):
    volume = mri.knee_volume(STAMPED)
    np.save(tmp_path / "0002.npy", volume)
    image = mri.load_bild(tmp_path / "0002.npy")
    assert image.shape == (256, 256, 1)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image[..., 0] * 255, volume[1], atol=1e-3)


def test_load_bild_of_missing_file_raises_course_error(tmp_path):
    with pytest.raises(CourseError, match="does not exist"):
        mri.load_bild(tmp_path / "missing.npy")


def test_middle_slice_of_a_2d_array_raises_course_error():
    with pytest.raises(CourseError, match="slices, H, W"):
        mri.middle_slice(np.zeros((4, 4)))


def test_load_audit_set_returns_images_and_matching_table(tmp_path):
    slices = mri.knee_slices([NORMAL, STAMPED])
    (tmp_path / "mri" / "audit").mkdir(parents=True)
    np.save(tmp_path / mri.AUDIT_SLICES, slices)
    (tmp_path / mri.AUDIT_LABELS).write_text(
        "index,label,stamped,pathology,site\n0,0,0,,Süd\n1,0,1,,Nord\n", encoding="utf-8"
    )
    images, table = mri.load_audit_set(tmp_path)
    assert images.shape == (2, 256, 256, 1)
    assert list(table["stamped"]) == [0, 1]


def test_load_audit_set_with_mismatched_table_raises_course_error(tmp_path):
    (tmp_path / "mri" / "audit").mkdir(parents=True)
    np.save(tmp_path / mri.AUDIT_SLICES, mri.knee_slices([NORMAL]))
    (tmp_path / mri.AUDIT_LABELS).write_text("index,label\n0,0\n", encoding="utf-8")
    with pytest.raises(CourseError, match="does not match"):
        mri.load_audit_set(tmp_path)


def test_shipped_mri_data_stays_within_15_mb():
    folder = COURSE_DATA / "mri"
    if not folder.is_dir():
        pytest.skip("data/mri has not been built yet")
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert total <= 15 * 1024 * 1024
