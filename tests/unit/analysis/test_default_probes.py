"""Every registered architecture has default probes; the MLP's are its hidden layers, checked
against the activations computed by hand from the weights."""

from __future__ import annotations

import pytest
import torch

from vae_core.analysis.representations import INPUT, LATENT, OUTPUT, layer_spec
from vae_core.models import build_model, model_config
from vae_core.models.architectures import ARCHITECTURES

SHAPES = {"mlp": (1, 8, 8), "conv32": (1, 32, 32), "conv64": (1, 64, 64)}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_has_default_probes(arch):
    assert arch in SHAPES, f"give {arch!r} a test shape"
    model = build_model(model_config({"latent_size": 2, "arch": arch}), SHAPES[arch])
    modules = list(layer_spec(model).values())
    assert modules[0] == INPUT and modules[-1] == OUTPUT and LATENT in modules
    assert len(modules) > 3  # hidden layers too, not just the ends


def test_mlp_probes_are_its_hidden_activations():
    torch.manual_seed(0)
    model = build_model(model_config({"latent_size": 2, "n_layers": 3, "hidden_widths": [20, 10]}),
                        (1, 8, 8))
    spec = layer_spec(model)
    encoder_probes = [m for m in spec.values() if m.startswith("encoder.")]
    captured = {}
    modules = dict(model.named_modules())
    for name in encoder_probes:
        modules[name].register_forward_hook(lambda mod, inp, out, name=name: captured.update({name: out}))
    x = torch.rand(5, 1, 8, 8)
    model.encode(x)
    linears = [m for m in model.encoder.body.modules() if isinstance(m, torch.nn.Linear)]
    h = x.flatten(1)
    by_hand = []
    for linear in linears:
        h = torch.relu(h @ linear.weight.T + linear.bias)
        by_hand.append(h)
    assert [captured[name].shape[1] for name in encoder_probes] == [20, 10]
    for name, expected in zip(encoder_probes, by_hand):
        assert torch.allclose(captured[name], expected, atol=1e-6)


def test_figures_label_layers_with_the_module_names():
    from vae_core.plots.geometry import layer_labels

    spec = layer_spec(build_model(model_config({"latent_size": 2}), (1, 8, 8)),
                      ["input", "encoder.body", "latent", "output"])
    assert layer_labels(spec) == ["input", "encoder.body", "latent", "output"]
    assert layer_labels(["a", "b"]) == ["a", "b"]  # a table written before the names were kept
