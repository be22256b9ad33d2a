"""ID and information imbalance against dadapy and against data of known dimension."""

from __future__ import annotations

import numpy as np
import pytest
from dadapy import Data
from dadapy._utils.metric_comparisons import _return_imbalance
from sklearn.datasets import make_swiss_roll

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
    from vae_core.analysis import geometry

    x = np.random.default_rng(7).normal(size=(700, 300)).astype(np.float32)
    fast = knn(x, 30, block_rows=256)
    monkeypatch.setattr(geometry, "ONEDNN", False)
    plain = knn(x, 30, block_rows=256)
    np.testing.assert_array_equal(fast.indices, plain.indices)
    np.testing.assert_allclose(fast.distances, plain.distances, rtol=1e-5)
