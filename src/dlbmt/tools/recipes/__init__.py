"""Training recipes for the models that the notebooks load.

Each recipe module has ``train(data_dir: Path) -> dict``: it trains with a fixed
seed within its CPU budget, saves the model in Keras 3 format into ``data_dir``
together with a JSON record of its measured quality, and returns that record.
``dlbmt train NAME`` runs one.
"""

RECIPES = ("oct", "mri")


def limit_tensorflow_threads(threads: int = 2) -> None:
    """Hold TensorFlow to the course's CPU budget (it accepts this only before it starts)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
