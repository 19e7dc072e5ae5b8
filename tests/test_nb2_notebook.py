"""Notebook 2: the reference solutions agree with the package, and the graders' image checks work.

The reference code is taken from the source notebook itself, so these tests follow it.
"""

from __future__ import annotations

import ast
import importlib.util
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from course_tools import REPO

from dlbmt.augment import add_noise, brightness_shift, rotate, shift
from dlbmt.oct import load_drusen_image
from dlbmt.settings import data_path
from dlbmt.tools.excel_damage import excel_coerce
from dlbmt.tools.lab_sheet import true_lab_sheet

SOURCE = REPO / "source" / "02_anwendung" / "02_anwendung.ipynb"
EXCEL_DATE = re.compile(r"\d{2}\. [A-Z][a-z]{2}|[A-Z][a-z]{2} \d{2}")


def solution_code(grade_id: str) -> str:
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise LookupError(grade_id)


def run_solution(grade_id: str, namespace: dict) -> dict:
    # Display lines such as a bare `daten` or a demo loop are skipped.
    tree = ast.parse(solution_code(grade_id))
    tree.body = [
        node
        for node in tree.body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Name))
        and not (isinstance(node, ast.For) and grade_id == "nb2_excel_decoder_answer")
    ]
    exec(compile(tree, grade_id, "exec"), namespace)  # noqa: S102 - our own source notebook
    return namespace


@pytest.fixture(scope="module")
def decoder():
    return run_solution("nb2_excel_decoder_answer", {"re": re})["excel_datum_zu_zahl"]


def typed_values() -> list[str]:
    """Every value with up to two decimals from 0.0 to 31.99, as a person would type it."""
    decimals = [str(d) for d in range(10)] + [f"{d:02d}" for d in range(100)]
    return [f"{whole}.{part}" for whole in range(32) for part in decimals]


def test_reference_decoder_recovers_every_value_excel_turned_into_a_date(decoder):
    for typed in typed_values():
        shown = excel_coerce(typed)
        if EXCEL_DATE.fullmatch(shown):
            assert float(typed) in decoder(shown), (typed, shown)


def test_reference_decoder_lists_only_values_excel_shows_that_way(decoder):
    shown_as: dict[str, set[float]] = {}
    for typed in typed_values():
        shown_as.setdefault(excel_coerce(typed), set()).add(float(typed))
    for shown, values in shown_as.items():
        if EXCEL_DATE.fullmatch(shown):
            assert set(decoder(shown)) == values, shown


def test_reference_decoder_returns_none_for_texts_that_are_no_dates(decoder):
    for text in ("0,42", "141", "zu groß", "n. b.", "ok", "1018", "0.35"):
        assert decoder(text) is None


def test_reference_repair_gives_the_printed_sheet():
    namespace = run_solution(
        "nb2_lab_sheet_answer", {"pd": pd, "LABSHEET_CSV": data_path("labsheet/datenblatt.csv")}
    )
    pd.testing.assert_frame_equal(namespace["daten"], true_lab_sheet())


@pytest.fixture(scope="module")
def image_checks():
    path = REPO / "graders" / "02_anwendung" / "test_nb2_augmentation.py"
    spec = importlib.util.spec_from_file_location("nb2_augmentation_graders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def drusen() -> np.ndarray:
    return load_drusen_image().astype(float)


def test_grader_accepts_each_offered_operation_done_right(image_checks, drusen):
    scan = drusen.astype(np.uint8)
    done = {
        "flipud": np.flipud(scan),
        "fliplr": np.fliplr(scan),
        "rotation": rotate(scan, 15),
        "helligkeit": brightness_shift(scan, 40),
        "rauschen": add_noise("s&p", scan, 0),
    }
    for name, image in done.items():
        assert image_checks._shows_operation(name, image.astype(float), drusen), name


def test_grader_accepts_every_noise_type(image_checks, drusen):
    for kind in ("gauss", "s&p", "poisson", "speckle"):
        noisy = add_noise(kind, drusen.astype(np.uint8), 1).astype(float)
        assert image_checks._shows_operation("rauschen", noisy, drusen), kind


def test_grader_accepts_the_legacy_keras_rotation(image_checks, drusen):
    import tensorflow as tf

    turned = tf.keras.preprocessing.image.apply_affine_transform(
        drusen[..., None], theta=-12, row_axis=0, col_axis=1, channel_axis=2
    )
    image = image_checks._gray(turned, drusen)
    assert image_checks._shows_operation("rotation", image, drusen)


def test_grader_rejects_an_image_that_shows_another_operation(image_checks, drusen):
    scan = drusen.astype(np.uint8)
    assert not image_checks._shows_operation("rotation", np.fliplr(scan).astype(float), drusen)
    assert not image_checks._shows_operation("rotation", shift(scan, 4).astype(float), drusen)
    assert not image_checks._shows_operation("helligkeit", rotate(scan, 15).astype(float), drusen)
    assert not image_checks._shows_operation("fliplr", np.flipud(scan).astype(float), drusen)
    assert not image_checks._shows_operation("rauschen", drusen.copy(), drusen)


def test_grader_rejects_a_rotation_too_small_to_see(image_checks, drusen):
    turned = rotate(drusen.astype(np.uint8), 0.5).astype(float)
    assert not image_checks._shows_operation("rotation", turned, drusen)
