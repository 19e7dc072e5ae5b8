"""Variant corpus of Notebook 3: plausible wrong answers and valid alternatives for every task.

Each student is the reference submission with the answer cells named here
replaced (see ``dlbmt.tools.examples``). ``wrong_*`` students give a plausible
wrong answer to every autograded task, ``valid_*`` students a valid
alternative; ``examples/expected_scores.json`` holds the points each must get.
``attack_a`` starts from the untouched release and tries to score without solving.
"""

import runpy
from pathlib import Path

tamper_cell = runpy.run_path(str(Path(__file__).with_name("attacks.py")))["tamper_cell"]

SHOW_CAM_TEST = """
cam_test = meine_cam(model, im_array, 0, 1)
plt.imshow(cam_test, cmap="jet")
plt.colorbar()
plt.title("CAM von Bild 1 für Klasse 1")
plt.show()
"""

SHOW_HEATMAPS = """
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
for ax, bild, karte, titel in zip(axes, im_array, [Map1, Map2], ["Bild 1", "Bild 2"]):
    overlay(bild, karte, ax)
    ax.set_title(titel)
plt.show()
"""

SHOW_COLORMAPS = """
colormaps = ["summer", "flag", "rainbow"]
fig, axes = plt.subplots(2, len(colormaps), figsize=(4 * len(colormaps), 8))
for spalte, cmap in enumerate(colormaps):
    for zeile in range(2):
        axes[zeile, spalte].imshow(im_array[zeile, :, :, 0], cmap=cmap)
        axes[zeile, spalte].set_title(f"Bild {zeile + 1}, {cmap}")
        axes[zeile, spalte].axis("off")
plt.show()
"""

SHOW_GRADCAM = """
fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
for ax, bild, karte in zip(axes, [im_array[0], im_array[1], im_array[0]], [gradcam1, gradcam2, gradcam1_conv3]):
    overlay(bild, karte, ax)
plt.show()
"""

# The retraining of Aufgabe 8b with the given stamp rates and seeds.
RETRAIN = """
x_neu, y_neu = training_set(pick(150, 12), seed={data_seed}, stamp_rate_normal={normal}, stamp_rate_abnormal={abnormal})
keras.utils.set_random_seed({keras_seed})
model_neu = build_model()
fit(model_neu, x_neu, y_neu, epochs=pick(8, 1){fit_seed})
"""

FIX_NUMBERS = """
gruppe = np.flatnonzero(((audit_tabelle["label"] == 1) & (audit_tabelle["stamped"] == 1)).to_numpy())
ohne = ((audit_tabelle["label"] == 1) & (audit_tabelle["stamped"] == 0)).to_numpy()


def pointing(modell, bilder):
    return float(np.mean([pointing_game_hit(meine_cam(modell, bilder, int(i), 1), STEMPEL_BOX) for i in gruppe]))


vorhersage_neu = np.argmax(model_neu.predict({new_images}, verbose=0), axis=1)
fix_zahlen = {{
    "auffaellig_ohne_stempel_vorher": float(np.mean(audit_vorhersage[ohne] == 1)),
    "auffaellig_ohne_stempel_nachher": float(np.mean(vorhersage_neu[ohne] == 1)),
    "pointing_game_vorher": pointing(model, audit_bilder),
    "pointing_game_nachher": pointing(model_neu, {new_images}),
}}
print(fix_zahlen)
"""

