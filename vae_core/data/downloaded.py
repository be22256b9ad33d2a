"""Data sets fetched once with torchvision into data/<name>/ (a DVC stage), then read offline.

Reading goes straight to torchvision's on-disk formats and keeps whole splits in memory as
tensors, so training batches by index with no per-item PIL work.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_core.data.embedded import resize_images
from vae_core.data.splits import DatasetSplits, split_train_val


class DatasetMissingError(FileNotFoundError):
    """A downloaded data set whose files are not on disk; the message says how to get them."""


@dataclass(frozen=True)
class DownloadedSource:
    name: str
    folder: str  # below data/<name>/, as torchvision lays it out
    files: tuple[str, ...]


SOURCES: dict[str, DownloadedSource] = {
    "mnist": DownloadedSource("mnist", "MNIST/raw", (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    "fashion_mnist": DownloadedSource("fashion_mnist", "FashionMNIST/raw", (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")),
    "cifar10": DownloadedSource("cifar10", "cifar-10-batches-py", (
        *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")),
    "svhn": DownloadedSource("svhn", ".", ("train_32x32.mat", "test_32x32.mat")),
}


def dataset_root(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / name


def require_files(data_dir: Path, name: str) -> Path:
    """Fail at once, naming the folder, the files and the two ways to fetch them."""
    source = SOURCES[name]
    folder = (dataset_root(data_dir, name) / source.folder).resolve()
    missing = [f for f in source.files if not (folder / f).is_file()]
    if missing:
        raise DatasetMissingError(
            f"dataset {name!r} is not on disk: expected the files {', '.join(source.files)} in "
            f"{folder} (missing: {', '.join(missing)}). Fetch it on a machine with internet with "
            f"`mlflow run . -e fetch_data -P dataset={name} --env-manager local` or "
            f"`dvc repro data/dvc.yaml:fetch@{name}`, or copy the files there."
        )
    return folder


def fetch(name: str, data_dir: Path) -> Path:
    """Download with torchvision (which checks the published checksums)."""
    from torchvision import datasets

    root = dataset_root(data_dir, name)
    root.mkdir(parents=True, exist_ok=True)
    if name == "svhn":
        for split in ("train", "test"):
            datasets.SVHN(str(root), split=split, download=True)
    else:
        cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST,
               "cifar10": datasets.CIFAR10}[name]
        for train in (True, False):
            cls(str(root), train=train, download=True)
    return require_files(data_dir, name)


def _read_mnist_like(name: str, data_dir: Path) -> tuple[np.ndarray, ...]:
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    root = str(dataset_root(data_dir, name))
    train, test = cls(root, train=True), cls(root, train=False)
    return (train.data.numpy()[:, None], train.targets.numpy(),
            test.data.numpy()[:, None], test.targets.numpy())


def _read_cifar10(folder: Path) -> tuple[np.ndarray, ...]:
    def read(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
        images, labels = [], []
        for file in files:
            with open(folder / file, "rb") as handle:
                batch = pickle.load(handle, encoding="latin1")
            images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch["labels"]))
        return np.concatenate(images), np.concatenate(labels)

    train_x, train_y = read([f"data_batch_{i}" for i in range(1, 6)])
    test_x, test_y = read(["test_batch"])
    return train_x, train_y, test_x, test_y


def _read_svhn(folder: Path) -> tuple[np.ndarray, ...]:
    from scipy.io import loadmat

    def read(file: str) -> tuple[np.ndarray, np.ndarray]:
        mat = loadmat(folder / file)
        labels = mat["y"].astype(np.int64).squeeze(1)
        return np.transpose(mat["X"], (3, 2, 0, 1)), np.where(labels == 10, 0, labels)

    return (*read("train_32x32.mat"), *read("test_32x32.mat"))


def load_downloaded(
    name: str, seed: int, val_fraction: float, data_dir: Path,
    resize: int | None = None, binarize: bool = False, limit: int | None = None,
) -> DatasetSplits:
    """Images in [0, 1] as (N, C, H, W); `limit` keeps the first n training images (quick runs)."""
    folder = require_files(data_dir, name)
    if name in ("mnist", "fashion_mnist"):
        arrays = _read_mnist_like(name, data_dir)
    elif name == "cifar10":
        arrays = _read_cifar10(folder)
    else:
        arrays = _read_svhn(folder)
    train_x, train_y, test_x, test_y = arrays
    if limit is not None:
        train_x, train_y = train_x[:limit], train_y[:limit]

    def to_tensor(images: np.ndarray) -> torch.Tensor:
        x = resize_images(torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0), resize)
        return (x > 0.5).float() if binarize else x

    train, val, train_labels, val_labels = split_train_val(
        to_tensor(train_x), torch.from_numpy(np.asarray(train_y)).long(), val_fraction, seed)
    return DatasetSplits(
        name=name, options={"resize": resize, "binarize": binarize, "limit": limit},
        train=train, val=val, test=to_tensor(test_x),
        train_labels=train_labels, val_labels=val_labels,
        test_labels=torch.from_numpy(np.asarray(test_y)).long(),
    )
