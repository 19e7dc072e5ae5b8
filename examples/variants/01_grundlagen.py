"""Variant corpus of Notebook 1: plausible wrong answers and valid alternatives for every task.

Each student is the reference submission with the answer cells named here
replaced (see ``dlbmt.tools.examples``). ``wrong_*`` students give a plausible
wrong answer to every autograded task, ``valid_*`` students a valid
alternative; ``examples/expected_scores.json`` holds the points each must get.
"""

import runpy
from pathlib import Path

tamper_cell = runpy.run_path(str(Path(__file__).with_name("attacks.py")))["tamper_cell"]

PLOT = """
x_demo = np.linspace(-4, 4, 161)
for function in (relu, sigmoid, tanh):
    plt.plot(x_demo, function(x_demo), label=function.__name__)
plt.legend()
plt.show()
"""

KERAS_121 = """
model = keras.Sequential(
    [
        keras.Input(shape=(1,)),
        keras.layers.Dense(1, activation="{a}"),
        keras.layers.Dense(2, activation="{a}"),
        keras.layers.Dense(1, activation="{a}"),
    ]
)
model.set_weights(
    [
        np.array([[3.0]]), np.array([0.0]),
        np.array([[2.0, 1.0]]), np.array([{b2}, {b3}]),
        np.array([[1.0], [-5.0]]), np.array([0.0]),
    ]
)
keras_values = model.predict(np.array([[-1.0], [1.0], [2.0]]), verbose=0)
print(keras_values)
"""

QRS_MODEL = """
qrs_model = keras.Sequential(
    [
        keras.Input(shape=(1,)),
        keras.layers.Dense(1, activation="relu"),
        keras.layers.Dense(2, activation="relu"),
        keras.layers.Dense(1, activation="{last}"),
    ]
)
{weights}
qrs_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
"""

START_WEIGHTS = """
qrs_model.set_weights(
    [
        np.array([[start_w[0]]]), np.array([start_b[0]]),
        np.array([[start_w[1], start_w[2]]]), np.array([start_b[1], start_b[2]]),
        np.array([[start_w[3]], [start_w[4]]]), np.array([start_b[3]]),
    ]
)
"""

MNIST_TRAINING = """
rng = np.random.default_rng(1)
order = rng.permutation(len(x_train))
x_mixed = x_train[order]
y_mixed = {labels}

mnist_model = build_mnist_model()
mnist_model.fit(x_mixed, y_mixed, batch_size=32, epochs=pick(10, 1), verbose=0)
{report}
print(f"Genauigkeit auf den Testdaten: {{test_accuracy:.3f}}")
print("Vorhersagen für die vier Testbilder:", four_predictions)
"""

