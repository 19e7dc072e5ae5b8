"""QRS complexes for notebook 1: a simulated ECG (or a real WFDB record), cut and normalised.

Every complex is resampled onto the same grid ``x`` in [-5, 5], where one unit
is 20 ms, so the window spans 200 ms around the R peak. The amplitude is
normalised so that the baseline is 0 and the R peak is 1:

    y = (signal - baseline) / (signal[R] - baseline)

with ``baseline`` the mean of the first and last 10 ms of the window (the end
of the PR segment and the start of the ST segment, which are isoelectric in a
normal ECG). The R wave is then a bump of height 1 and about 2.5 units width
around x = 0, with the Q and S dips on either side: a shape that the lab's
1-2-1 ReLU network (9 parameters) can approximate with a triangle.

The same windowing serves the simulated signal (neurokit2's ECGSYN) and real
recordings in WFDB format (for example MIT-BIH), see ``qrs_complexes_from_signal``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import keras
import matplotlib.pyplot as plt
import neurokit2 as nk
import numpy as np
import pandas as pd
import scipy.integrate
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlbmt.datafiles import DataFile
from dlbmt.errors import CourseError
from dlbmt.settings import data_path

QRS_CSV = "ecg/qrs_complexes.csv"

SEED = 7
SAMPLING_RATE = 500  # Hz
HEART_RATE = 70  # beats per minute
DURATION_S = 15.0
N_COMPLEXES = 10

HALF_WINDOW_S = 0.100  # the window spans +-100 ms around the R peak
X_HALF_RANGE = 5.0  # ... mapped onto x in [-5, 5]
N_POINTS = 101  # grid step 0.1 in x = 2 ms, so x = 0 is a grid point
BASELINE_EDGE_S = 0.010
PEAK_SEARCH_S = 0.020  # detected peaks are moved to the local maximum within +-20 ms

REFERENCE_COLOUR = "tab:red"
NETWORK_COLOUR = "tab:blue"
X_LABEL = "Zeit (normiert, 1 Einheit = 20 ms)"
Y_LABEL = "Amplitude (normiert)"

COLUMNS = ("complex", "x", "y")


def x_grid() -> np.ndarray:
    """The common x grid of all complexes (101 points from -5 to 5)."""
    return np.linspace(-X_HALF_RANGE, X_HALF_RANGE, N_POINTS)


def _fixed_step_solve_ivp(fun, t_span, y0, t_eval=None, **options):
    """ECGSYN's ODE solved with one Runge-Kutta step per output sample.

    neurokit2 integrates with scipy's adaptive RK45. Its accept/reject decisions
    flip with the last bit of rounding, which differs between BLAS kernels and
    SIMD units (measured: the R peaks of two CPUs moved by up to 0.15 mV). With a
    fixed step the signal is the same on every machine, and the step (2 ms) is
    far below the width of the narrowest ECGSYN wave (the QRS, about 30 ms).
    """
    step = float(t_eval[1] - t_eval[0])
    return _SOLVE_IVP(
        fun, t_span, y0, t_eval=t_eval, method="RK45", first_step=step, max_step=step,
        rtol=1e3, atol=1e3,  # never reject a step: the step size stays fixed
    )  # fmt: skip


_SOLVE_IVP = scipy.integrate.solve_ivp


def simulate_ecg(seed: int = SEED) -> np.ndarray:
    """A synthetic single-lead ECG from neurokit2's ECGSYN model (15 s at 500 Hz)."""
    with mock.patch.object(scipy.integrate, "solve_ivp", _fixed_step_solve_ivp):
        return nk.ecg_simulate(
            duration=DURATION_S,
            sampling_rate=SAMPLING_RATE,
            heart_rate=HEART_RATE,
            method="ecgsyn",
            random_state=seed,
        )


