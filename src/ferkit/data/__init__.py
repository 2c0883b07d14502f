"""Dataset readers, label vocabularies and the prepared-array cache. No networks here."""

from ferkit.data import loaders_fer, loaders_folders  # noqa: F401,E402  (register the built-in formats)
from ferkit.data.base import ArrayDataset
from ferkit.data.registry import list_datasets, load_dataset

__all__ = ["ArrayDataset", "load_dataset", "list_datasets"]
