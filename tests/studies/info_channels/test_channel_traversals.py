"""Traversals of a cluster's representative channel: the most informative member of each
cluster (noise never), decoded exactly as the network decodes a code with one latent set."""

from __future__ import annotations

import numpy as np
import torch

from vae_core.models import build_model, model_config
from vae_core.plots.channels import traversal_figure
from vae_core.studies.info_channels.traversals import representatives, traverse, typical_point


def test_representative_is_the_most_informative_member_of_each_cluster():
    rng = np.random.default_rng(0)
    info = rng.random(12)
    kept = np.array([0, 2, 3, 5, 6, 8, 9, 11])
    cluster = np.array([1, 0, -1, 1, 0, -1, 1, 0])
    chosen = representatives({"channels.kept": kept, "channels.cluster": cluster, "channels.info_bits": info})
    expected = {}
    for channel, label in zip(kept, cluster):  # a loop over members, the most bits wins
        if label >= 0 and (label not in expected or info[channel] > info[expected[label]]):
            expected[int(label)] = int(channel)
    assert chosen == expected and sorted(chosen) == [0, 1]


def test_traverse_decodes_each_value_of_one_latent():
    torch.manual_seed(0)
    network = build_model(model_config({"latent_size": 3, "beta": 1.0}), (1, 8, 8)).eval()
    base, values = np.array([0.3, -1.0, 2.0]), np.array([-2.0, 0.0, 1.5])
    images = traverse(network, base, 1, values)
    assert images.shape == (3, 1, 8, 8)
    for s, value in enumerate(values):
        z = torch.tensor([[0.3, float(value), 2.0]], dtype=torch.float32)
        with torch.no_grad():
            expected = torch.sigmoid(network.decoder(z))[0]  # Bernoulli: the mean is sigmoid(logits)
        np.testing.assert_allclose(images[s], expected.numpy(), atol=1e-6)


def test_typical_point_is_nearest_the_median_code():
    mu = np.array([[0.0, 0.0], [10.0, 10.0], [1.0, 1.2], [0.9, 1.0], [-5.0, 2.0]])
    assert typical_point(mu) == 2  # the median code is (0.9, 1.2): 0.1 from point 2, 0.2 from point 3


def test_traversal_figure_has_a_row_per_cluster():
    rows = [np.random.default_rng(k).random((4, 1, 8, 8)) for k in range(2)]
    figure = traversal_figure(rows, ["cluster 0", "cluster 1"], [np.linspace(-1, 1, 4)] * 2)
    assert len(figure.axes) == 8
    assert figure.axes[0].images[0].get_array().shape == (8, 8)
