"""Data sets by name: embedded ones offline, downloaded ones read from data/<name>/."""

from vae_core.data.batching import IndexBatcher
from vae_core.data.downloaded import DatasetMissingError, fetch
from vae_core.data.registry import (
    DATASETS,
    load_dataset,
    load_prepared,
    save_prepared,
    validate_dataset_options,
)
from vae_core.data.splits import DatasetSplits

__all__ = [
    "DATASETS", "DatasetMissingError", "DatasetSplits", "IndexBatcher", "fetch", "load_dataset",
    "load_prepared", "save_prepared", "validate_dataset_options",
]
