"""A training run's data set as an MLflow dataset input: the UI's Datasets column shows its
name, its content fingerprint as the digest, and where it came from."""

from __future__ import annotations

import mlflow
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.meta_dataset import MetaDataset


def log_dataset_input(name: str, fingerprint: str, source: str, context: str = "training") -> None:
    """On the active run: `source` is the DVC-tracked file or the registry name it was loaded by."""
    dataset = MetaDataset(CodeDatasetSource({"source": source}), name=name, digest=fingerprint)
    mlflow.log_input(dataset, context=context)