VARIANTS = {
    # ------------------------------------------------------------------ plausible wrong answers
    "wrong_a": {
        # The slices are right, but float64: the division turns uint8 into float64.
        "nb3_load_images_answer": """
volumen1 = np.load(data_path(PFAD_BILD_1))
volumen2 = np.load(data_path(PFAD_BILD_2))
im_array = np.stack([volumen1[len(volumen1) // 2], volumen2[len(volumen2) // 2]])[..., np.newaxis] / 255
print(im_array.shape, im_array.dtype, im_array.min(), im_array.max())
""",
        # argmax over axis 0: on the 2 x 2 output the same classes, on N != 2 rows not.
        "nb3_classify_answer": """
def klassen_aus(wahrscheinlichkeiten):
    return np.argmax(wahrscheinlichkeiten, axis=0)


vorhersage = model.predict(im_array, verbose=0)
klassen = klassen_aus(vorhersage)
print("Klassen:", klassen)
""",
        # Negative values are kept: only divided by the maximum.
        "nb3_cam_answer": """
def meine_cam(model, images, img_num, klasse):
    merkmal_modell = keras.Model(model.input, model.get_layer("last_conv").output)
    merkmale = merkmal_modell(np.asarray(images[img_num : img_num + 1], dtype="float32")).numpy()[0]
    gewichte = model.get_layer("predictions").get_weights()[0][:, klasse]
    karte = merkmale @ gewichte
    karte = tf.image.resize(karte[..., None], (256, 256)).numpy()[..., 0]
    return karte / karte.max()
"""
        + SHOW_CAM_TEST,
        # The label ("auffällig") instead of the predicted class for both images.
        "nb3_heatmaps_answer": """
Map1 = meine_cam(model, im_array, img_num=0, klasse=1)
Map2 = meine_cam(model, im_array, img_num=1, klasse=1)
"""
        + SHOW_HEATMAPS,
        # Bild 2 is called healthy, so the network must have looked at the knee.
        "nb3_where_looks_answer": """
region_bild_1 = "stempelecke"
region_bild_2 = "knie"
""",
        # rainbow shows a faint trace of the text, but not at first sight.
        "nb3_colormaps_answer": SHOW_COLORMAPS + '\nstempel_sichtbar_mit = ["flag", "rainbow"]\n',
        # Counts of right predictions instead of shares.
        "nb3_audit_answer": """
def genauigkeit_je_gruppe(vorhersage, tabelle):
    vorhersage = np.asarray(vorhersage).reshape(-1)
    richtig = vorhersage == tabelle["label"].to_numpy()
    ergebnis = {}
    for name, klasse in (("gesund", 0), ("auffaellig", 1)):
        for zusatz, s in (("ohne_stempel", 0), ("mit_stempel", 1)):
            gruppe = ((tabelle["label"] == klasse) & (tabelle["stamped"] == s)).to_numpy()
            ergebnis[f"{name}_{zusatz}"] = int(richtig[gruppe].sum())
    ergebnis["gesamt"] = int(richtig.sum())
    return ergebnis


audit_vorhersage = np.argmax(model.predict(audit_bilder, verbose=0), axis=1)
audit_genauigkeit = genauigkeit_je_gruppe(audit_vorhersage, audit_tabelle)
audit_genauigkeit
""",
        # The corner is not masked at all.
        "nb3_fix_mask_answer": """
audit_maskiert = audit_bilder
vorhersage_maskiert = np.argmax(model.predict(audit_maskiert, verbose=0), axis=1)
""",
        # Masking only: the same network, the corner masked at inference, no retraining.
        "nb3_fix_retrain_answer": """
audit_maskiert = mask_corner(audit_bilder, STEMPEL_BOX)
model_neu = keras.models.clone_model(model)
model_neu.set_weights(model.get_weights())
""",
        "nb3_fix_numbers_answer": FIX_NUMBERS.format(new_images="audit_maskiert"),
        # Grad-CAM is CAM for this network, so CAM is computed, whatever the layer.
        "nb3_gradcam_answer": """
def mein_grad_cam(model, images, img_num, klasse, schicht="last_conv"):
    # Bei GAP + Dense ist Grad-CAM gleich CAM.
    merkmal_modell = keras.Model(model.input, model.get_layer("last_conv").output)
    merkmale = merkmal_modell(np.asarray(images[img_num : img_num + 1], dtype="float32")).numpy()[0]
    gewichte = model.get_layer("predictions").get_weights()[0][:, klasse]
    karte = np.maximum(merkmale @ gewichte, 0.0)
    karte = tf.image.resize(karte[..., None], (256, 256)).numpy()[..., 0]
    return karte / karte.max() if karte.max() > 0 else karte


gradcam1 = mein_grad_cam(model, im_array, 0, int(klassen[0]))
gradcam2 = mein_grad_cam(model, im_array, 1, int(klassen[1]))
gradcam1_conv3 = mein_grad_cam(model, im_array, 0, int(klassen[0]), schicht="conv3")
"""
        + SHOW_GRADCAM,
    },
    "wrong_b": {
        # The first slice instead of the middle one.
        "nb3_load_images_answer": """
volumen1 = np.load(data_path(PFAD_BILD_1))
volumen2 = np.load(data_path(PFAD_BILD_2))
im_array = np.stack([volumen1[0], volumen2[0]]).astype("float32")[..., np.newaxis] / 255
print(im_array.shape, im_array.dtype, im_array.min(), im_array.max())
""",
        # The largest probability instead of its index.
        "nb3_classify_answer": """
def klassen_aus(wahrscheinlichkeiten):
    return np.max(wahrscheinlichkeiten, axis=1).round().astype(int)


vorhersage = model.predict(im_array, verbose=0)
klassen = np.argmax(vorhersage, axis=1)
print("Klassen:", klassen_aus(vorhersage))
""",
        # The weights of the other class.
        "nb3_cam_answer": """
def meine_cam(model, images, img_num, klasse):
    merkmal_modell = keras.Model(model.input, model.get_layer("last_conv").output)
    merkmale = merkmal_modell(np.asarray(images[img_num : img_num + 1], dtype="float32")).numpy()[0]
    gewichte = model.get_layer("predictions").get_weights()[0][:, 1 - klasse]
    karte = np.maximum(merkmale @ gewichte, 0.0)
    karte = tf.image.resize(karte[..., None], (256, 256)).numpy()[..., 0]
    return karte / karte.max() if karte.max() > 0 else karte
"""
        + SHOW_CAM_TEST,
        # Images counted from 1: Map1 shows Bild 2, Map2 does not exist.
        "nb3_heatmaps_answer": """
Map1 = meine_cam(model, im_array, img_num=1, klasse=int(klassen[0]))
Map2 = meine_cam(model, im_array, img_num=2, klasse=int(klassen[1]))
"""
        + SHOW_HEATMAPS,
        # The stamp lies in the air, so "hintergrund".
        "nb3_where_looks_answer": """
region_bild_1 = "hintergrund"
region_bild_2 = "knie"
""",
        # Looked at long enough, every one of them shows something.
        "nb3_colormaps_answer": SHOW_COLORMAPS
        + '\nstempel_sichtbar_mit = ["summer", "flag", "rainbow"]\n',
        # The global audit table instead of the argument.
        "nb3_audit_answer": """
def genauigkeit_je_gruppe(vorhersage, tabelle):
    vorhersage = np.asarray(vorhersage).reshape(-1)
    label = audit_tabelle["label"].to_numpy()
    stempel = audit_tabelle["stamped"].to_numpy()
    richtig = vorhersage == label
    ergebnis = {}
    for name, klasse in (("gesund", 0), ("auffaellig", 1)):
        for zusatz, s in (("ohne_stempel", 0), ("mit_stempel", 1)):
            ergebnis[f"{name}_{zusatz}"] = float(richtig[(label == klasse) & (stempel == s)].mean())
    ergebnis["gesamt"] = float(richtig.mean())
    return ergebnis


audit_vorhersage = np.argmax(model.predict(audit_bilder, verbose=0), axis=1)
audit_genauigkeit = genauigkeit_je_gruppe(audit_vorhersage, audit_tabelle)
audit_genauigkeit
""",
        # x and y of the box swapped: the upper right is masked, the stamp stays.
        "nb3_fix_mask_answer": """
x0, y0, x1, y1 = STEMPEL_BOX
audit_maskiert = mask_corner(audit_bilder, (y0, x0, y1, x1))
vorhersage_maskiert = np.argmax(model.predict(audit_maskiert, verbose=0), axis=1)
""",
        # Retrained, but on data with the original stamp-label link.
        "nb3_fix_retrain_answer": RETRAIN.format(
            data_seed=5, normal=0.0, abnormal=1.0, keras_seed=0, fit_seed=""
        ),
        "nb3_fix_numbers_answer": FIX_NUMBERS.format(new_images="audit_bilder"),
        # Gradients times feature maps, summed without averaging the gradients first.
        "nb3_gradcam_answer": """
def mein_grad_cam(model, images, img_num, klasse, schicht="last_conv"):
    dense = model.get_layer("predictions")
    teilmodell = keras.Model(model.input, [model.get_layer(schicht).output, dense.input])
    bild = tf.convert_to_tensor(np.asarray(images[img_num : img_num + 1], dtype="float32"))
    with tf.GradientTape() as tape:
        merkmale, gap_ausgabe = teilmodell(bild, training=False)
        score = (tf.matmul(gap_ausgabe, dense.kernel) + dense.bias)[:, klasse]
    gradienten = tape.gradient(score, merkmale)
    karte = np.maximum(np.sum((gradienten * merkmale).numpy()[0], axis=-1), 0.0)
    karte = tf.image.resize(karte[..., None], (256, 256)).numpy()[..., 0]
    return karte / karte.max() if karte.max() > 0 else karte


gradcam1 = mein_grad_cam(model, im_array, 0, int(klassen[0]))
gradcam2 = mein_grad_cam(model, im_array, 1, int(klassen[1]))
gradcam1_conv3 = mein_grad_cam(model, im_array, 0, int(klassen[0]), schicht="conv3")
"""
        + SHOW_GRADCAM,
    },
    # ------------------------------------------------------------------ valid alternatives
    "valid_a": {
        # np.expand_dims and a float32 array divided by a Python float.
        "nb3_load_images_answer": """
volumina = [np.load(data_path(pfad)) for pfad in (PFAD_BILD_1, PFAD_BILD_2)]
mitte = np.array([v[v.shape[0] // 2] for v in volumina], dtype=np.float32)
im_array = np.expand_dims(mitte / 255.0, axis=-1)
print(im_array.shape, im_array.dtype, im_array.min(), im_array.max())
""",
        # Calling the model directly, argmax over the last axis.
        "nb3_classify_answer": """
def klassen_aus(wahrscheinlichkeiten):
    return np.asarray(wahrscheinlichkeiten).argmax(axis=-1)


vorhersage = model(im_array, training=False).numpy()
klassen = klassen_aus(vorhersage)
print("Klassen:", klassen)
""",
        # A sub-model with two outputs, einsum, and keras.ops for the upsampling.
        "nb3_cam_answer": """
def meine_cam(model, images, img_num, klasse):
    teilmodell = keras.Model(inputs=model.inputs, outputs=[model.get_layer("last_conv").output, model.output])
    merkmale, _ = teilmodell.predict(np.asarray(images)[img_num][None], verbose=0)
    kernel, _bias = model.get_layer("predictions").get_weights()
    karte = np.maximum(np.einsum("hwk,k->hw", merkmale[0], kernel[:, klasse]), 0.0)
    gross = keras.ops.image.resize(karte[None, :, :, None], (256, 256), interpolation="bilinear")
    gross = keras.ops.convert_to_numpy(gross)[0, :, :, 0]
    return gross / gross.max() if gross.max() > 0 else gross
"""
        + SHOW_CAM_TEST,
        "nb3_heatmaps_answer": """
Map1, Map2 = (meine_cam(model, im_array, nummer, int(klasse)) for nummer, klasse in enumerate(klassen))
"""
        + SHOW_HEATMAPS,
        # The region computed by the rule of the task instead of read off the plot.
        "nb3_where_looks_answer": """
def region(bild, karte):
    zeile, spalte = cam_peak(karte)
    x0, y0, x1, y1 = STEMPEL_BOX
    if x0 <= spalte < x1 and y0 <= zeile < y1:
        return "stempelecke"
    return "knie" if bild[zeile, spalte, 0] > 0.05 else "hintergrund"


region_bild_1 = region(im_array[0], Map1)
region_bild_2 = region(im_array[1], Map2)
print(region_bild_1, region_bild_2)
""",
        "nb3_colormaps_answer": """
for zeile in range(2):
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, cmap in zip(axes, ("summer", "flag", "rainbow")):
        ax.imshow(im_array[zeile, :, :, 0], cmap=cmap)
        ax.set_title(f"Bild {zeile + 1}: {cmap}")
    plt.show()
stempel_sichtbar_mit = ["flag"]
""",
        # pandas groupby.
        "nb3_audit_answer": """
def genauigkeit_je_gruppe(vorhersage, tabelle):
    daten = tabelle.assign(richtig=np.asarray(vorhersage).reshape(-1) == tabelle["label"].to_numpy())
    gruppen = daten.groupby(["label", "stamped"])["richtig"].mean()
    namen = {0: "gesund", 1: "auffaellig"}
    ergebnis = {
        f"{namen[label]}_{'mit' if stempel else 'ohne'}_stempel": float(wert)
        for (label, stempel), wert in gruppen.items()
    }
    ergebnis["gesamt"] = float(daten["richtig"].mean())
    return ergebnis


audit_vorhersage = np.argmax(model.predict(audit_bilder, verbose=0), axis=1)
audit_genauigkeit = genauigkeit_je_gruppe(audit_vorhersage, audit_tabelle)
pd.Series(audit_genauigkeit)
""",
        # Filled with 0 instead of the background above the box.
        "nb3_fix_mask_answer": """
audit_maskiert = mask_corner(audit_bilder, STEMPEL_BOX, value=0.0)
vorhersage_maskiert = model.predict(audit_maskiert, verbose=0).argmax(axis=1)
""",
        # Another data seed and another Keras seed.
        "nb3_fix_retrain_answer": RETRAIN.format(
            data_seed=7, normal=0.5, abnormal=0.5, keras_seed=1, fit_seed=", seed=1"
        ),
        "nb3_fix_numbers_answer": FIX_NUMBERS.format(new_images="audit_bilder"),
        # The probability after softmax as the score (as in many tutorials) and keras.ops.
        "nb3_gradcam_answer": """
def mein_grad_cam(model, images, img_num, klasse, schicht="last_conv"):
    grad_model = keras.Model(model.inputs, [model.get_layer(schicht).output, model.output])
    bild = np.asarray(images)[img_num][None].astype("float32")
    with tf.GradientTape() as tape:
        merkmale, wahrscheinlichkeiten = grad_model(bild, training=False)
        score = wahrscheinlichkeiten[:, klasse]
    gewichte = tf.reduce_mean(tape.gradient(score, merkmale), axis=(1, 2))[0]
    karte = tf.nn.relu(tf.reduce_sum(merkmale[0] * gewichte, axis=-1))
    gross = keras.ops.image.resize(karte[None, :, :, None], (256, 256))
    gross = keras.ops.convert_to_numpy(gross)[0, :, :, 0]
    return gross / gross.max() if gross.max() > 0 else gross


gradcam1 = mein_grad_cam(model, im_array, 0, int(klassen[0]))
gradcam2 = mein_grad_cam(model, im_array, 1, int(klassen[1]))
gradcam1_conv3 = mein_grad_cam(model, im_array, 0, int(klassen[0]), "conv3")
"""
        + SHOW_GRADCAM,
    },
    "valid_b": {
        # A loop and reshape, float32 from the start.
        "nb3_load_images_answer": """
im_array = np.zeros((2, 256, 256, 1), dtype="float32")
for nummer, pfad in enumerate([PFAD_BILD_1, PFAD_BILD_2]):
    volumen = np.load(data_path(pfad)).astype("float32")
    im_array[nummer] = (volumen[int(volumen.shape[0] / 2)] / 255).reshape(256, 256, 1)
print(im_array.shape, im_array.dtype, im_array.min(), im_array.max())
""",
        # Two classes: class 1 when its probability exceeds that of class 0.
        "nb3_classify_answer": """
def klassen_aus(wahrscheinlichkeiten):
    w = np.asarray(wahrscheinlichkeiten)
    return (w[:, 1] > w[:, 0]).astype(int)


vorhersage = model.predict(im_array, batch_size=1, verbose=0)
klassen = klassen_aus(vorhersage)
print("Klassen:", klassen)
""",
        # Feature maps via get_layer().output of a sub-model, scipy.ndimage.zoom, ReLU after zooming.
        "nb3_cam_answer": """
from scipy import ndimage


def meine_cam(model, images, img_num, klasse):
    schicht = model.get_layer("last_conv")
    merkmale = keras.Model(model.input, schicht.output).predict(images[img_num : img_num + 1], verbose=0)[0]
    gewichte = model.layers[-1].get_weights()[0]
    roh = np.tensordot(merkmale, gewichte[:, klasse], axes=1)
    karte = np.maximum(ndimage.zoom(roh, 256 / roh.shape[0], order=1), 0)
    if karte.max() == 0:
        return karte
    return karte / karte.max()
"""
        + SHOW_CAM_TEST,
        "nb3_heatmaps_answer": """
Map1 = meine_cam(model, im_array, 0, int(np.argmax(vorhersage[0])))
Map2 = meine_cam(model, im_array, 1, int(np.argmax(vorhersage[1])))
"""
        + SHOW_HEATMAPS,
        "nb3_where_looks_answer": """
print("Box:", STEMPEL_BOX, "Maxima:", cam_peak(Map1), cam_peak(Map2))
region_bild_1 = "stempelecke"  # Zeile 216, Spalte 40 liegt in der Box
region_bild_2 = "stempelecke"  # auch die Karte der Klasse gesund zeigt auf die Ecke
""",
        "nb3_colormaps_answer": SHOW_COLORMAPS + '\nstempel_sichtbar_mit = ("flag",)\n',
        # A loop over the rows.
        "nb3_audit_answer": """
def genauigkeit_je_gruppe(vorhersage, tabelle):
    treffer = {}
    for v, (_, zeile) in zip(np.asarray(vorhersage).reshape(-1), tabelle.iterrows()):
        name = ("gesund" if zeile["label"] == 0 else "auffaellig") + (
            "_mit_stempel" if zeile["stamped"] == 1 else "_ohne_stempel"
        )
        treffer.setdefault(name, []).append(v == zeile["label"])
        treffer.setdefault("gesamt", []).append(v == zeile["label"])
    return {name: sum(werte) / len(werte) for name, werte in treffer.items()}


audit_vorhersage = np.argmax(model.predict(audit_bilder, verbose=0), axis=1)
audit_genauigkeit = genauigkeit_je_gruppe(audit_vorhersage, audit_tabelle)
print(audit_genauigkeit)
""",
        # The box filled by hand with the median of the air above it.
        "nb3_fix_mask_answer": """
x0, y0, x1, y1 = STEMPEL_BOX
audit_maskiert = audit_bilder.copy()
luft = np.median(audit_bilder[:, y0 - (y1 - y0) : y0, x0:x1, 0], axis=(1, 2))
audit_maskiert[:, y0:y1, x0:x1, 0] = luft[:, None, None]
vorhersage_maskiert = np.argmax(model(audit_maskiert, training=False).numpy(), axis=1)
""",
        # No stamp at all in the new training data: the stamp says nothing about the label either.
        "nb3_fix_retrain_answer": RETRAIN.format(
            data_seed=11, normal=0.0, abnormal=0.0, keras_seed=0, fit_seed=""
        ),
        "nb3_fix_numbers_answer": """
gestempelt_krank = np.flatnonzero((audit_tabelle["label"] == 1) & (audit_tabelle["stamped"] == 1))
ohne_stempel_krank = np.flatnonzero((audit_tabelle["label"] == 1) & (audit_tabelle["stamped"] == 0))


def anteile(modell):
    klassen_audit = np.argmax(modell(audit_bilder, training=False).numpy(), axis=1)
    gefunden = float(np.mean(klassen_audit[ohne_stempel_krank] == 1))
    treffer = [pointing_game_hit(meine_cam(modell, audit_bilder, int(i), 1), STEMPEL_BOX) for i in gestempelt_krank]
    return gefunden, float(np.mean(treffer))


vorher, nachher = anteile(model), anteile(model_neu)
fix_zahlen = {
    "auffaellig_ohne_stempel_vorher": vorher[0],
    "auffaellig_ohne_stempel_nachher": nachher[0],
    "pointing_game_vorher": vorher[1],
    "pointing_game_nachher": nachher[1],
}
print(fix_zahlen)
""",
        # A copy of the model with a linear output layer gives the score before softmax;
        # scipy.ndimage.zoom for the upsampling.
        "nb3_gradcam_answer": """
from scipy import ndimage


def mein_grad_cam(model, images, img_num, klasse, schicht="last_conv"):
    kopie = keras.models.clone_model(model)
    kopie.set_weights(model.get_weights())
    kopie.get_layer("predictions").activation = keras.activations.linear
    grad_model = keras.Model(kopie.inputs, [kopie.get_layer(schicht).output, kopie.output])
    with tf.GradientTape() as tape:
        merkmale, scores = grad_model(tf.constant(images[img_num : img_num + 1], dtype=tf.float32))
        score = scores[0, klasse]
    gradienten = tape.gradient(score, merkmale)[0].numpy()
    alpha = gradienten.mean(axis=(0, 1))
    roh = np.maximum(merkmale[0].numpy() @ alpha, 0)
    karte = ndimage.zoom(roh, 256 / roh.shape[0], order=1)
    return karte / karte.max() if karte.max() > 0 else karte


gradcam1 = mein_grad_cam(model, im_array, 0, int(klassen[0]))
gradcam2 = mein_grad_cam(model, im_array, 1, int(klassen[1]))
gradcam1_conv3 = mein_grad_cam(model, im_array, 0, int(klassen[0]), schicht="conv3")
"""
        + SHOW_GRADCAM,
    },
}

