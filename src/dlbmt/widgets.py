"""Interactive widget: fit the 1-2-1 ReLU network to the QRS complex by hand.

The network is Dense(1, relu) -> Dense(2, relu) -> Dense(1, relu) with nine
parameters, ordered as in the lab:

    layer 1: weight w1, bias b1
    layer 2: weights w2, w3, biases b2, b3
    layer 3: weights w4, w5, bias b4

The plot is rendered to PNG and shown in an ``ipywidgets.Image``, so the widget
needs no interactive matplotlib backend (no ipympl) and works the same in
JupyterLab 4, Notebook 7 and without any display.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlbmt.ecg import (
    NETWORK_COLOUR,
    REFERENCE_COLOUR,
    figure_png,
    qrs_reference,
    style_qrs_axes,
)
from dlbmt.errors import CourseError
from dlbmt.network121 import BIAS_NAMES, WEIGHT_NAMES, relu_network

LAYERS = (
    ("Schicht 1 (1 Neuron)", ("w1", "b1")),
    ("Schicht 2 (2 Neuronen)", ("w2", "w3", "b2", "b3")),
    ("Schicht 3 (Ausgabe)", ("w4", "w5", "b4")),
)
# Ranges fit for fine tuning: a good hand fit needs weights of about 0.3 to 2 and biases
# of about -4 to 4. The 300 px of a slider include its label; on the track of about
# 195 px (measured in JupyterLab 4 and Notebook 7) one pixel is 0.03 (weights) or 0.05
# (biases). Typed values beyond a range widen it.
WEIGHT_RANGE = 3.0
BIAS_RANGE = 5.0
# The browser snaps a slider's value to its step, typed values included: a step of
# 0.001 keeps the three decimals a student types.
SLIDER_STEP = 0.001
# Number fields show at most three decimals, so slider steps never show float noise
# such as 4.130000000000001.
DECIMALS = 3
X_LIMIT = 20.0  # the view sliders reach this far out
Y_LIMIT = 10.0
CURVE_POINTS = 401

# Deliberately not a fit: a plain starting point the students move away from.
DEFAULT_W = (1.0, 1.0, 1.0, 1.0, 1.0)
DEFAULT_B = (0.0, 0.0, 0.0, 0.0)


def _check_parameters(w: Sequence[float], b: Sequence[float]) -> tuple[list[float], list[float]]:
    w, b = list(w), list(b)
    if len(w) != len(WEIGHT_NAMES) or len(b) != len(BIAS_NAMES):
        raise CourseError(
            f"Das 1-2-1-Netz hat 5 Gewichte und 4 Bias-Werte, nicht {len(w)} und {len(b)}. "
            "Geben Sie w = [w1, w2, w3, w4, w5] und b = [b1, b2, b3, b4] an."
        )
    try:
        values = [float(v) for v in w + b]
    except (TypeError, ValueError):
        raise CourseError("Alle Gewichte und Bias-Werte müssen Zahlen sein.") from None
    if not np.all(np.isfinite(values)):
        raise CourseError("Alle Gewichte und Bias-Werte müssen endliche Zahlen sein.")
    return values[: len(w)], values[len(w) :]


class ReluFitWidget:
    """Sliders and number fields for the nine parameters, a live plot and the MSE.

    Display it by making it the last expression of a cell. Tests and recordings
    use the Python API: ``parameters``, ``set_parameters``, ``network_output``,
    ``mse``, ``set_view``; ``figure`` and ``line`` are the matplotlib objects of
    the plot, ``sliders`` and ``texts`` the widgets by parameter name.
    """

    def __init__(
        self,
        x_ref: np.ndarray,
        y_ref: np.ndarray,
        initial: dict | None = None,
    ) -> None:
        self.x_ref = np.asarray(x_ref, dtype=float).ravel()
        self.y_ref = np.asarray(y_ref, dtype=float).ravel()
        if self.x_ref.size == 0 or self.x_ref.shape != self.y_ref.shape:
            raise CourseError(
                "weight_widget_relu braucht x_ref und y_ref gleicher Länge mit mindestens einem "
                f"Wert (bekommen: {self.x_ref.size} und {self.y_ref.size} Werte)."
            )
        initial = initial or {}
        w, b = _check_parameters(initial.get("w", DEFAULT_W), initial.get("b", DEFAULT_B))
        self._holding = False

        self.sliders: dict[str, widgets.FloatSlider] = {}
        self.texts: dict[str, widgets.FloatText] = {}
        for name, value in zip(WEIGHT_NAMES + BIAS_NAMES, w + b, strict=True):
            self._add_parameter(name, value)

        self.default_view = self._default_view()
        # The range sliders' own readouts are too narrow for two numbers with signs;
        # the view label under them shows the ranges instead.
        self.x_range = widgets.FloatRangeSlider(
            value=self.default_view[0],
            min=-X_LIMIT,
            max=X_LIMIT,
            step=0.1,
            description="x-Bereich",
            continuous_update=True,
            readout=False,
            layout=widgets.Layout(width="420px"),
        )
        self.y_range = widgets.FloatRangeSlider(
            value=self.default_view[1],
            min=-Y_LIMIT,
            max=Y_LIMIT,
            step=0.05,
            description="y-Bereich",
            continuous_update=True,
            readout=False,
            layout=widgets.Layout(width="420px"),
        )
        self.view_label = widgets.HTML()
        self.reset_button = widgets.Button(
            description="Zurücksetzen",
            tooltip="Ansicht auf den QRS-Komplex zurücksetzen",
            icon="undo",
        )
        self.reset_button.on_click(lambda _button: self.reset_view())
        self.x_range.observe(self._on_change, names="value")
        self.y_range.observe(self._on_change, names="value")

        self.figure = Figure(figsize=(7, 4), dpi=80)
        self.ax = self.figure.add_subplot()
        (self.reference_line,) = self.ax.plot(
            self.x_ref, self.y_ref, color=REFERENCE_COLOUR, linewidth=2, label="QRS-Komplex"
        )
        (self.line,) = self.ax.plot([], [], color=NETWORK_COLOUR, linewidth=2, label="Netz")
        style_qrs_axes(self.ax)
        self.ax.legend(loc="upper right")
        self.image = widgets.Image(format="png")
        self.mse_label = widgets.HTML()

        self.container = self._layout()
        self._redraw()

    # --- construction -------------------------------------------------------------------

    def _add_parameter(self, name: str, value: float) -> None:
        value = round(value, DECIMALS)
        bound = max(WEIGHT_RANGE if name in WEIGHT_NAMES else BIAS_RANGE, abs(value))
        slider = widgets.FloatSlider(
            value=value,
            min=-bound,
            max=bound,
            step=SLIDER_STEP,
            description=name,
            readout=False,
            continuous_update=True,
            layout=widgets.Layout(width="300px"),
        )
        text = widgets.FloatText(
            value=value, step=SLIDER_STEP, layout=widgets.Layout(width="100px")
        )
        slider.observe(lambda change: self._slider_moved(name, change), names="value")
        text.observe(lambda change: self._text_typed(name, change), names="value")
        self.sliders[name] = slider
        self.texts[name] = text

    def _default_view(self) -> tuple[tuple[float, float], tuple[float, float]]:
        x_margin = 0.05 * (self.x_ref.max() - self.x_ref.min()) or 1.0
        y_margin = 0.2 * (self.y_ref.max() - self.y_ref.min()) or 1.0
        x_view = (self.x_ref.min() - x_margin, self.x_ref.max() + x_margin)
        y_view = (self.y_ref.min() - y_margin, self.y_ref.max() + y_margin)
        clip = np.clip
        return (
            (float(clip(x_view[0], -X_LIMIT, X_LIMIT)), float(clip(x_view[1], -X_LIMIT, X_LIMIT))),
            (float(clip(y_view[0], -Y_LIMIT, Y_LIMIT)), float(clip(y_view[1], -Y_LIMIT, Y_LIMIT))),
        )

    def _layout(self) -> widgets.Widget:
        rows = []
        for title, names in LAYERS:
            rows.append(widgets.HTML(f"<b>{title}</b>"))
            rows.extend(widgets.HBox([self.sliders[n], self.texts[n]]) for n in names)
        controls = widgets.VBox(rows)
        view = widgets.VBox(
            [
                widgets.HTML("<b>Ansicht</b>"),
                self.x_range,
                self.y_range,
                self.view_label,
                self.reset_button,
            ]
        )
        plot = widgets.VBox([self.image, self.mse_label, view])
        return widgets.HBox([controls, plot])

    # --- linking ------------------------------------------------------------------------

    def _slider_moved(self, name: str, change: dict) -> None:
        self.texts[name].value = round(change["new"], DECIMALS)
        self._on_change()

    def _text_typed(self, name: str, change: dict) -> None:
        value = round(change["new"], DECIMALS)
        if value != change["new"]:
            self.texts[name].value = value  # shows the rounded value; comes back here
            return
        slider = self.sliders[name]
        # Typed values beyond the slider's range widen it instead of being clipped.
        if value > slider.max:
            slider.max = value
        if value < slider.min:
            slider.min = value
        slider.value = value

    def _on_change(self, _change: dict | None = None) -> None:
        if not self._holding:
            self._redraw()

    # --- Python API ---------------------------------------------------------------------

    def parameters(self) -> dict[str, list[float]]:
        """The current values: {"w": [w1, ..., w5], "b": [b1, ..., b4]}."""
        return {
            "w": [float(self.sliders[n].value) for n in WEIGHT_NAMES],
            "b": [float(self.sliders[n].value) for n in BIAS_NAMES],
        }

    def set_parameters(self, w: Sequence[float], b: Sequence[float]) -> None:
        """Set all nine values at once (sliders, number fields and plot follow)."""
        w, b = _check_parameters(w, b)
        self._holding = True
        try:
            for name, value in zip(WEIGHT_NAMES + BIAS_NAMES, w + b, strict=True):
                self.texts[name].value = value
        finally:
            self._holding = False
        self._redraw()

    def network_output(self, x: np.ndarray) -> np.ndarray:
        """The network's output for the inputs ``x`` with the current values."""
        values = self.parameters()
        return relu_network(x, values["w"], values["b"])

    def mse(self) -> float:
        """Mean squared error between the network and the reference complex."""
        return float(np.mean((self.network_output(self.x_ref) - self.y_ref) ** 2))

    def set_view(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        """Zoom or move the plot to the given x and y ranges."""
        self._holding = True
        try:
            self.x_range.value = tuple(float(v) for v in x_range)
            self.y_range.value = tuple(float(v) for v in y_range)
        finally:
            self._holding = False
        self._redraw()

    def reset_view(self) -> None:
        """Back to the view that shows the whole reference complex."""
        self.set_view(*self.default_view)

    # --- drawing ------------------------------------------------------------------------

    def _redraw(self) -> None:
        x_low, x_high = self.x_range.value
        y_low, y_high = self.y_range.value
        if x_high <= x_low:
            x_high = x_low + 0.1
        if y_high <= y_low:
            y_high = y_low + 0.05
        # The curve covers the visible range, so zooming out shows the network beyond the data.
        x = np.linspace(x_low, x_high, CURVE_POINTS)
        self.line.set_data(x, self.network_output(x))
        self.ax.set_xlim(x_low, x_high)
        self.ax.set_ylim(y_low, y_high)
        mse = self.mse()
        self.ax.set_title(f"MSE = {_german(mse, 5)}")
        self.mse_label.value = f"Mittlerer quadratischer Fehler (MSE): <b>{_german(mse, 5)}</b>"
        self.view_label.value = (
            f"x von {_german(x_low, 1)} bis {_german(x_high, 1)}, "
            f"y von {_german(y_low, 2)} bis {_german(y_high, 2)}"
        )
        self.image.value = figure_png(self.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.container._repr_mimebundle_(**kwargs)


def _german(value: float, decimals: int) -> str:
    """A number as German readers write it: decimal comma."""
    return f"{value:.{decimals}f}".replace(".", ",")


def weight_widget_relu(
    x_ref: np.ndarray | None = None,
    y_ref: np.ndarray | None = None,
    initial: dict | None = None,
) -> ReluFitWidget:
    """The hand-fitting widget for the 1-2-1 ReLU network.

    Without ``x_ref``/``y_ref`` the mean QRS complex of the course data is used.
    ``initial`` may give start values as {"w": [5 numbers], "b": [4 numbers]}.
    """
    if (x_ref is None) != (y_ref is None):
        raise CourseError(
            "weight_widget_relu braucht x_ref und y_ref zusammen oder keines von beiden."
        )
    if x_ref is None:
        x_ref, y_ref = qrs_reference()
    return ReluFitWidget(x_ref, y_ref, initial)