def qrs_complexes_from_signal(
    signal: Sequence[float] | np.ndarray,
    sampling_rate: float,
    n_complexes: int = N_COMPLEXES,
    source: str = "dem EKG-Signal",
) -> pd.DataFrame:
    """Detect R peaks, cut the first ``n_complexes`` complete windows and normalise them.

    Returns a long table with columns complex (0 .. n-1), x and y. ``source``
    names the signal in error messages.
    """
    subject = source[:1].upper() + source[1:]
    if n_complexes < 1:
        raise CourseError(f"n_complexes muss mindestens 1 sein, nicht {n_complexes}.")
    try:
        values = np.asarray(signal, dtype=float).ravel()
    except (TypeError, ValueError):
        raise CourseError(f"{subject} ist keine Folge von Zahlen.") from None
    if not np.all(np.isfinite(values)):
        raise CourseError(
            f"{subject} enthält fehlende oder unendliche Werte; nehmen Sie einen anderen Abschnitt."
        )
    # Rounded up, so the samples always cover the full +-100 ms grid.
    half = math.ceil(HALF_WINDOW_S * sampling_rate - 1e-9)
    if half < 2 or values.size < 4 * half:
        raise CourseError(
            f"{subject} ist zu kurz oder die Abtastrate ({sampling_rate} Hz) zu niedrig, um "
            "200-ms-Fenster um die R-Zacken zu schneiden."
        )
    # Cleaning removes baseline wander and mains hum, which matter for real recordings.
    cleaned = np.asarray(nk.ecg_clean(values, sampling_rate=sampling_rate, method="neurokit"))
    try:
        _, info = nk.ecg_peaks(cleaned, sampling_rate=sampling_rate, method="neurokit")
    except (ValueError, IndexError) as error:
        raise CourseError(f"In {source} wurden keine R-Zacken gefunden ({error}).") from None
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=int)

    times = np.arange(-half, half + 1) / sampling_rate
    grid = x_grid()
    grid_times = grid / X_HALF_RANGE * HALF_WINDOW_S
    edge = max(1, int(round(BASELINE_EDGE_S * sampling_rate)))
    search = max(1, int(round(PEAK_SEARCH_S * sampling_rate)))

    complexes = []
    for peak in peaks:
        low, high = peak - search, peak + search + 1
        if low - half < 0 or high + half > cleaned.size:
            continue  # the window would leave the recording
        peak = low + int(np.argmax(cleaned[low:high]))
        window = cleaned[peak - half : peak + half + 1]
        baseline = 0.5 * (window[:edge].mean() + window[-edge:].mean())
        height = window[half] - baseline
        if height <= 0:
            continue  # not an upright R wave (artefact or inverted lead)
        complexes.append(np.interp(grid_times, times, (window - baseline) / height))
        if len(complexes) == n_complexes:
            break
    if len(complexes) < n_complexes:
        raise CourseError(
            f"In {source} wurden nur {len(complexes)} brauchbare QRS-Komplexe gefunden, "
            f"{n_complexes} werden gebraucht. Nehmen Sie eine längere Aufnahme oder einen "
            "anderen Kanal."
        )
    return pd.DataFrame(
        {
            "complex": np.repeat(np.arange(n_complexes), grid.size),
            "x": np.tile(grid, n_complexes),
            "y": np.concatenate(complexes),
        }
    )


def simulated_qrs_complexes(seed: int = SEED) -> pd.DataFrame:
    """The ten normalised QRS complexes of the simulated ECG."""
    return qrs_complexes_from_signal(
        simulate_ecg(seed), SAMPLING_RATE, N_COMPLEXES, source="dem simulierten EKG"
    )


def _csv_text(df: pd.DataFrame) -> str:
    lines = [",".join(COLUMNS)]
    # "+ 0.0" turns -0.0 into 0.0 so that no "-0.00000" appears.
    xs = np.round(df["x"].to_numpy(dtype=float), 2) + 0.0
    ys = np.round(df["y"].to_numpy(dtype=float), 5) + 0.0
    for number, x, y in zip(df["complex"].to_numpy(dtype=int), xs, ys, strict=True):
        lines.append(f"{number},{x:.2f},{y:.5f}")
    return "\n".join(lines) + "\n"


