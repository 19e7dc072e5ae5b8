"""Threshold margin of Notebook 2: the OCT network retrained with augmentation (nb2_experiment).

Each approach trains the course CNN the way the notebook's experiment does
(``augment_dataset`` with the seed, then ``train_oct_model`` for 12 epochs with
the seed) and is judged by the graders' own rule from
``graders/02_anwendung/nb2_heldout.py``: accuracy on held-out wide scans made
with the seed as the secret, and no sign of having seen the public test scans.
"""

from __future__ import annotations

import ast
import time

import numpy as np

from dlbmt.grading.cells import grade_id
from dlbmt.grading.course import Course
from dlbmt.oct import EXPERIMENT_PATH
from dlbmt.tools.margins import grader_module

ASSIGNMENT = "02_anwendung"
EPOCHS = 12
NAME = "nb2_experiment"
THRESHOLD = (
    "capped mean cross-entropy on held-out scans <= MAX_HELDOUT_CROSSENTROPY, and at most "
    "MAX_CONFIDENCE_RATIO times the one on the public test scans (graders/02_anwendung/nb2_heldout)"
)
APPROACHES = {
    "reference": "the source solution's operations (fliplr, rotation, brightness, shift)",
    "wrong": "no augmentation: x_train as it is",
    "test_leak": "the source solution's operations on x_train and x_test together",
}


def reference_operations(course: Course) -> list:
    """The list ``operationen`` of the source notebook's experiment answer."""
    import nbformat

    from dlbmt.augment import add_noise, brightness_shift, rotate, shift

    notebook = course.source / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    cell = next(
        c
        for c in nbformat.read(notebook, as_version=4).cells
        if grade_id(c) == "nb2_experiment_answer"
    )
    assignment = next(
        node
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "operationen"
    )
    names = {"np": np, "rotate": rotate, "brightness_shift": brightness_shift, "shift": shift}
    names["add_noise"] = add_noise
    expression = ast.Expression(assignment.value)
    return eval(compile(expression, "operationen", "eval"), names)  # noqa: S307 - our source


def run(seed: int, approach: str) -> dict:
    """Train with ``approach`` and ``seed``; judged by exactly the graders' rule."""
    import keras

    from dlbmt.augment import augment_dataset
    from dlbmt.oct import load_oct_test, load_oct_train, train_oct_model

    course = Course.find()
    rule = grader_module(course, ASSIGNMENT, "nb2_heldout")
    x_train, y_train = load_oct_train()
    x_test, y_test = load_oct_test()
    if approach == "reference":
        x, y, operations = x_train, y_train, reference_operations(course)
    elif approach == "wrong":
        x, y, operations = x_train, y_train, []
    elif approach == "test_leak":
        x, y = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
        operations = reference_operations(course)
    else:
        raise ValueError(f"unknown approach {approach!r}; use one of {sorted(APPROACHES)}")
    x_aug, y_aug = augment_dataset(x, y, operations, seed=seed)
    started = time.perf_counter()
    model = train_oct_model(x_aug, y_aug, epochs=EPOCHS, seed=seed)
    seconds = time.perf_counter() - started
    figures = rule.experiment_figures(model, seed)
    keras.backend.clear_session()
    figures["confidence_ratio"] = figures["heldout_crossentropy"] / figures["public_crossentropy"]
    figures["training_seconds"] = seconds
    return {"passed": rule.experiment_passes(figures), "figures": figures}


def _machine() -> dict:
    import os
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {"cpu_count": os.cpu_count(), "cpu": model, "load_average": list(os.getloadavg())}


def record(course: Course, seeds: int = 10) -> dict:
    """Measure every approach over ``seeds`` seeds and write the figures the notebook states
    (the retraining time and accuracy of the reference) to ``data/oct/oct_experiment.json``."""
    import json

    import keras
    import tensorflow as tf

    from dlbmt.tools.margins import measure
    from dlbmt.tools.recipes import limit_tensorflow_threads

    limit_tensorflow_threads()
    before = _machine()
    rows = measure(course, seeds, only=[NAME])
    after = _machine()
    payload = {
        "what": (
            "nb2_experiment: the course CNN retrained for 12 epochs on augmented data, each "
            "approach with seeds 0..n-1, judged by the graders' rule; figures are "
            "[min, median, max] over the seeds"
        ),
        "made_by": "dlbmt margins --record",
        "machine": {**before, "load_average_after": after["load_average"]},
        "seeds": seeds,
        "epochs": EPOCHS,
        "approaches": {
            row["approach"]: {
                "description": row["description"],
                "passed": row["passed"],
                "figures": {
                    k: [round(v, 4) for v in values] for k, values in row["figures"].items()
                },
            }
            for row in rows
        },
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
    }
    target = course.data / EXPERIMENT_PATH
    target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return payload
