"""Latent traversals of one representative channel per cluster: what each repeatedly found
piece of information looks like when decoded."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

TRAVERSAL_QUANTILES = (0.02, 0.98)  # the range of the channel's means over the fingerprint


def representatives(result: dict[str, np.ndarray]) -> dict[int, int]:
    """Cluster label -> the member channel (index into all channels) with the most information."""
    kept, cluster, info = result["channels.kept"], result["channels.cluster"], result["channels.info_bits"]
    chosen = {}
    for label in sorted(set(cluster.tolist()) - {-1}):
        members = kept[cluster == label]
        chosen[int(label)] = int(members[np.argmax(info[members])])
    return chosen


def typical_point(mu: np.ndarray) -> int:
    """The fingerprint point whose code lies nearest the per-dimension median code."""
    return int(np.argmin(np.linalg.norm(mu - np.median(mu, axis=0), axis=1)))


def traversal_values(channel_mu: np.ndarray, steps: int) -> np.ndarray:
    return np.quantile(channel_mu, np.linspace(*TRAVERSAL_QUANTILES, steps))


@torch.no_grad()
def traverse(network: nn.Module, base: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """Images (S, C, H, W): the likelihood's mean of the decoder at `base` (K,) with latent `dim`
    set to each of `values`."""
    network.eval()
    z = torch.as_tensor(np.repeat(base[None], len(values), axis=0), dtype=torch.float32)
    z[:, dim] = torch.as_tensor(values, dtype=torch.float32)
    return network.likelihood.mean(network.decoder(z)).numpy()