def build_qrs_csv(target: Path) -> None:
    """Write the simulated complexes to ``target`` (identical bytes for every run)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(_csv_text(simulated_qrs_complexes(SEED)))


DATA_FILES = [
    DataFile(
        path=QRS_CSV,
        made_by=(
            f"generator dlbmt.ecg.build_qrs_csv: neurokit2 ECGSYN, seed {SEED}, "
            f"{SAMPLING_RATE} Hz, {HEART_RATE} bpm, {N_COMPLEXES} complexes"
        ),
        licence="CC0-1.0 (generated by this course with neurokit2 (MIT) ECGSYN)",
        build=build_qrs_csv,
    )
]


def load_qrs_complexes(path: str | Path | None = None) -> pd.DataFrame:
    """The QRS complexes as a table with columns complex, x, y.

    Without ``path`` the course file ``data/ecg/qrs_complexes.csv`` is read.
    """
    path = data_path(QRS_CSV) if path is None else Path(path)
    if not path.is_file():
        raise CourseError(f"Die QRS-Datei {path} gibt es nicht. Prüfen Sie den Pfad.")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CourseError(f"{path} ist keine lesbare CSV-Datei ({error}).") from None
    missing = [column for column in COLUMNS if column not in df.columns]
    if missing:
        raise CourseError(
            f"In {path} fehlt die Spalte {', '.join(missing)}; eine QRS-Datei braucht die "
            "Spalten complex, x, y."
        )
    df = df[list(COLUMNS)]
    numeric = df.apply(pd.to_numeric, errors="coerce")
    if numeric.isna().any().any() or len(df) == 0:
        raise CourseError(
            f"{path} enthält leere oder nicht numerische Werte; erzeugen Sie die Datei neu."
        )
    return numeric.astype({"complex": int, "x": float, "y": float})


def qrs_reference(df: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The mean QRS complex (x, y), sorted by x: the red curve that the network should fit."""
    df = load_qrs_complexes() if df is None else df
    mean = df.groupby("x", sort=True)["y"].mean()
    return mean.index.to_numpy(dtype=float), mean.to_numpy(dtype=float)


