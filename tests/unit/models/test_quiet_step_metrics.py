"""Per-step metrics read tensors that require grad: no torch warning (its cause is removed, not
the warning hidden), for every registered family."""

from __future__ import annotations

import warnings

import pytest
import torch

from vae_core.models import FAMILIES, build_model, model_config

EXTRA = {"gaussian_vae": {"likelihood": "gaussian_learned"}}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_step_metrics_do_not_warn(family):
    torch.manual_seed(0)
    try:
        model = build_model(model_config({"family": family, "latent_size": 2, **EXTRA.get(family, {})}),
                            (6,))
    except Exception as error:  # a family that needs other settings is covered elsewhere
        pytest.skip(f"{family}: {error}")
    output = model(torch.randn(8, 6))
    if not hasattr(model, "step_metrics"):  # an optional hook
        pytest.skip(f"{family} has no step_metrics")
    assert output.loss.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = model.step_metrics(output)
    assert metrics and all(isinstance(v, float) for v in metrics.values())
