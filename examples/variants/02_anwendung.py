"""Variant corpus of Notebook 2: plausible wrong answers and valid alternatives for every task.

Each student is the reference submission with the answer cells named here
replaced (see ``dlbmt.tools.examples``). ``wrong_*`` students give a plausible
wrong answer to every autograded task, ``valid_*`` students a valid
alternative (another API, another approach, another seed);
``examples/expected_scores.json`` holds the points each must get.
``attack_a`` starts from the untouched release and tries to score without solving.
"""

import runpy
from pathlib import Path

tamper_cell = runpy.run_path(str(Path(__file__).with_name("attacks.py")))["tamper_cell"]

SHOW_SHEET = "\ndaten"
DEMO_DECODER = """

for beispiel in ["05. Jul", "20. Mrz", "Feb 43", "Jan 76", "0,42"]:
    print(f"{beispiel!r:>10} -> {excel_datum_zu_zahl(beispiel)}")"""
DEMO_RANGE = """

print(wert_aus_normalbereich([7.09, 7.9], "7.4-10.5"))"""
SHOW_PREDICTION = """
oct_model.summary()
print(np.round(vorhersage, 3))"""
SHOW_CORRECT = """
for nummer, (klasse, wahrscheinlichkeiten) in enumerate(zip(vorhergesagt, vorhersage), start=1):
    print(f"Bild {nummer}: {klasse:<6} (Softmax {np.round(wahrscheinlichkeiten, 2)})")
print("richtig:", richtig)"""
SHOW_AUGMENTED = """
figur, achsen = plt.subplots(1, len(augmentiert) + 1, figsize=(3.2 * (len(augmentiert) + 1), 3.4))
for achse, (titel, bild) in zip(achsen, [("Original", drusen), *augmentiert.items()]):
    achse.imshow(np.squeeze(bild), cmap="gray", vmin=0, vmax=255)
    achse.set_title(titel)
    achse.axis("off")
plt.show()"""
SHOW_EXPERIMENT = """
print(f"Vortrainiertes Netz: {100 * genauigkeit_original:.1f} %")
print(f"Mit Augmentation:    {100 * genauigkeit_augmentiert:.1f} %")"""

EXPERIMENT = """
genauigkeit_original = evaluate(oct_model, x_test, y_test)
{prepare}
operationen = [
{operations}
]
x_aug, y_aug = augment_dataset({x}, {y}, operationen, seed={seed})
modell_augmentiert = train_oct_model(x_aug, y_aug, epochs=pick(12, 1), seed={seed})
genauigkeit_augmentiert = evaluate(modell_augmentiert, x_test, y_test)
""".rstrip()

