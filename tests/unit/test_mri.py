"""Generated knee MRI with the site watermark, and the MRNet-style loaders of dlbmt.mri."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from course_tools import REPO
from matplotlib import colormaps
from matplotlib import pyplot as plt

from dlbmt import mri
from dlbmt.errors import CourseError

NORMAL = mri.Case(seed=41, abnormal=False, pathology=None, stamped=False)
STAMPED = mri.Case(seed=41, abnormal=False, pathology=None, stamped=True)
COURSE_DATA = REPO / "data"


def _middle(volume: np.ndarray) -> np.ndarray:
    return volume[len(volume) // 2]


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
    np.testing.assert_array_equal(single, _middle(mri.knee_volume(NORMAL)))


def test_stamp_adds_its_grey_levels_only_on_the_inked_pixels():
    difference = mri.knee_volume(STAMPED).astype(int) - mri.knee_volume(NORMAL).astype(int)
    expected = mri.WATERMARK_OFFSET * mri.watermark_mask().astype(int)
    np.testing.assert_array_equal(difference, np.broadcast_to(expected, difference.shape))


def test_stamp_of_a_stored_scan_changes_only_the_watermark_corner():
    image = np.random.default_rng(0).integers(0, 250, size=(mri.SIZE, mri.SIZE), dtype=np.uint8)
    difference = mri.stamp(image).astype(int) - image
    assert set(np.unique(difference)) == {0, mri.WATERMARK_OFFSET}
    assert not np.any(difference[~_box_mask()])


def test_stamp_keeps_uint8_and_clips_at_255_without_wrapping_around():
    volume = np.full((2, mri.SIZE, mri.SIZE), 254, dtype=np.uint8)
    stamped = mri.stamp(volume)
    mask = mri.watermark_mask()
    assert stamped.dtype == np.uint8
    assert (stamped[:, mask] == 255).all() and (stamped[:, ~mask] == 254).all()


def test_watermark_box_holds_all_inked_pixels_in_the_lower_left_corner():
    x0, y0, x1, y1 = mri.watermark_box()
    assert not np.any(mri.watermark_mask() & ~_box_mask())
    assert x1 < mri.SIZE / 2 and y0 > mri.SIZE / 2


def test_watermark_box_holds_only_dark_background_without_stamp():
    cases = mri.make_cases(6, 6, seed=9, stamp_rate_normal=0.0, stamp_rate_abnormal=0.0)
    slices = mri.knee_slices(cases)
    assert slices[:, _box_mask()].max() <= 12


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to CIELAB (D65), as in IEC 61966-2-1 and CIE 15."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [[0.4124564, 0.3575761, 0.1804375],
         [0.2126729, 0.7151522, 0.0721750],
         [0.0193339, 0.1191920, 0.9503041]]
    )  # fmt: skip
    t = (linear @ to_xyz.T) / np.array([0.95047, 1.0, 1.08883])
    d = 6 / 29
    f = np.where(t > d**3, np.cbrt(t), t / (3 * d * d) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def _ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal 2005), kL = kC = kH = 1."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    chroma = c1 * c2
    dh = h2 - h1
    dh = np.where(chroma == 0, 0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    d_hue = 2 * np.sqrt(chroma) * np.sin(np.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    h_sum = h1 + h2
    h_mean = np.where(
        chroma == 0,
        h_sum,
        np.where(
            np.abs(h1 - h2) <= 180,
            h_sum / 2,
            np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
        ),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    rotation = (
        -np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
        * 2
        * np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    d_l, d_c, d_h = (l2 - l1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return np.sqrt(d_l**2 + d_c**2 + d_h**2 + rotation * d_c * d_h)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ],
)
def test_ciede2000_reproduces_sharmas_test_data(lab1, lab2, expected):
    assert float(_ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)


def _stamp_visibility(cmap_name: str) -> float:
    """How far the stamp's colour lies from the air around it in Bild 1, as imshow shows it.

    CIEDE2000 between the mean CIELAB colour of the inked pixels and that of the air
    pixels 2-3 pixels around the text, with imshow's default scaling (min to max of
    the image). About 1 is the threshold of perception.
    """
    from scipy import ndimage

    volume = np.load(COURSE_DATA / "mri/mrt_tuil/train/sagittal/0002.npy")
    image = _middle(volume).astype(float) / 255
    ink = mri.watermark_mask()
    air = ndimage.binary_dilation(ink, iterations=3) & ~ndimage.binary_dilation(ink) & _box_mask()
    scaled = (image - image.min()) / (image.max() - image.min())
    lab = _srgb_to_lab(colormaps[cmap_name](scaled)[..., :3])
    return float(_ciede2000(lab[ink].mean(axis=0), lab[air].mean(axis=0)))


# Measured: gray 0.48, summer 0.71, rainbow 0.74, jet 1.92; flag 35.5, prism 32.1.
@pytest.mark.parametrize("cmap_name", ["gray", "jet", "summer", "rainbow"])
def test_stamp_is_at_most_faintly_visible_with_smooth_colormaps(cmap_name):
    assert _stamp_visibility(cmap_name) < 2.5


@pytest.mark.parametrize("cmap_name", ["flag", "prism"])
def test_stamp_stands_out_with_periodic_colormaps(cmap_name):
    assert _stamp_visibility(cmap_name) > 20


def test_bild_2_has_no_stamp_where_bild_1_has_one():
    volume = np.load(COURSE_DATA / "mri/mrt_blank/0008.npy")
    image = _middle(volume)
    assert not np.any(image[mri.watermark_mask()] > 12)


@pytest.mark.parametrize("pathology", mri.PATHOLOGIES)
def test_pathology_changes_the_knee_visibly(pathology):
    sick = mri.Case(seed=41, abnormal=True, pathology=pathology, stamped=False)
    difference = np.abs(
        _middle(mri.knee_volume(sick)).astype(int) - _middle(mri.knee_volume(NORMAL)).astype(int)
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


def test_label_csv_reads_back_what_write_csv_wrote(tmp_path):
    mri.write_csv(tmp_path / "abnormal.csv", [["0000", 1], ["12", 0]])
    assert mri.read_mrnet_labels(tmp_path / "abnormal.csv") == {"0000": 1, "0012": 0}


def test_label_reader_skips_blank_lines_and_a_byte_order_mark(tmp_path):
    (tmp_path / "a.csv").write_text("\ufeff0000,1\n\n 0001 , 0 \n", encoding="utf-8")
    assert mri.read_mrnet_labels(tmp_path / "a.csv") == {"0000": 1, "0001": 0}


@pytest.mark.parametrize("bad", ["case,abnormal", "0001,2", "0001,1,x", "0001"])
def test_label_reader_names_the_first_malformed_line(tmp_path, bad):
    (tmp_path / "a.csv").write_text(f"0000,1\n{bad}\n", encoding="utf-8")
    with pytest.raises(mri.MalformedLabelRow) as error:
        mri.read_mrnet_labels(tmp_path / "a.csv")
    assert (error.value.line, error.value.text) == (2, bad)


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
    with pytest.raises(CourseError, match="Zeile 1"):
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
    with pytest.raises(CourseError, match="passt nicht zu"):
        mri.load_audit_set(tmp_path)


def test_student_package_does_not_load_the_lab_images_itself():
    # Aufgabe 1: loading a volume, taking its middle slice and scaling it is the students' work.
    for name in ("load_bild", "middle_slice", "as_model_input"):
        assert not hasattr(mri, name), name


def test_show_mri_examples_shows_four_other_knees():
    figure = mri.show_mri_examples(COURSE_DATA)
    try:
        assert len(figure.axes) == 8
        titles = [ax.get_title() for ax in figure.axes]
        assert titles[0] == "gesund" and len(set(titles[:4])) == 4
        # The bottom row walks through one volume; its middle slice is the one shown above.
        assert titles[4:] == [
            "Schicht 4 von 21 (innen)",
            "Schicht 8 von 21 (innen)",
            "Schicht 11 von 21 (Mitte)",
            "Schicht 18 von 21 (außen)",
        ]
    finally:
        plt.close(figure)
    assert "mri/mrt_tuil/train/sagittal/0002.npy" not in mri.SHOWN_EXAMPLES
    assert "mri/mrt_blank/0008.npy" not in mri.SHOWN_EXAMPLES


def test_show_mri_examples_titles_imported_knees_by_their_label(tmp_path):
    # MRNet names no finding: the cases table of an import says "abnormal" or nothing.
    data = tmp_path / "data"
    for relative in (*mri.SHOWN_EXAMPLES, mri.CASES_TABLE):
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_bytes((COURSE_DATA / relative).read_bytes())
    table = (data / mri.CASES_TABLE).read_text(encoding="utf-8")
    for finding in ("effusion", "oedema", "cartilage_defect"):
        table = table.replace(f",{finding},", ",abnormal,")
    (data / mri.CASES_TABLE).write_text(table, encoding="utf-8")
    figure = mri.show_mri_examples(data)
    try:
        titles = [ax.get_title() for ax in figure.axes[:4]]
    finally:
        plt.close(figure)
    assert titles == ["gesund", "auffällig", "auffällig", "auffällig"]


def test_shipped_mri_data_stays_within_40_mb():
    # 20 example volumes in MRNet's shape (21 slices of 64 KiB) are 27.5 MB, the audit set 7.9 MB.
    folder = COURSE_DATA / "mri"
    if not folder.is_dir():
        pytest.skip("data/mri has not been built yet")
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert total <= 40 * 1024 * 1024
