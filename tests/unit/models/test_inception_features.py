"""Inception-v3 pool features from a weights file in torchvision's format (a randomly initialised
network saved by the test: the real weights cannot be downloaded here), against torchvision's own
feature extractor, and fd_inception in the S2 evaluation against frechet_distance on them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.models import inception_v3
from torchvision.models.feature_extraction import create_feature_extractor

from vae_core.analysis.sample_quality import moments
from vae_core.config import ConfigError
from vae_core.models.inception_features import inception_features, load_inception


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    network = inception_v3(weights=None, aux_logits=True, init_weights=True).eval()
    path = tmp_path_factory.mktemp("inception") / "inception_v3_google-test.pth"
    torch.save(network.state_dict(), path)
    return path, network


def test_features_are_the_pool_output_of_the_saved_network(weights):
    path, network = weights
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    features = inception_features(load_inception(path), x)
    network.transform_input = True  # what torchvision's pretrained model does with its inputs
    extractor = create_feature_extractor(network, {"avgpool": "pool"})
    rgb = F.interpolate(x.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear", align_corners=False)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    with torch.no_grad():
        expected = extractor((rgb - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))["pool"].flatten(1)
    assert features.shape == (3, 2048)
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-5)


def test_fd_inception_is_the_frechet_distance_of_those_features(weights, monkeypatch):
    import numpy as np

    from vae_core.models.classifier import ImageClassifier
    from vae_core.models.hierarchical_spec import HierarchicalSpec, build_hierarchical
    from vae_core.studies.hit import metrics

    seen = []  # the moments handed to frechet_distance (its own tests cover its value)
    monkeypatch.setattr(metrics, "frechet_distance", lambda *args: seen.append(args) or 7.0)
    path, _ = weights
    torch.manual_seed(0)
    model = build_hierarchical(HierarchicalSpec(conv_channels=2, z_dims=2), (1, 28, 28)).eval()
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    settings = metrics.EvaluationSettings(n_samples=5, is_splits=5, inception_weights=str(path))
    scores = metrics.sample_quality(model, ImageClassifier(1, 10), x, settings)
    samples = model.sample(5, torch.Generator().manual_seed(settings.seed))
    network = load_inception(path)
    real, fake = inception_features(network, x).numpy(), inception_features(network, samples).numpy()
    assert scores["fd_inception"] == 7.0 and len(seen) == 1
    for got, expected in zip(seen[0], (*moments(fake), *moments(real)), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_a_missing_weights_file_is_one_line(tmp_path):
    from vae_core.config import typed
    from vae_core.studies.hit.metrics import EvaluationSettings

    with pytest.raises(ConfigError, match=r"^inception_weights: .*no file"):
        typed(EvaluationSettings, {"inception_weights": str(tmp_path / "missing.pth")})
    with pytest.raises(ConfigError, match=r"^inception_weights: no file"):
        load_inception(tmp_path / "missing.pth")
