"""Per-network geometry (all layers of a store) against dadapy on the full neighbour lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from dadapy import Data
from dadapy._utils.metric_comparisons import _return_imbalance

from tests.unit.analysis.geometry_brute_force import tie_rule_nearest, tie_rule_ranks
from vae_core.analysis import distance_blocks
from vae_core.analysis.layer_geometry import cross_imbalance, layer_geometry
from vae_core.analysis.representations import LayerStore


def _store(folder: Path, arrays: list[np.ndarray]) -> LayerStore:
    store = LayerStore(folder)
    for i, x in enumerate(arrays):
        store.append(f"l{i:02d}", torch.as_tensor(x[:100]))
        store.append(f"l{i:02d}", torch.as_tensor(x[100:]))  # two batches, as capture writes them
    return store


def _arrays(seed: int, n: int = 300) -> list[np.ndarray]:
    """A chain of layers: each one a noisy, partly projected version of the previous one."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(n, 8))]
    for width in (6, 4, 6):
        arrays.append(np.tanh(arrays[-1] @ rng.normal(size=(arrays[-1].shape[1], width)))
                      + 0.05 * rng.normal(size=(n, width)))
    return [a.astype(np.float32) for a in arrays]


def _indices(x: np.ndarray) -> np.ndarray:
    data = Data(coordinates=x.astype(np.float64), maxk=len(x) - 1, verbose=False)
    data.compute_distances()
    return data.dist_indices


def test_layer_geometry_matches_dadapy(tmp_path: Path) -> None:
    arrays = _arrays(0)
    result = layer_geometry(_store(tmp_path, arrays), k=10)
    idx = [_indices(x) for x in arrays]
    rng = np.random.default_rng(0)
    for i, layer in enumerate(result.layers):
        assert result.to_first[layer] == pytest.approx(_return_imbalance(idx[i], idx[0], rng))
        assert result.to_last[layer] == pytest.approx(_return_imbalance(idx[i], idx[-1], rng))
        ref_id = Data(coordinates=arrays[i].astype(np.float64), verbose=False).compute_id_2NN()[0]
        assert result.ids[layer] == pytest.approx(ref_id, rel=1e-4)
    for i, layer in enumerate(result.layers[:-1]):
        assert result.forward[layer] == pytest.approx(_return_imbalance(idx[i], idx[i + 1], rng))
        assert result.backward[layer] == pytest.approx(_return_imbalance(idx[i + 1], idx[i], rng))
    metrics = result.metrics()
    assert metrics["geometry.id.l02"] == result.ids["l02"]
    assert metrics["geometry.ii_next.l00"] == result.forward["l00"]
    assert len(metrics) == 4 * 3 + 2 * 3


def test_cross_imbalance_matches_dadapy(tmp_path: Path) -> None:
    a, b = _arrays(1), _arrays(2)
    geometry_a = layer_geometry(_store(tmp_path / "a", a), k=10)
    store_b = _store(tmp_path / "b", b)
    geometry_b = layer_geometry(store_b, k=10)
    matrices = cross_imbalance({"a": geometry_a.nearest(), "b": geometry_b.nearest()}, store_b,
                               geometry_b.neighbours)
    rng = np.random.default_rng(0)
    expected = [[_return_imbalance(_indices(x), _indices(y), rng) for y in b] for x in a]
    np.testing.assert_allclose(matrices["a"], expected)
    np.testing.assert_allclose(np.diag(matrices["b"]), 2 / len(b[0]))  # each layer predicts itself


