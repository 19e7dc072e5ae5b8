"""Training recipes for the models that the notebooks load.

Each recipe module has ``train(data_dir: Path) -> dict``: it trains with a fixed
seed within its CPU budget, saves the model in Keras 3 format into ``data_dir``
together with a JSON record of its measured quality, and returns that record.
``dlbmt train NAME`` runs one.
"""

RECIPES = ("oct", "mri")
