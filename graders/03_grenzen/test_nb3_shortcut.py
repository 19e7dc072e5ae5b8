"""Tasks 5, 7 and 8: the colormaps that reveal the stamp, the audit and the two fixes.

The retrained model is judged as a model: the graders load ``model_neu`` and
compute its figures themselves, on held-out knees made with the course's secret
seed (``nb3_heldout``) and on the public audit set read from data/.
"""

import numpy as np
import pytest
from nb3_heldout import (
    architecture,
    audit_figures,
    finds_the_knees,
    fix_figures,
    heldout_knees,
    looks_at_the_knee,
    shipped_model,
    shipped_model_figures,
)

from dlbmt.grading.answers import MissingAnswer
from dlbmt.grading.judging import keras_model
from dlbmt.mri import load_audit_set

# Accuracies are ratios of counts of at most 120 images; 1e-9 only absorbs float formatting.
RATIO_TOLERANCE = 1e-9
# Masking changes the shipped model's answer for the 30 stamped normal knees (measured: all 30
# flip to "gesund"); agreeing with the key on 95 % still allows another fill value to flip up
# to 6 borderline images but rejects the unmasked predictions (75 % agreement).
MASK_MIN_AGREEMENT = 0.95
# Reported numbers may come from model(x) instead of model.predict(x), or from the student's own
# CAM (another upsampling), which may move a borderline peak across the box edge: one image of
# 30, never two.
REPORTED_TOLERANCE = 1.5 / 30
SUBGROUPS = (
    "gesund_ohne_stempel",
    "gesund_mit_stempel",
    "auffaellig_ohne_stempel",
    "auffaellig_mit_stempel",
)
# Measured with imshow's default scaling on Bild 1 (tests/unit/test_mri.py): the CIEDE2000 colour
# difference between the inked stamp and the air around it is 35 with flag, 0.7 with summer and
# with rainbow (gray 0.5, jet 1.9), at a threshold of perception of about 1. "Deutlich" in the
# task text means readable at first sight: flag only.
COLORMAPS = ("summer", "flag", "rainbow")


def _revealing(answers) -> list:
    given = answers.get("revealing")
    assert isinstance(given, list), "stempel_sichtbar_mit soll eine Liste von Colormap-Namen sein."
    return given


def _colormap_check(answers, key, cmap: str) -> None:
    shows = cmap in key.get("revealing")
    assert (cmap in _revealing(answers)) == shows, (
        f"Die Colormap {cmap} ist falsch eingeordnet. Vergleichen Sie die linke untere Ecke von "
        "Bild 1 und Bild 2: Deutlich heißt auf den ersten Blick lesbar, nicht nur erahnt."
    )


@pytest.mark.task("nb3_colormaps", points=1, depends_on=("nb3_load_images",))
def test_colormap_summer(answers, key):
    """summer richtig eingeordnet (zeigt den Stempel deutlich oder nicht)."""
    _colormap_check(answers, key, "summer")


@pytest.mark.task("nb3_colormaps", points=1, depends_on=("nb3_load_images",))
def test_colormap_flag(answers, key):
    """flag richtig eingeordnet (zeigt den Stempel deutlich oder nicht)."""
    _colormap_check(answers, key, "flag")


@pytest.mark.task("nb3_colormaps", points=1, depends_on=("nb3_load_images",))
def test_colormap_rainbow(answers, key):
    """rainbow richtig eingeordnet (zeigt den Stempel deutlich oder nicht)."""
    _colormap_check(answers, key, "rainbow")


def _accuracies(answers, name: str, keys: tuple[str, ...]) -> dict:
    given = answers.get(name)
    assert isinstance(given, dict) and set(keys) <= set(given), (
        "genauigkeit_je_gruppe soll ein Dictionary mit den vier Untergruppen und gesamt liefern."
    )
    return given


def _same(given: dict, expected: dict, keys: tuple[str, ...]) -> bool:
    return all(
        isinstance(given[k], int | float) and abs(given[k] - expected[k]) <= RATIO_TOLERANCE
        for k in keys
    )


@pytest.mark.task("nb3_audit", points=1)
def test_audit_of_the_shipped_model(answers, key):
    """audit_genauigkeit: Genauigkeit des Netzes je Untergruppe und gesamt."""
    keys = (*SUBGROUPS, "gesamt")
    given = _accuracies(answers, "audit", keys)
    assert _same(given, key.get("audit"), keys), (
        "audit_genauigkeit stimmt nicht. Vergleichen Sie die vorhergesagten Klassen von model auf "
        "audit_bilder mit der Spalte label und bilden Sie den Anteil richtiger Vorhersagen je "
        "Kombination aus label und stamped."
    )


@pytest.mark.task("nb3_audit", points=1)
def test_subgroups_on_other_predictions(answers, key):
    """genauigkeit_je_gruppe: die vier Untergruppen bei anderen Vorhersagen und Tabellen."""
    for name in ("hidden", "hidden_subset"):
        given = _accuracies(answers, name, SUBGROUPS)
        assert _same(given, key.get(name), SUBGROUPS), (
            "Bei anderen Vorhersagen oder einer anderen Tabelle stimmt mindestens eine Untergruppe "
            "nicht. Jede Gruppe sind die Zeilen von tabelle mit einem bestimmten label und einem "
            "bestimmten stamped; Genauigkeit ist der Anteil richtiger Vorhersagen in der Gruppe "
            "(nicht ihre Anzahl)."
        )


