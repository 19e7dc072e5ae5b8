"""What each notebook's first cell sets up: TensorFlow without start-up noise, short messages.

TensorFlow writes start-up lines to the error stream when it is imported
("oneDNN custom operations are on ..."); a notebook shows them as a pink block,
and to a beginner the very first cell looks broken. ``prepare_notebook``
imports TensorFlow and Keras with that stream silenced, and keeps their Python
loggers to errors (no "tf.function retracing" warnings).

It also shortens two messages that a half-done notebook shows again and again:
a name that does not exist yet (the answer of an earlier task) and an open task
(the ``NotImplementedError`` of a stub) become one German line instead of a
traceback. Real errors in a student's own functions keep their full traceback.
"""

from __future__ import annotations

import logging
import os

NOT_DEFINED = (
    "`{name}` gibt es noch nicht. Führen Sie zuerst die Zellen darüber aus; ist `{name}` Ihre "
    "Antwort, bearbeiten Sie die Aufgabe davor."
)
OPEN_TASK = "Diese Aufgabe ist noch offen: Ersetzen Sie die Zeile mit raise durch Ihren Code."


def prepare_notebook() -> None:
    """Import TensorFlow and Keras quietly and shorten the messages of open tasks."""
    import_tensorflow_quietly()
    _shorten_open_task_messages()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras with their start-up lines on the error stream suppressed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401 - imported for its side effect: loaded quietly
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def _shorten_open_task_messages() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every Jupyter kernel
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NameError, NotImplementedError), _one_line)


def _one_line(shell, etype, value, tb, tb_offset=None):
    """Show an open task as one red German line; anything deeper keeps its traceback."""
    last = tb
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    # Raised by the cell's own top-level code, not inside a function it called.
    in_the_cell = last is not None and last.tb_frame.f_code.co_name == "<module>"
    if etype is NotImplementedError:
        text = str(value) or OPEN_TASK
    elif in_the_cell and getattr(value, "name", None):
        text = NOT_DEFINED.format(name=value.name)
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        shell._showtraceback(etype, value, stb)
        return None
    shell._showtraceback(etype, value, [f"\x1b[31m{etype.__name__}\x1b[0m: {text}"])
    return None
