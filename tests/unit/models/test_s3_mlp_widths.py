"""The "dynamic" MLP widths against the seed's examples, and explicit hidden widths."""

from __future__ import annotations

import pytest
import torch

from vae_core.config import ConfigError
from vae_core.models.blocks import MLPDecoder, MLPEncoder, dynamic_widths, mlp_widths


@pytest.mark.parametrize(("d_x", "d_z", "n", "expected"), [
    (784, 2, 2, [784, 393, 2]),  # the seed's MNIST examples
    (784, 2, 3, [784, 524, 263, 2]),
    # Frey Face, 560 -> 5 in 7 layers: 560 - floor(555 i / 7) = 560 - 79, 158, 237, 317, 396, 475, 555
    (560, 5, 7, [560, 481, 402, 323, 243, 164, 85, 5]),
])
def test_dynamic_widths_seed_examples(d_x, d_z, n, expected):
    assert dynamic_widths(d_x, d_z, n) == expected
    assert mlp_widths(d_x, d_z, n) == expected  # the default is the dynamic rule


def _linear_shapes(module: torch.nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, torch.nn.Linear)]


def test_explicit_hidden_widths_shape_the_layers():
    encoder = MLPEncoder(560, 5, 3, stochastic=True, hidden_widths=[300, 40])
    assert _linear_shapes(encoder) == [(560, 300), (300, 40), (40, 5), (40, 5)]  # mu and logvar heads
    decoder = MLPDecoder(5, (1, 28, 20), 3, hidden_widths=[300, 40])
    assert _linear_shapes(decoder) == [(5, 40), (40, 300), (300, 560)]
    assert decoder(torch.zeros(4, 5)).shape == (4, 1, 28, 20)
    ae_encoder = MLPEncoder(64, 2, 2, stochastic=False, hidden_widths=[100])  # may widen
    assert _linear_shapes(ae_encoder) == [(64, 100), (100, 2)]
    assert ae_encoder(torch.zeros(3, 1, 8, 8))[1] is None


def test_default_widths_shape_the_frey_face_layers():
    encoder = MLPEncoder(560, 5, 7, stochastic=False)
    assert _linear_shapes(encoder) == [(560, 481), (481, 402), (402, 323), (323, 243), (243, 164),
                                       (164, 85), (85, 5)]


@pytest.mark.parametrize(("hidden", "n_layers", "pattern"), [
    ([300], 3, r"hidden_widths: \[300\] must be n_layers - 1 = 2 positive widths; .*n_layers to 2"),
    ([300, 0], 3, r"hidden_widths: \[300, 0\] must be n_layers - 1 = 2 positive widths"),
])
def test_inconsistent_hidden_widths_are_refused(hidden, n_layers, pattern):
    with pytest.raises(ConfigError, match=pattern):
        MLPEncoder(560, 5, n_layers, stochastic=True, hidden_widths=hidden)


def test_model_config_hidden_widths_reach_the_mlp_and_empty_means_the_dynamic_rule():
    from torch import nn

    from vae_core.models import build_model, model_config

    def widths(model: nn.Module) -> list[int]:
        linears = [m for m in model.encoder.modules() if isinstance(m, nn.Linear)]
        return [linears[0].in_features, *(m.out_features for m in linears)]

    given = build_model(model_config({"family": "ae", "latent_size": 2, "n_layers": 3,
                                      "hidden_widths": [10, 5]}), (1, 8, 8))
    assert widths(given) == [64, 10, 5, 2]
    dynamic = build_model(model_config({"family": "ae", "latent_size": 2, "n_layers": 3}), (1, 8, 8))
    assert widths(dynamic) == dynamic_widths(64, 2, 3) == [64, 44, 23, 2]  # 64 - floor(62 i / 3)
