"""The answer store: what the kernel records is read back safely, and nothing else is."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from dlbmt.grading.answers import AnswerStore, MissingAnswer
from dlbmt.recording import ANSWER_DIR_VARIABLE, MAX_FILE_BYTES, Recorder, write_answer


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_plain_values_round_trip(tmp_path):
    folder = tmp_path / "task_a"
    write_answer(folder, "number", np.float32(1.5))
    write_answer(folder, "words", "Herzrhythmus")
    write_answer(folder, "nested", {"a": [1, 2, np.int64(3)]})
    write_answer(folder, "array", np.arange(6, dtype=np.float32).reshape(2, 3))
    answers = AnswerStore(tmp_path).task("task_a")
    assert answers.get("number") == 1.5
    assert answers.get("words") == "Herzrhythmus"
    assert answers.get("nested") == {"a": [1, 2, 3]}
    assert answers.get("array").shape == (2, 3)


def test_dataframe_round_trip_keeps_dtypes_and_the_code_na(tmp_path):
    frame = pd.DataFrame({"Laborid": ["NA", "K"], "Wert": [141.0, 4.1]})
    write_answer(tmp_path / "task_b", "sheet", frame)
    read = AnswerStore(tmp_path).task("task_b").get("sheet")
    assert list(read["Laborid"]) == ["NA", "K"]
    assert read["Wert"].dtype == np.float64


def test_missing_answer_explains_in_german(tmp_path):
    with pytest.raises(MissingAnswer, match="nicht aufgezeichnet"):
        AnswerStore(tmp_path).task("task_c").get("value")


def test_recorder_keeps_the_reason_when_a_variable_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(ANSWER_DIR_VARIABLE, str(tmp_path))
    Recorder("task_d").save("value", lambda: undefined_name)  # noqa: F821
    with pytest.raises(MissingAnswer, match="NameError"):
        AnswerStore(tmp_path).task("task_d").get("value")


def test_recorder_does_nothing_outside_grading(tmp_path, monkeypatch):
    monkeypatch.delenv(ANSWER_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    Recorder("task_e").save("value", lambda: 1)
    assert list(tmp_path.iterdir()) == []


def test_object_array_pickle_is_refused_and_not_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    folder = tmp_path / "store" / "task_f"
    folder.mkdir(parents=True)
    np.save(folder / "value.npy", np.array([Evil(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(MissingAnswer):
        AnswerStore(tmp_path / "store").task("task_f").get("value")
    assert not marker.exists()


def test_raw_pickle_under_a_json_name_is_refused(tmp_path):
    import pickle

    marker = tmp_path / "unpickled"
    folder = tmp_path / "store" / "task_g"
    folder.mkdir(parents=True)
    (folder / "value.json").write_bytes(pickle.dumps(Evil(marker)))
    with pytest.raises(MissingAnswer):
        AnswerStore(tmp_path / "store").task("task_g").get("value")
    assert not marker.exists()


def test_keras_model_with_python_code_is_refused(tmp_path):
    import keras

    marker = tmp_path / "lambda_ran"
    inputs = keras.Input((1,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    model = keras.Model(inputs, outputs)
    write_answer(tmp_path / "store" / "task_h", "model", model)
    with pytest.raises(MissingAnswer, match="sicher"):
        AnswerStore(tmp_path / "store").task("task_h").get("model")
    assert not marker.exists()


def test_symlinked_answer_is_refused(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"value": 42}')
    folder = tmp_path / "store" / "task_i"
    folder.mkdir(parents=True)
    (folder / "value.json").symlink_to(secret)
    with pytest.raises(MissingAnswer, match="keine normale Datei"):
        AnswerStore(tmp_path / "store").task("task_i").get("value")


def test_symlinked_task_folder_is_refused(tmp_path):
    real = tmp_path / "elsewhere"
    write_answer(real, "value", 1)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "task_j").symlink_to(real)
    with pytest.raises(MissingAnswer, match="symbolischer Link"):
        AnswerStore(tmp_path / "store").task("task_j").get("value")


def test_oversized_answer_is_refused(tmp_path):
    folder = tmp_path / "task_k"
    folder.mkdir()
    with (folder / "value.json").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(MissingAnswer, match="zu groß"):
        AnswerStore(tmp_path).task("task_k").get("value")


def test_model_architecture_is_read_as_data(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu")])
    write_answer(tmp_path / "task_l", "model", model)
    config = AnswerStore(tmp_path).task("task_l").model_config("model")
    dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    assert dense[0]["config"]["units"] == 2
