"""Training throughput: samples per second of one training epoch, our Trainer vs pythae 0.1.2's
BaseTrainer vs a bare PyTorch loop; same networks, same batch size, on CPU and (when present) GPU.
Goals: ours within 5% of the bare loop at equal work, >= 1.3x pythae.

    .venv/bin/python benchmarks/train_throughput.py [--repeats 3] [--n-mlp 12000] [--n-conv 1536]

pythae is never a project dependency; install it into a folder of its own first:

    pip install --no-deps --target /tmp/pythae_pkgs pythae==0.1.2 dill imageio

Data: MNIST-shaped images that are all distinct, not noise: each is three Gaussian blobs of
random centre, width and brightness plus 5% pixel noise, clipped to [0, 1] (28x28 for the S3 MLP
VAE; 32x32, as S0 resizes MNIST, for the conv32 VAE). Timings: each variant runs `repeats`
times interleaved with the others and the fastest counts (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vae_core.data import DatasetSplits  # noqa: E402
from vae_core.models import build_model, model_config  # noqa: E402
from vae_core.training import Trainer, TrainerConfig  # noqa: E402

PYTHAE_PATH = os.environ.get("PYTHAE_PATH", "/tmp/pythae_pkgs")
MODELS = {  # name: (model config, image side, batch size) as the studies train them
    "S3 MLP VAE (784-393-8)": (dict(family="vae", arch="mlp", n_layers=2, latent_size=8,
                                    likelihood="bernoulli"), 28, 64),
    "S0 conv32 VAE (z=16)": (dict(family="vae", arch="conv32", latent_size=16,
                                  likelihood="bernoulli"), 32, 256),
}


def blob_images(n: int, side: int, seed: int = 0) -> torch.Tensor:
    """n distinct (1, side, side) images: three random Gaussian blobs each plus pixel noise."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.linspace(0, 1, side)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    centres = torch.rand(n, 3, 2, generator=g)
    widths = 0.05 + 0.15 * torch.rand(n, 3, 1, 1, generator=g)
    heights = 0.5 + 0.5 * torch.rand(n, 3, 1, 1, generator=g)
    d2 = (xx - centres[..., 0, None, None]) ** 2 + (yy - centres[..., 1, None, None]) ** 2
    images = (heights * torch.exp(-d2 / (2 * widths ** 2))).sum(1)
    images += 0.05 * torch.randn(images.shape, generator=g)
    return images.clamp_(0, 1).unsqueeze(1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_epoch(spec: dict, data: DatasetSplits, batch: int, device: torch.device) -> float:
    """What a researcher writes by hand: data on the device, shuffled index batches, Adam."""
    torch.manual_seed(0)
    model = build_model(model_config(spec), data.sample_shape).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = data.train.to(device)
    sync(device)
    start = time.perf_counter()
    model.train()
    for idx in torch.randperm(x.shape[0], device=device).split(batch):
        loss = model(x[idx]).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync(device)
    return time.perf_counter() - start


def our_trainer(spec: dict, data: DatasetSplits, batch: int, device: torch.device) -> Trainer:
    torch.manual_seed(0)
    model = build_model(model_config(spec), data.sample_shape)
    return Trainer(model, data, TrainerConfig(epochs=1, batch_size=batch, device=str(device)))


def ours_epoch(spec: dict, data: DatasetSplits, batch: int, device: torch.device) -> float:
    trainer = our_trainer(spec, data, batch, device)
    sync(device)
    start = time.perf_counter()
    trainer.train_epoch(1)
    sync(device)
    return time.perf_counter() - start


def ours_epoch0_eval(spec: dict, data: DatasetSplits, batch: int, device: torch.device) -> float:
    """The untrained network's evaluation on train and val that `fit` runs before epoch 1."""
    trainer = our_trainer(spec, data, batch, device)
    start = time.perf_counter()
    trainer.evaluate(trainer.data.train, "train")
    trainer.evaluate(trainer.data.val, "val")
    sync(device)
    return time.perf_counter() - start


def pythae_epoch(spec: dict, data: DatasetSplits, batch: int, device: torch.device,
                 folder: str) -> float:
    """pythae's BaseTrainer.train_step (one epoch) around the same encoder and decoder."""
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(0)
    ours = build_model(model_config(spec), data.sample_shape)

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            BaseEncoder.__init__(self)
            self.net = ours.encoder

        def forward(self, x):
            mu, logvar = self.net(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            BaseDecoder.__init__(self)
            self.net = ours.decoder

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    config = VAEConfig(input_dim=data.sample_shape, latent_dim=spec["latent_size"],
                       reconstruction_loss="bce")
    model = VAE(config, encoder=Encoder(), decoder=Decoder())
    training = BaseTrainerConfig(output_dir=folder, num_epochs=1, learning_rate=1e-3,
                                 per_device_train_batch_size=batch, no_cuda=device.type != "cuda")
    trainer = BaseTrainer(model, BaseDataset(data.train, torch.zeros(len(data.train))),
                          training_config=training)
    trainer.prepare_training()
    sync(device)
    start = time.perf_counter()
    trainer.train_step(1)
    sync(device)
    return time.perf_counter() - start


def fastest(variants: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    for run in variants.values():  # warm-up: first-call costs are one-off
        run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            times[name].append(run())
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-mlp", type=int, default=12000)
    parser.add_argument("--n-conv", type=int, default=1536, help="conv32 training images on CPU")
    parser.add_argument("--n-conv-gpu", type=int, default=12000)
    parser.add_argument("--only", default="", help="run the models whose name contains this")
    args = parser.parse_args()
    sys.path.insert(0, PYTHAE_PATH)
    logging.getLogger("pythae").setLevel(logging.ERROR)  # its per-run banners
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; fastest of {args.repeats} interleaved runs")
    print(f"{'model':24s} {'dev':4s} {'n':>6s} {'bare/s':>8s} {'ours/s':>8s} {'pythae/s':>9s} "
          f"{'ours/bare':>9s} {'pythae/ours':>11s} {'epoch-0 eval':>12s}")
    with tempfile.TemporaryDirectory() as folder:
        for name, (spec, side, batch) in MODELS.items():
            if args.only not in name:
                continue
            for device in devices:
                n = args.n_mlp if "mlp" in spec["arch"] else (
                    args.n_conv if device.type == "cpu" else args.n_conv_gpu)
                images = blob_images(n + n // 6, side)
                data = DatasetSplits("blobs", {}, train=images[:n], val=images[n:], test=images[n:])
                work = (spec, data, batch, device)
                best = fastest({"bare": partial(bare_epoch, *work), "ours": partial(ours_epoch, *work),
                                "pythae": partial(pythae_epoch, *work, folder),
                                "eval0": partial(ours_epoch0_eval, *work)}, args.repeats)
                print(f"{name:24s} {device.type:4s} {n:6d} {n / best['bare']:8.0f} {n / best['ours']:8.0f} "
                      f"{n / best['pythae']:9.0f} {best['ours'] / best['bare']:9.3f} "
                      f"{best['pythae'] / best['ours']:11.2f} {best['eval0'] / best['ours']:11.0%}",
                      flush=True)
    print("ours/bare: time ratio of one training epoch (goal <= 1.05); pythae/ours: goal >= 1.30; "
          "epoch-0 eval: fit()'s one-off evaluation of the untrained net on train+val, as a share "
          "of one training epoch (val alone is evaluated after every epoch: ~1/6 of that share)")


if __name__ == "__main__":
    main()
