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
    "celeba": DownloadedSource("celeba", "celeba", (
        "img_align_celeba", "list_eval_partition.txt", "list_attr_celeba.txt",
        "identity_CelebA.txt", "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt")),
    "susy": DownloadedSource("susy", ".", ("SUSY.csv.gz",)),
    "frey_face": DownloadedSource("frey_face", ".", ("frey_rawface.mat",)),
    "dsprites": DownloadedSource("dsprites", ".", ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",)),
}
CELEBA_SIZE = 64
SUSY_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00279/SUSY.csv.gz"
SUSY_TEST_FRACTION = 0.1  # UCI: the last 500,000 of the 5,000,000 rows are the test set


def dataset_root(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / name


def require_files(data_dir: Path, name: str) -> Path:
    """Fail at once, naming the folder, the files and the two ways to fetch them."""
    source = SOURCES[name]
    folder = (dataset_root(data_dir, name) / source.folder).resolve()
    missing = [f for f in source.files if not (folder / f).exists()]
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
    elif name == "celeba":
        datasets.CelebA(str(root), split="all", download=True)
    elif name == "susy":
        from torchvision.datasets.utils import download_url

        download_url(SUSY_URL, str(root), "SUSY.csv.gz")
    elif name == "frey_face":
        from torchvision.datasets.utils import download_url

        from vae_core.data.frey_face import FREY_FACE_MD5, FREY_FACE_URL

        download_url(FREY_FACE_URL, str(root), SOURCES[name].files[0], md5=FREY_FACE_MD5)
    elif name == "dsprites":
        from torchvision.datasets.utils import download_url

        from vae_core.data.dsprites_npz import URL

        download_url(URL, str(root), SOURCES[name].files[0])
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


def _read_celeba(data_dir: Path, size: int, limit: int | None) -> tuple[np.ndarray, ...]:
    """CelebA's aligned faces (torchvision's layout), centre-cropped to 178 x 178 and resized to
    size x size as uint8; labels are the 40 binary attributes. `limit` caps the training images."""
    from PIL import Image
    from torchvision import datasets

    def read(split: str, count: int | None) -> tuple[np.ndarray, np.ndarray]:
        celeba = datasets.CelebA(str(dataset_root(data_dir, "celeba")), split=split, target_type="attr")
        folder = Path(celeba.root) / celeba.base_folder / "img_align_celeba"
        files = celeba.filename[:count]
        images = np.empty((len(files), 3, size, size), dtype=np.uint8)
        for i, file in enumerate(files):
            with Image.open(folder / file) as image:
                w, h = image.size
                top, left = (h - 178) // 2, (w - 178) // 2
                image = image.crop((left, top, left + 178, top + 178)).resize((size, size), Image.BILINEAR)
                images[i] = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        return images, celeba.attr.numpy()[:len(files)]

    return (*read("train", limit), *read("test", None))


def load_susy(seed: int, val_fraction: float, data_dir: Path, limit: int | None = None) -> DatasetSplits:
    """UCI SUSY: label first, then 18 features, no header, gzip'd; features min-max scaled to [0, 1]
    with the training rows' range. The last 10% of the rows (UCI's 500,000) are the test split."""
    import pandas as pd

    folder = require_files(data_dir, "susy")
    table = pd.read_csv(folder / "SUSY.csv.gz", header=None, nrows=limit, compression="gzip")
    values = table.to_numpy(dtype=np.float64)
    if values.shape[1] != 19:
        raise DatasetMissingError(f"dataset 'susy': {folder / 'SUSY.csv.gz'} has {values.shape[1]} "
                                  f"columns; expected 19 (label, then 18 features)")
    labels, features = values[:, 0].astype(np.int64), values[:, 1:]
    n_test = int(round(len(values) * SUSY_TEST_FRACTION))
    low, high = features[:-n_test].min(0), features[:-n_test].max(0)
    scaled = torch.tensor((features - low) / np.where(high > low, high - low, 1.0), dtype=torch.float32)
    train, val, train_labels, val_labels = split_train_val(
        scaled[:-n_test], torch.from_numpy(labels[:-n_test]), val_fraction, seed)
    return DatasetSplits(
        name="susy", options={"limit": limit}, train=train, val=val, test=scaled[-n_test:],
        train_labels=train_labels, val_labels=val_labels,
        test_labels=torch.from_numpy(labels[-n_test:]))


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
    elif name == "celeba":
        resize = resize or CELEBA_SIZE
        arrays = _read_celeba(data_dir, resize, limit)
    else:
        arrays = _read_svhn(folder)
    train_x, train_y, test_x, test_y = arrays
    if limit is not None:
        train_x, train_y = train_x[:limit], train_y[:limit]

    def to_tensor(images: np.ndarray) -> torch.Tensor:
        x = resize_images(torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0),
                          None if name == "celeba" else resize)  # CelebA was resized as it was read
        return (x > 0.5).float() if binarize else x

    train, val, train_labels, val_labels = split_train_val(
        to_tensor(train_x), torch.from_numpy(np.asarray(train_y)).long(), val_fraction, seed)
    return DatasetSplits(
        name=name, options={"resize": resize, "binarize": binarize, "limit": limit},
        train=train, val=val, test=to_tensor(test_x),
        train_labels=train_labels, val_labels=val_labels,
        test_labels=torch.from_numpy(np.asarray(test_y)).long(),
    )