# attack_a starts from the untouched release and tries every trick that fooled the graders
# before they judged the work: figures claimed through a forged recorder and rewritten
# answer files, the shipped model passed off as retrained, the audit set swapped in the
# package so that the hidden cell's table agrees with any answer, CAM and Grad-CAM taken
# from the instructor's reference code or the package, and the hidden tests read from the
# kernel. It must score what the release scores: nothing.
VARIANTS["attack_a"] = {
    "nb3_load_images_answer": tamper_cell(
        """
# What the forging recorder and the rewritten files claim: perfect audit figures and a
# retraining that fixed everything.
_perfekt = {k: 1.0 for k in ["gesund_ohne_stempel", "gesund_mit_stempel", "auffaellig_ohne_stempel",
                             "auffaellig_mit_stempel", "gesamt"]}


def _forged():
    return {
        "audit": _perfekt, "hidden": _perfekt, "hidden_subset": _perfekt,
        "fix_numbers": {"auffaellig_ohne_stempel_vorher": 0.0, "auffaellig_ohne_stempel_nachher": 1.0,
                        "pointing_game_vorher": 1.0, "pointing_game_nachher": 0.0},
        "cam_hidden": np.ones((6, 256, 256)), "grad_cam_last_conv": np.ones((4, 256, 256)),
        "grad_cam_conv3": np.ones((4, 256, 256)),
    }
"""
    ),
    # CAM from the instructor's reference code, else from whatever the package offers.
    "nb3_cam_answer": """
def meine_cam(model, images, img_num, klasse):
    try:
        from dlbmt.grading.references import class_activation_map
        return class_activation_map(model, images, img_num, klasse)
    except ImportError:
        pass
    import dlbmt.cam
    for name in ("visualize_class_activation_map", "class_activation_map", "cam"):
        if callable(getattr(dlbmt.cam, name, None)):
            return getattr(dlbmt.cam, name)(model, images, img_num, klasse)
    return np.ones((256, 256))
""",
    # The package's audit set swapped: every label equals the prediction, so "all right".
    "nb3_audit_answer": """
import dlbmt.mri

_echt = dlbmt.mri.load_audit_set


def _alles_richtig():
    bilder, tabelle = _echt()
    tabelle = tabelle.copy()
    tabelle["label"] = 1
    return bilder, tabelle


dlbmt.mri.load_audit_set = _alles_richtig


def genauigkeit_je_gruppe(vorhersage, tabelle):
    return dict(_perfekt)


audit_genauigkeit = dict(_perfekt)
""",
    # No retraining: the shipped model under a new name.
    "nb3_fix_retrain_answer": """
model_neu = keras.models.load_model(PFAD_MODELL)
""",
    "nb3_fix_numbers_answer": """
fix_zahlen = {"auffaellig_ohne_stempel_vorher": 0.0, "auffaellig_ohne_stempel_nachher": 1.0,
              "pointing_game_vorher": 1.0, "pointing_game_nachher": 0.0}
""",
    # Grad-CAM from the instructor's reference code, else the CAM above under another name.
    "nb3_gradcam_answer": """
def mein_grad_cam(model, images, img_num, klasse, schicht="last_conv"):
    try:
        from dlbmt.grading.references import grad_cam
        return grad_cam(model, images, img_num, klasse, schicht)
    except ImportError:
        return meine_cam(model, images, img_num, klasse)


gradcam1 = gradcam2 = gradcam1_conv3 = np.ones((256, 256))
""",
}