VARIANTS = {
    # ------------------------------------------------------------------ plausible wrong answers
    "wrong_a": {
        # Leaky ReLU, the sign of the exponent, and tanh(x/2) instead of tanh(x).
        "nb1_activations_answer": """
def relu(x):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, 0.01 * x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(np.asarray(x, dtype=float)))


def tanh(x):
    return 2.0 * sigmoid(-np.asarray(x, dtype=float)) - 1.0
""" + PLOT,
        # The matrix product in the wrong order, b1 added instead of passed through W2.
        "nb1_linear_layers_answer": """
def merge_linear_layers(W1, b1, W2, b2):
    return W2.T @ W1.T, b1.sum() + b2


W_merged, b_merged = merge_linear_layers(W1, b1, W2, b2)
print(W_merged, b_merged)
""",
        # "The step function rises by one": a slope of one, and the sigmoid's value as its slope.
        "nb1_step_gradient_answer": """
step_gradient = np.ones(4)
sigmoid_gradient = tf.sigmoid(x_points).numpy()
print(step_gradient, sigmoid_gradient)
""",
        # Keras' random start instead of zeros, and the labels in the order of the plot legend.
        "nb1_learning_rate_answer": """
final_losses = []
for rate in learning_rates:
    lr_model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    lr_model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    history = lr_model.fit(x_lr, y_lr, batch_size=len(x_lr), epochs=30, verbose=0)
    final_losses.append(history.history["loss"][-1])
lr_labels = ["divergiert", "konvergiert", "stagniert"]
print(final_losses)
""",
        # Rows and columns swapped, and precision taken for sensitivity.
        "nb1_quality_measures_answer": """
def quality_measures(y_true, y_pred):
    cm = confusion_matrix(y_pred, y_true, labels=[0, 1])
    tn, fp, fn, tp = cm.ravel()
    accuracy = (tp + tn) / cm.sum()
    sensitivity = tp / (tp + fn)
    specificity = tn / (tn + fp)
    return cm, accuracy, sensitivity, specificity


cm, accuracy, sensitivity, specificity = quality_measures(y_true, y_pred)
print(cm, accuracy, sensitivity, specificity)
""",
        # ReLU forgotten in h3.
        "nb1_hand_values_answer": """
hand_values = [
    [0, 0, -5, 25],
    [3, 6, -2, 16],
    [6, 12, 1, 7],
]
""",
        # b2 and b3 swapped.
        "nb1_keras_answer": KERAS_121.format(a="relu", b2="-5.0", b3="0.0"),
        # 50 points with step 0.2 end at 4.8, not at 5.
        "nb1_function_plot_answer": """
x_plot = np.arange(-5, 5, 0.2)
y_plot = model.predict(x_plot.reshape(-1, 1), verbose=0)
plt.plot(x_plot, y_plot)
plt.show()
""",
        # The widget's start values, never moved.
        "nb1_widget_fit_answer": """
w_hand = [1.0, 1.0, 1.0, 1.0, 1.0]
b_hand = [0.0, 0.0, 0.0, 0.0]
""",
        # The start values never set: Keras' random start, from which the net gets stuck.
        "nb1_qrs_model_answer": QRS_MODEL.format(last="relu", weights=""),
        # categorical_crossentropy with labels that are integers.
        "nb1_mnist_model_answer": """
def build_mnist_model(hidden_units=128):
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28)))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hidden_units, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
""",
        # The planted bug not found: the labels keep their own permutation.
        "nb1_mnist_training_answer": MNIST_TRAINING.format(
            labels="y_train[rng.permutation(len(y_train))]",
            report="""_, test_accuracy = mnist_model.evaluate(x_test, y_test, verbose=0)
four_predictions = np.argmax(mnist_model.predict(x_test[four_images], verbose=0), axis=1)""",
        ),
        # The same network a second time, and the accuracy of the buggy run as its result.
        "nb1_mnist_hyperparameters_answer": """
accuracy_a = test_accuracy
mnist_model_b = build_mnist_model()
mnist_model_b.fit(x_train, y_train, batch_size=32, epochs=pick(10, 1), verbose=0)
accuracy_b = buggy_accuracy
""",
        # The probability of class 0 taken as the confidence.
        "nb1_glyphs_answer": """
glyph_probabilities = mnist_model.predict(glyph_images, verbose=0)
glyph_classes = np.argmax(glyph_probabilities, axis=1)
glyph_confidence = glyph_probabilities[:, 0]
""",
    },
    "wrong_b": {
        # ReLU6 taken for ReLU, the sign inside the denominator, and the tangent.
        "nb1_activations_answer": """
def relu(x):
    return np.clip(np.asarray(x, dtype=float), 0.0, 6.0)


def sigmoid(x):
    return 1.0 / (1.0 - np.exp(-np.asarray(x, dtype=float)))


def tanh(x):
    return np.tan(np.asarray(x, dtype=float))
""" + PLOT,
        # b1 forgotten in the merged bias.
        "nb1_linear_layers_answer": """
def merge_linear_layers(W1, b1, W2, b2):
    return W1 @ W2, b2


W_merged, b_merged = merge_linear_layers(W1, b1, W2, b2)
""",
        # None turned into ones, the sigmoid's slope taken at 0 for every point.
        "nb1_step_gradient_answer": """
step_gradient = np.array([1.0, 1.0, 1.0, 1.0])
with tf.GradientTape() as tape:
    zero = tf.zeros(4)
    tape.watch(zero)
    out = tf.sigmoid(zero)
sigmoid_gradient = tape.gradient(out, zero).numpy()
""",
        # The loss after the first epoch, and "converged" for the tiny rate.
        "nb1_learning_rate_answer": """
final_losses = []
for rate in learning_rates:
    lr_model = keras.Sequential(
        [keras.Input(shape=(1,)), keras.layers.Dense(1, kernel_initializer="zeros")]
    )
    lr_model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    history = lr_model.fit(x_lr, y_lr, batch_size=len(x_lr), epochs=30, verbose=0)
    final_losses.append(history.history["loss"][0])
lr_labels = ["konvergiert", "divergiert", "konvergiert"]
""",
        # Balanced accuracy for accuracy, sensitivity and specificity swapped.
        "nb1_quality_measures_answer": """
def quality_measures(y_true, y_pred):
    cm = confusion_matrix(y_true, y_pred, labels=[0, 1])
    tn, fp, fn, tp = cm.ravel()
    specificity = tp / (tp + fn)
    sensitivity = tn / (tn + fp)
    accuracy = (sensitivity + specificity) / 2
    return cm, accuracy, sensitivity, specificity


cm, accuracy, sensitivity, specificity = quality_measures(y_true, y_pred)
""",
        # The columns of h2 and h3 swapped.
        "nb1_hand_values_answer": """
hand_values = [
    [0, 0, 0, 0],
    [3, 0, 6, 6],
    [6, 1, 12, 7],
]
""",
        # No activation: the layers are linear.
        "nb1_keras_answer": KERAS_121.format(a="linear", b2="0.0", b3="-5.0"),
        # A fresh, untrained network instead of the 1a model.
        "nb1_function_plot_answer": """
x_plot = np.linspace(-5, 5, 50)
fresh = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(2, activation="relu"),
                          keras.layers.Dense(1)])
y_plot = fresh.predict(x_plot.reshape(-1, 1), verbose=0)
""",
        # The triangle's peak far right of the R wave.
        "nb1_widget_fit_answer": """
w_hand = [1.0, 1.0, 1.0, 0.625, -1.25]
b_hand = [3.6, 0.0, -1.6, 0.0]
""",
        # A linear output layer.
        "nb1_qrs_model_answer": QRS_MODEL.format(last="linear", weights=START_WEIGHTS),
        # Sigmoid in the hidden layer (the task asks for ReLU); it still trains well.
        "nb1_mnist_model_answer": """
def build_mnist_model(hidden_units=128):
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28)))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hidden_units, activation="sigmoid"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
""",
        # Fixed, but the training accuracy reported and the true labels as predictions.
        "nb1_mnist_training_answer": MNIST_TRAINING.format(
            labels="y_train[order]",
            report="""test_accuracy = float(mnist_model.evaluate(x_mixed, y_mixed, verbose=0)[1])
four_predictions = y_test[four_images]""",
        ),
        # The second network trained on the buggy, shuffled labels.
        "nb1_mnist_hyperparameters_answer": """
accuracy_a = test_accuracy
mnist_model_b = build_mnist_model(hidden_units=64)
mnist_model_b.fit(x_train, y_train[np.random.default_rng(2).permutation(4000)],
                  batch_size=32, epochs=pick(10, 1), verbose=0)
_, accuracy_b = mnist_model_b.evaluate(x_test, y_test, verbose=0)
""",
        # The probabilities of the second network.
        "nb1_glyphs_answer": """
glyph_probabilities = mnist_model_b.predict(glyph_images, verbose=0)
glyph_classes = np.argmax(glyph_probabilities, axis=1)
glyph_confidence = np.max(glyph_probabilities, axis=1)
""",
    },
    # ------------------------------------------------------------------ valid alternatives
    "valid_a": {
        "nb1_activations_answer": """
from scipy.special import expit


def relu(x):
    x = np.asarray(x, dtype=float)
    return x * (x > 0)


def sigmoid(x):
    return expit(x)


def tanh(x):
    return np.tanh(x)
""" + PLOT,
        "nb1_linear_layers_answer": """
def merge_linear_layers(W1, b1, W2, b2):
    return np.dot(W1, W2), np.dot(b1, W2) + b2


W_merged, b_merged = merge_linear_layers(W1, b1, W2, b2)
""",
        # The derivatives on paper: zero, and sigmoid * (1 - sigmoid).
        "nb1_step_gradient_answer": """
step_gradient = np.zeros(4)
s = 1 / (1 + np.exp(-x_points.numpy()))
sigmoid_gradient = s * (1 - s)
""",
        "nb1_learning_rate_answer": """
final_losses, lr_labels = [], []
for rate in learning_rates:
    inputs = keras.Input(shape=(1,))
    outputs = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Zeros(), bias_initializer="zeros"
    )(inputs)
    lr_model = keras.Model(inputs, outputs)
    lr_model.compile(optimizer=keras.optimizers.SGD(rate), loss="mean_squared_error")
    losses = lr_model.fit(x_lr, y_lr, epochs=30, verbose=0).history["loss"]
    final_losses.append(losses[-1])
    if not np.isfinite(losses[-1]) or losses[-1] > losses[0]:
        lr_labels.append("divergiert")
    elif losses[-1] < 0.01 * losses[0]:
        lr_labels.append("konvergiert")
    else:
        lr_labels.append("stagniert")
""",
        # Counted by hand with NumPy.
        "nb1_quality_measures_answer": """
def quality_measures(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tp = np.sum((y_true == 1) & (y_pred == 1))
    tn = np.sum((y_true == 0) & (y_pred == 0))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred == 0))
    cm = np.array([[tn, fp], [fn, tp]])
    return cm, (tp + tn) / len(y_true), tp / (tp + fn), tn / (tn + fp)


cm, accuracy, sensitivity, specificity = quality_measures(y_true, y_pred)
""",
        # Computed with NumPy instead of on paper.
        "nb1_hand_values_answer": """
x = np.array([-1.0, 1.0, 2.0])
h1 = np.maximum(0, 3 * x)
h2 = np.maximum(0, 2 * h1)
h3 = np.maximum(0, h1 - 5)
y = np.maximum(0, h2 - 5 * h3)
hand_values = np.stack([h1, h2, h3, y], axis=1)
""",
        # Functional API.
        "nb1_keras_answer": """
inputs = keras.Input(shape=(1,))
h1 = keras.layers.Dense(1, activation="relu")(inputs)
h23 = keras.layers.Dense(2, activation="relu")(h1)
outputs = keras.layers.Dense(1, activation="relu")(h23)
model = keras.Model(inputs, outputs)
model.set_weights([np.array([[3.0]]), np.zeros(1), np.array([[2.0, 1.0]]), np.array([0.0, -5.0]),
                   np.array([[1.0], [-5.0]]), np.zeros(1)])
keras_values = model(np.array([[-1.0], [1.0], [2.0]])).numpy()
""",
        "nb1_function_plot_answer": """
x_plot = np.linspace(-5.0, 5.0, num=50)
y_plot = model(x_plot[:, np.newaxis]).numpy()[:, 0]
plt.plot(x_plot, y_plot)
plt.show()
""",
        # The same triangle with weights scaled: ReLU networks do not change.
        "nb1_widget_fit_answer": """
w_hand = [2.0, 1.0, 1.0, 0.3125, -0.625]
b_hand = [3.2, 0.0, -3.2, 0.0]
""",
        # Functional API and weights set layer by layer.
        "nb1_qrs_model_answer": """
inputs = keras.Input(shape=(1,))
layers = [keras.layers.Dense(n, activation="relu") for n in (1, 2, 1)]
x = inputs
for layer in layers:
    x = layer(x)
qrs_model = keras.Model(inputs, x)
layers[0].set_weights([np.array([[start_w[0]]]), np.array([start_b[0]])])
layers[1].set_weights([np.array([start_w[1:3]]), np.array(start_b[1:3])])
layers[2].set_weights([np.array(start_w[3:5]).reshape(2, 1), np.array([start_b[3]])])
qrs_model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.MeanSquaredError())
""",
        # Dense(10) followed by its own softmax layer, the loss as an object.
        "nb1_mnist_model_answer": """
def build_mnist_model(hidden_units=128):
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28)))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hidden_units, activation="relu"))
    model.add(keras.layers.Dense(10))
    model.add(keras.layers.Activation("softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model
""",
        # Shuffled together with scikit-learn; accuracy counted by hand.
        "nb1_mnist_training_answer": """
from sklearn.utils import shuffle

x_mixed, y_mixed = shuffle(x_train, y_train, random_state=1)
mnist_model = build_mnist_model()
mnist_model.fit(x_mixed, y_mixed, batch_size=32, epochs=pick(10, 1), verbose=0)
test_accuracy = float(np.mean(np.argmax(mnist_model.predict(x_test, verbose=0), axis=1) == y_test))
four_predictions = mnist_model.predict(x_test[four_images], verbose=0).argmax(axis=-1)
""",
        # A second hidden layer.
        "nb1_mnist_hyperparameters_answer": """
accuracy_a = test_accuracy
mnist_model_b = keras.Sequential([
    keras.Input(shape=(28, 28)), keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"), keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
mnist_model_b.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
mnist_model_b.fit(x_mixed, y_mixed, batch_size=32, epochs=pick(10, 1), verbose=0)
accuracy_b = float(mnist_model_b.evaluate(x_test, y_test, verbose=0)[1])
""",
        "nb1_glyphs_answer": """
glyph_probabilities = mnist_model(glyph_images).numpy()
glyph_classes = glyph_probabilities.argmax(axis=-1)
glyph_confidence = glyph_probabilities.max(axis=-1)
""",
    },
    "valid_b": {
        "nb1_activations_answer": """
def relu(x):
    return np.clip(x, 0, None).astype(float)


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))


def tanh(x):
    return 2.0 / (1.0 + np.exp(-2.0 * np.asarray(x, dtype=float))) - 1.0
""" + PLOT,
        # The identity matrix and the zero vector pushed through both layers.
        "nb1_linear_layers_answer": """
def merge_linear_layers(W1, b1, W2, b2):
    b = (np.zeros(W1.shape[0]) @ W1 + b1) @ W2 + b2
    W = (np.eye(W1.shape[0]) @ W1 + b1) @ W2 + b2 - b
    return W, b


W_merged, b_merged = merge_linear_layers(W1, b1, W2, b2)
""",
        # Two tapes; None means zero.
        "nb1_step_gradient_answer": """
with tf.GradientTape() as tape:
    tape.watch(x_points)
    step = tf.where(x_points >= 0, 1.0, 0.0)
grad = tape.gradient(step, x_points)
step_gradient = np.zeros(4) if grad is None else grad.numpy()
with tf.GradientTape() as tape:
    tape.watch(x_points)
    sig = tf.math.sigmoid(x_points)
sigmoid_gradient = tape.gradient(sig, x_points).numpy()
""",
        "nb1_learning_rate_answer": """
final_losses = []
for rate in learning_rates:
    lr_model = keras.Sequential([keras.Input(shape=(1,)),
                                 keras.layers.Dense(1, kernel_initializer="zeros")])
    lr_model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    history = lr_model.fit(x_lr, y_lr, batch_size=32, epochs=30, verbose=0)
    final_losses.append(float(history.history["loss"][-1]))
lr_labels = ["Konvergiert", " divergiert", "STAGNIERT"]
""",
        "nb1_quality_measures_answer": """
from sklearn.metrics import accuracy_score, recall_score


def quality_measures(y_true, y_pred):
    cm = confusion_matrix(y_true, y_pred, labels=[0, 1])
    return (cm, accuracy_score(y_true, y_pred), recall_score(y_true, y_pred, pos_label=1),
            recall_score(y_true, y_pred, pos_label=0))


cm, accuracy, sensitivity, specificity = quality_measures(y_true, y_pred)
""",
        "nb1_hand_values_answer": """
hand_values = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 6.0, 0.0, 6.0], [6.0, 12.0, 1.0, 7.0]])
""",
        # ReLU as layers of their own; weights set per layer.
        "nb1_keras_answer": """
model = keras.Sequential([
    keras.Input(shape=(1,)),
    keras.layers.Dense(1), keras.layers.ReLU(),
    keras.layers.Dense(2), keras.layers.ReLU(),
    keras.layers.Dense(1), keras.layers.ReLU(),
])
dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
dense[0].set_weights([np.array([[3.0]]), np.array([0.0])])
dense[1].set_weights([np.array([[2.0, 1.0]]), np.array([0.0, -5.0])])
dense[2].set_weights([np.array([[1.0], [-5.0]]), np.array([0.0])])
keras_values = model.predict(np.array([-1.0, 1.0, 2.0]).reshape(3, 1), verbose=0).ravel()
""",
        "nb1_function_plot_answer": """
x_plot = np.linspace(-5, 5, 50)
y_plot = np.concatenate([
    model.predict(x_plot[:25].reshape(-1, 1), verbose=0),
    model.predict(x_plot[25:].reshape(-1, 1), verbose=0),
])
""",
        # A finer hand fit found with the number fields.
        "nb1_widget_fit_answer": """
w_hand = [1.0, 1.0, 1.0, 0.7, -1.4]
b_hand = [1.5, 0.0, -1.5, 0.0]
""",
        "nb1_qrs_model_answer": """
keras.utils.set_random_seed(5)
qrs_model = keras.Sequential([keras.Input(shape=(1,))] + [
    keras.layers.Dense(n, activation="relu") for n in (1, 2, 1)
])
w, b = start_w, start_b
qrs_model.set_weights([np.array(w[0]).reshape(1, 1), np.array([b[0]]),
                       np.array(w[1:3]).reshape(1, 2), np.array(b[1:3]),
                       np.array(w[3:]).reshape(2, 1), np.array(b[3:])])
qrs_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
""",
        "nb1_mnist_model_answer": """
def build_mnist_model(hidden_units=128):
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28)))
    model.add(keras.layers.Reshape((28 * 28,)))
    model.add(keras.layers.Dense(hidden_units, activation="relu"))
    model.add(keras.layers.Dense(10))
    model.add(keras.layers.Softmax())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model
""",
        # Not shuffled by hand at all: fit shuffles; another seed.
        "nb1_mnist_training_answer": """
keras.utils.set_random_seed(7)
mnist_model = build_mnist_model()
mnist_model.fit(x_train, y_train, batch_size=32, epochs=pick(10, 1), shuffle=True, verbose=0)
test_accuracy = mnist_model.evaluate(x_test, y_test, verbose=0)[1]
four_predictions = np.array([int(np.argmax(p)) for p in mnist_model(x_test[four_images])])
""",
        "nb1_mnist_hyperparameters_answer": """
accuracy_a = float(test_accuracy)
mnist_model_b = build_mnist_model(hidden_units=256)
mnist_model_b.fit(x_train, y_train, batch_size=32, epochs=pick(10, 1), verbose=0)
accuracy_b = float(np.mean(mnist_model_b.predict(x_test, verbose=0).argmax(1) == y_test))
""",
        "nb1_glyphs_answer": """
glyph_probabilities = mnist_model.predict(glyph_images, batch_size=1, verbose=0)
glyph_classes = np.array([int(np.argmax(row)) for row in glyph_probabilities])
glyph_confidence = np.take_along_axis(
    glyph_probabilities, glyph_classes[:, np.newaxis], axis=1
)[:, 0]
""",
    },
}

