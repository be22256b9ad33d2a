"""The tie rule of vae_core.analysis.geometry, applied by brute force to the full N x N
distance matrices of integer-valued points (exact integer arithmetic)."""

from __future__ import annotations

import numpy as np
import torch


def squared_distances(x: np.ndarray) -> np.ndarray:
    return ((x[:, None].astype(np.int64) - x[None].astype(np.int64)) ** 2).sum(-1)


def tie_rule_nearest(x: np.ndarray, seed: int) -> np.ndarray:
    """nn(i): among the points nearest to i, the one of lowest priority (a permutation drawn
    from the seed)."""
    n = len(x)
    priority = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    d = squared_distances(x)
    nearest = np.zeros(n, dtype=np.int64)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        nearest[i] = others[np.lexsort((priority[others], d[i, others]))[0]]
    return nearest


def tie_rule_ranks(nearest: np.ndarray, x: np.ndarray) -> np.ndarray:
    """rank(i, nearest[i]) in x: 1 + #{d < t} + (#{d = t} - 1) / 2 over m != i, t = d(i, nearest[i])."""
    d = squared_distances(x)
    ranks = np.zeros(len(x))
    for i, j in enumerate(nearest):
        row = np.delete(d[i], i)
        ranks[i] = 1 + (row < d[i, j]).sum() + ((row == d[i, j]).sum() - 1) / 2
    return ranks
