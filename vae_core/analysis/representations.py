"""A network's internal representations of a set of points, captured with forward hooks.

One forward pass, in batches, writes every representation (flattened, float32) to its own
file; analyses then read them back one at a time, so memory holds one layer, not eleven.
Also what the decoder makes of draws from the prior, for sample-quality scores.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vae_core.config import ConfigError, require_choice

INPUT, LATENT, OUTPUT = "input", "latent", "output"
SPECIAL = (INPUT, LATENT, OUTPUT)
LATENT_CHOICES = ("mean", "sample")

# S0's 11 probes (methods.md): input, 4 encoder blocks, latent, decoder fc, 3 decoder blocks, output.
S0_MODULES = [INPUT, "encoder.blocks.0", "encoder.blocks.1", "encoder.blocks.2", "encoder.blocks.3",
              LATENT, "decoder.fc", "decoder.blocks.0", "decoder.blocks.1", "decoder.blocks.2",
              OUTPUT]


def layer_name(position: int) -> str:
    return f"l{position:02d}"


ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softplus)


def default_probes(model: nn.Module) -> list[str]:
    """The probes of a network nobody named: S0's layout for conv32; for any other architecture
    the input, the output of every hidden activation of the encoder, the latent, the decoder's
    hidden activations, the output (each hidden layer as the network computes it)."""
    available = {name for name, _ in model.named_modules() if name}
    if set(S0_MODULES[1:5] + S0_MODULES[6:10]) <= available:
        return list(S0_MODULES)
    hidden = {part: [name for name, module in model.named_modules()
                     if name.startswith(f"{part}.") and isinstance(module, ACTIVATIONS)]
              for part in ("encoder", "decoder")}
    return [INPUT, *hidden["encoder"], LATENT, *hidden["decoder"], OUTPUT]


def layer_spec(model: nn.Module, modules: list[str] | None = None) -> dict[str, str]:
    """Probe name (l00, l01, ...) -> module path, or one of input / latent / output.

    Without `modules`, the architecture's default probes (`default_probes`)."""
    available = {name for name, _ in model.named_modules() if name}
    modules = modules or default_probes(model)
    for module in modules:
        if module not in available and module not in SPECIAL:
            raise ConfigError(f"layers: no module {module!r}; allowed values: {', '.join(SPECIAL)}, "
                              f"{', '.join(sorted(available))}")
    return {layer_name(i): module for i, module in enumerate(modules)}


class LayerStore:
    """Representations on disk, one raw float32 file per layer, read back whole on demand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shapes: dict[str, tuple[int, int]] = {}
        self.sums: dict[str, np.ndarray] = {}

    def append(self, layer: str, batch: torch.Tensor) -> None:
        values = batch.detach().reshape(batch.shape[0], -1).float().cpu().numpy()
        with open(self.folder / f"{layer}.f32", "ab" if layer in self.shapes else "wb") as handle:
            handle.write(values.tobytes())
        n, d = self.shapes.get(layer, (0, values.shape[1]))
        self.shapes[layer] = (n + values.shape[0], d)
        self.sums[layer] = self.sums.get(layer, 0.0) + values.sum(0, dtype=np.float64)

    def load(self, layer: str, centred: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """One layer, (N, D) float32; `centred` subtracts the mean in place (no second copy).
        `out`: a float32 buffer of at least N x D to read into (reused, it spares the page
        faults of a fresh array)."""
        if out is None:
            x = np.fromfile(self.folder / f"{layer}.f32", dtype=np.float32).reshape(self.shapes[layer])
        else:
            x = out[:math.prod(self.shapes[layer])].reshape(self.shapes[layer])
            with open(self.folder / f"{layer}.f32", "rb") as handle:
                handle.readinto(memoryview(x).cast("B"))
        if centred:
            total = self.sums[layer] if layer in self.sums else x.sum(0, dtype=np.float64)
            x -= (total / len(x)).astype(np.float32)
        return x

    @property
    def layers(self) -> list[str]:
        return list(self.shapes)



def decodes(model: nn.Module) -> bool:
    """Whether the network has the project's AE/VAE shape: encode() to a latent, a decoder back."""
    return hasattr(model, "encode") and hasattr(model, "decoder")


def decode_mean(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The decoder's output as the likelihood's mean (pixel intensities, not logits)."""
    out = model.decoder(z)
    return model.likelihood.mean(out) if hasattr(model, "likelihood") else out


def _forward(model: nn.Module, x: torch.Tensor, latent: str) -> dict[str, torch.Tensor]:
    """Run the network; for the project's AE/VAE families the latent is the posterior mean or
    a sample, and the decoder runs on that latent; the output is the likelihood's mean."""
    if decodes(model):
        mu, logvar = model.encode(x)
        z = mu if latent == "mean" else model.sample_latent(mu, logvar)
        return {INPUT: x, LATENT: z, OUTPUT: decode_mean(model, z)}
    out = model(x)
    if not isinstance(out, torch.Tensor):  # a ModelOutput, or a tuple whose first item is the output
        out = out.out if hasattr(out, "out") else out[0]
    return {INPUT: x, OUTPUT: out}


@torch.no_grad()
def capture(model: nn.Module, x: torch.Tensor, spec: dict[str, str], folder: Path,
            latent: str = "mean", batch_size: int = 250, seed: int = 0) -> LayerStore:
    """Every probed representation of the points x, written under `folder` (eval mode)."""
    require_choice("latent", latent, LATENT_CHOICES)
    model.eval()
    modules = dict(model.named_modules())
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for layer, path in spec.items():
        if path not in SPECIAL:
            def hook(_module: nn.Module, _inputs: object, output: torch.Tensor, layer: str = layer) -> None:
                captured[layer] = output
            handles.append(modules[path].register_forward_hook(hook))
    store = LayerStore(folder)
    torch.manual_seed(seed)
    try:
        for start in range(0, len(x), batch_size):
            captured.clear()
            ends = _forward(model, x[start:start + batch_size], latent)
            for layer, path in spec.items():
                if path in SPECIAL and path not in ends:
                    raise ConfigError(f"layers: {path!r} is not available for this network; "
                                      "name its module instead")
                store.append(layer, ends[path] if path in SPECIAL else captured[layer])
    finally:
        for handle in handles:
            handle.remove()
    return store


@torch.no_grad()
def prior_samples(model: nn.Module, like: torch.Tensor, n: int, seed: int,
                  batch_size: int = 250) -> torch.Tensor:
    """n draws z ~ N(0, I), as wide as the latent the model gives the points `like`, decoded to
    the likelihood's mean (eval mode). The draws come from their own generator: seeded, and
    the global RNG is left alone."""
    if not decodes(model):
        raise ConfigError(f"{type(model).__name__} has no encode() and decoder to sample through; "
                          "sample quality needs an AE/VAE-shaped network")
    model.eval()
    device = next(model.parameters()).device
    mu = model.encode(like[:1].to(device))[0]
    z = torch.randn(n, mu.shape[-1], generator=torch.Generator().manual_seed(seed)).to(device)
    return torch.cat([decode_mean(model, z[start:start + batch_size]).cpu()
                      for start in range(0, n, batch_size)])


def temporary_store_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="vae-representations-")
