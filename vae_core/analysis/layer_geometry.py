"""The geometry of one network's representations: ID per layer, and information imbalance to
the first and last layer and between consecutive layers (S0's per-checkpoint outputs).

Layers are read from a LayerStore one at a time. Each layer's neighbour search computes
every distance once and counts, from the same distances, the ranks of the layers searched
before it; the ranks of the layers searched after it come from its kept distance matrix or,
when that does not fit, off its neighbour list or from recomputed distance rows. All
distance work runs on `device` (default CPU).
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, field

import numpy as np
import torch

from vae_core.analysis.distance_blocks import centre_
from vae_core.analysis.geometry import (
    Neighbours,
    gride_curve,
    information_imbalance,
    listed_ranks,
    neighbour_ranks,
    neighbour_search,
    twonn_id,
)
from vae_core.analysis.rank_counts import ranks_from_distances
from vae_core.analysis.representations import LayerStore

MAX_KEPT = 3  # whole distance matrices held for the sources searched after their layer


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
    recomputed_rows: dict[str, int] = field(default_factory=dict)  # distance rows computed twice

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


class _Loader:
    """Layers on the device, centred in place (points on a grid by a vector on the grid, which
    keeps their distances exact), read into one reused buffer: a fresh array per layer costs
    a page fault per 4 KiB on first touch, slower than the read itself. The buffer asks the
    OS for huge pages where it can."""

    def __init__(self, store: LayerStore, device: str | torch.device | None) -> None:
        self.store, self.device = store, device
        self.buffer = _buffer(max(math.prod(shape) for shape in store.shapes.values()))

    def __call__(self, layer: str) -> torch.Tensor:
        x = torch.from_numpy(self.store.load(layer, out=self.buffer)).to(self.device or "cpu")
        known = self.store.sums.get(layer)  # the sums the store kept as it wrote the layer
        return centre_(x, None if known is None else torch.from_numpy(known / len(x)))


def _buffer(floats: int) -> np.ndarray:
    memory = mmap.mmap(-1, 4 * floats)  # anonymous, private
    if hasattr(mmap, "MADV_HUGEPAGE"):
        memory.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(memory, dtype=np.float32)


def _pass_order(layers: list[str], sources: dict[str, list[str]], widths: dict[str, int]) -> list[str]:
    """The order of the neighbour passes: layers ranked by fewer sources, then by narrower
    width. A source searched before its target has its ranks counted in the target's pass;
    the others fall back to the list or to recomputed rows, and narrow targets make those
    cheap. (S0: the middle layers, narrowest first, then the first and the last layer.)"""
    return sorted(layers, key=lambda layer: (len(sources[layer]), widths[layer], layers.index(layer)))


def _search_layers(store: LayerStore, k: int, sources: dict[str, list[str]], load: _Loader
                   ) -> tuple[dict[str, Neighbours], dict[tuple[str, str], np.ndarray]]:
    """Every layer's neighbours, in `_pass_order`, and the ranks (source, target) counted in
    the target's search or, for a source searched after its target, from the target's
    whole distance matrix, kept (at most MAX_KEPT at once) until its last source is searched."""
    n = store.shapes[store.layers[0]][0]
    order = _pass_order(store.layers, sources, {layer: store.shapes[layer][1] for layer in store.layers})
    neighbours: dict[str, Neighbours] = {}
    ranks: dict[tuple[str, str], np.ndarray] = {}
    kept: dict[str, torch.Tensor] = {}
    for target in order:
        known = [s for s in sources[target] if s in neighbours]
        keep = len(known) < len(sources[target]) and len(kept) < MAX_KEPT
        search = neighbour_search(load(target), k, np.stack([neighbours[s].nearest for s in known])
                                  if known else None, keep_distances=keep, centre=False)
        neighbours[target] = search.neighbours
        ranks.update({(s, target): r for s, r in zip(known, search.ranks if known else [])})
        for waiting, d2 in kept.items():
            if target in sources[waiting]:
                ranks[(target, waiting)] = ranks_from_distances(d2, np.arange(n), neighbours[target].nearest)
        if search.distances is not None:
            kept[target] = search.distances
        kept = {w: d2 for w, d2 in kept.items() if any(s not in neighbours for s in sources[w])}
    return neighbours, ranks


def layer_geometry(store: LayerStore, k: int = 64, mu_fraction: float = 0.9, gride_range: int = 64,
                   device: str | torch.device | None = None) -> LayerGeometry:
    """One neighbour search per layer, one layer's points in memory at a time, in
    `_pass_order`: each computes every distance once and counts the ranks of the nearest
    neighbours of the layers already searched. Where a layer's whole distance matrix fits
    the device's budget (S0: N = 5000 on CPU) it is kept until the layers searched after it
    have their ranks counted in it (at most MAX_KEPT at once). Other ranks (larger N) are read
    off the target's list or, for the points whose neighbour is not in it, counted from
    recomputed distance rows (the target is reloaded only then); `recomputed_rows` says how
    many."""
    layers = store.layers
    n = store.shapes[layers[0]][0]
    sources = _sources(layers)
    load = _Loader(store, device)
    neighbours, ranks = _search_layers(store, min(k, n - 1), sources, load)
    recomputed = dict.fromkeys(layers, 0)
    for target, src in sources.items():
        late = [s for s in src if (s, target) not in ranks]
        if late:
            nearest = np.stack([neighbours[s].nearest for s in late])
            recomputed[target] = int(listed_ranks(nearest, neighbours[target])[1].any(0).sum())
            counted = neighbour_ranks(nearest, neighbours[target], lambda layer=target: load(layer),
                                      centre=False)
            ranks.update({(s, target): r for s, r in zip(late, counted)})
    delta = {pair: information_imbalance(r) for pair, r in ranks.items()}
    first, last = layers[0], layers[-1]
    return LayerGeometry(
        layers, ids={layer: twonn_id(neighbours[layer], mu_fraction) for layer in layers},
        gride={layer: gride_curve(neighbours[layer], gride_range) for layer in layers},
        to_first={s: delta[(s, first)] if s != first else 2.0 / n for s in layers},
        to_last={s: delta[(s, last)] if s != last else 2.0 / n for s in layers},
        forward={a: delta[(a, b)] for a, b in zip(layers[:-1], layers[1:])},
        backward={a: delta[(b, a)] for a, b in zip(layers[:-1], layers[1:])},
        neighbours={layer: neighbours[layer] for layer in layers}, recomputed_rows=recomputed)


def cross_imbalance(sources: dict[str, dict[str, np.ndarray]], target: LayerStore,
                    target_neighbours: dict[str, Neighbours], device: str | torch.device | None = None
                    ) -> dict[str, np.ndarray]:
    """Per source network, the matrix Delta(its layer i -> the target's layer j), on the same
    points (`sources`: network -> layer -> nearest neighbours). One pass over the target's
    layers serves every source network."""
    rows = [(label, layer) for label, layers in sources.items() for layer in layers]
    stacked = np.stack([sources[label][layer] for label, layer in rows])
    load = _Loader(target, device)
    columns = [information_imbalance(neighbour_ranks(stacked, target_neighbours[layer],
                                                     lambda layer=layer: load(layer), centre=False))
               for layer in target.layers]
    matrix = np.stack(columns, axis=1)
    return {label: matrix[[i for i, (owner, _) in enumerate(rows) if owner == label]] for label in sources}
