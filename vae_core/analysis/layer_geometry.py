"""The geometry of one network's representations: ID per layer, and information imbalance to
the first and last layer and between consecutive layers (S0's per-checkpoint outputs).

Layers are read from a LayerStore one at a time; every distance is computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vae_core.analysis.geometry import (
    Neighbours,
    count_closer,
    gride_curve,
    information_imbalance,
    nearest_in_rows,
    neighbour_ranks,
    squared_distance_rows,
    squared_norms,
    twonn_id,
)
from vae_core.analysis.representations import LayerStore

KEPT_NEIGHBOURS = 8  # neighbours kept per layer for later cross-network comparisons


@dataclass
class LayerGeometry:
    layers: list[str]
    ids: dict[str, float]
    gride: dict[str, dict[str, list[float]]]
    to_first: dict[str, float]  # Delta(l -> first layer)
    to_last: dict[str, float]  # Delta(l -> last layer)
    forward: dict[str, float]  # keyed by l_i: Delta(l_i -> l_i+1)
    backward: dict[str, float]  # keyed by l_i: Delta(l_i+1 -> l_i)
    neighbours: dict[str, Neighbours] = field(repr=False, default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Namespaced scalars for MLflow (geometry.id.l05, geometry.ii_first.l03, ...)."""
        out = {}
        for name, values in (("id", self.ids), ("ii_first", self.to_first), ("ii_last", self.to_last),
                             ("ii_next", self.forward), ("ii_prev", self.backward)):
            out.update({f"geometry.{name}.{layer}": float(v) for layer, v in values.items()})
        return out

    def nearest(self) -> dict[str, np.ndarray]:
        return {layer: nb.nearest for layer, nb in self.neighbours.items()}


def _truncate(nb: Neighbours, k: int) -> Neighbours:
    return Neighbours(nb.distances[:, :k + 1].copy(), nb.indices[:, :k + 1].copy())


def _sources(layers: list[str]) -> dict[str, list[str]]:
    """Target layer -> the layers whose nearest neighbours are ranked in it: every layer for the
    first and the last, the adjacent ones for every layer."""
    sources = {}
    for position, target in enumerate(layers):
        chosen = set(layers) if position in (0, len(layers) - 1) else set()
        chosen.update(layers[max(position - 1, 0):position + 2])
        chosen.discard(target)
        sources[target] = [layer for layer in layers if layer in chosen]
    return sources


def layer_geometry(store: LayerStore, k: int = 64, mu_fraction: float = 0.9, gride_range: int = 64,
                   memory_mib: int = 64) -> LayerGeometry:
    """One pass over row chunks: for each chunk every layer's distance rows are computed once
    (layers read one at a time), giving its neighbours and, within the same chunk, the ranks
    of the other layers' nearest neighbours. A target's distance rows are dropped as soon as
    all its sources' neighbours are known: at most three layers' rows (~memory_mib) at once."""
    layers = store.layers
    n = store.shapes[layers[0]][0]
    k = min(k, n - 1)
    sources = _sources(layers)
    chunk = max(8, min(n, memory_mib * 2 ** 20 // (4 * n * 3)))
    dist = {layer: np.zeros((n, k + 1)) for layer in layers}
    idx = {layer: np.zeros((n, k + 1), dtype=np.int64) for layer in layers}
    ranks = {target: np.zeros((len(src), n), dtype=np.int64) for target, src in sources.items()}
    norms: dict[str, torch.Tensor] = {}
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(start + chunk, n))
        pending: dict[str, torch.Tensor] = {}  # distance rows of targets still waiting for sources
        for layer in layers:
            x = torch.from_numpy(store.load(layer, centred=True))
            if layer not in norms:
                norms[layer] = squared_norms(x)
            pending[layer] = squared_distance_rows(x, norms[layer], rows)
            del x
            dist[layer][rows.numpy()], idx[layer][rows.numpy()] = nearest_in_rows(pending[layer], rows, k)
            done = layers.index(layer)
            for target in [t for t in pending if set(sources[t]) <= set(layers[:done + 1])]:
                nearest = np.stack([idx[s][rows.numpy(), 1] for s in sources[target]])
                ranks[target][:, rows.numpy()] = count_closer(pending.pop(target), nearest)
    neighbours = {layer: Neighbours(dist[layer], idx[layer]) for layer in layers}
    ids = {layer: twonn_id(nb, mu_fraction) for layer, nb in neighbours.items()}
    gride = {layer: gride_curve(nb, gride_range) for layer, nb in neighbours.items()}
    delta = {(s, target): value for target, src in sources.items()
             for s, value in zip(src, np.atleast_1d(information_imbalance(ranks[target])))}
    first, last = layers[0], layers[-1]
    return LayerGeometry(
        layers, ids, gride,
        to_first={s: delta[(s, first)] if s != first else 2.0 / n for s in layers},
        to_last={s: delta[(s, last)] if s != last else 2.0 / n for s in layers},
        forward={a: delta[(a, b)] for a, b in zip(layers[:-1], layers[1:])},
        backward={a: delta[(b, a)] for a, b in zip(layers[:-1], layers[1:])},
        neighbours={layer: _truncate(nb, KEPT_NEIGHBOURS) for layer, nb in neighbours.items()})


def cross_imbalance(sources: dict[str, np.ndarray], target: LayerStore,
                    target_neighbours: dict[str, Neighbours]) -> np.ndarray:
    """Matrix Delta(source layer i -> target layer j) between two networks on the same points."""
    source_layers = list(sources)
    stacked = np.stack([sources[s] for s in source_layers])
    columns = [information_imbalance(neighbour_ranks(stacked, target_neighbours[layer], x, centre=False))
               for layer, x in target.items(centred=True)]
    return np.stack(columns, axis=1)