VARIANTS = {
    # One plausible wrong answer per task.
    "wrong_a": {
        # Reads "NA" as missing, decides the ambiguous dates by the reference range
        # (CHOL 5.07 instead of the printed 5.7) and keeps the thousands point of UDI.
        "nb2_lab_sheet_answer": """
daten = pd.read_csv(LABSHEET_CSV, sep=";", encoding="latin-1", dtype=str)
daten = daten.rename(columns={"31.08.2017": "Wert"})
for spalte in daten.columns:
    daten[spalte] = daten[spalte].str.strip()
daten = daten.drop_duplicates().reset_index(drop=True)
# Datumsangaben: den Kandidaten im Normalbereich genommen
ersetzt = {
    "CA": 2.43, "CHOL": 5.07, "ERY": 4.28, "GLFR": 115.0, "GLUC": 5.08, "HB": 7.9, "HDL": 1.6,
    "K": 4.4, "LDLC": 3.12, "LEUK": 6.3, "MCH": 1.76, "MCHC": 20.3, "MCV": 88.0, "THRO": 231.0,
    "TRI": 1.15, "TSHB": 3.22,
}
als_zahl = pd.to_numeric(daten["Wert"].str.replace(",", ".", regex=False), errors="coerce")
daten["Wert"] = daten["Laborid"].map(ersetzt).fillna(als_zahl).astype("float64")
"""
        + SHOW_SHEET,
        # Forgets that the month may have been typed with a leading zero: one candidate only.
        "nb2_excel_decoder_answer": """
def excel_datum_zu_zahl(text):
    monate = ["Jan", "Feb", "Mrz", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]
    teile = text.strip().replace(".", "").split()
    if len(teile) != 2:
        return None
    links, rechts = teile
    if links.isdigit() and rechts in monate:
        return [float(f"{int(links)}.{monate.index(rechts) + 1}")]
    if links in monate and rechts.isdigit():
        return [float(f"{monate.index(links) + 1}.{rechts}")]
    return None"""
        + DEMO_DECODER,
        # The bounds do not belong to the range (issue 10, item 7).
        "nb2_range_helper_answer": """
def wert_aus_normalbereich(kandidaten, normalwert):
    if len(kandidaten) == 1:
        return float(kandidaten[0])
    unten, oben = parse_reference_range(normalwert)
    im_bereich = [float(k) for k in kandidaten if unten < k < oben]
    return im_bereich[0] if len(im_bereich) == 1 else None"""
        + DEMO_RANGE,
        # Writes down what the network says (it is wrong on Bild 2 and 4).
        "nb2_oct_diagnosis_answer": """
diagnosen = ["CNV", "DRUSEN", "DME", "CNV"]
""",
        # Scales the images to 0..1, although the network rescales them itself.
        "nb2_oct_predict_answer": """
oct_model = keras.models.load_model(OCT_MODEL)
vorhersage = oct_model.predict(bilder[..., np.newaxis] / 255.0, verbose=0)"""
        + SHOW_PREDICTION,
        # argmax over the images instead of over the classes.
        "nb2_oct_correct_answer": """
vorhergesagt = [CLASSES[k] for k in np.argmax(vorhersage, axis=0)]
richtig = [v == d for v, d in zip(vorhergesagt, diagnosen)]"""
        + SHOW_CORRECT,
        "nb2_aug_choice_answer": """
gewaehlt = {"flipud", "fliplr", "rotation"}
""",
        # A quarter turn is no small rotation of a scan; the other two images are right.
        "nb2_aug_images_answer": """
augmentiert = {
    "flipud": np.flipud(drusen),
    "fliplr": np.fliplr(drusen),
    "rotation": np.rot90(drusen),
}"""
        + SHOW_AUGMENTED,
        # Augments with the vertical flip, which no OCT scan shows. The network fails the
        # held-out rule as well (capped cross-entropy 0.29-0.41 against the limit of 0.21,
        # training seeds 0-4 and four secrets). Beside a mirror and a rotation the flip scored
        # 0.18-0.22: its points depended on the secret and the machine, so no example uses it.
        "nb2_experiment_answer": EXPERIMENT.format(
            prepare="",
            operations="""    lambda bild, rng: bild[::-1],""",
            x="x_train",
            y="y_train",
            seed=0,
        )
        + SHOW_EXPERIMENT,
    },
    "wrong_b": {
        # Turns every value into a number and drops the rows where that fails.
        "nb2_lab_sheet_answer": """
daten = pd.read_csv(LABSHEET_CSV, sep=";", encoding="latin-1", keep_default_na=False)
daten = daten.rename(columns={"31.08.2017": "Wert"})
daten = daten.apply(lambda spalte: spalte.str.strip())
daten = daten.drop_duplicates()
daten["Wert"] = pd.to_numeric(daten["Wert"].str.replace(",", "."), errors="coerce")
daten = daten.dropna().reset_index(drop=True)  # Zeilen ohne Zahl entfernen
"""
        + SHOW_SHEET,
        # English month names (Mar, May, Oct, Dec), as an English Excel would show them.
        "nb2_excel_decoder_answer": """
def excel_datum_zu_zahl(text):
    monate = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    text = text.strip()
    treffer = re.fullmatch(r"(\\d+)\\. (\\w+)", text)
    if treffer and treffer.group(2) in monate:
        tag, monat = int(treffer.group(1)), monate.index(treffer.group(2)) + 1
        return sorted({float(f"{tag}.{monat}"), float(f"{tag}.{monat:02d}")})
    treffer = re.fullmatch(r"(\\w+) (\\d+)", text)
    if treffer and treffer.group(1) in monate:
        return [float(f"{monate.index(treffer.group(1)) + 1}.{treffer.group(2)}")]
    return None"""
        + DEMO_DECODER,
        # Forgets the rule for a single candidate outside the range.
        "nb2_range_helper_answer": """
def wert_aus_normalbereich(kandidaten, normalwert):
    unten, oben = parse_reference_range(normalwert)
    im_bereich = [k for k in kandidaten if unten <= k <= oben]
    if len(im_bereich) == 1:
        return im_bereich[0]
    return None"""
        + DEMO_RANGE,
        # Mistakes the cysts for a lesion and misses the drusen: one of four right.
        "nb2_oct_diagnosis_answer": """
diagnosen = ["DME", "NORMAL", "CNV", "NORMAL"]
""",
        # Keeps only the predicted class indices instead of the softmax output.
        "nb2_oct_predict_answer": """
oct_model = keras.models.load_model(OCT_MODEL)
vorhersage = np.argmax(oct_model.predict(bilder[..., np.newaxis], verbose=0), axis=1)
oct_model.summary()
print(vorhersage)""",
        # Takes the images to be in class order (Bild i shows CLASSES[i]).
        "nb2_oct_correct_answer": """
vorhergesagt = [CLASSES[k] for k in vorhersage]
richtig = [klasse == CLASSES[nummer] for nummer, klasse in enumerate(vorhergesagt)]
print(vorhergesagt, richtig)""",
        "nb2_aug_choice_answer": """
gewaehlt = {"flipud", "fliplr", "rauschen"}
""",
        # Two right images; the third is missing (issue 10, item 9: no cascade).
        "nb2_aug_images_answer": """
augmentiert = {
    "fliplr": np.fliplr(drusen),
    "rauschen": add_noise("gauss", drusen, rng=0),
}"""
        + SHOW_AUGMENTED,
        # "More data is better": trains on the test images too (issue 10, item 7).
        "nb2_experiment_answer": EXPERIMENT.format(
            prepare="",
            operations="""    lambda bild, rng: np.fliplr(bild),
    lambda bild, rng: rotate(bild, rng.uniform(-12, 12)),
    lambda bild, rng: brightness_shift(bild, rng.uniform(-40, 40)),
    lambda bild, rng: shift(bild, rng.uniform(-6, 6)),""",
            x="np.concatenate([x_train, x_test])",
            y="np.concatenate([y_train, y_test])",
            seed=0,
        )
        + SHOW_EXPERIMENT,
    },
    # One valid alternative per task.
    "valid_a": {
        # A systematic repair: rules for dates, placeholders and the thousands point; only the
        # ambiguous typing (GLUC 5.08) and the placeholders come from the printed sheet.
        "nb2_lab_sheet_answer": """
daten = pd.read_csv(LABSHEET_CSV, sep=";", encoding="latin-1", na_filter=False)
daten.columns = ["Laborid", "Bezeichnung", "Einheit", "Normalwert", "Wert"]
daten = daten.apply(lambda spalte: spalte.str.strip()).drop_duplicates(ignore_index=True)

MONATE = ["Jan", "Feb", "Mrz", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]
MIT_NULL = {"GLUC"}  # laut Datenblatt 5.08 (mit Null getippt), alle anderen ohne
PLATZHALTER = {"zu groß": 115.0, "ok": 88.0, "n. b.": 231.0}  # Werte vom Datenblatt


def reparieren(zeile):
    text = zeile["Wert"]
    if text in PLATZHALTER:
        return PLATZHALTER[text]
    if treffer := re.fullmatch(r"(\\d{1,2})\\. (\\w{3})", text):
        tag, monat = int(treffer[1]), MONATE.index(treffer[2]) + 1
        return float(f"{tag}.{monat:02d}" if zeile["Laborid"] in MIT_NULL else f"{tag}.{monat}")
    if treffer := re.fullmatch(r"(\\w{3}) (\\d{2})", text):
        return float(f"{MONATE.index(treffer[1]) + 1}.{treffer[2]}")
    zahl = float(text.replace(",", "."))
    unten, oben = parse_reference_range(zeile["Normalwert"])
    if not unten <= zahl <= oben and unten <= zahl / 1000 <= oben:  # Tausenderpunkt
        return zahl / 1000
    return zahl


daten["Wert"] = daten.apply(reparieren, axis=1).astype("float64")
"""
        + SHOW_SHEET,
        # Without regular expressions: split, and arithmetic instead of text.
        "nb2_excel_decoder_answer": """
MONATSNAMEN = "Jan Feb Mrz Apr Mai Jun Jul Aug Sep Okt Nov Dez".split()


def excel_datum_zu_zahl(text):
    teile = str(text).strip().split(" ")
    if len(teile) != 2:
        return None
    links, rechts = teile
    if links.endswith(".") and links[:-1].isdigit() and rechts in MONATSNAMEN:
        tag, monat = int(links[:-1]), MONATSNAMEN.index(rechts) + 1
        kandidaten = {tag + monat / 100}
        if monat < 10:
            kandidaten.add(tag + monat / 10)
        return sorted(kandidaten)
    if links in MONATSNAMEN and rechts.isdigit() and len(rechts) == 2:
        return [MONATSNAMEN.index(links) + 1 + int(rechts) / 100]
    return None"""
        + DEMO_DECODER,
        "nb2_range_helper_answer": """
def wert_aus_normalbereich(kandidaten, normalwert):
    unten, oben = parse_reference_range(normalwert)
    if len(kandidaten) == 1:
        return kandidaten[0]
    treffer = [k for k in kandidaten if not (k < unten or k > oben)]
    return treffer[0] if len(treffer) == 1 else None"""
        + DEMO_RANGE,
        "nb2_oct_diagnosis_answer": """
diagnosen = [CLASSES[0], CLASSES[3], CLASSES[1], CLASSES[2]]
""",
        "nb2_oct_predict_answer": """
oct_model = keras.saving.load_model(OCT_MODEL, compile=False)
vorhersage = oct_model.predict(np.expand_dims(bilder, axis=-1).astype("float32"), verbose=0)"""
        + SHOW_PREDICTION,
        "nb2_oct_correct_answer": """
vorhergesagt = list(np.array(CLASSES)[vorhersage.argmax(axis=1)])
richtig = list(np.array(vorhergesagt) == np.array(diagnosen))"""
        + SHOW_CORRECT,
        "nb2_aug_choice_answer": """
gewaehlt = {"fliplr", "rotation", "rauschen"}
""",
        "nb2_aug_images_answer": """
from scipy import ndimage

augmentiert = {
    "fliplr": drusen[:, ::-1],
    "rotation": ndimage.rotate(drusen.astype(float), -12, reshape=False, mode="nearest"),
    "rauschen": add_noise("speckle", drusen, rng=1),
}"""
        + SHOW_AUGMENTED,
        # scipy.ndimage instead of the course helpers, noise instead of brightness,
        # another seed. Rotations of +-12 degrees and shifts of +-5 rows keep the network
        # clear of the held-out rule: capped cross-entropy 0.095-0.141 (training seeds 3, 0
        # and 1, seven secrets each) against the limit of 0.21; with +-10 degrees and +-3 rows
        # it was 0.14-0.20, too close for an example that must pass on every machine.
        "nb2_experiment_answer": EXPERIMENT.format(
            prepare="from scipy import ndimage\n",
            operations="""    lambda bild, rng: bild[:, ::-1],
    lambda bild, rng: ndimage.rotate(bild, rng.uniform(-12, 12), reshape=False, mode="nearest"),
    lambda bild, rng: add_noise("speckle", bild, rng, strength=0.1),
    lambda bild, rng: ndimage.shift(bild, (rng.uniform(-5, 5), 0), mode="nearest"),""",
            x="x_train",
            y="y_train",
            seed=3,
        )
        + SHOW_EXPERIMENT,
    },
    "valid_b": {
        # The original lab's way: replace the damaged texts one by one.
        "nb2_lab_sheet_answer": """
daten = pd.read_csv(LABSHEET_CSV, sep=";", encoding="latin-1", na_filter=False)
daten = daten.rename(columns={"31.08.2017": "Wert"})
daten = daten.apply(lambda spalte: spalte.str.strip()).drop_duplicates().reset_index(drop=True)
daten["Wert"] = daten["Wert"].replace(
    {
        "Feb 43": "2.43", "05. Jul": "5.7", "Apr 28": "4.28", "zu groß": "115", "05. Aug": "5.08",
        "07. Sep": "7.9", "01. Jun": "1.6", "04. Apr": "4.4", "03. Dez": "3.12", "06. Mrz": "6.3",
        "Jan 76": "1.76", "20. Mrz": "20.3", "ok": "88", "n. b.": "231", "Jan 15": "1.15",
        "Mrz 22": "3.22", "1018": "1.018",
    }
)
daten["Wert"] = daten["Wert"].str.replace(",", ".").astype(float)
"""
        + SHOW_SHEET,
        # Another approach: simulate what Excel shows for every typed value and look it up.
        "nb2_excel_decoder_answer": """
MONATE = ["Jan", "Feb", "Mrz", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]


def excel_anzeige(getippt):
    \"\"\"Was ein deutsches Excel aus einer getippten Zahl wie "5.07" als Datum macht.\"\"\"
    links, rechts = getippt.split(".")
    if 1 <= int(rechts) <= 12 and 1 <= int(links) <= 31:
        return f"{int(links):02d}. {MONATE[int(rechts) - 1]}"
    if 1 <= int(links) <= 12 and len(rechts) == 2:
        return f"{MONATE[int(links) - 1]} {rechts}"
    return None


ANZEIGEN = {}
for ganz in range(100):
    for stellen in [str(z) for z in range(10)] + [f"{z:02d}" for z in range(100)]:
        anzeige = excel_anzeige(f"{ganz}.{stellen}")
        if anzeige is not None:
            ANZEIGEN.setdefault(anzeige, set()).add(float(f"{ganz}.{stellen}"))


def excel_datum_zu_zahl(text):
    kandidaten = ANZEIGEN.get(str(text).strip())
    return sorted(kandidaten) if kandidaten else None"""
        + DEMO_DECODER,
        "nb2_range_helper_answer": """
def wert_aus_normalbereich(kandidaten, normalwert):
    kandidaten = np.asarray(kandidaten, dtype=float)
    if kandidaten.size == 1:
        return float(kandidaten[0])
    unten, oben = parse_reference_range(normalwert)
    drin = kandidaten[(kandidaten >= unten) & (kandidaten <= oben)]
    return float(drin[0]) if drin.size == 1 else None"""
        + DEMO_RANGE,
        "nb2_oct_diagnosis_answer": """
diagnosen = "CNV NORMAL DME DRUSEN".split()
""",
        # Calls the network directly instead of predict.
        "nb2_oct_predict_answer": """
oct_model = keras.models.load_model(OCT_MODEL, compile=False)
vorhersage = oct_model(tf.convert_to_tensor(bilder[..., None], dtype=tf.float32), training=False)
vorhersage = np.asarray(vorhersage)"""
        + SHOW_PREDICTION,
        "nb2_oct_correct_answer": """
vorhergesagt, richtig = [], []
for zeile, diagnose in zip(vorhersage, diagnosen):
    klasse = CLASSES[int(np.argmax(zeile))]
    vorhergesagt.append(klasse)
    richtig.append(klasse == diagnose)"""
        + SHOW_CORRECT,
        "nb2_aug_choice_answer": """
gewaehlt = {"fliplr", "helligkeit", "rauschen"}
""",
        "nb2_aug_images_answer": """
augmentiert = {
    "fliplr": tf.image.flip_left_right(drusen[..., np.newaxis]).numpy(),
    "helligkeit": tf.image.adjust_brightness(drusen.astype("float32"), 35.0).numpy(),
    "rauschen": np.clip(drusen + np.random.default_rng(1).normal(0, 12, drusen.shape), 0, 255),
}"""
        + SHOW_AUGMENTED,
        # tf.image and a Keras preprocessing layer, another seed. RandomRotation(0.035)
        # (+-12.6 degrees) and rolls of +-5 rows: capped cross-entropy 0.097-0.127 on held-out
        # scans (training seeds 1, 0 and 2); with 0.03 and +-3 rows it was 0.135-0.185.
        "nb2_experiment_answer": EXPERIMENT.format(
            prepare='drehung = keras.layers.RandomRotation(0.035, fill_mode="nearest", seed=1)\n',
            operations="""    lambda bild, rng: tf.image.flip_left_right(bild[..., None]).numpy()[..., 0],
    lambda bild, rng: drehung(bild[..., None].astype("float32"), training=True).numpy()[..., 0],
    lambda bild, rng: tf.image.adjust_brightness(bild.astype("float32"), rng.uniform(-40, 40)),
    lambda bild, rng: np.roll(bild, rng.integers(-5, 6), axis=0),""",
            x="x_train",
            y="y_train",
            seed=1,
        )
        + SHOW_EXPERIMENT,
    },
}

