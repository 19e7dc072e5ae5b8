"""Notebook 2: the reference solutions agree with the package, and the graders' checks work.

The reference code is taken from the source notebook itself, so these tests follow it.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import re
import sys
import warnings

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
GRADERS = REPO / "graders" / "02_anwendung"
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


def grader_module(name: str):
    """A module of graders/02_anwendung, loaded as the graders' pytest run loads it."""
    if str(GRADERS) not in sys.path:
        sys.path.insert(0, str(GRADERS))
    spec = importlib.util.spec_from_file_location(f"nb2_graders_{name}", GRADERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        # The graders' own pytest run registers the task marker; this one does not.
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def image_checks():
    return grader_module("test_nb2_augmentation")


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


def hidden_probe_cases(grade_id: str, name: str):
    """The hidden inputs of ``_rec.probe(name, ...)`` in the test cell ``grade_id``."""
    source = solution_code(grade_id)
    hidden = source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
    for node in ast.walk(ast.parse(hidden)):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "probe"
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == name
        ):
            return ast.literal_eval(node.args[-1])
    raise LookupError(name)


def _exclusive_bounds(kandidaten, normalwert):
    """The plausible wrong answer of issue 10: the bounds do not belong to the range."""
    from dlbmt.labsheet import parse_reference_range

    if len(kandidaten) == 1:
        return float(kandidaten[0])
    unten, oben = parse_reference_range(normalwert)
    im_bereich = [float(k) for k in kandidaten if unten < k < oben]
    return im_bereich[0] if len(im_bereich) == 1 else None


@pytest.fixture(scope="module")
def range_helper():
    from dlbmt.labsheet import parse_reference_range

    namespace = {"parse_reference_range": parse_reference_range}
    return run_solution("nb2_range_helper_answer", namespace)["wert_aus_normalbereich"]


@pytest.mark.parametrize("probe", ["decidable", "undecidable"])
def test_exclusive_bounds_change_the_result_of_each_hidden_range_probe(range_helper, probe):
    cases = hidden_probe_cases("nb2_range_helper", probe)
    reference = [range_helper(*case) for case in cases]
    exclusive = [_exclusive_bounds(*case) for case in cases]
    assert reference != exclusive


def test_old_range_probes_did_not_tell_exclusive_bounds_apart(range_helper):
    old = [
        ([3.09, 3.9], "3.5-5.0"), ([1.06, 1.6], ">1.2"), ([2.08, 2.8], "<2.5"),
        ([9.11], "4.0-6.0"), ([4.04, 4.4], "3.8-5.5"), ([8.03, 8.3], "1.0-2.0"),
        ([6.05, 6.5], ">10"),
    ]  # fmt: skip
    assert [range_helper(*c) for c in old] == [_exclusive_bounds(*c) for c in old]


def _answers(tmp_path, task: str, values: dict):
    from dlbmt.grading.answers import AnswerStore
    from dlbmt.recording import write_answer

    for name, value in values.items():
        write_answer(tmp_path / task, name, value)
    return AnswerStore(tmp_path).task(task)


def _aug_points(image_checks, answers) -> int:
    points = 0
    for check in (
        image_checks.test_two_images_show_their_operation,
        image_checks.test_all_three_images_show_their_operation,
    ):
        try:
            check(answers, None)
        except AssertionError:
            continue
        points += 1
    return points


def test_two_right_images_and_a_missing_third_earn_one_of_two_points(image_checks, tmp_path):
    scan = load_drusen_image()
    answers = _answers(
        tmp_path,
        "nb2_aug_images",
        {
            "names": ["fliplr", "rotation"],
            "image_fliplr": np.fliplr(scan).astype(float),
            "image_rotation": rotate(scan, 15).astype(float),
        },
    )
    assert _aug_points(image_checks, answers) == 1


def test_one_wrong_image_costs_one_point_only(image_checks, tmp_path):
    scan = load_drusen_image()
    answers = _answers(
        tmp_path,
        "nb2_aug_images",
        {
            "names": ["fliplr", "helligkeit", "rotation"],
            "image_fliplr": np.fliplr(scan).astype(float),
            "image_helligkeit": brightness_shift(scan, 40).astype(float),
            "image_rotation": np.rot90(scan).astype(float),
        },
    )
    assert _aug_points(image_checks, answers) == 1


def test_three_right_images_earn_both_points(image_checks, tmp_path):
    scan = load_drusen_image()
    answers = _answers(
        tmp_path,
        "nb2_aug_images",
        {
            "names": ["fliplr", "helligkeit", "rauschen"],
            "image_fliplr": np.fliplr(scan).astype(float),
            "image_helligkeit": brightness_shift(scan, 40).astype(float),
            "image_rauschen": add_noise("speckle", scan, 0).astype(float),
        },
    )
    assert _aug_points(image_checks, answers) == 2


def test_lab_sheet_graders_find_the_excel_dates_in_the_csv_from_data():
    graders = grader_module("test_nb2_lab_sheet")

    class Key:
        def get(self, name):
            assert name == "lab_sheet"
            return true_lab_sheet()

    dated = {name for name, _ in graders._value_rows(Key(), want_dates=True)}
    other = {name for name, _ in graders._value_rows(Key(), want_dates=False)}
    assert {"Cholesterin", "Calcium i.S.", "MCH"} <= dated
    assert not dated & other and len(dated | other) == len(true_lab_sheet())


