"""The real download path (torchvision's), pointed at a server on 127.0.0.1 holding MNIST-format files."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
from torchvision import datasets

from tests.unit.data.test_data import _write_idx
from vae_core.data import fetch, load_dataset


@pytest.fixture
def mnist_server(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": np.arange(30) % 10,
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": np.arange(5) % 10}
    resources = []
    for name, array in arrays.items():
        _write_idx(tmp_path / name, array)
        packed = gzip.compress((tmp_path / name).read_bytes())
        (served / f"{name}.gz").write_bytes(packed)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(datasets.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    yield arrays
    server.shutdown()


def test_fetch_downloads_checks_and_unpacks_into_the_data_folder(tmp_path, mnist_server):
    folder = fetch("mnist", tmp_path / "data")
    assert folder == (tmp_path / "data" / "mnist" / "MNIST" / "raw").resolve()
    splits = load_dataset("mnist", data_dir=tmp_path / "data", val_fraction=0.2)
    np.testing.assert_allclose(splits.test.numpy()[:, 0],
                               mnist_server["t10k-images-idx3-ubyte"] / 255.0, rtol=1e-6)
    assert splits.train.shape[0] + splits.val.shape[0] == 30
