"""ID and information imbalance against dadapy, against data of known dimension, and (ties)
against a brute force over the full distance matrix that applies the same tie rule."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from dadapy import Data
from dadapy._utils.metric_comparisons import _return_imbalance
from sklearn.datasets import make_swiss_roll

from tests.unit.analysis.geometry_brute_force import tie_rule_nearest, tie_rule_ranks
from vae_core.analysis.geometry import gride_curve, information_imbalance, knn, neighbour_ranks, twonn_id


def _full_indices(x: np.ndarray) -> np.ndarray:
    """Every point's neighbours sorted by distance, from the full distance matrix (brute force)."""
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.fill_diagonal(d, -1.0)
    return np.argsort(d, axis=1, kind="stable")


@pytest.mark.parametrize(("block_rows", "k", "dtype"), [(1024, 20, np.float64), (64, 20, np.float64),
                                                       (37, 60, np.float64), (64, 20, np.float32)])
def test_knn_matches_brute_force(block_rows: int, k: int, dtype: type) -> None:
    """One block, and many (diagonal, off-diagonal and ragged last blocks, each merged twice;
    k above the block size); float32 takes the oneDNN product."""
    x = np.random.default_rng(0).normal(size=(300, 7)).astype(dtype)
    nb = knn(x, k, block_rows=block_rows)
    full = _full_indices(x)
    np.testing.assert_array_equal(nb.indices, full[:, :k + 1])
    d = np.linalg.norm(x[:, None].astype(float) - x[None], axis=-1)
    tolerance = 1e-9 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(nb.distances, np.take_along_axis(d, full[:, :k + 1], 1), atol=tolerance)


@pytest.mark.parametrize("k", [5, 40])
def test_information_imbalance_equals_dadapy(k: int) -> None:
    """Small k forces most ranks through the chunked count; dadapy sees all N neighbours."""
    rng = np.random.default_rng(1)
    n = 400
    a = rng.normal(size=(n, 6))
    b = np.hstack([a[:, :3], rng.normal(size=(n, 3))])  # shares half of A's coordinates
    nb_a, nb_b = knn(a, k), knn(b, k)
    ours_ab = information_imbalance(neighbour_ranks(nb_a.nearest[None], nb_b, b)[0])
    ours_ba = information_imbalance(neighbour_ranks(nb_b.nearest[None], nb_a, a)[0])
    ref = Data(coordinates=np.hstack([a, b]), maxk=n - 1, verbose=False)
    ref_ab, ref_ba = ref.return_inf_imb_two_selected_coords(list(range(6)), list(range(6, 12)))
    assert ours_ab == pytest.approx(ref_ab, rel=1e-12)
    assert ours_ba == pytest.approx(ref_ba, rel=1e-12)
    rng_ = np.random.default_rng(0)
    assert ours_ab == pytest.approx(_return_imbalance(_full_indices(a), _full_indices(b), rng_))


def test_ranks_from_list_and_from_count_agree() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(250, 4)), rng.normal(size=(250, 5))
    sources = knn(a, 3).nearest[None]
    np.testing.assert_array_equal(neighbour_ranks(sources, knn(b, 3), b, chunk_rows=17),
                                  neighbour_ranks(sources, knn(b, 249), b))


def test_twonn_equals_dadapy() -> None:
    x = np.random.default_rng(3).normal(size=(1000, 4)) @ np.random.default_rng(4).normal(size=(4, 12))
    ref, _, _ = Data(coordinates=x, verbose=False).compute_id_2NN()
    # dadapy's distances are direct differences; ours come from the Gram matrix (rounding ~1e-9)
    assert twonn_id(knn(x, 10)) == pytest.approx(ref, rel=1e-7)


def test_gride_equals_dadapy() -> None:
    x, _ = make_swiss_roll(2000, noise=0.1, random_state=0)
    ids, errors, _ = Data(coordinates=x, verbose=False).return_id_scaling_gride(range_max=64)
    curve = gride_curve(knn(x, 64), range_max=64)
    assert curve["rank"] == [2, 4, 8, 16, 32, 64]
    np.testing.assert_allclose(curve["id"], ids, rtol=1e-4)
    np.testing.assert_allclose(curve["error"], errors, rtol=1e-3)


def test_id_of_known_dimension() -> None:
    rng = np.random.default_rng(5)
    gauss = rng.normal(size=(3000, 5)) @ np.linalg.qr(rng.normal(size=(50, 5)))[0].T
    assert twonn_id(knn(gauss, 10)) == pytest.approx(5.0, rel=0.1)
    roll, _ = make_swiss_roll(3000, noise=0.0, random_state=1)
    assert twonn_id(knn(roll, 10)) == pytest.approx(2.0, rel=0.1)
    assert gride_curve(knn(roll, 16))["id"][0] == pytest.approx(2.0, rel=0.1)


