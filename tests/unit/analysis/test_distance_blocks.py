"""Distance blocks and rank counts against brute force over the full distance matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.analysis import distance_blocks
from vae_core.analysis.distance_blocks import SquaredDistances, duplicate_groups
from vae_core.analysis.geometry import knn, neighbour_ranks, neighbour_search
from vae_core.analysis.rank_counts import count_ranks, ranks_from_distances


def _brute_ranks(x: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """rank of neighbours[s, i] among the distances from i (no ties in continuous data)."""
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    t = np.take_along_axis(d[None], neighbours[..., None], -1)
    return 1 + (d[None] < t).sum(-1)


def test_duplicate_groups_are_the_identical_rows() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(120, 33)).astype(np.float32)
    x = torch.from_numpy(base[rng.integers(0, 120, size=400)])  # many copies, unordered
    groups = duplicate_groups(x).numpy()
    _, first, inverse = np.unique(x.numpy(), axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(groups, first[inverse.ravel()])
    assert duplicate_groups(torch.from_numpy(base)) is None


@pytest.mark.parametrize(("scale", "dtype"), [(1, torch.float32), (4097, torch.float32), (1, torch.float64)])
def test_blocks_are_exact_on_integer_points(scale: int, dtype: torch.dtype) -> None:
    """Integer-valued points: every block equals the integer distances exactly (4097^2
    exceeds float32's exact range: the points move to float64); self +inf."""
    x = np.random.default_rng(1).integers(-3, 4, size=(150, 6)) * scale
    distances = SquaredDistances(torch.tensor(x, dtype=dtype), rows_per_block=40)
    exact = ((x[:, None].astype(np.int64) - x[None]) ** 2).sum(-1).astype(float)
    np.fill_diagonal(exact, np.inf)
    block = distances.block(slice(30, 90), slice(0, 150)).double().numpy()
    np.testing.assert_array_equal(block, exact[30:90])


def test_blocks_of_float_points_with_copies() -> None:
    """Copies are at exactly 0; other distances as float64 differences to float32 rounding."""
    rng = np.random.default_rng(2)
    base = rng.normal(size=(100, 40)).astype(np.float32) + 5
    x = np.vstack([base, base[:25]])
    distances = SquaredDistances(torch.from_numpy(x - x.mean(0)))
    d2 = distances.rows(torch.arange(125)).double().numpy()
    assert np.all(d2[np.arange(25), np.arange(100, 125)] == 0)
    assert np.all(np.isinf(np.diag(d2)))
    exact = ((x[:, None].astype(float) - x[None]) ** 2).sum(-1)
    off = ~np.eye(125, dtype=bool)
    np.testing.assert_allclose(d2[off], exact[off], rtol=2e-5, atol=1e-3)


@pytest.mark.parametrize("whole", [True, False])
def test_ranks_counted_in_the_search_equal_brute_force(whole: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the whole matrix (kept, for later ranks) or, when it does not fit the budget,
    counted as the blocks pass; both equal a brute-force count and the list-or-recount route."""
    if not whole:
        monkeypatch.setattr(distance_blocks, "CPU_BLOCK_BYTES", 96 * 96 * distance_blocks.BYTES_PER_ENTRY)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(400, 5)), rng.normal(size=(400, 7))
    sources = np.stack([knn(a, 5).nearest, knn(a, 5).indices[:, 3], rng.integers(0, 400, 400)])
    sources[2] = np.where(sources[2] == np.arange(400), (sources[2] + 1) % 400, sources[2])
    search = neighbour_search(b, 8, sources, keep_distances=True, block_rows=96)
    np.testing.assert_array_equal(search.ranks, _brute_ranks(b, sources))
    np.testing.assert_array_equal(neighbour_ranks(sources, search.neighbours, b), search.ranks)
    assert (search.distances is not None) == whole
    if whole:
        np.testing.assert_array_equal(ranks_from_distances(search.distances, np.arange(400), sources),
                                      search.ranks)


def test_recount_of_chosen_rows_with_shared_neighbours() -> None:
    """Sources that agree share a count; rows outside `need` are left NaN; chunks of 23 rows
    meet one another once."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 6))
    nearest = knn(rng.normal(size=(300, 3)), 4).nearest
    sources = np.stack([nearest, nearest, rng.permutation(300)])
    sources[2] = np.where(sources[2] == np.arange(300), (sources[2] + 1) % 300, sources[2])
    rows = np.sort(rng.choice(300, size=170, replace=False))
    need = rng.random((3, 170)) < 0.7
    distances = SquaredDistances(torch.from_numpy(x - x.mean(0)))
    counted = count_ranks(distances, rows, sources, need, chunk_rows=23)
    expected = _brute_ranks(x, sources)[:, rows].astype(float)
    np.testing.assert_array_equal(counted[need], expected[need])
    assert np.isnan(counted[~need]).all()
