"""Hooks capture S0's 11 representations with the shapes its network should have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.analysis.representations import S0_MODULES, capture, layer_spec
from vae_core.config import ConfigError
from vae_core.models import build_model, model_config
from vae_core.models.blocks import dynamic_widths


def _s0(channels: int, latent: int = 8) -> torch.nn.Module:
    torch.manual_seed(0)
    config = model_config(dict(family="vae", arch="conv32", latent_size=latent))
    return build_model(config, (channels, 32, 32))


@pytest.mark.parametrize("channels", [1, 3])
def test_s0_shapes(tmp_path: Path, channels: int) -> None:
    model = _s0(channels)
    x = torch.rand(10, channels, 32, 32)
    store = capture(model, x, layer_spec(model), tmp_path, batch_size=4)
    widths = [1024 * channels, 64 * 16 * 16, 128 * 8 * 8, 256 * 4 * 4, 256 * 2 * 2, 8, 1024,
              256 * 4 * 4, 128 * 8 * 8, 64 * 16 * 16, 1024 * channels]
    assert store.layers == [f"l{i:02d}" for i in range(11)]
    assert [store.shapes[layer] for layer in store.layers] == [(10, w) for w in widths]


def test_captured_values_are_the_network_s(tmp_path: Path) -> None:
    model = _s0(1).eval()
    x = torch.rand(6, 1, 32, 32)
    mean_store = capture(model, x, layer_spec(model), tmp_path / "mean", latent="mean")
    with torch.no_grad():
        mu, logvar = model.encode(x)
        first_block = model.encoder.blocks[0](x)
        output = torch.sigmoid(model.decoder(mu))
    np.testing.assert_allclose(mean_store.load("l00"), x.reshape(6, -1).numpy())
    np.testing.assert_allclose(mean_store.load("l01"), first_block.reshape(6, -1).numpy(), atol=1e-6)
    np.testing.assert_allclose(mean_store.load("l05"), mu.numpy(), atol=1e-6)
    np.testing.assert_allclose(mean_store.load("l10"), output.reshape(6, -1).numpy(), atol=1e-6)
    sample_store = capture(model, x, layer_spec(model), tmp_path / "sample", latent="sample")
    assert not np.allclose(sample_store.load("l05"), mu.numpy())
    centred = sample_store.load("l05", centred=True)
    np.testing.assert_allclose(centred.mean(0), 0.0, atol=1e-6)


def test_user_named_modules_and_errors(tmp_path: Path) -> None:
    model = build_model(model_config(dict(family="vae", arch="mlp", latent_size=3, n_layers=2)), (64,))
    with pytest.raises(ConfigError, match="^layers: no module 'encoder.nope'"):
        layer_spec(model, ["input", "encoder.nope"])
    spec = layer_spec(model, ["input", "encoder.body", "latent", "output"])
    store = capture(model, torch.rand(5, 64), spec, tmp_path)
    assert [store.shapes[layer][1] for layer in store.layers] == [64, dynamic_widths(64, 3, 2)[1], 3, 64]
    assert S0_MODULES[5] == "latent" and len(S0_MODULES) == 11
