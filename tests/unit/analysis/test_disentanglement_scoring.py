"""score_network: the metric names a sweep may optimise are the ones the suite returns, and a
network's score is the suite on its encoder means drawn with the config's seed."""

from __future__ import annotations

import numpy as np
import torch

from tests.unit.analysis.disentanglement_helpers import GridFactors
from vae_core.analysis.disentanglement import all_metrics
from vae_core.analysis.disentanglement.scoring import PER_MODEL_METRICS, ScoringConfig, score_network
from vae_core.models import build_model, model_config

DATASET = GridFactors((3, 4, 5))


def _network() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(model_config({"family": "vae", "arch": "mlp", "latent_size": 2}), (3, 1, 1))


def _encoder_means(network: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    network.eval()
    with torch.no_grad():
        return network.encode(torch.from_numpy(images))[0].double().numpy()


def test_the_named_metrics_are_the_suites_keys_in_order() -> None:
    config = ScoringConfig(num_train=40, num_test=30, batch_size=4, num_variance_estimate=40, seed=3)
    scores = score_network(config, _network(), DATASET)
    assert tuple(scores) == PER_MODEL_METRICS
    assert all(np.isfinite(v) for v in scores.values())


def test_a_score_is_the_suite_on_the_encoder_means_with_the_configs_seed() -> None:
    config = ScoringConfig(num_train=50, num_test=40, batch_size=5, num_variance_estimate=30,
                           num_bins=7, seed=11, encode_batch=3)
    network = _network()
    expected = all_metrics(lambda images: _encoder_means(network, images), DATASET,
                           np.random.default_rng(11), num_train=50, num_test=40, batch_size=5,
                           num_variance_estimate=30, num_bins=7)
    scores = score_network(config, network, DATASET)
    assert scores.keys() == expected.keys()
    for key in scores:  # encode_batch only batches the same computation
        assert np.isclose(scores[key], expected[key], rtol=1e-6, atol=1e-9), key


def test_the_defaults_are_disentanglement_libs() -> None:
    defaults = ScoringConfig()
    assert (defaults.num_train, defaults.num_test, defaults.batch_size, defaults.num_variance_estimate,
            defaults.num_bins, defaults.seed) == (10000, 5000, 64, 10000, 20, 0)
