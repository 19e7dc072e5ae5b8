"""The synthetic OCT generator, its data files and the Kermany folder loader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlbmt.errors import CourseError
from dlbmt.oct import (
    CLASS_TITLES_DE,
    CLASSES,
    IMAGE_SIZE,
    Variation,
    build_drusen_image,
    build_test,
    build_train,
    generate_oct_dataset,
    generate_oct_image,
    load_kermany_folder,
    plot_reference_examples,
    read_kermany_scan,
    save_npz,
)


def test_class_order_is_cnv_dme_drusen_normal():
    assert CLASSES == ("CNV", "DME", "DRUSEN", "NORMAL")


def test_same_seed_gives_identical_images():
    first = generate_oct_dataset(2, seed=4, variation="wide")
    second = generate_oct_dataset(2, seed=4, variation="wide")
    assert first[0].tobytes() == second[0].tobytes()
    assert np.array_equal(first[1], second[1])


def test_other_seed_gives_other_images():
    assert not np.array_equal(generate_oct_dataset(1, 1)[0], generate_oct_dataset(1, 2)[0])


def test_dataset_is_uint8_scans_with_balanced_labels():
    images, labels = generate_oct_dataset(3, seed=0)
    assert images.dtype == np.uint8
    assert images.shape == (12, IMAGE_SIZE, IMAGE_SIZE)
    assert np.bincount(labels).tolist() == [3, 3, 3, 3]


def test_dataset_order_is_shuffled():
    _, labels = generate_oct_dataset(5, seed=0)
    assert not np.array_equal(labels, np.sort(labels))


def test_classes_are_told_apart_by_their_mean_images():
    def pooled(images):
        # 4 x 4 blocks of the scans, so that speckle averages out.
        blocks = IMAGE_SIZE // 4
        pooled = images.reshape(len(images), blocks, 4, blocks, 4).mean(axis=(2, 4))
        return pooled.reshape(len(images), -1)

    x_fit, y_fit = generate_oct_dataset(12, seed=1)
    x_new, y_new = generate_oct_dataset(12, seed=2)
    centroids = np.stack([pooled(x_fit)[y_fit == k].mean(axis=0) for k in range(4)])
    distances = ((pooled(x_new)[:, None] - centroids[None]) ** 2).sum(axis=-1)
    assert np.mean(distances.argmin(axis=1) == y_new) > 0.75


def test_right_eyes_are_asymmetric_and_mixed_eyes_are_not():
    def asymmetry(images):
        mean = images.astype(float).mean(axis=0)
        return np.abs(mean - mean[:, ::-1]).mean()

    right, _ = generate_oct_dataset(12, seed=1, variation="narrow")
    both, _ = generate_oct_dataset(12, seed=1, variation=Variation("both", 0.0, ((1.0, 0.0),), 0.0))
    assert asymmetry(right) > 1.5 * asymmetry(both)


def test_wide_variation_spreads_brightness_more_than_narrow():
    narrow, _ = generate_oct_dataset(10, seed=3, variation="narrow")
    wide, _ = generate_oct_dataset(10, seed=3, variation="wide")
    assert wide.mean(axis=(1, 2)).std() > 2 * narrow.mean(axis=(1, 2)).std()


def test_unknown_variation_raises_course_error():
    with pytest.raises(CourseError, match="variation"):
        generate_oct_dataset(1, seed=0, variation="extreme")


def test_label_outside_the_four_classes_raises_course_error():
    with pytest.raises(CourseError, match="label"):
        generate_oct_image(4, np.random.default_rng(0))


def test_save_npz_gives_identical_bytes_that_numpy_loads(tmp_path):
    x, y = generate_oct_dataset(1, seed=0)
    save_npz(tmp_path / "a.npz", x=x, y=y)
    save_npz(tmp_path / "b.npz", x=x, y=y)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as archive:
        assert np.array_equal(archive["x"], x) and np.array_equal(archive["y"], y)


@pytest.mark.parametrize("build", [build_train, build_test, build_drusen_image])
def test_shipped_generated_files_rebuild_to_identical_bytes(tmp_path, build):
    build(tmp_path / "first")
    build(tmp_path / "second")
    assert (tmp_path / "first").read_bytes() == (tmp_path / "second").read_bytes()


def test_drusen_image_is_a_grayscale_scan(tmp_path):
    target = tmp_path / "drusen.png"
    build_drusen_image(target)
    with Image.open(target) as image:
        assert image.mode == "L" and image.size == (IMAGE_SIZE, IMAGE_SIZE)


def test_reference_figure_has_one_german_title_per_class():
    import matplotlib

    matplotlib.use("Agg")
    figure = plot_reference_examples()
    titles = [axis.get_title() for axis in figure.axes]
    assert len(titles) == 4
    assert "diabetisches Makulaödem" in titles[1]
    assert all(
        CLASS_TITLES_DE[name].split(" – ")[0] in title
        for name, title in zip(CLASSES, titles, strict=True)
    )


def _kermany_folder(root, per_class=2, split="train"):
    rng = np.random.default_rng(0)
    for name in CLASSES:
        folder = root / "OCT2017" / split / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(40, 60), dtype=np.uint8)
            Image.fromarray(pixels).convert("RGB").save(folder / f"{name}-{i}.jpeg")
    return root / "OCT2017"


def test_kermany_scan_is_read_as_square_greyscale_uint8(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(40, 60), dtype=np.uint8)
    Image.fromarray(pixels).convert("RGB").save(tmp_path / "scan.jpeg")
    scan = read_kermany_scan(tmp_path / "scan.jpeg", size=24)
    assert scan.shape == (24, 24) and scan.dtype == np.uint8
    assert read_kermany_scan(tmp_path / "scan.jpeg").shape == (IMAGE_SIZE, IMAGE_SIZE)


def test_kermany_loader_reads_resized_grayscale_images_by_class(tmp_path):
    root = _kermany_folder(tmp_path)
    images, labels = load_kermany_folder(root, split="train", size=32)
    assert images.shape == (8, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_kermany_loader_limit_caps_images_per_class(tmp_path):
    root = _kermany_folder(tmp_path, per_class=3)
    _, labels = load_kermany_folder(root, split="train", size=16, limit=1)
    assert labels.tolist() == [0, 1, 2, 3]


def test_kermany_loader_missing_split_raises_course_error(tmp_path):
    root = _kermany_folder(tmp_path)
    with pytest.raises(CourseError, match="test"):
        load_kermany_folder(root, split="test")


def test_kermany_loader_missing_class_raises_course_error(tmp_path):
    root = _kermany_folder(tmp_path)
    for path in (root / "train" / "DME").iterdir():
        path.unlink()
    (root / "train" / "DME").rmdir()
    with pytest.raises(CourseError, match="DME"):
        load_kermany_folder(root)


def test_kermany_loader_broken_image_raises_course_error(tmp_path):
    root = _kermany_folder(tmp_path)
    (root / "train" / "CNV" / "CNV-0.jpeg").write_bytes(b"not a jpeg")
    with pytest.raises(CourseError, match="CNV-0.jpeg"):
        load_kermany_folder(root)


def test_training_set_loader_reads_the_course_data_folder(tmp_path, monkeypatch):
    from dlbmt.oct import load_oct_train

    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    (tmp_path / "oct").mkdir()
    x, y = generate_oct_dataset(1, seed=0)
    save_npz(tmp_path / "oct" / "oct_train.npz", x=x, y=y)
    loaded_x, loaded_y = load_oct_train()
    assert np.array_equal(loaded_x, x) and np.array_equal(loaded_y, y)


def test_missing_test_set_raises_course_error(tmp_path, monkeypatch):
    from dlbmt.oct import load_oct_test

    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    with pytest.raises(CourseError, match="oct_test.npz"):
        load_oct_test()


def test_broken_training_set_raises_course_error(tmp_path, monkeypatch):
    from dlbmt.oct import load_oct_train

    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    (tmp_path / "oct").mkdir()
    (tmp_path / "oct" / "oct_train.npz").write_bytes(b"not a zip")
    with pytest.raises(CourseError, match="oct_train.npz"):
        load_oct_train()


def test_samples_loader_reads_the_four_pngs_and_nothing_else(tmp_path, monkeypatch):
    from dlbmt.oct import SAMPLE_PNG_PATHS, load_oct_samples, write_samples

    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    (tmp_path / "oct").mkdir()
    images, _ = generate_oct_dataset(1, seed=5)
    write_samples(images, tmp_path / "oct")
    assert sorted(p.name for p in (tmp_path / "oct").iterdir()) == sorted(
        p.split("/")[-1] for p in SAMPLE_PNG_PATHS
    )
    loaded = load_oct_samples()
    assert isinstance(loaded, np.ndarray) and np.array_equal(loaded, images)


def test_missing_sample_image_raises_course_error(tmp_path, monkeypatch):
    from dlbmt.oct import load_oct_samples

    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    with pytest.raises(CourseError, match="bild_1.png"):
        load_oct_samples()
