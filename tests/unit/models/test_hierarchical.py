"""HVAE and LVAE: every family builds and trains on 28x28 and 32x32 images, the loss is assembled
from the rates as methods.md S2 says, and the importance weights agree with the analytic terms."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_core.analysis.rates import likelihood_bounds, log_mean_exp
from vae_core.config import ConfigError
from vae_core.data.embedded import load_digits
from vae_core.data.splits import DatasetSplits
from vae_core.models.hierarchical import HierarchicalOutput
from vae_core.models.hierarchical_spec import LIKELIHOOD_BUILDERS, HierarchicalSpec, build_hierarchical
from vae_core.training.trainer import Trainer, TrainerConfig

SHAPES = [(1, 28, 28), (1, 32, 32), (3, 32, 32)]
CASES = list(itertools.product(("hvae", "lvae"), ("gaussian", "gumbel_softmax"), LIKELIHOOD_BUILDERS, SHAPES))


def _images(shape, n=4, seed=0):
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("arch", "q_family", "likelihood", "shape"), CASES)
def test_builds_and_trains(arch, q_family, likelihood, shape):
    torch.manual_seed(0)
    model = build_hierarchical(HierarchicalSpec(arch=arch, q_family=q_family, likelihood=likelihood,
                                                z_dims=6, sigma=0.1), shape)
    x = _images(shape)
    output = model(x)
    output.loss.backward()
    assert torch.isfinite(output.loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert sum(p.grad is not None for p in model.parameters()) == len(list(model.parameters()))
    expected_channels = getattr(model.likelihood, "out_channels", lambda c: c)(shape[0])
    assert output.out.shape == (4, expected_channels, *shape[1:])
    assert set(output.terms()) >= {"loss", "recon", "kl", "rate_z", "rate_y", "neg_elbo", "neg_elbo_bpd"}
    model.eval()
    assert model.reconstruct(x).shape == x.shape and model.sample(3).shape == (3, *shape)
    assert model.log_weights(x, 2).shape == (2, 4)


def test_output_channels_follow_the_likelihood():
    spec = HierarchicalSpec(likelihood="logistic_mixture", n_components=10)
    assert build_hierarchical(spec, (3, 32, 32)).p_x.layers[-1].out_channels == 100  # PixelCNN++: 10 K
    assert build_hierarchical(spec, (1, 28, 28)).p_x.layers[-1].out_channels == 30
    assert build_hierarchical(HierarchicalSpec(), (3, 32, 32)).p_x.layers[-1].out_channels == 3


@pytest.mark.parametrize("arch", ["hvae", "lvae"])
@pytest.mark.parametrize("side", [28, 32])
def test_latent_shapes(arch, side):
    model = build_hierarchical(HierarchicalSpec(arch=arch, conv_channels=32, z_dims=12), (1, side, side))
    summary = model.posterior(_images((1, side, side), n=5))
    assert summary.z_mean.shape == (5, 12) and summary.z_logvar.shape == (5, 12)
    assert summary.y_mean.shape == (5, 32 * 4 * 4) and summary.y_logvar.shape == (5, 32 * 4 * 4)
    assert summary.z_log_probs is None


def test_categorical_posterior_summary():
    model = build_hierarchical(HierarchicalSpec(q_family="gumbel_softmax", z_dims=10), (1, 28, 28))
    summary = model.posterior(_images((1, 28, 28)))
    torch.testing.assert_close(summary.z_log_probs.logsumexp(1), torch.zeros(4))
    torch.testing.assert_close(summary.z_mean, summary.z_log_probs.exp())
    assert summary.z_logvar is None and model.encode(_images((1, 28, 28)))[1] is None


@pytest.mark.parametrize("arch", ["hvae", "lvae"])
def test_loss_is_assembled_from_the_rates(arch):
    spec = HierarchicalSpec(arch=arch, beta_y=0.3, beta_z=2.5, kl_warmup=True)
    model = build_hierarchical(spec, (1, 28, 28))
    model.set_epoch(3, epochs=20)  # warm-up weight 3 / 4
    x = _images((1, 28, 28))
    out: HierarchicalOutput = model(x)
    torch.testing.assert_close(out.loss, out.recon + 0.75 * (0.3 * out.rate_y + 2.5 * out.rate_z))
    torch.testing.assert_close(out.kl, out.rate_z + out.rate_y)
    torch.testing.assert_close(out.neg_elbo, out.recon + out.rate_z + out.rate_y)
    torch.testing.assert_close(out.terms()["rate_y_bpd"], out.rate_y / (784 * math.log(2)))
    mu, logvar = model.encode(x)  # R(z) is analytic: independent of the sample
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(out.rate_z, expected)
    assert out.logs["kl_scale"] == 0.75 and out.logs["temperature"] == pytest.approx(math.exp(-0.021))


def test_rate_y_is_the_kl_between_q_and_p_of_y():
    """With z pinned to the posterior mean, R(y|z) = KL[q(y|z,x) || p(y|z)] by torch.distributions."""
    model = build_hierarchical(HierarchicalSpec(arch="lvae"), (1, 32, 32))
    model.q_z.sample = lambda params, temperature, hard: params[0]
    x = _images((1, 32, 32))
    features, skip = model.bottom_up(x)
    z = model.q_z(features)[0]
    prior = model.p_y(z)
    q_y = model.posterior_y(x, z, skip, prior)
    expected = kl_divergence(Normal(*q_y), Normal(*prior)).flatten(1).sum(1).mean()
    torch.testing.assert_close(model(x).rate_y, expected)


def _agree(sample_values: torch.Tensor, expected: torch.Tensor, sigmas: float = 5.0) -> bool:
    error = sample_values.std(0) / math.sqrt(sample_values.shape[0])
    return bool(((sample_values.mean(0) - expected).abs() < sigmas * error + 1e-4).all())


@pytest.mark.parametrize(("arch", "q_family"), [("hvae", "gaussian"), ("lvae", "gumbel_softmax")])
def test_importance_weight_terms_average_to_the_analytic_terms(arch, q_family):
    """E_q[log p(z) - log q(z|x)] = -R(z), E_q[log p(y|z) - log q(y|z,x)] = -E R(y|z),
    E_q[log p(x|y)] = -recon: eval mode, where a categorical z is a hard draw in both."""
    torch.manual_seed(0)
    model = build_hierarchical(HierarchicalSpec(arch=arch, q_family=q_family, z_dims=8), (1, 28, 28)).eval()
    x, samples = _images((1, 28, 28), n=3), 2000
    terms = model.log_weight_terms(x, samples)
    with torch.no_grad():
        repeated = [model(x[i:i + 1].expand(samples, -1, -1, -1)) for i in range(3)]
    assert _agree(terms["log_ratio_z"], -torch.stack([r.rate_z for r in repeated]))
    assert _agree(terms["log_ratio_y"], -torch.stack([r.rate_y for r in repeated]))
    assert _agree(terms["log_px_y"], -torch.stack([r.recon for r in repeated]))


def test_iwae_bound_rises_with_samples_and_tops_the_elbo():
    torch.manual_seed(1)
    model = build_hierarchical(HierarchicalSpec(z_dims=4), (1, 28, 28)).eval()
    log_w = model.log_weights(_images((1, 28, 28), n=8), 400).double()
    bounds = [float(log_mean_exp(log_w.view(400 // k, k, 8), 1).mean()) for k in (1, 10, 100, 400)]
    assert bounds == sorted(bounds) and bounds[-1] > bounds[0] + 1.0
    summary = likelihood_bounds(log_w)
    assert summary["ll.iwae"] == pytest.approx(bounds[-1]) and summary["ll.elbo"] == pytest.approx(bounds[0])


def test_set_epoch_moves_temperature_and_only_warms_up_when_asked():
    model = build_hierarchical(HierarchicalSpec(q_family="gumbel_softmax"), (1, 28, 28))
    model.set_epoch(100, epochs=10)
    assert model.temperature == pytest.approx(math.exp(-0.7)) and model.kl_scale == 1.0
    warm = build_hierarchical(HierarchicalSpec(arch="lvae", kl_warmup=True), (1, 28, 28))
    warm.set_epoch(1, epochs=50)
    assert warm.kl_scale == 0.1


@pytest.mark.parametrize(("spec", "shape", "key"), [
    (HierarchicalSpec(), (1, 30, 30), "arch"),
    (HierarchicalSpec(), (1, 28, 32), "arch"),
    (HierarchicalSpec(), (784,), "arch"),
    (HierarchicalSpec(arch="vdvae"), (1, 28, 28), "arch"),
    (HierarchicalSpec(q_family="vmf"), (1, 28, 28), "q_family"),
    (HierarchicalSpec(likelihood="gaussian_learned"), (1, 28, 28), "likelihood"),
    (HierarchicalSpec(q_family="gumbel_softmax", z_dims=1), (1, 28, 28), "z_dims"),
    (HierarchicalSpec(conv_channels=0), (1, 28, 28), "conv_channels"),
    (HierarchicalSpec(sigma=0.0), (1, 28, 28), "sigma"),
    (HierarchicalSpec(beta_y=-1.0), (1, 28, 28), "beta_y"),
    (HierarchicalSpec(kl_warmup="yes"), (1, 28, 28), "kl_warmup"),
])
def test_bad_configuration_names_the_key(spec, shape, key):
    with pytest.raises(ConfigError, match=f"^{key}:"):
        build_hierarchical(spec, shape)


@pytest.mark.parametrize("side", [28, 32])
def test_trains_on_resized_digits_and_the_trainer_logs_both_rates(side):
    digits = load_digits(seed=0, val_fraction=0.1, resize=side)
    data = DatasetSplits(name="digits", options={}, train=digits.train[:96], val=digits.val[:32],
                         test=digits.test[:32])
    model = build_hierarchical(HierarchicalSpec(arch="lvae", kl_warmup=True), data.sample_shape)
    trainer = Trainer(model, data, TrainerConfig(epochs=1, batch_size=32, seed=0))
    assert trainer.fit() == "finished"
    metrics = trainer.history[1]
    for name in ("rate_z", "rate_y", "neg_elbo", "rate_z_bpd", "rate_y_bpd"):
        assert math.isfinite(metrics[f"train/{name}"]) and math.isfinite(metrics[f"val/{name}"])
    assert metrics["val/kl"] == pytest.approx(metrics["val/rate_z"] + metrics["val/rate_y"], rel=1e-5)
