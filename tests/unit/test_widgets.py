"""dlbmt.widgets: the hand-fitting widget for the 1-2-1 ReLU network, driven through Python."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbmt import ecg  # noqa: E402
from dlbmt.errors import CourseError  # noqa: E402
from dlbmt.widgets import (  # noqa: E402
    BIAS_NAMES,
    WEIGHT_NAMES,
    ReluFitWidget,
    relu_network,
    weight_widget_relu,
)

X_REF = np.linspace(-5, 5, 101)
Y_REF = np.exp(-(X_REF**2))


@pytest.fixture
def widget() -> ReluFitWidget:
    return weight_widget_relu(X_REF, Y_REF)


def test_every_parameter_has_a_slider_and_a_number_field(widget):
    names = {"w1", "w2", "w3", "w4", "w5", "b1", "b2", "b3", "b4"}
    assert set(widget.sliders) == names and set(widget.texts) == names


def test_moving_a_slider_changes_the_plotted_line(widget):
    before = widget.line.get_ydata().copy()
    widget.sliders["b1"].value = 3.0
    assert not np.allclose(widget.line.get_ydata(), before)


def test_moving_a_slider_redraws_the_image(widget):
    before = bytes(widget.image.value)
    widget.sliders["w4"].value = -2.0
    assert bytes(widget.image.value) != before
    assert bytes(widget.image.value).startswith(b"\x89PNG")


def test_moving_a_slider_updates_its_number_field(widget):
    widget.sliders["w3"].value = -1.25
    assert widget.texts["w3"].value == -1.25


def test_typing_a_number_moves_the_slider(widget):
    widget.texts["b2"].value = 0.75
    assert widget.sliders["b2"].value == 0.75
    assert widget.parameters()["b"][1] == 0.75


def test_typing_a_number_beyond_the_range_widens_the_slider(widget):
    widget.texts["w1"].value = 42.0
    assert widget.sliders["w1"].value == 42.0
    assert widget.sliders["w1"].max >= 42.0


def test_parameters_follow_the_lab_order(widget):
    widget.set_parameters([1, 2, 3, 4, 5], [6, 7, 8, 9])
    assert widget.parameters() == {"w": [1, 2, 3, 4, 5], "b": [6, 7, 8, 9]}
    assert [widget.sliders[n].value for n in WEIGHT_NAMES + BIAS_NAMES] == list(range(1, 10))


def test_network_output_matches_keras_dense_relu_layers():
    import keras

    w = [0.7, 1.3, -0.4, 1.1, -2.2]
    b = [3.0, -2.5, 0.9, 0.2]
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, activation="relu"),
            keras.layers.Dense(2, activation="relu"),
            keras.layers.Dense(1, activation="relu"),
        ]
    )
    model.set_weights(
        [
            np.array([[w[0]]]),
            np.array([b[0]]),
            np.array([[w[1], w[2]]]),
            np.array([b[1], b[2]]),
            np.array([[w[3]], [w[4]]]),
            np.array([b[3]]),
        ]
    )
    x = np.linspace(-8, 8, 161).reshape(-1, 1).astype("float32")
    expected = model.predict(x, verbose=0).ravel()
    assert np.allclose(relu_network(x.ravel(), w, b), expected, atol=1e-5)


def test_widget_network_output_uses_current_values(widget):
    widget.set_parameters([1, 1, 0, 1, 0], [0, 0, 0, 0])
    assert np.allclose(widget.network_output(np.array([-2.0, 0.5, 3.0])), [0.0, 0.5, 3.0])


def test_mse_readout_follows_the_parameters(widget):
    widget.set_parameters([1, 1, 1, 1, 1], [0, 0, 0, 0])
    first = widget.mse()
    widget.set_parameters([0, 0, 0, 0, 0], [0, 0, 0, 0])
    assert widget.mse() == pytest.approx(np.mean(Y_REF**2))
    assert widget.mse() != first
    assert f"{widget.mse():.5f}".replace(".", ",") in widget.mse_label.value


def test_zooming_changes_the_axes_limits(widget):
    widget.x_range.value = (-12.0, 8.0)
    widget.y_range.value = (-2.0, 3.0)
    assert widget.ax.get_xlim() == pytest.approx((-12.0, 8.0))
    assert widget.ax.get_ylim() == pytest.approx((-2.0, 3.0))


def test_zooming_out_draws_the_network_over_the_whole_view(widget):
    widget.set_view((-15.0, 15.0), (-1.0, 2.0))
    xdata = widget.line.get_xdata()
    assert xdata.min() == pytest.approx(-15.0) and xdata.max() == pytest.approx(15.0)


def test_reset_button_restores_the_default_view(widget):
    default_x = widget.ax.get_xlim()
    default_y = widget.ax.get_ylim()
    widget.set_view((-1.0, 1.0), (0.0, 0.5))
    widget.reset_button.click()
    assert widget.ax.get_xlim() == pytest.approx(default_x)
    assert widget.ax.get_ylim() == pytest.approx(default_y)


def test_reference_is_drawn_in_red_and_network_in_blue(widget):
    assert widget.reference_line.get_color() == "tab:red"
    assert widget.line.get_color() == "tab:blue"
    assert np.allclose(widget.reference_line.get_ydata(), Y_REF)


def test_initial_values_are_used():
    widget = weight_widget_relu(X_REF, Y_REF, initial={"w": [2, 0, 0, 0, 0], "b": [0, 0, 0, 1]})
    assert widget.parameters() == {"w": [2, 0, 0, 0, 0], "b": [0, 0, 0, 1]}
    assert np.allclose(widget.line.get_ydata(), 1.0)


def test_wrong_number_of_parameters_raises_course_error(widget):
    with pytest.raises(CourseError, match="5 Gewichte und 4 Bias-Werte"):
        widget.set_parameters([1, 2, 3], [1, 2, 3, 4])


def test_only_one_of_x_ref_and_y_ref_raises_course_error():
    with pytest.raises(CourseError):
        weight_widget_relu(X_REF, None)


def test_without_data_the_widget_shows_the_course_qrs_complex(tmp_path, monkeypatch):
    ecg.build_qrs_csv(tmp_path / "ecg" / "qrs_complexes.csv")
    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    widget = weight_widget_relu()
    x, y = ecg.qrs_reference()
    assert np.allclose(widget.reference_line.get_xdata(), x)
    assert np.allclose(widget.reference_line.get_ydata(), y)


def test_widget_displays_as_a_jupyter_widget(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_number_fields_show_at_most_three_decimals(widget):
    widget.sliders["w4"].value = 0.63 + 1e-13  # what a slider step may produce
    assert widget.texts["w4"].value == 0.63
    widget.texts["b1"].value = 1.23456
    assert widget.texts["b1"].value == 1.235 and widget.sliders["b1"].value == 1.235


def test_sliders_are_fine_enough_for_a_hand_fit(widget):
    """On the ~195 px track of a 300 px slider one pixel moves a weight by 0.03, a bias by 0.05."""
    track = 195  # px, measured in JupyterLab 4 and Notebook 7 (the rest is the label)
    for name, slider in widget.sliders.items():
        assert slider.layout.width == "300px"
        per_pixel = (slider.max - slider.min) / track
        assert per_pixel <= (0.031 if name.startswith("w") else 0.052), name
        # The browser snaps typed values to the step: it must keep three decimals.
        assert slider.step == 0.001


def test_view_ranges_are_shown_in_full_with_decimal_commas(widget):
    widget.set_view((-12.0, 8.0), (-0.45, 1.25))
    assert widget.view_label.value == "x von -12,0 bis 8,0, y von -0,45 bis 1,25"
    assert not widget.x_range.readout and not widget.y_range.readout