def training_arrays(df: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All points of all complexes as float32 arrays of shape (N, 1), ready for ``model.fit``."""
    df = load_qrs_complexes() if df is None else df
    x = df["x"].to_numpy(dtype=np.float32).reshape(-1, 1)
    y = df["y"].to_numpy(dtype=np.float32).reshape(-1, 1)
    return x, y


def plot_qrs_complexes(df: pd.DataFrame | None = None, ax: Axes | None = None) -> Axes:
    """Draw every complex in grey and their mean in red."""
    df = load_qrs_complexes() if df is None else df
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for number, group in df.groupby("complex", sort=True):
        label = "einzelne QRS-Komplexe" if number == df["complex"].min() else None
        ax.plot(group["x"], group["y"], color="0.6", linewidth=0.8, label=label)
    x, y = qrs_reference(df)
    ax.plot(x, y, color=REFERENCE_COLOUR, linewidth=2, label="mittlerer QRS-Komplex")
    style_qrs_axes(ax)
    ax.legend(loc="upper right")
    return ax


def style_qrs_axes(ax: Axes) -> None:
    """German labels and a light grid, shared by all QRS plots."""
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.grid(True, alpha=0.3)


def _record_name(record_path: str | Path) -> str:
    path = Path(record_path)
    if path.suffix in {".hea", ".dat", ".atr"}:
        path = path.with_suffix("")
    return str(path)


def qrs_complexes_from_wfdb(
    record_path: str | Path, n_complexes: int = N_COMPLEXES, channel: int = 0
) -> pd.DataFrame:
    """Cut QRS complexes from a real WFDB record (e.g. MIT-BIH record ``100``).

    ``record_path`` is the record name without extension (``.../100`` for
    ``100.hea`` and ``100.dat``); a path ending in ``.hea`` or ``.dat`` works too.
    The result has the same format and normalisation as the course file.
    """
    import wfdb  # imported here: only instructors with their own records need it

    name = _record_name(record_path)
    if not Path(name + ".hea").is_file():
        raise CourseError(
            f"Die WFDB-Kopfdatei {name}.hea gibt es nicht. Geben Sie den Namen der Aufnahme "
            "ohne Endung an, z. B. 'mitdb/100' für mitdb/100.hea und mitdb/100.dat."
        )
    try:
        header = wfdb.rdheader(name)
        if not 0 <= channel < header.n_sig:
            raise CourseError(
                f"Die WFDB-Aufnahme {name} hat {header.n_sig} Kanal/Kanäle; "
                f"Kanal {channel} gibt es nicht."
            )
        # Two minutes are plenty for ten complexes and keep long Holter records fast.
        stop = header.sig_len
        if header.fs and stop:
            stop = min(stop, int(header.fs * 120))
        record = wfdb.rdrecord(name, channels=[channel], sampto=stop)
    except CourseError:
        raise
    except Exception as error:  # wfdb raises many types for damaged files
        raise CourseError(
            f"Die WFDB-Aufnahme {name} ließ sich nicht lesen ({type(error).__name__}: {error}). "
            "Prüfen Sie, ob .hea- und .dat-Datei zusammengehören und vollständig sind."
        ) from None
    if record.p_signal is None or record.fs is None:
        raise CourseError(
            f"Die WFDB-Aufnahme {name} enthält kein physikalisches Signal oder keine Abtastrate."
        )
    return qrs_complexes_from_signal(
        record.p_signal[:, 0],
        float(record.fs),
        n_complexes,
        source=f"Kanal {channel} der WFDB-Aufnahme {name}",
    )


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (works without a display)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return buffer.getvalue()


class QRSPlotCallback(keras.callbacks.Callback):
    """Redraws the network's curve over the mean QRS complex every ``every`` epochs.

    In a notebook the figure is shown once and then updated in place; without a
    display (tests, scripts) only ``figure`` is updated. ``drawn_epochs`` lists
    the epochs (1-based) that were drawn.
    """

    def __init__(
        self,
        x_ref: np.ndarray | None = None,
        y_ref: np.ndarray | None = None,
        every: int = 10,
        show: bool | None = None,
    ) -> None:
        super().__init__()
        if every < 1:
            raise CourseError(f"QRSPlotCallback(every={every}): every muss mindestens 1 sein.")
        if x_ref is None or y_ref is None:
            x_ref, y_ref = qrs_reference()
        self.x_ref = np.asarray(x_ref, dtype=float).ravel()
        self.y_ref = np.asarray(y_ref, dtype=float).ravel()
        self.every = every
        self.show = _in_notebook() if show is None else show
        self.drawn_epochs: list[int] = []
        self._handle = None
        self._last_epoch = 0
        self._last_loss: float | None = None

        self.figure = Figure(figsize=(7, 4), dpi=80)
        self.ax = self.figure.add_subplot()
        (self.reference_line,) = self.ax.plot(
            self.x_ref, self.y_ref, color=REFERENCE_COLOUR, linewidth=2, label="QRS-Komplex"
        )
        (self.network_line,) = self.ax.plot(
            self.x_ref, np.zeros_like(self.x_ref), color=NETWORK_COLOUR, label="Netz"
        )
        style_qrs_axes(self.ax)
        self.ax.legend(loc="upper right")
        low, high = self.y_ref.min(), self.y_ref.max()
        margin = 0.15 * (high - low)
        self.ax.set_ylim(low - margin, high + margin)

    def _predict(self) -> np.ndarray:
        inputs = self.x_ref.reshape(-1, 1).astype("float32")
        output = self.model(inputs, training=False)
        return np.asarray(keras.ops.convert_to_numpy(output), dtype=float).ravel()

    def draw(self, epoch: int, loss: float | None = None) -> None:
        """Update the blue curve for the given (1-based) epoch and refresh the display."""
        self.network_line.set_ydata(self._predict())
        title = f"Epoche {epoch}"
        if loss is not None:
            title += f", Verlust (MSE) {loss:.4f}"
        self.ax.set_title(title)
        self.drawn_epochs.append(epoch)
        if self.show:
            from IPython.display import Image, display

            image = Image(data=figure_png(self.figure), format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._handle = None
        self.drawn_epochs = []
        self._last_epoch = 0
        self._last_loss = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._last_epoch = epoch + 1
        self._last_loss = (logs or {}).get("loss")
        if self._last_epoch % self.every == 0:
            self.draw(self._last_epoch, self._last_loss)

    def on_train_end(self, logs: dict | None = None) -> None:
        # Always show the final state, even when the epoch count is not a multiple of every.
        if self._last_epoch and (
            not self.drawn_epochs or self.drawn_epochs[-1] != self._last_epoch
        ):
            self.draw(self._last_epoch, self._last_loss)
