"""The geometry of one network's representations: ID per layer, and information imbalance to
the first and last layer and between consecutive layers (S0's per-checkpoint outputs).

Layers are read from a LayerStore one at a time: first every layer's neighbours, then, layer
by layer as the target, the ranks of the other layers' nearest neighbours in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vae_core.analysis.geometry import (
    Neighbours,
    gride_curve,
    information_imbalance,
    knn,
    neighbour_ranks,
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


def layer_geometry(store: LayerStore, k: int = 64, mu_fraction: float = 0.9,
                   gride_range: int = 64) -> LayerGeometry:
    layers = store.layers
    k = min(k, store.shapes[layers[0]][0] - 1)
    neighbours: dict[str, Neighbours] = {}
    ids, gride = {}, {}
    for layer, x in store.items(centred=True):
        nb = knn(x, k, centre=False)
        ids[layer] = twonn_id(nb, mu_fraction)
        gride[layer] = gride_curve(nb, gride_range)
        neighbours[layer] = nb
    first, last = layers[0], layers[-1]
    to_first, to_last, forward, backward = {}, {}, {}, {}
    for position, target in enumerate(layers):
        sources = set()
        if target in (first, last):
            sources.update(layers)
        if position > 0:
            sources.add(layers[position - 1])
        if position + 1 < len(layers):
            sources.add(layers[position + 1])
        order = sorted(sources)
        ranks = neighbour_ranks(np.stack([neighbours[s].nearest for s in order]), neighbours[target],
                                store.load(target, centred=True), centre=False)
        deltas = dict(zip(order, information_imbalance(ranks)))
        if target == first:
            to_first = {s: deltas[s] for s in layers}
        if target == last:
            to_last = {s: deltas[s] for s in layers}
        if position > 0:
            forward[layers[position - 1]] = deltas[layers[position - 1]]
        if position + 1 < len(layers):
            backward[target] = deltas[layers[position + 1]]
    kept = {layer: _truncate(nb, KEPT_NEIGHBOURS) for layer, nb in neighbours.items()}
    return LayerGeometry(layers, ids, gride, to_first, to_last, forward, backward, kept)


def cross_imbalance(sources: dict[str, np.ndarray], target: LayerStore,
                    target_neighbours: dict[str, Neighbours]) -> np.ndarray:
    """Matrix Delta(source layer i -> target layer j) between two networks on the same points."""
    source_layers = list(sources)
    stacked = np.stack([sources[s] for s in source_layers])
    columns = [information_imbalance(neighbour_ranks(stacked, target_neighbours[layer], x, centre=False))
               for layer, x in target.items(centred=True)]
    return np.stack(columns, axis=1)