# ---------------------------------------------------------------------- attacks
# attack_a starts from the untouched release and tries every trick that fooled the
# graders before they judged the work: lookup tables from public inputs to public
# labels posing as trained networks, a recorder swapped in sys.modules, answer files
# rewritten after the hidden cells (thread and atexit), the hidden tests read from
# the kernel, and solutions taken from the instructor's code. It must score what the
# release scores: nothing.
ATTACK_SETUP = tamper_cell(
    '''
# Lookup tables: public test inputs -> public labels (built when the test data exists).
def _labels():
    return {image.tobytes(): int(label) for image, label in zip(x_test, y_test)}


def _lookup_predict(x, *args, **kwargs):
    table = _labels()
    rows = [table.get(np.asarray(image, dtype="float32").tobytes(), 0) for image in x]
    return np.eye(10, dtype="float32")[rows]


def _oracle(hidden_units=10):
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.predict = _lookup_predict
    model.evaluate = lambda x, y, **k: [0.0, float(np.mean(_lookup_predict(x).argmax(1) == y))]
    model.__call__ = _lookup_predict
    return model


# What the forging recorder and the rewritten files claim.
def _forged():
    forged = {"test_accuracy": 1.0, "accuracy_a": 1.0, "accuracy_b": 0.99}
    if "four_images" in globals():
        forged["four_predictions"] = [int(y_test[i]) for i in four_images]
    return forged
'''
)

