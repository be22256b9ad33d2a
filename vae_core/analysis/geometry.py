"""Intrinsic dimension (TwoNN, Gride) and information imbalance from k-nearest neighbours.

Pure functions of arrays. The neighbours of a representation are computed once (`knn`) and
reused for every estimate. The search walks the upper triangle of the distance matrix a
block at a time on the chosen device and uses each block for its rows and, transposed, for
its columns: every distance is computed once, half the work of whole rows
(distance_blocks.py). Where the N x N matrix fits the device's budget it is assembled and
the lists and the ranks of other spaces' neighbours are read off it, row strip by row
strip; otherwise the blocks are merged into running lists and the ranks counted as they
pass (`neighbour_search`, rank_counts.py). Ranks asked after a search are read off the
target's neighbour list, and only the points whose source neighbour is not in it have
their distance rows recomputed (`neighbour_ranks`).

Ties (duplicated points, discrete data) follow one rule, so that the values do not depend on
the order in which a search happens to return equal distances:
- A neighbour list orders equal distances by a random priority per point (a permutation of
  the points drawn from `seed`): a point's nearest neighbour nn(i) is, among the points at
  the smallest distance, the one of lowest priority, so it is uniform among them. When a
  list is tied from its first entry to its last, that point's row is recomputed so that the
  choice covers every tied point, listed or not.
- A rank is the mean of the ranks a tied block would take: with t = d_B(i, j),
  rank_B(i, j) = 1 + #{m != i : d_B(i, m) < t} + (#{m != i : d_B(i, m) = t} - 1) / 2,
  where the second count includes j itself; without ties it is the usual rank.
Ties are exact where the computed distances are: identical points (distance 0) and points on
a grid of step 2^-p, such as integers or 4-bit pixels k/16 (distance_blocks.py). Distances
that are equal only in exact arithmetic (pixels k/255) may be ordered by rounding, as in
dadapy, and then differently by different routes to the same rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from vae_core.analysis.distance_blocks import (
    SquaredDistances,
    as_points,
    block_budget,
    centre_,
    fits_whole,
    nearest_in_matrix,
    nearest_pass,
    resolve_device,
    whole_matrix,
)
from vae_core.analysis.rank_counts import RankCounter, count_ranks, ranks_from_distances

Points = np.ndarray | torch.Tensor
CHUNK_ROWS = 256  # distance rows recomputed at once (one GEMM against the points outside)


@dataclass
class Neighbours:
    """Sorted neighbour distances and indices, (N, k + 1); column 0 is the point itself."""

    distances: np.ndarray
    indices: np.ndarray

    @property
    def nearest(self) -> np.ndarray:
        return self.indices[:, 1]


def tie_priority(n: int, seed: int) -> torch.Tensor:
    """Each point's priority among equal distances: a seeded random permutation."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def _order_ties(d2: torch.Tensor, index: torch.Tensor, priority: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by distance, equal distances by priority."""
    by_priority = torch.argsort(priority[index], dim=1)
    d2, index = d2.gather(1, by_priority), index.gather(1, by_priority)
    by_distance = torch.sort(d2, dim=1, stable=True).indices
    return d2.gather(1, by_distance), index.gather(1, by_distance)


