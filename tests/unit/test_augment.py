"""Augmentation tools: noise, brightness, rotation and enlarging a data set."""

from __future__ import annotations

import numpy as np
import pytest

from dlbmt.augment import (
    NOISE_TYPES,
    add_noise,
    augment_dataset,
    brightness_shift,
    rotate,
    shift,
)
from dlbmt.errors import CourseError


@pytest.fixture
def scan() -> np.ndarray:
    return np.random.default_rng(0).integers(20, 230, size=(32, 32), dtype=np.uint8)


@pytest.mark.parametrize("noise_typ", NOISE_TYPES)
def test_noise_keeps_shape_and_uint8(scan, noise_typ):
    noisy = add_noise(noise_typ, scan, rng=1)
    assert noisy.shape == scan.shape and noisy.dtype == np.uint8
    assert not np.array_equal(noisy, scan)


@pytest.mark.parametrize("noise_typ", NOISE_TYPES)
def test_noise_with_same_seed_is_identical(scan, noise_typ):
    assert np.array_equal(add_noise(noise_typ, scan, rng=3), add_noise(noise_typ, scan, rng=3))


@pytest.mark.parametrize("noise_typ", NOISE_TYPES)
def test_noise_on_float_image_stays_in_unit_range(scan, noise_typ):
    image = scan.astype(np.float32) / 255
    noisy = add_noise(noise_typ, image, rng=np.random.default_rng(2), strength=0.5)
    assert noisy.dtype == np.float32
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0


def test_salt_and_pepper_sets_pixels_to_black_or_white(scan):
    noisy = add_noise("s&p", scan, rng=0, strength=0.2)
    changed = noisy != scan
    assert set(np.unique(noisy[changed])) <= {0, 255}
    assert 0.1 < changed.mean() < 0.3


def test_unknown_noise_type_raises_course_error(scan):
    with pytest.raises(CourseError, match="gauss"):
        add_noise("pink", scan)


def test_brightness_shift_adds_and_clips(scan):
    brighter = brightness_shift(scan, 40)
    assert brighter.dtype == np.uint8
    expected = np.clip(scan.astype(int) + 40, 0, 255)
    assert np.array_equal(brighter, expected)


def test_rotate_by_zero_degrees_keeps_the_image(scan):
    assert np.array_equal(rotate(scan, 0.0), scan)


def test_rotate_by_quarter_turn_matches_rot90(scan):
    assert np.array_equal(rotate(scan, 90.0), np.rot90(scan))


def test_rotate_keeps_shape_and_dtype(scan):
    turned = rotate(scan, 10.0)
    assert turned.shape == scan.shape and turned.dtype == np.uint8


def test_legacy_keras_affine_transform_rotates_a_scan(scan):
    import tensorflow as tf

    apply_affine_transform = tf.keras.preprocessing.image.apply_affine_transform
    turned = apply_affine_transform(
        scan[..., None].astype("float32"), theta=10, row_axis=0, col_axis=1, channel_axis=2
    )
    assert turned.shape == (32, 32, 1)
    assert not np.allclose(turned[..., 0], scan)


def test_augment_dataset_appends_one_copy_per_operation(scan):
    x = np.stack([scan, scan[::-1], scan.T])
    y = np.array([0, 1, 2])
    ops = [lambda image, rng: image[:, ::-1], lambda image, rng: add_noise("gauss", image, rng)]
    x_aug, y_aug = augment_dataset(x, y, ops, seed=0)
    assert x_aug.shape == (9, 32, 32) and x_aug.dtype == np.uint8
    assert y_aug.tolist() == [0, 1, 2] * 3
    assert np.array_equal(x_aug[:3], x)
    assert np.array_equal(x_aug[3:6], x[:, :, ::-1])


def test_augment_dataset_with_same_seed_is_identical(scan):
    x, y = np.stack([scan, scan]), np.array([0, 3])
    ops = [lambda image, rng: rotate(image, rng.uniform(-10, 10))]
    first, _ = augment_dataset(x, y, ops, seed=5)
    second, _ = augment_dataset(x, y, ops, seed=5)
    assert np.array_equal(first, second)


def test_augment_dataset_rejects_operation_that_changes_shape(scan):
    with pytest.raises(CourseError, match="operation 1"):
        augment_dataset(scan[None], np.array([0]), [lambda image, rng: image[:10]], seed=0)


def test_augment_dataset_rejects_mismatched_labels(scan):
    with pytest.raises(CourseError, match="labels"):
        augment_dataset(scan[None], np.array([0, 1]), [], seed=0)


def test_shift_moves_rows_down_and_repeats_the_edge():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    moved = shift(image, 1)
    assert np.array_equal(moved[1:], image[:-1])
    assert np.array_equal(moved[0], image[0])
