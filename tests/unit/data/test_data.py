"""Data sets: determinism, disjoint splits, on-disk formats read through the real code path."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import savemat
from sklearn.datasets import load_digits as sklearn_digits

from vae_core.config import ConfigError
from vae_core.data import (
    DATASETS,
    DatasetMissingError,
    IndexBatcher,
    load_dataset,
    load_prepared,
    save_prepared,
)
from vae_core.data.embedded import pca_log_likelihood

EMBEDDED = [name for name, spec in DATASETS.items() if spec.kind == "embedded"]


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_datasets_are_deterministic_and_disjoint(name):
    options = {} if name in ("digits",) else {"n": 500}
    a = load_dataset(name, seed=3, **options)
    b = load_dataset(name, seed=3, **options)
    c = load_dataset(name, seed=4, **options)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    total = a.train.shape[0] + a.val.shape[0] + a.test.shape[0]
    pool = torch.cat([a.train, a.val, a.test]).flatten(1)
    assert torch.unique(pool, dim=0).shape[0] == total  # no row in two splits
    assert a.train.dtype == torch.float32


def test_digits_are_sklearns_digits_scaled():
    splits = load_dataset("digits", seed=0)
    pool = torch.cat([splits.train, splits.val, splits.test]).reshape(-1, 64).numpy()
    expected = sklearn_digits().data / 16.0
    assert pool.shape == expected.shape
    # same multiset of rows, in some order
    np.testing.assert_allclose(np.sort(pool.sum(1)), np.sort(expected.sum(1)), rtol=1e-6)
    assert splits.sample_shape == (1, 8, 8)
    assert load_dataset("digits", resize=32).sample_shape == (1, 32, 32)


@pytest.mark.parametrize("name", ["circle", "swiss_roll", "spiral_3D", "manifold"])
def test_manifolds_are_minmax_scaled(name):
    splits = load_dataset(name, n=2000)
    pool = torch.cat([splits.train, splits.val, splits.test])
    assert float(pool.min()) == pytest.approx(0.0, abs=1e-6)
    assert float(pool.max()) == pytest.approx(1.0, abs=1e-6)
    expected_dim = {"circle": 2, "swiss_roll": 3, "spiral_3D": 3, "manifold": 3}[name]
    assert splits.sample_shape == (expected_dim,)


def test_manifold_follows_its_generating_rule_without_noise():
    splits = load_dataset("manifold", n=3000, noise=0.0, k=2, D=5)
    x = torch.cat([splits.train, splits.val, splits.test]).numpy().astype(np.float64)
    base = 2 * x[:, :2] - 1  # min-max scaling undone (the base is uniform on [-1, 1])
    pairs = [(i, j) for i in range(2) for j in range(2)]
    for column in range(2, 5):
        best = max(abs(np.corrcoef(x[:, column], np.cos(base[:, i] ** 2 + base[:, j] ** 2))[0, 1])
                   for i, j in pairs)
        assert best > 0.999


def test_pca_loglik_matches_a_direct_formula():
    splits = load_dataset("pca", n=400, D=4, k=2, sigma=0.3)
    W, b, sigma = (splits.extras[k] for k in ("W", "b", "sigma"))
    x = splits.test.numpy().astype(np.float64)
    cov = W @ W.T + sigma**2 * np.eye(4)
    diff = x - b
    direct = -0.5 * (np.einsum("nd,de,ne->n", diff, np.linalg.inv(cov), diff)
                     + np.linalg.slogdet(cov)[1] + 4 * np.log(2 * np.pi))
    np.testing.assert_allclose(pca_log_likelihood(x, W, b, sigma), direct, rtol=1e-8)
    # and the sample covariance of the data approaches the model covariance
    pool = np.concatenate([splits.train.numpy(), splits.val.numpy(), x])
    assert np.abs(np.cov(pool.T) - cov).max() < 0.35


def test_unknown_dataset_and_option_are_refused():
    with pytest.raises(ConfigError, match="^dataset: unknown value 'imagenet'; allowed values: digits"):
        load_dataset("imagenet")
    with pytest.raises(ConfigError, match="unknown key\\(s\\) size; allowed keys: resize"):
        load_dataset("digits", size=3)


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    with open(path, "wb") as handle:
        handle.write(struct.pack(">I", magic))
        handle.write(struct.pack(f">{array.ndim}I", *array.shape))
        handle.write(array.astype(np.uint8).tobytes())


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_read_from_idx_files(tmp_path, name, folder):
    rng = np.random.default_rng(0)
    raw = tmp_path / name / folder / "raw"
    raw.mkdir(parents=True)
    train = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    _write_idx(raw / "train-images-idx3-ubyte", train)
    _write_idx(raw / "train-labels-idx1-ubyte", np.arange(50) % 10)
    _write_idx(raw / "t10k-images-idx3-ubyte", test)
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(10) % 10)
    splits = load_dataset(name, data_dir=tmp_path, val_fraction=0.2, resize=32)
    assert splits.train.shape == (40, 1, 32, 32) and splits.val.shape == (10, 1, 32, 32)
    native = load_dataset(name, data_dir=tmp_path, val_fraction=0.2)
    np.testing.assert_allclose(native.test.numpy()[:, 0], test / 255.0, rtol=1e-6)
    assert native.test_labels.tolist() == (np.arange(10) % 10).tolist()
    # the training pool is exactly the IDX training images
    pool = torch.cat([native.train, native.val]).numpy()[:, 0] * 255
    assert sorted(pool.sum((1, 2)).round().tolist()) == sorted(train.sum((1, 2)).astype(float).tolist())


def test_cifar10_read_from_pickled_batches(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": batches[name], "labels": list(range(4))}, handle)
    splits = load_dataset("cifar10", data_dir=tmp_path, val_fraction=0.25)
    assert splits.train.shape == (15, 3, 32, 32) and splits.test.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(splits.test.numpy().reshape(4, -1), batches["test_batch"] / 255.0,
                               rtol=1e-6)


def test_svhn_read_from_mat_files(tmp_path):
    folder = tmp_path / "svhn"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for split, n in (("train", 8), ("test", 3)):
        savemat(folder / f"{split}_32x32.mat",
                {"X": rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8),
                 "y": np.array([[10], [1], [2]] * 3)[:n]})
    splits = load_dataset("svhn", data_dir=tmp_path, val_fraction=0.25)
    assert splits.test.shape == (3, 3, 32, 32)
    assert splits.test_labels.tolist() == [0, 1, 2]  # SVHN's label 10 means digit 0


def test_missing_download_names_dataset_folder_files_and_fix(tmp_path):
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(caught.value)
    assert "'mnist'" in message and str(tmp_path / "mnist" / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "mlflow run . -e fetch_data" in message


def test_prepared_roundtrip(tmp_path):
    splits = load_dataset("pca", n=300)
    save_prepared(splits, tmp_path / "pca.npz")
    again = load_prepared(tmp_path / "pca.npz")
    assert again.fingerprint() == splits.fingerprint() and again.name == "pca"
    np.testing.assert_allclose(again.extras["W"], splits.extras["W"])


def test_index_batcher_visits_every_row_once():
    data = torch.arange(103, dtype=torch.float32)[:, None]
    batches = list(IndexBatcher(data, 10, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert len(batches) == 11 and [b.shape[0] for b in batches][-1] == 3
    assert sorted(torch.cat(batches)[:, 0].tolist()) == list(range(103))
    unshuffled = torch.cat(list(IndexBatcher(data, 10, shuffle=False)))
    assert torch.equal(unshuffled, data)