def _relist_tied_rows(distances: SquaredDistances, d2: torch.Tensor, index: torch.Tensor,
                      priority: torch.Tensor) -> None:
    """Rows whose whole list is one tie may have left tied points out: list them again from
    the full row, so that the k kept are those of lowest priority."""
    k = d2.shape[1]
    tied = torch.nonzero(d2[:, 0] == d2[:, -1]).flatten()
    if k == len(d2) - 1 or len(tied) == 0:
        return
    for rows in tied.split(max(1, block_budget(d2.device) // (16 * len(d2)))):
        full = distances.rows(rows)
        columns = torch.arange(len(d2), device=full.device).expand_as(full)
        row_d2, row_index = _order_ties(full, columns, priority)
        d2[rows], index[rows] = row_d2[:, :k], row_index[:, :k]


@dataclass
class NeighbourSearch:
    """One pass over a point set's distances: its neighbours, the ranks of other spaces'
    neighbours counted on the way, and (when asked) the whole squared-distance matrix."""

    neighbours: Neighbours
    ranks: np.ndarray | None
    distances: torch.Tensor | None


def knn(x: Points, k: int, block_rows: int | None = None, centre: bool = True,
        device: str | torch.device | None = None, seed: int = 0) -> Neighbours:
    """The k nearest neighbours of every point (Euclidean), equal distances ordered by the
    tie rule; computed on `device` (default: x's device, 'cpu' for arrays), in blocks of
    `block_rows` (default: as the device's memory allows)."""
    return neighbour_search(x, k, None, False, block_rows, centre, device, seed).neighbours


def neighbour_search(x: Points, k: int, sources: np.ndarray | None = None, keep_distances: bool = False,
                     block_rows: int | None = None, centre: bool = True,
                     device: str | torch.device | None = None, seed: int = 0) -> NeighbourSearch:
    """`knn`, and the tie-rule ranks in x of each row of `sources` ((S, N) nearest-neighbour
    indices in other spaces) from the same distances: no list to read them from, no row
    computed again. Where the N x N squared distances fit the device's budget they are
    computed whole (each block once, mirrored) and read row strip by row strip, and
    `keep_distances` returns them, for ranks asked later (`ranks_from_distances`); otherwise
    blocks are merged into running lists and the ranks counted as they pass (rank_counts.py)."""
    t = as_points(x, resolve_device(x, device))
    n = t.shape[0]
    if not 2 <= k < n:
        raise ValueError(f"k: need 2 <= k < N = {n}, got {k}")
    distances = SquaredDistances(centre_(t.clone()) if centre else t, block_rows)
    sources = None if sources is None or len(sources) == 0 else np.atleast_2d(sources)
    matrix, ranks = None, None
    if fits_whole(distances.x):
        matrix = whole_matrix(distances)
        d2, index = nearest_in_matrix(matrix, k, distances.slices[0].stop)
        if sources is not None:
            ranks = ranks_from_distances(matrix, np.arange(n), sources)
    else:
        counter = None if sources is None else \
            RankCounter(distances, np.arange(n), sources, np.ones(sources.shape, dtype=bool))
        running = nearest_pass(distances, k, counter)
        d2, index = running.d2, running.index
        ranks = None if counter is None else counter.ranks()
    priority = tie_priority(n, seed).to(t.device)
    d2, index = _order_ties(d2, index, priority)
    _relist_tied_rows(distances, d2, index, priority)
    neighbours = Neighbours(np.hstack([np.zeros((n, 1)), d2.double().sqrt().cpu().numpy()]),
                            np.hstack([np.arange(n)[:, None], index.cpu().numpy()]))
    return NeighbourSearch(neighbours, ranks, matrix if keep_distances else None)


def twonn_id(neighbours: Neighbours, mu_fraction: float = 0.9) -> float:
    """TwoNN (Facco et al. 2017) as dadapy's compute_id_2NN: the lowest `mu_fraction` of the
    sorted log(r2/r1) fitted to -log(1 - i/N) by a line through the origin.

    Duplicates as in dadapy: a point whose first neighbour is at distance 0 has mu = inf (nan
    when the second is too); it stays in N and sorts above every finite mu, among those the
    fit drops. When more than that dropped share of the points have a duplicate, dadapy's
    fit fails (infinite values); here the ID is nan."""
    r1, r2 = neighbours.distances[:, 1], neighbours.distances[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mu = np.sort(np.log(r2 / r1))
    n = len(log_mu)
    n_eff = int(n * mu_fraction)
    x = log_mu[:n_eff]
    if not np.isfinite(x).all():
        return float("nan")
    y = -np.log(1.0 - np.arange(1, n_eff + 1) / n)
    return float(np.dot(x, y) / np.dot(x, x))


def _gride_loglik(d: float, log_mu: np.ndarray, n1: int, n2: int) -> float:
    """log-likelihood of mu = r_n2 / r_n1 (Denti et al. 2022), up to a constant in d, with
    dadapy's (N - 1) in place of N (its unbiased TwoNN limit)."""
    tail = np.log(-np.expm1(-d * log_mu)).sum() if n2 - n1 - 1 else 0.0
    return (len(log_mu) - 1) * math.log(d) + (n2 - n1 - 1) * tail - n1 * d * log_mu.sum()


def _drop_outlying_mus(mu: np.ndarray) -> np.ndarray:
    """dadapy's guard against near-duplicate points: drop mu >= q50 + 20 (q95 - q50)."""
    q95, q50 = np.percentile(mu, [95, 50])
    return mu[mu < q50 + 20 * (q95 - q50)]


def _gride_fit(log_mu: np.ndarray, n1: int, n2: int, d_max: float) -> tuple[float, float]:
    """The ML dimension and its error (inverse Fisher information); nan without data."""
    if len(log_mu) == 0:
        return float("nan"), float("nan")
    best = minimize_scalar(lambda d: -_gride_loglik(d, log_mu, n1, n2), bounds=(1e-3, d_max),
                           method="bounded", options={"xatol": 1e-7})
    d = float(best.x)
    mu_d = np.exp(-d * log_mu)
    fisher = len(log_mu) / d ** 2 + (n2 - n1 - 1) * np.sum(log_mu ** 2 * mu_d / (1 - mu_d) ** 2)
    return d, float(fisher ** -0.5)


def gride_curve(neighbours: Neighbours, range_max: int = 64, d_max: float = 1000.0
                ) -> dict[str, list[float]]:
    """Gride ML estimates at doubling neighbour ranks (n1, 2 n1), n1 = 1, 2, 4, ...: how the ID
    changes with scale. Returns ranks (n2), ids, errors (inverse Fisher information) and the
    mean distance of the neighbours involved. Points with r_n1 = 0 or r_n2 = r_n1 (duplicates)
    are left out; a scale where every point is such has a nan ID."""
    max_rank = min(range_max, neighbours.distances.shape[1] - 1)
    curve: dict[str, list[float]] = {"rank": [], "id": [], "error": [], "scale": []}
    for step in range(int(math.log2(max_rank))):
        n1, n2 = 2 ** step, 2 ** (step + 1)
        r_1, r_2 = neighbours.distances[:, n1], neighbours.distances[:, n2]
        keep = (r_1 > 0) & (r_2 > r_1)
        log_mu = np.log(_drop_outlying_mus(r_2[keep] / r_1[keep])) if keep.any() else np.empty(0)
        d, error = _gride_fit(log_mu, n1, n2, d_max)
        curve["rank"].append(n2)
        curve["id"].append(d)
        curve["error"].append(error)
        curve["scale"].append(float(np.mean([r_1, r_2])))
    return curve


def listed_ranks(sources: np.ndarray, target: Neighbours) -> tuple[np.ndarray, np.ndarray]:
    """Tie-rule ranks of the sources' neighbours that the target's list decides, and where it
    does not: the neighbour is not listed, or ties with the last entry (more may follow)."""
    listed_d, listed_i = target.distances[:, 1:], target.indices[:, 1:]
    match = listed_i[None] == sources[:, :, None]  # (S, N, k)
    found = match.any(-1)
    position = match.argmax(-1)
    t = np.take_along_axis(listed_d[None], position[..., None], -1)[..., 0]
    ranks = position + 1.0
    has_ties = np.flatnonzero((np.diff(listed_d, axis=1) == 0).any(1))
    if len(has_ties):
        row_d, row_t = listed_d[has_ties][None], t[:, has_ties, None]
        ranks[:, has_ties] = 1 + (row_d < row_t).sum(-1) + ((row_d == row_t).sum(-1) - 1) / 2
    complete = listed_d.shape[1] == len(listed_d) - 1
    decided = found & (complete | (t < listed_d[None, :, -1]))
    return np.where(decided, ranks, 0.0), ~decided


def neighbour_ranks(sources: np.ndarray, target: Neighbours, target_x: Points | Callable[[], Points],
                    chunk_rows: int = CHUNK_ROWS, centre: bool = True,
                    device: str | torch.device | None = None) -> np.ndarray:
    """rank_B(i, nn_A(i)) (tie rule above) for each row of `sources` ((S, N) nearest-neighbour
    indices in the spaces A) in the target space B, as floats (halves under ties).

    Read from B's neighbour list where it decides; otherwise counted from the recomputed
    distance rows of the points that need them (rank_counts.py), `chunk_rows` rows at a time.
    `target_x` may be a loader, called only when some rank is not decided by the list."""
    sources = np.atleast_2d(sources)
    ranks, undecided = listed_ranks(sources, target)
    missing_rows = np.flatnonzero(undecided.any(0))
    if len(missing_rows) == 0:
        return ranks
    x = target_x() if callable(target_x) else target_x
    points = as_points(x, resolve_device(x, device))
    distances = SquaredDistances(centre_(points.clone()) if centre else points)
    need = undecided[:, missing_rows]
    counted = count_ranks(distances, missing_rows, sources, need, chunk_rows)
    ranks[:, missing_rows] = np.where(need, counted, ranks[:, missing_rows])
    return ranks


def information_imbalance(ranks: np.ndarray) -> np.ndarray | float:
    """Delta(A -> B) = 2/N * mean_i rank_B(i, nn_A(i)) (one value per row of ranks)."""
    ranks = np.asarray(ranks)
    value = ranks.mean(-1) * 2.0 / ranks.shape[-1]
    return float(value) if np.ndim(value) == 0 else value

