"""The reference CAM and Grad-CAM (instructor side) and the map helpers of dlbmt.cam."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlbmt.cam import cam_peak, energy_in_box, mask_corner, overlay, pointing_game_hit
from dlbmt.errors import CourseError
from dlbmt.grading.references import class_activation_map as visualize_class_activation_map
from dlbmt.grading.references import grad_cam


@pytest.fixture(scope="module")
def gap_model() -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((32, 32, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    # Mixed signs per class, so that both class maps have positive parts.
    kernel = np.array(
        [[1.0, -0.4], [-0.5, 0.9], [0.8, -0.7], [-0.3, 1.0], [0.6, -0.2], [-0.9, 0.5]]
    )
    model.get_layer("predictions").set_weights([kernel, np.array([0.1, -0.1])])
    return model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((3, 32, 32, 1)).astype(np.float32)


@pytest.mark.parametrize("klasse", [0, 1])
def test_cam_equals_grad_cam_for_gap_dense_model(gap_model, images, klasse):
    cam = visualize_class_activation_map(gap_model, images, 1, klasse)
    gradient_map = grad_cam(gap_model, images, 1, klasse)
    assert cam.max() > 0
    np.testing.assert_allclose(cam, gradient_map, atol=1e-5)


def test_cam_has_input_size_and_unit_range(gap_model, images):
    cam = visualize_class_activation_map(gap_model, images, 0, 1)
    assert cam.shape == (32, 32)
    assert cam.dtype == np.float32
    assert cam.min() >= 0.0
    assert cam.max() == pytest.approx(1.0)


def test_cam_accepts_stacks_without_channel_axis(gap_model, images):
    with_channel = visualize_class_activation_map(gap_model, images, 2, 0)
    without_channel = visualize_class_activation_map(gap_model, images[..., 0], 2, 0)
    np.testing.assert_allclose(with_channel, without_channel)


def test_grad_cam_with_explicit_layer_name_has_input_size(gap_model, images):
    first_conv = gap_model.layers[1].name
    cam = grad_cam(gap_model, images, 0, 0, layer_name=first_conv)
    assert cam.shape == (32, 32)


def test_grad_cam_leaves_model_predictions_unchanged(gap_model, images):
    before = gap_model.predict(images, verbose=0)
    grad_cam(gap_model, images, 0, 1)
    np.testing.assert_allclose(gap_model.predict(images, verbose=0), before)


def test_unknown_layer_name_raises_course_error(gap_model, images):
    with pytest.raises(CourseError, match="no layer called"):
        grad_cam(gap_model, images, 0, 0, layer_name="conv99")


def test_class_out_of_range_raises_course_error(gap_model, images):
    with pytest.raises(CourseError, match="klasse=2"):
        visualize_class_activation_map(gap_model, images, 0, 2)


def test_image_number_out_of_range_raises_course_error(gap_model, images):
    with pytest.raises(CourseError, match="img_num=5"):
        visualize_class_activation_map(gap_model, images, 5, 0)


def test_cam_peak_finds_row_and_column_of_maximum():
    cam = np.zeros((10, 20))
    cam[7, 3] = 1.0
    assert cam_peak(cam) == (7, 3)


def test_pointing_game_hit_when_peak_inside_box():
    cam = np.zeros((50, 50))
    cam[40, 10] = 1.0
    assert pointing_game_hit(cam, (5, 35, 20, 45))


def test_pointing_game_miss_when_peak_on_exclusive_edge():
    cam = np.zeros((50, 50))
    cam[40, 20] = 1.0  # column 20 is just outside x1 = 20
    assert not pointing_game_hit(cam, (5, 35, 20, 45))


def test_energy_in_box_of_uniform_map_is_area_share():
    cam = np.ones((10, 10))
    assert energy_in_box(cam, (0, 0, 5, 4)) == pytest.approx(0.2)


def test_energy_in_box_of_empty_map_is_zero():
    assert energy_in_box(np.zeros((8, 8)), (0, 0, 4, 4)) == 0.0


def test_mask_corner_fills_box_with_background_from_above():
    images = np.full((2, 20, 20, 1), 7.0)
    images[:, 15:18, 2:9, 0] = 50.0  # the "watermark"
    masked = mask_corner(images, (2, 15, 9, 18))
    assert np.all(masked[:, 15:18, 2:9] == 7.0)


def test_mask_corner_leaves_input_and_outside_pixels_unchanged():
    rng = np.random.default_rng(1)
    images = rng.random((2, 20, 20, 1))
    original = images.copy()
    masked = mask_corner(images, (2, 15, 9, 18), value=0.0)
    np.testing.assert_array_equal(images, original)
    outside = np.ones((20, 20), bool)
    outside[15:18, 2:9] = False
    np.testing.assert_array_equal(masked[:, outside], original[:, outside])


def test_mask_corner_works_on_a_single_2d_image():
    image = np.arange(100.0).reshape(10, 10)
    masked = mask_corner(image, (0, 8, 3, 10), value=-1.0)
    assert masked.shape == (10, 10)
    assert np.all(masked[8:10, 0:3] == -1.0)


def test_mask_corner_with_box_outside_image_raises_course_error():
    with pytest.raises(CourseError, match="passt nicht"):
        mask_corner(np.zeros((4, 10, 10, 1)), (0, 5, 12, 9))


def test_overlay_draws_image_and_map_into_axes():
    fig, ax = plt.subplots()
    try:
        result = overlay(np.zeros((16, 16, 1)), np.ones((16, 16)), ax)
        assert result is ax
        assert len(ax.images) == 2
    finally:
        plt.close(fig)


def test_overlay_with_mismatched_sizes_raises_course_error():
    fig, ax = plt.subplots()
    try:
        with pytest.raises(CourseError, match="verschieden groß"):
            overlay(np.zeros((16, 16)), np.ones((8, 8)), ax)
    finally:
        plt.close(fig)


def test_batched_cams_are_the_single_image_cams(gap_model, images):
    from dlbmt.grading.references import class_activation_maps

    # A batch size of 2 splits the three chosen images over two batches.
    maps = class_activation_maps(gap_model, images, [2, 0, 2], 1, batch_size=2)
    expected = [visualize_class_activation_map(gap_model, images, i, 1) for i in (2, 0, 2)]
    assert maps.shape == (3, 32, 32)
    np.testing.assert_allclose(maps, np.stack(expected), atol=1e-6)
    assert class_activation_maps(gap_model, images, [], 1).shape == (0, 32, 32)


def test_one_pass_gives_the_models_outputs_and_the_batched_cams(gap_model, images):
    from dlbmt.grading.references import (
        class_activation_maps,
        outputs_and_class_activation_maps,
    )

    # Batches of two: the chosen images lie in both batches, one twice, one counted from the end.
    outputs, maps = outputs_and_class_activation_maps(gap_model, images, [2, 0, -1], 1, 2)
    np.testing.assert_allclose(outputs, np.asarray(gap_model(images, training=False)), atol=1e-6)
    np.testing.assert_allclose(
        maps, class_activation_maps(gap_model, images, [2, 0, 2], 1), atol=1e-6
    )
    outputs, maps = outputs_and_class_activation_maps(gap_model, images[..., 0], [], 0)
    assert outputs.shape == (3, 2) and maps.shape == (0, 32, 32)
    with pytest.raises(CourseError, match="img_num=3 is outside the 3 images"):
        outputs_and_class_activation_maps(gap_model, images, [3], 1)
