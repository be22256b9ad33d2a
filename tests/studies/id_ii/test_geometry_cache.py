"""The geometry cache: entries round-trip exactly, keys move with everything a result depends on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vae_core.analysis.layer_geometry import LayerGeometry, layer_geometry
from vae_core.analysis.representations import LayerStore
from vae_core.studies.id_ii.geometry_cache import GeometryCache, cache_key, points_digest


def _geometry(folder: Path) -> LayerGeometry:
    rng = np.random.default_rng(0)
    store = LayerStore(folder)
    for i, width in enumerate((5, 3, 4)):
        store.append(f"l{i:02d}", torch.as_tensor(rng.normal(size=(80, width)).astype(np.float32)))
    return layer_geometry(store, k=6)


def test_entries_round_trip_with_and_without_neighbours(tmp_path: Path) -> None:
    geometry = _geometry(tmp_path / "store")
    cache = GeometryCache(tmp_path / "cache")
    cache.save("with", geometry, 1.5, {"l00": "input"})
    loaded, score, spec = cache.load("with", with_neighbours=True)
    assert (loaded.ids, loaded.gride, loaded.to_first, loaded.backward) == (
        geometry.ids, geometry.gride, geometry.to_first, geometry.backward)
    assert (score, spec) == (1.5, {"l00": "input"})
    for layer, nb in geometry.neighbours.items():
        np.testing.assert_array_equal(loaded.neighbours[layer].indices, nb.indices)
        np.testing.assert_array_equal(loaded.neighbours[layer].distances, nb.distances)
    geometry.neighbours.clear()
    cache.save("without", geometry, None, {})
    assert cache.load("without", with_neighbours=True) is None  # a last epoch needs its lists
    assert cache.load("without", with_neighbours=False)[1] is None
    assert cache.load("missing", with_neighbours=False) is None
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["with", "without"]  # no partials


def test_keys_follow_checkpoint_points_and_settings() -> None:
    points = np.zeros((4, 2))
    base = cache_key("run", 1, points_digest(points), {"k": 8})
    assert base == cache_key("run", 1, points_digest(points.copy()), {"k": 8})
    assert len({base, cache_key("run", 2, points_digest(points), {"k": 8}),
                cache_key("other", 1, points_digest(points), {"k": 8}),
                cache_key("run", 1, points_digest(points + 1), {"k": 8}),
                cache_key("run", 1, points_digest(points), {"k": 9})}) == 5
    assert cache_key("models:/vae@champion", 1, points_digest(points), {"k": 8}) is None