@pytest.mark.task("nb3_audit", points=1)
def test_overall_accuracy_on_other_predictions(answers, key):
    """genauigkeit_je_gruppe: Gesamtgenauigkeit bei anderen Vorhersagen und Tabellen."""
    for name in ("hidden", "hidden_subset"):
        given = _accuracies(answers, name, ("gesamt",))
        assert _same(given, key.get(name), ("gesamt",)), (
            "Bei anderen Vorhersagen oder einer anderen Tabelle stimmt die Gesamtgenauigkeit "
            "nicht: Anteil richtiger Vorhersagen unter allen Zeilen von tabelle."
        )


@pytest.mark.task("nb3_fix_mask", points=1)
def test_masked_predictions(answers, key):
    """vorhersage_maskiert: Klassen des Netzes auf den Audit-Bildern mit abgedeckter Ecke."""
    given, expected = answers.get("masked_predictions"), key.get("masked_predictions")
    assert given.shape == expected.shape, (
        "vorhersage_maskiert soll eine Klasse je Audit-Bild haben."
    )
    assert np.mean(given == expected) >= MASK_MIN_AGREEMENT, (
        "vorhersage_maskiert passt nicht zu model auf den abgedeckten Audit-Bildern. Decken Sie "
        "mit mask_corner(audit_bilder, STEMPEL_BOX) ab und nehmen Sie die Klasse mit der größten "
        "Wahrscheinlichkeit."
    )


_FIGURES: dict = {}
_LOADED: dict = {}


def _loaded_new_model(answers):
    """model_neu, loaded from its archive once per submission for the three checks."""
    if str(answers.folder) not in _LOADED:
        _LOADED[str(answers.folder)] = keras_model(answers.get("model"), "model_neu")
    return _LOADED[str(answers.folder)]


def _new_model(answers):
    """model_neu, if it is a Keras model with the shipped model's architecture."""
    model = _loaded_new_model(answers)
    if architecture(model) != architecture(shipped_model()):
        raise MissingAnswer(
            "model_neu hat nicht die Architektur von model. Bauen Sie es mit build_model() und "
            "trainieren Sie es mit fit()."
        )
    return model


def _heldout_figures(answers, heldout_seed: int) -> dict:
    """The new model's figures on the held-out knees, computed once per submission."""
    cache_key = (str(answers.folder), heldout_seed)
    if cache_key not in _FIGURES:
        model = _new_model(answers)
        _FIGURES[cache_key] = fix_figures(model, *heldout_knees(heldout_seed))
    return _FIGURES[cache_key]


@pytest.mark.task("nb3_fix_retrain", points=1)
def test_new_model_is_right_where_the_stamp_misleads(answers, key, heldout_seed):
    """model_neu liegt auf neuen Knien auch dort meist richtig, wo model im Audit versagt."""
    figures = _heldout_figures(answers, heldout_seed)
    assert finds_the_knees(figures), (
        "model_neu liegt auf neuen Knien bei gesunden Knien mit Stempel und auffälligen Knien "
        "ohne Stempel zu oft falsch oder insgesamt kaum besser als Raten. Ist der Stempel in "
        "Ihren Trainingsdaten wirklich unabhängig vom Label, und wurde es wie verlangt trainiert?"
    )


@pytest.mark.task("nb3_fix_retrain", points=1)
def test_cam_of_new_model_leaves_the_stamp_corner(answers, key, heldout_seed):
    """Die CAM von model_neu zeigt bei neuen Knien mit Stempel kaum noch (<= 10 %) in die Ecke."""
    figures = _heldout_figures(answers, heldout_seed)
    assert looks_at_the_knee(figures), (
        "Die CAM von model_neu zeigt bei auffälligen Knien mit Stempel noch oft (bei mehr als "
        "jedem zehnten) auf die Stempelecke: Das Netz nutzt den Stempel weiter."
    )


@pytest.mark.task("nb3_fix_retrain", points=1, depends_on=("nb3_cam", "nb3_audit"))
def test_reported_numbers_are_measured(answers, key):
    """fix_zahlen sind die Zahlen, die altes und neues Modell auf audit_bilder erreichen."""
    given = answers.get("fix_numbers")
    names = (
        "auffaellig_ohne_stempel_vorher",
        "auffaellig_ohne_stempel_nachher",
        "pointing_game_vorher",
        "pointing_game_nachher",
    )
    assert isinstance(given, dict) and set(names) <= set(given), (
        "fix_zahlen soll die vier genannten Schlüssel haben."
    )
    model = _loaded_new_model(answers)
    images, table = load_audit_set()
    measured = {}
    before = shipped_model_figures()
    for when, figures in (
        ("vorher", {name: float(before[f"audit_{name}"]) for name in ("found", "pointing_game")}),
        ("nachher", audit_figures(model, images, table)),
    ):
        measured[f"auffaellig_ohne_stempel_{when}"] = figures["found"]
        measured[f"pointing_game_{when}"] = figures["pointing_game"]
    for name in names:
        value = given[name]
        which = "model" if name.endswith("vorher") else "model_neu"
        close = isinstance(value, int | float) and abs(value - measured[name]) <= REPORTED_TOLERANCE
        assert close, (
            f"{name} passt nicht zu dem, was {which} auf audit_bilder (ohne Abdecken) erreicht."
        )
