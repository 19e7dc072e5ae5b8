"""dlbmt.ecg: the QRS data file, its loaders, the WFDB path and the training callback."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import neurokit2 as nk  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbmt import ecg  # noqa: E402
from dlbmt.errors import CourseError  # noqa: E402


@pytest.fixture(scope="module")
def qrs_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("ecg") / "qrs_complexes.csv"
    ecg.build_qrs_csv(path)
    return path


@pytest.fixture(scope="module")
def complexes(qrs_csv):
    return ecg.load_qrs_complexes(qrs_csv)


@pytest.fixture
def wfdb_record(tmp_path):
    """A one-channel record in MIT-BIH format (360 Hz, format 212) with baseline wander."""
    import wfdb

    rate = 360
    signal = nk.ecg_simulate(
        duration=20, sampling_rate=rate, heart_rate=75, method="ecgsyn", random_state=3
    )
    signal = signal + 0.3 * np.sin(2 * np.pi * 0.2 * np.arange(signal.size) / rate)
    wfdb.wrsamp(
        "rec",
        fs=rate,
        units=["mV"],
        sig_name=["MLII"],
        p_signal=signal.reshape(-1, 1),
        fmt=["212"],
        write_dir=str(tmp_path),
    )
    return tmp_path / "rec"


def test_same_seed_gives_identical_bytes(tmp_path, qrs_csv):
    again = tmp_path / "again.csv"
    ecg.build_qrs_csv(again)
    assert again.read_bytes() == qrs_csv.read_bytes()


def test_csv_holds_ten_complexes_on_one_grid_from_minus_5_to_5(complexes):
    assert list(complexes.columns) == ["complex", "x", "y"]
    assert sorted(complexes["complex"].unique()) == list(range(10))
    grids = complexes.groupby("complex")["x"].apply(tuple)
    assert grids.nunique() == 1
    assert complexes["x"].min() == -5.0 and complexes["x"].max() == 5.0


def test_csv_is_small(qrs_csv):
    assert qrs_csv.stat().st_size < 50_000


def test_every_r_peak_is_one_at_x_zero(complexes):
    peaks = complexes[complexes["x"] == 0.0]["y"]
    assert len(peaks) == 10
    assert np.allclose(peaks, 1.0)


def test_baseline_at_window_edges_is_near_zero(complexes):
    x, y = ecg.qrs_reference(complexes)
    assert abs(y[0]) < 0.05 and abs(y[-1]) < 0.05


def test_r_wave_is_a_single_bump_around_zero(complexes):
    x, y = ecg.qrs_reference(complexes)
    above_half = x[y > 0.5]
    # one contiguous run of grid points, a triangle-like bump 1 to 4 units wide
    assert np.allclose(np.diff(above_half), 0.1)
    assert above_half.min() < 0 < above_half.max()
    assert 1.0 <= above_half.max() - above_half.min() <= 4.0


def test_reference_is_the_mean_of_all_complexes(complexes):
    x, y = ecg.qrs_reference(complexes)
    table = complexes.pivot(index="x", columns="complex", values="y")
    assert np.allclose(x, table.index.to_numpy())
    assert np.allclose(y, table.mean(axis=1).to_numpy())


def test_training_arrays_are_n_by_one_float32(complexes):
    x, y = ecg.training_arrays(complexes)
    assert x.shape == y.shape == (len(complexes), 1)
    assert x.dtype == y.dtype == np.float32


def test_loader_reads_course_file_by_default(qrs_csv, tmp_path, monkeypatch):
    (tmp_path / "ecg").mkdir()
    (tmp_path / "ecg" / "qrs_complexes.csv").write_bytes(qrs_csv.read_bytes())
    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    assert ecg.load_qrs_complexes().equals(ecg.load_qrs_complexes(qrs_csv))


def test_missing_file_raises_course_error(tmp_path):
    with pytest.raises(CourseError, match="gibt es nicht"):
        ecg.load_qrs_complexes(tmp_path / "nope.csv")


def test_file_without_required_columns_raises_course_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CourseError, match="complex, x, y"):
        ecg.load_qrs_complexes(path)


def test_non_numeric_values_raise_course_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("complex,x,y\n0,-5.00,abc\n")
    with pytest.raises(CourseError, match="nicht numerische"):
        ecg.load_qrs_complexes(path)


def test_plot_uses_german_labels(complexes):
    ax = ecg.plot_qrs_complexes(complexes)
    assert "Zeit" in ax.get_xlabel() and "Amplitude" in ax.get_ylabel()
    assert "mittlerer QRS-Komplex" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)


def test_wfdb_record_gives_the_same_format_as_the_course_file(wfdb_record, complexes):
    df = ecg.qrs_complexes_from_wfdb(wfdb_record)
    assert list(df.columns) == list(complexes.columns)
    assert df.shape == complexes.shape
    assert np.allclose(df[df["x"] == 0.0]["y"], 1.0)
    _, y_record = ecg.qrs_reference(df)
    _, y_course = ecg.qrs_reference(complexes)
    # same ECGSYN morphology, other rate and seed, baseline wander removed
    assert np.abs(y_record - y_course).max() < 0.15


def test_wfdb_record_accepts_header_file_name(wfdb_record):
    by_name = ecg.qrs_complexes_from_wfdb(wfdb_record, n_complexes=3)
    by_header = ecg.qrs_complexes_from_wfdb(wfdb_record.with_suffix(".hea"), n_complexes=3)
    assert by_name.equals(by_header)


def test_missing_wfdb_record_raises_course_error(tmp_path):
    with pytest.raises(CourseError, match="gibt es nicht"):
        ecg.qrs_complexes_from_wfdb(tmp_path / "100")


def test_malformed_wfdb_header_raises_course_error(tmp_path):
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(CourseError, match="ließ sich nicht lesen"):
        ecg.qrs_complexes_from_wfdb(tmp_path / "bad")


def test_truncated_wfdb_signal_raises_course_error(wfdb_record):
    data = wfdb_record.with_suffix(".dat")
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(CourseError, match="ließ sich nicht lesen"):
        ecg.qrs_complexes_from_wfdb(wfdb_record)


def test_missing_wfdb_channel_raises_course_error(wfdb_record):
    with pytest.raises(CourseError, match="Kanal 2 gibt es nicht"):
        ecg.qrs_complexes_from_wfdb(wfdb_record, channel=2)


def test_flat_signal_raises_course_error():
    with pytest.raises(CourseError, match="brauchbare QRS-Komplexe"):
        ecg.qrs_complexes_from_signal(np.zeros(5000), 360)


def test_too_short_signal_raises_course_error():
    with pytest.raises(CourseError, match="zu kurz"):
        ecg.qrs_complexes_from_signal(np.zeros(10), 360)


def _tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, activation="relu"),
            keras.layers.Dense(2, activation="relu"),
            keras.layers.Dense(1, activation="relu"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def test_callback_draws_every_n_epochs_and_the_last(complexes):
    x, y = ecg.qrs_reference(complexes)
    callback = ecg.QRSPlotCallback(x, y, every=2, show=False)
    _tiny_model().fit(x, y, epochs=5, batch_size=101, verbose=0, callbacks=[callback])
    assert callback.drawn_epochs == [2, 4, 5]
    assert callback.ax.get_title().startswith("Epoche 5")


def test_callback_blue_line_shows_the_model_output(complexes):
    x, y = ecg.qrs_reference(complexes)
    model = _tiny_model()
    model.set_weights(
        [
            np.array([[1.0]]),
            np.array([5.0]),
            np.array([[0.6, 1.2]]),
            np.array([-2.0, -6.0]),
            np.array([[1.0], [-1.0]]),
            np.array([0.0]),
        ]
    )
    callback = ecg.QRSPlotCallback(x, y, every=1, show=False)
    callback.set_model(model)
    callback.draw(epoch=1)
    expected = model.predict(x.reshape(-1, 1), verbose=0).ravel()
    assert np.allclose(callback.network_line.get_ydata(), expected, atol=1e-6)
    assert np.allclose(callback.reference_line.get_ydata(), y)


def test_callback_in_notebook_shows_one_image_and_updates_it(complexes, monkeypatch):
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, image):
            updates.append(image)

    def fake_display(image, display_id=False):
        shown.append(image)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    x, y = ecg.qrs_reference(complexes)
    callback = ecg.QRSPlotCallback(x, y, every=1, show=True)
    _tiny_model().fit(x, y, epochs=3, batch_size=101, verbose=0, callbacks=[callback])
    assert len(shown) == 1 and len(updates) == 2
    assert updates[-1].data.startswith(b"\x89PNG")


def test_callback_rejects_every_below_one(complexes):
    x, y = ecg.qrs_reference(complexes)
    with pytest.raises(CourseError):
        ecg.QRSPlotCallback(x, y, every=0)


def test_data_file_is_declared_with_its_builder():
    (entry,) = ecg.DATA_FILES
    assert entry.path == "ecg/qrs_complexes.csv"
    assert entry.build is ecg.build_qrs_csv
    assert "neurokit2" in entry.licence and "CC0-1.0" in entry.licence