def _run_provided_cell(grade_id: str, namespace: dict) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(solution_code(grade_id), grade_id, "exec"), namespace)  # noqa: S102
    return output.getvalue()


def test_clean_training_attempt_names_the_open_task_instead_of_failing():
    printed = _run_provided_cell("nb2_training_attempt_clean", {})
    assert "zuerst" in printed and "daten" in printed


@pytest.mark.parametrize("missing", ["daten", "excel_datum_zu_zahl", "wert_aus_normalbereich"])
def test_decoder_table_names_the_open_tasks_instead_of_failing(missing):
    def stub(*args):
        raise NotImplementedError()

    namespace = {
        "daten": true_lab_sheet(),
        "excel_datum_zu_zahl": lambda text: None,
        "wert_aus_normalbereich": lambda kandidaten, normalwert: None,
    }
    if missing == "daten":
        del namespace["daten"]
    else:
        namespace[missing] = stub
    printed = _run_provided_cell("nb2_decoder_on_sheet", namespace)
    assert "zuerst" in printed and missing in printed


def _markdown(grade_id: str) -> str:
    return solution_code(grade_id)


def _percent(value: float, decimals: int) -> str:
    return f"{100 * value:.{decimals}f}".replace(".", ",")


def test_stated_numbers_come_from_the_recorded_measurements():
    import json

    quality = json.loads((REPO / "data" / "oct" / "oct_model_quality.json").read_text())
    bench = json.loads((REPO / "data" / "oct" / "oct_experiment.json").read_text())
    reference = bench["approaches"]["reference"]["figures"]
    shipped = f"{_percent(quality['accuracy'], 1)} %"
    assert f"nur {shipped} Genauigkeit" in _markdown("nb2_aug_intro")
    assert f"nur {shipped}." in _markdown("nb2_oct_explain")
    seconds = [round(reference["training_seconds"][i]) for i in (0, 2)]
    steps = _markdown("nb2_experiment_steps")
    assert f"{seconds[0]} bis {seconds[1]} Sekunden ({bench['seeds']} Messungen)" in steps
    assert f"Rechner mit {bench['machine']['cpu_count']} Kernen" in steps
    low, high = (_percent(reference["public_accuracy"][i], 0) for i in (0, 2))
    assert f"von {shipped} auf {low} bis {high} %" in _markdown("nb2_experiment_discussion")
    intro = _markdown("nb2_experiment_intro")
    assert f"({quality['n_train']} Bilder)" in intro and f"({quality['n_test']} Bilder)" in intro


def test_student_texts_state_no_unmeasured_figures():
    notebook = nbformat.read(SOURCE, as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for stale in ("etwa 30 Sekunden", "etwa 93 %", "rund 70 %", "Name in Klammern", "etwa 76 %"):
        assert stale not in text, stale
    question = _markdown("nb2_experiment_discussion_question")
    assert not re.search(r"\d+(,\d+)? ?%", question), "the question must not state results"


def test_oct_images_are_called_generated_and_their_size_is_stated():
    from dlbmt.oct import IMAGE_SIZE

    intro = _markdown("nb2_2b_intro")
    assert "**Die Bilder dieses Kurses sind generiert, keine echten Aufnahmen**" in intro
    assert f"{IMAGE_SIZE} × {IMAGE_SIZE} Pixel" in intro
    text = "\n".join(c.source for c in nbformat.read(SOURCE, as_version=4).cells)
    shapes = set(re.findall(r"Form \((?:4, |Anzahl Bilder, )?(\d+), (\d+)", text))
    assert shapes == {(str(IMAGE_SIZE), str(IMAGE_SIZE))}, shapes


@pytest.fixture(scope="module")
def heldout():
    pytest.importorskip("keras")
    return grader_module("nb2_heldout")


def test_prepared_outputs_are_the_shipped_networks_own(heldout, tmp_path, monkeypatch):
    """What the coordinator computes once per run is what each grader process computed."""
    import dataclasses
    import json

    from dlbmt.grading.judging import accuracy, predict
    from dlbmt.grading.prepared import PREPARED_VARIABLE

    seed = 7
    heldout.prepare_heldout(seed, tmp_path)
    monkeypatch.setenv(PREPARED_VARIABLE, str(tmp_path))

    def must_not_draw(*parameters):
        raise AssertionError("the graders drew what the coordinator prepared")

    on_course = dataclasses.replace(heldout.SHIPPED_ON_COURSE_SCANS, draw=must_not_draw).get()
    on_new = dataclasses.replace(heldout.SHIPPED_ON_NEW_SCANS, draw=must_not_draw)
    on_new = on_new.get(seed, heldout.COMPARE_PER_CLASS)["outputs"]
    model = heldout.shipped_model()
    images, labels = heldout.public_test_scans()
    new_scans, _ = heldout.heldout_scans(seed, heldout.COMPARE_PER_CLASS)
    for prepared, scans in (
        (on_course["public_test"], images),
        (on_course["samples"], heldout.sample_images()),
        (on_new, new_scans),
    ):
        np.testing.assert_allclose(prepared, predict(model, heldout.as_batch(scans)), atol=1e-6)
    quality = json.loads(data_path("oct/oct_model_quality.json").read_text(encoding="utf-8"))
    assert accuracy(on_course["public_test"], labels) == quality["accuracy"]
