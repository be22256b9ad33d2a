"""S1's 64 x 64 network: shapes, the AE/VAE head contract, and gradients reaching every weight."""

from __future__ import annotations

import pytest
import torch

from vae_core.models.conv64 import Conv64Decoder, Conv64Encoder
from vae_core.models.families import VAE
from vae_core.models.likelihoods import build_likelihood


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(channels: int) -> None:
    x = torch.rand(5, channels, 64, 64)
    mu, logvar = Conv64Encoder(channels, 10, stochastic=True)(x)
    assert mu.shape == logvar.shape == (5, 10)
    z, none = Conv64Encoder(channels, 10, stochastic=False)(x)
    assert z.shape == (5, 10) and none is None
    assert Conv64Decoder(10, channels)(mu).shape == (5, channels, 64, 64)


def test_layers_follow_the_spec() -> None:
    """Conv32-k4s2 -> Conv64-k4s2 -> Dense256 -> 2 x 10, and the decoder mirrors it."""
    encoder, decoder = Conv64Encoder(1, 10, True), Conv64Decoder(10, 1)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (4, 4), (2, 2)),
                                                                          (64, (4, 4), (2, 2))]
    linears = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64 * 16 * 16, 256), (256, 10),
                                                                         (256, 10)]
    transposed = [m for m in decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in transposed] == [(64, 32), (32, 1)]


def test_vae_backward_reaches_every_parameter() -> None:
    torch.manual_seed(0)
    model = VAE(Conv64Encoder(1, 10, True), Conv64Decoder(10, 1), build_likelihood("bernoulli", 1.0),
                beta=4.0)
    x = (torch.rand(4, 1, 64, 64) > 0.8).float()
    output = model(x)
    output.loss.backward()
    assert torch.isfinite(output.loss)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
