"""The geometry of one network's representations: ID per layer, and information imbalance to
the first and last layer and between consecutive layers (S0's per-checkpoint outputs).

Layers are read from a LayerStore one at a time. Each layer's neighbour search computes
every distance once; a rank that is not in the target's neighbour list is counted from that
point's recomputed distance row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vae_core.analysis.geometry import (
    Neighbours,
    gride_curve,
    information_imbalance,
    knn,
    neighbour_ranks,
    twonn_id,
)
from vae_core.analysis.representations import LayerStore


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


def layer_geometry(store: LayerStore, k: int = 64, mu_fraction: float = 0.9, gride_range: int = 64
                   ) -> LayerGeometry:
    """Two passes over the layers, one layer in memory at a time: first every layer's k nearest
    neighbours (each distance computed once), then the ranks of the other layers' nearest
    neighbours in each target, read off its list or, for the points whose neighbour is not
    in it, counted from recomputed distance rows (the target is reloaded only then)."""
    layers = store.layers
    n = store.shapes[layers[0]][0]
    k = min(k, n - 1)
    neighbours = {layer: knn(torch.from_numpy(store.load(layer, centred=True)), k, centre=False)
                  for layer in layers}
    delta = {}
    for target, src in _sources(layers).items():
        nearest = np.stack([neighbours[s].nearest for s in src])
        ranks = neighbour_ranks(nearest, neighbours[target],
                                lambda layer=target: store.load(layer, centred=True), centre=False)
        delta.update({(s, target): value
                      for s, value in zip(src, np.atleast_1d(information_imbalance(ranks)))})
    ids = {layer: twonn_id(nb, mu_fraction) for layer, nb in neighbours.items()}
    gride = {layer: gride_curve(nb, gride_range) for layer, nb in neighbours.items()}
    first, last = layers[0], layers[-1]
    return LayerGeometry(
        layers, ids, gride,
        to_first={s: delta[(s, first)] if s != first else 2.0 / n for s in layers},
        to_last={s: delta[(s, last)] if s != last else 2.0 / n for s in layers},
        forward={a: delta[(a, b)] for a, b in zip(layers[:-1], layers[1:])},
        backward={a: delta[(b, a)] for a, b in zip(layers[:-1], layers[1:])},
        neighbours=neighbours)


def cross_imbalance(sources: dict[str, dict[str, np.ndarray]], target: LayerStore,
                    target_neighbours: dict[str, Neighbours]) -> dict[str, np.ndarray]:
    """Per source network, the matrix Delta(its layer i -> the target's layer j), on the same
    points (`sources`: network -> layer -> nearest neighbours). One pass over the target's
    layers serves every source network."""
    rows = [(label, layer) for label, layers in sources.items() for layer in layers]
    stacked = np.stack([sources[label][layer] for label, layer in rows])
    columns = [information_imbalance(neighbour_ranks(stacked, target_neighbours[layer],
                                                     lambda layer=layer: target.load(layer, centred=True),
                                                     centre=False))
               for layer in target.layers]
    matrix = np.stack(columns, axis=1)
    return {label: matrix[[i for i, (owner, _) in enumerate(rows) if owner == label]] for label in sources}