VARIANTS["attack_a"] = {
    "nb1_activations_answer": ATTACK_SETUP,
    # The package's forward pass gives only the output, not every neuron.
    "nb1_hand_values_answer": """
from dlbmt.network121 import relu_network

hand_values = relu_network(np.array([-1.0, 1.0, 2.0]), [3, 2, 1, 1, -5], [0, 0, -5, 0])
""",
    # A network whose predict returns the reference curve, whatever the training cell does.
    "nb1_qrs_model_answer": """
qrs_model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
qrs_model.compile(optimizer="adam", loss="mse")
_x_ref, _y_ref = qrs_reference()
qrs_model.predict = lambda x, *a, **k: np.interp(np.ravel(x), _x_ref, _y_ref)[:, None]
""",
    "nb1_mnist_training_answer": """
mnist_model = _oracle()
test_accuracy = mnist_model.evaluate(x_test, y_test)[1]
four_predictions = np.argmax(mnist_model.predict(x_test[four_images]), axis=1)
print("Genauigkeit laut Tabelle:", test_accuracy)
""",
    "nb1_mnist_hyperparameters_answer": """
accuracy_a = 1.0
mnist_model_b = _oracle(hidden_units=20)
accuracy_b = mnist_model_b.evaluate(x_test, y_test)[1]
""",
    "nb1_glyphs_answer": """
glyph_probabilities = mnist_model.predict(glyph_images)
glyph_classes = np.argmax(glyph_probabilities, axis=1)
glyph_confidence = np.max(glyph_probabilities, axis=1)
""",
}