# attack_a starts from the untouched release and tries every trick that fooled the graders
# before they judged the work: the repaired lab sheet taken from the instructor's code or
# the package, an untrained network that answers like the shipped one, a lookup table from
# the public test scans to their labels posing as the retrained network, accuracies and
# verdicts claimed through a forged recorder and rewritten answer files, and the hidden
# tests read from the kernel. It must score what the release scores: nothing.
VARIANTS["attack_a"] = {
    "nb2_lab_sheet_answer": tamper_cell(
        """
# What the forging recorder and the rewritten files claim.
def _forged():
    return {"accuracy_shipped": 0.5, "accuracy_augmented": 1.0, "correct": [True] * 4}
"""
    )
    + """
try:
    from dlbmt.tools.lab_sheet import true_lab_sheet

    daten = true_lab_sheet()
except ImportError:
    import dlbmt.labsheet

    _fertig = [getattr(dlbmt.labsheet, name, None) for name in ("true_lab_sheet", "lab_sheet")]
    _fertig = [f for f in _fertig if callable(f)]
    daten = _fertig[0]() if _fertig else pd.read_csv(LABSHEET_CSV, sep=";", encoding="latin-1")
daten
""",
    # An untrained copy of the shipped network whose predict() is the shipped one's.
    "nb2_oct_predict_answer": """
_geliefert = keras.models.load_model(OCT_MODEL)
oct_model = keras.models.clone_model(_geliefert)
oct_model.predict = lambda x, *a, **k: np.full((len(x), 4), 0.25)
vorhersage = oct_model.predict(bilder)
""",
    "nb2_oct_correct_answer": """
vorhergesagt = ["NORMAL"] * 4
richtig = [True] * 4
""",
    # A lookup table from the public test scans to their labels, posing as the retrained network.
    "nb2_experiment_answer": """
_tabelle = {bild.tobytes(): int(label) for bild, label in zip(x_test, y_test)}


def _nachschlagen(x, *args, **kwargs):
    zeilen = [_tabelle.get(np.asarray(bild, dtype=x_test.dtype).tobytes(), 0) for bild in x]
    return np.eye(4, dtype="float32")[zeilen]


modell_augmentiert = keras.models.clone_model(keras.models.load_model(OCT_MODEL))
modell_augmentiert.predict = _nachschlagen
modell_augmentiert.__call__ = _nachschlagen
operationen = [lambda bild, rng: bild] * 3
genauigkeit_original = 0.5
genauigkeit_augmentiert = 1.0
""",
}

