"""Platform overhead: the trainer with MLflow logging vs a bare PyTorch loop (goal: <= 1.10x),
and in-memory index batching vs torchvision's DataLoader(ToTensor) on MNIST IDX files (goal: >= 2x).

    .venv/bin/python benchmarks/train_overhead.py [--epochs 5] [--n 20000]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vae_core.data import DatasetSplits, IndexBatcher  # noqa: E402
from vae_core.models import ModelSpec, build_model  # noqa: E402

SPEC = ModelSpec(family="vae", arch="mlp", latent_size=16, n_layers=2)


def mnist_shaped(n: int, seed: int = 0) -> DatasetSplits:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g)
    n_val = n // 6
    return DatasetSplits("synthetic", {}, train=x[n_val:], val=x[:n_val], test=x[:n_val])


def bare_loop(data: DatasetSplits, epochs: int, batch_size: int) -> float:
    """What a researcher writes by hand: Adam, shuffled batches, a validation pass per epoch."""
    torch.manual_seed(0)
    model = build_model(SPEC, data.sample_shape)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(data.train.shape[0]).split(batch_size):
            loss = model(data.train[idx]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for batch in data.val.split(batch_size):
                model(batch)
    return time.perf_counter() - start


def platform(data: DatasetSplits, epochs: int, batch_size: int, folder: Path) -> float:
    """The platform's trainer, every metric and two checkpoints logged to a sqlite store.

    A fresh run and state file each call (a leftover state would resume a finished run).
    """
    import mlflow

    from vae_core.tracking.callback import MlflowCallback
    from vae_core.training import Trainer, TrainerConfig

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'bench.db'}")
    experiment = mlflow.set_experiment("overhead")  # store creation is one-off: not timed
    torch.manual_seed(0)
    model = build_model(SPEC, data.sample_shape)
    start = time.perf_counter()
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        config = TrainerConfig(epochs=epochs, batch_size=batch_size, save_interval=[0, epochs])
        Trainer(model, data, config, [MlflowCallback(run.info.run_id)],
                state_path=folder / f"{run.info.run_id}.pt").fit()
    return time.perf_counter() - start


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """MNIST's on-disk layout; the (unused) test files are the first ten training images."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, array, magic in (("train-images-idx3-ubyte", images, 0x0803),
                               ("train-labels-idx1-ubyte", labels, 0x0801),
                               ("t10k-images-idx3-ubyte", images[:10], 0x0803),
                               ("t10k-labels-idx1-ubyte", labels[:10], 0x0801)):
        with open(raw / name, "wb") as handle:
            handle.write(struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape))
            handle.write(array.astype(np.uint8).tobytes())


def batching(n: int, batch_size: int, folder: Path) -> tuple[float, float, float]:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    rng = np.random.default_rng(0)
    write_idx(folder, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n))
    dataset = datasets.MNIST(str(folder), train=True, transform=transforms.ToTensor())

    def one_epoch(loader) -> float:
        start = time.perf_counter()
        for batch in loader:
            (batch[0] if isinstance(batch, list | tuple) else batch).sum()
        return time.perf_counter() - start

    start = time.perf_counter()
    in_memory = dataset.data.float().div_(255.0).unsqueeze(1)  # what the registry does, once
    load = time.perf_counter() - start
    ours = load + one_epoch(IndexBatcher(in_memory, batch_size, True))
    plain = one_epoch(DataLoader(dataset, batch_size=batch_size, shuffle=True))
    workers = one_epoch(DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=2))
    return ours, plain, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved; the fastest counts")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    data = mnist_shaped(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        bare_loop(data, 1, args.batch_size)  # warm-ups: imports and first-call costs are one-off
        platform(data, 1, args.batch_size, Path(tmp))
        bares, ours_all = [], []
        for _ in range(args.repeats):
            bares.append(bare_loop(data, args.epochs, args.batch_size))
            ours_all.append(platform(data, args.epochs, args.batch_size, Path(tmp)))
        bare, ours = min(bares), min(ours_all)
        index, loader, loader2 = batching(args.n, args.batch_size, Path(tmp))
    print(f"MLP VAE 784-393-16, {data.train.shape[0]} MNIST-shaped images, {args.epochs} epochs, "
          f"batch {args.batch_size}, {torch.get_num_threads()} threads")
    print(f"{'measure':44s} {'ours (s)':>9s} {'reference (s)':>14s} {'ratio':>7s} goal")
    print(f"{'trainer + MLflow vs bare loop (wall time)':44s} {ours:9.2f} {bare:14.2f} "
          f"{ours / bare:7.2f} <= 1.10")
    print(f"{'index batching vs DataLoader(ToTensor), 1 epoch':44s} {index:9.3f} {loader:14.3f} "
          f"{loader / index:7.1f}x >= 2x faster")
    print(f"{'index batching vs DataLoader, 2 workers':44s} {index:9.3f} {loader2:14.3f} "
          f"{loader2 / index:7.1f}x")


if __name__ == "__main__":
    main()