@pytest.mark.parametrize("whole", [True, False])
def test_wide_layers_far_from_the_origin_match_dadapy(tmp_path: Path, whole: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """float32 layers of up to 2000 coordinates offset by +1000 / -500 (centring keeps the
    Gram formula's cancellation small) against dadapy on float64 differences, with the whole
    matrices and, when they do not fit, with running lists and recomputed rows."""
    if not whole:
        monkeypatch.setattr(distance_blocks, "CPU_BLOCK_BYTES", 100 * 100 * distance_blocks.BYTES_PER_ENTRY)
    rng = np.random.default_rng(6)
    z = rng.normal(size=(300, 10))
    arrays = [(z @ rng.normal(size=(10, 2000)) + 1000).astype(np.float32),
              (np.tanh(z[:, :6]) @ rng.normal(size=(6, 1500)) - 500).astype(np.float32),
              (z[:, :3] @ rng.normal(size=(3, 50))).astype(np.float32)]
    result = layer_geometry(_store(tmp_path, arrays), k=8)
    idx = [_indices(x) for x in arrays]
    rng = np.random.default_rng(0)
    for i, layer in enumerate(result.layers):
        assert result.to_first[layer] == pytest.approx(_return_imbalance(idx[i], idx[0], rng), rel=1e-12)
        assert result.to_last[layer] == pytest.approx(_return_imbalance(idx[i], idx[-1], rng), rel=1e-12)
        ref_id = Data(coordinates=arrays[i].astype(np.float64), verbose=False).compute_id_2NN()[0]
        assert result.ids[layer] == pytest.approx(ref_id, rel=1e-3)
    for i, layer in enumerate(result.layers[:-1]):
        assert result.forward[layer] == pytest.approx(_return_imbalance(idx[i], idx[i + 1], rng), rel=1e-12)
        assert result.backward[layer] == pytest.approx(_return_imbalance(idx[i + 1], idx[i], rng), rel=1e-12)


@pytest.mark.parametrize(("scale", "offset", "whole"), [(1.0, 0.0, True), (1 / 16, 7.25, True),
                                                       (1 / 16, 7.25, False)])
def test_discrete_layers_follow_the_tie_rule(tmp_path: Path, scale: float, offset: float, whole: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers on a grid (integers; 4-bit pixels k/16 far from the origin: duplicates, tied
    distances) against the brute-force tie rule: the store is centred by a vector on the
    grid, so the distances stay exact, and the ranks counted in a layer's pass, read off a
    list or counted from recomputed rows agree (`cross_imbalance` takes the other routes)."""
    if not whole:  # the matrices do not fit: ranks counted as blocks pass, or recounted
        monkeypatch.setattr(distance_blocks, "CPU_BLOCK_BYTES", 100 * 100 * distance_blocks.BYTES_PER_ENTRY)
    rng = np.random.default_rng(3)
    first = rng.integers(0, 3, size=(300, 4))
    arrays = [first, first[:, :2] * 2 + rng.integers(0, 2, size=(300, 1)), rng.integers(0, 3, size=(300, 2))]
    store = _store(tmp_path, [(a * scale + offset).astype(np.float32) for a in arrays])
    result = layer_geometry(store, k=6)
    assert (sum(result.recomputed_rows.values()) == 0) == whole
    cross = cross_imbalance({"self": result.nearest()}, store, result.neighbours)["self"]
    assert cross[2, 0] == result.to_first["l02"] and cross[0, 2] == result.to_last["l00"]
    assert cross[0, 1] == result.forward["l00"] and cross[2, 1] == result.backward["l01"]
    nearest = [tie_rule_nearest(a, seed=0) for a in arrays]
    np.testing.assert_array_equal(result.nearest()["l01"], nearest[1])

    def imbalance(source: int, target: int) -> float:
        return 2 * tie_rule_ranks(nearest[source], arrays[target]).mean() / 300

    assert result.to_first["l02"] == pytest.approx(imbalance(2, 0), rel=1e-12)
    assert result.to_last["l00"] == pytest.approx(imbalance(0, 2), rel=1e-12)
    assert result.forward["l00"] == pytest.approx(imbalance(0, 1), rel=1e-12)
    assert result.backward["l01"] == pytest.approx(imbalance(2, 1), rel=1e-12)
    assert np.isnan(result.ids["l00"])  # most points have copies: TwoNN is undefined
    assert np.isnan(result.gride["l00"]["id"][0])  # and so is Gride's first scale


def test_store_reads_a_layer_into_a_reused_buffer(tmp_path: Path) -> None:
    store = _store(tmp_path, _arrays(5))
    buffer = np.full(3000, np.nan, dtype=np.float32)  # larger than any layer (300 x 8)
    for layer in store.layers:
        np.testing.assert_array_equal(store.load(layer, out=buffer), store.load(layer))
