"""Tasks 5, 7 and 8: the revealing colormap, the shortcut audit and the fix."""

import numpy as np
import pytest

# Accuracies are ratios of counts of at most 120 images; 1e-9 only absorbs float formatting.
RATIO_TOLERANCE = 1e-9
# Masking changes the shipped model's answer for the 30 stamped normal knees (measured: all 30
# flip to "gesund"); agreeing with the key on 95 % still allows another fill value to flip up
# to 6 borderline images but rejects the unmasked predictions (75 % agreement).
MASK_MIN_AGREEMENT = 0.95
# The issue calls a model shortcut-bound when it finds at most 30 % of the unstamped abnormal
# knees; the shipped model finds 0 %. The reference retraining (150 slices per class, 8 epochs)
# measured 53 %; a fix has to leave the shortcut regime.
FIX_MIN_ABNORMAL_UNSTAMPED = 0.3
# A model that calls every knee abnormal also "finds" all unstamped abnormal knees; overall
# accuracy on the balanced audit set is then 50 % (the shipped model: 50 %, reference: 72.5 %).
FIX_MIN_OVERALL = 0.6
# The shipped model's CAM peaks in the stamp box for 100 % of the stamped abnormal knees, the
# reference retraining for 0 %; after a fix it may do so for at most half of them.
FIX_MAX_POINTING_GAME = 0.5
# Reported numbers may come from model(x) instead of model.predict(x) or from Grad-CAM instead
# of CAM (maps differ by ~2e-7): that can flip one borderline image of 30, never two.
REPORTED_TOLERANCE = 1.5 / 30
SUBGROUPS = (
    "gesund_ohne_stempel",
    "gesund_mit_stempel",
    "auffaellig_ohne_stempel",
    "auffaellig_mit_stempel",
)


@pytest.mark.task("nb3_colormaps", points=1, depends_on=("nb3_load_images",))
def test_colormaps_that_reveal_the_stamp(answers, key):
    """Die Colormaps, mit denen der Stempel in Bild 1 deutlich sichtbar wird."""
    given = answers.get("revealing")
    assert isinstance(given, list), "stempel_sichtbar_mit soll eine Liste von Colormap-Namen sein."
    assert given == key.get("revealing"), (
        "Die Auswahl stimmt nicht. Vergleichen Sie die linke untere Ecke von Bild 1 und Bild 2 in "
        "jeder der drei Colormaps: Wo erkennen Sie einen Schriftzug deutlich, nicht nur erahnt?"
    )


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
    """genauigkeit_je_gruppe: die vier Untergruppen bei anderen Vorhersagen."""
    given = _accuracies(answers, "hidden", SUBGROUPS)
    assert _same(given, key.get("hidden"), SUBGROUPS), (
        "Bei anderen Vorhersagen stimmt mindestens eine Untergruppe nicht. Jede Gruppe sind die "
        "Bilder mit einem bestimmten label und einem bestimmten stamped; Genauigkeit ist der "
        "Anteil richtiger Vorhersagen in der Gruppe (nicht ihre Anzahl)."
    )


@pytest.mark.task("nb3_audit", points=1)
def test_overall_accuracy_on_other_predictions(answers, key):
    """genauigkeit_je_gruppe: Gesamtgenauigkeit bei anderen Vorhersagen."""
    given = _accuracies(answers, "hidden", ("gesamt",))
    assert _same(given, key.get("hidden"), ("gesamt",)), (
        "Bei anderen Vorhersagen stimmt die Gesamtgenauigkeit nicht: Anteil richtiger Vorhersagen "
        "unter allen Bildern."
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


def _new_model_figures(answers) -> tuple[float, float]:
    predictions = answers.get("new_predictions")
    labels, stamped = answers.get("audit_labels"), answers.get("audit_stamped")
    assert predictions.shape == labels.shape, (
        "model_neu soll eine Vorhersage je Audit-Bild liefern."
    )
    unstamped_abnormal = (labels == 1) & (stamped == 0)
    return (
        float(np.mean(predictions[unstamped_abnormal] == 1)),
        float(np.mean(predictions == labels)),
    )


@pytest.mark.task("nb3_fix_retrain", points=1)
def test_new_model_finds_unstamped_abnormal_knees(answers, key):
    """model_neu erkennt über 30 % der auffälligen Knie ohne Stempel, insgesamt besser als Raten."""
    found, overall = _new_model_figures(answers)
    assert found > FIX_MIN_ABNORMAL_UNSTAMPED, (
        "model_neu erkennt auffällige Knie ohne Stempel kaum besser als das alte Netz. Ist der "
        "Stempel in den neuen Trainingsdaten wirklich unabhängig vom Label (gleiche Rate in beiden "
        "Klassen), und wurde lange genug trainiert?"
    )
    assert overall >= FIX_MIN_OVERALL, (
        "model_neu ist auf dem ausgewogenen Audit-Datensatz insgesamt nicht besser als Raten. "
        "Nennt es etwa alle Knie auffällig?"
    )


@pytest.mark.task("nb3_fix_retrain", points=1)
def test_cam_leaves_the_stamp_corner(answers, key):
    """Die CAM von model_neu liegt bei höchstens der Hälfte der gestempelten Knie in der Ecke."""
    share = answers.get("new_pointing_game")
    assert isinstance(share, float) and share <= FIX_MAX_POINTING_GAME, (
        "Die CAM von model_neu zeigt bei auffälligen Knien mit Stempel noch meist auf die "
        "Stempelecke: Das Netz nutzt den Stempel weiter."
    )


@pytest.mark.task("nb3_fix_retrain", points=1, depends_on=("nb3_audit",))
def test_reported_numbers_are_measured(answers, key):
    """fix_zahlen enthält die gemessenen Zahlen des alten und des neuen Modells."""
    given, expected = answers.get("fix_numbers"), key.get("fix_numbers")
    assert isinstance(given, dict) and set(expected) <= set(given), (
        "fix_zahlen soll die vier genannten Schlüssel haben."
    )
    for name in ("auffaellig_ohne_stempel_vorher", "pointing_game_vorher"):
        assert abs(given[name] - expected[name]) <= REPORTED_TOLERANCE, (
            f"{name} passt nicht zum ausgelieferten Modell auf den Audit-Bildern ohne Abdecken."
        )
    found, _ = _new_model_figures(answers)
    assert abs(given["auffaellig_ohne_stempel_nachher"] - found) <= REPORTED_TOLERANCE, (
        "auffaellig_ohne_stempel_nachher passt nicht zu den Vorhersagen von model_neu auf "
        "audit_bilder."
    )
    assert (
        abs(given["pointing_game_nachher"] - answers.get("new_pointing_game")) <= REPORTED_TOLERANCE
    ), "pointing_game_nachher passt nicht zur CAM (Klasse 1) von model_neu auf den Audit-Bildern."