def test_imbalance_limits() -> None:
    """A space predicts itself perfectly (2/N) and predicts an independent one at about 1."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    nb_a = knn(a, 10)
    assert information_imbalance(neighbour_ranks(nb_a.nearest[None], nb_a, a)[0]) == 2 / 500
    independent = information_imbalance(neighbour_ranks(nb_a.nearest[None], knn(b, 10), b)[0])
    assert independent == pytest.approx(1.0, abs=0.1)


def test_onednn_and_plain_products_find_the_same_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    from vae_core.analysis import distance_blocks

    x = np.random.default_rng(7).normal(size=(700, 300)).astype(np.float32)
    fast = knn(x, 30, block_rows=256)
    monkeypatch.setattr(distance_blocks, "ONEDNN", False)
    plain = knn(x, 30, block_rows=256)
    np.testing.assert_array_equal(fast.indices, plain.indices)
    np.testing.assert_allclose(fast.distances, plain.distances, rtol=1e-5)


@pytest.mark.parametrize(("k", "dtype", "scale", "offset"), [
    (5, np.float64, 1, 0), (60, np.float64, 1, 0), (5, np.float32, 1, 0), (5, np.float32, 1, 5000),
    (5, np.float32, 4097, 0), (5, np.float32, 1 / 16, 300.5), (5, np.float64, 2 ** -8, 0)])
def test_tie_rule_on_discrete_data_matches_brute_force(k: int, dtype: type, scale: float, offset: float
                                                       ) -> None:
    """Points on a small grid: most points have duplicates, most distances tie. k = 5 leaves
    tied points out of whole-tied lists (the row is relisted) and most ranks to the count.
    The arithmetic stays exact under a large offset (centring on the grid), where float32
    would round (4097^2 > 2^24: float64) and on a grid of step 2^-p (4-bit pixels k/16)."""
    rng = np.random.default_rng(8)
    a = rng.integers(0, 3, size=(300, 3))
    b = np.hstack([a[:, :1], rng.integers(0, 3, size=(300, 2))])  # shares one coordinate with a
    nearest = tie_rule_nearest(a, seed=4)
    expected = tie_rule_ranks(nearest, b)
    nb_a = knn((a * scale + offset).astype(dtype), k, seed=4)
    np.testing.assert_array_equal(nb_a.nearest, nearest)
    b = (b * scale + offset).astype(dtype)
    ranks = neighbour_ranks(nb_a.nearest[None], knn(b, k), b)
    np.testing.assert_array_equal(ranks[0], expected)
    np.testing.assert_array_equal(neighbour_ranks(nb_a.nearest[None], knn(b, k), b, chunk_rows=37), ranks)
    assert information_imbalance(ranks[0]) == pytest.approx(2 * expected.mean() / 300, rel=1e-12)
    assert np.any(expected % 1 == 0.5)  # the rule is exercised: some tied blocks have even size


def test_duplicated_continuous_points_are_at_distance_zero() -> None:
    """Exact copies of float points are at distance 0 (not the Gram formula's residue), so
    TwoNN and the tie rule see them as duplicates."""
    rng = np.random.default_rng(9)
    base = rng.normal(size=(200, 50)).astype(np.float32) * 3 + 10
    x = np.vstack([base, base[:40]])  # points 200..239 copy points 0..39
    nb = knn(x, 4)
    assert np.all(nb.distances[:40, 1] == 0) and np.all(nb.distances[200:, 1] == 0)
    assert set(nb.nearest[:40]) == set(range(200, 240))
    assert np.all(nb.distances[40:200, 1] > 0)


def _dadapy_twonn(x: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dadapy warns about the zero distances
        return Data(coordinates=x, verbose=False).compute_id_2NN()[0]


def test_twonn_with_duplicates_equals_dadapy() -> None:
    """Points with a duplicate have r1 = 0: mu = inf, kept in N, dropped with the highest
    mus; beyond the dropped share (1 - mu_fraction) the ID is undefined: nan here, an error in
    dadapy's fit. dadapy's low-dimensional search is a k-d tree: exact zeros."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=(1000, 4))
    few = np.vstack([x, x[:30]])  # 60 of 1030 points have r1 = 0: inside the dropped 10%
    assert twonn_id(knn(few, 10)) == pytest.approx(_dadapy_twonn(few), rel=1e-6)
    assert twonn_id(knn(few, 10)) != pytest.approx(twonn_id(knn(x, 10)), rel=1e-3)  # N counts them
    many = np.vstack([x, x[:80]])  # 160 of 1080: beyond it
    assert np.isnan(twonn_id(knn(many, 10)))
    with pytest.raises(ValueError):
        _dadapy_twonn(many)


def test_block_sizes_follow_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A smaller CPU budget gives smaller blocks and the same neighbours."""
    from vae_core.analysis import distance_blocks

    cpu = torch.device("cpu")
    assert distance_blocks.block_rows(5000, cpu) == 1000  # n / MIN_BLOCKS under 256 MiB
    assert distance_blocks.block_rows(100_000, cpu) == 4096  # sqrt(256 MiB / 16 bytes)
    x = np.random.default_rng(11).normal(size=(600, 20))
    wide = knn(x, 10)
    monkeypatch.setattr(distance_blocks, "CPU_BLOCK_BYTES", 100 * 100 * distance_blocks.BYTES_PER_ENTRY)
    assert distance_blocks.block_rows(600, cpu) == 100
    np.testing.assert_array_equal(knn(x, 10).indices, wide.indices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_and_cpu_agree() -> None:
    rng = np.random.default_rng(12)
    a = rng.normal(size=(3000, 40)).astype(np.float32)
    b = np.hstack([a[:, :20], rng.normal(size=(3000, 20)).astype(np.float32)])
    cpu_a, gpu_a = knn(a, 20), knn(torch.from_numpy(a).cuda(), 20)
    assert gpu_a.indices.shape == cpu_a.indices.shape
    assert np.mean(gpu_a.indices[:, 1:] == cpu_a.indices[:, 1:]) > 0.999  # float32 rounding differs
    np.testing.assert_allclose(gpu_a.distances, cpu_a.distances, rtol=1e-4, atol=1e-5)
    nb_b = knn(b, 20)
    cpu = neighbour_ranks(cpu_a.nearest[None], nb_b, b)
    gpu = neighbour_ranks(cpu_a.nearest[None], knn(b, 20, device="cuda"), b, device="cuda")
    assert information_imbalance(gpu[0]) == pytest.approx(information_imbalance(cpu[0]), rel=1e-3)
