"""Intrinsic dimension (TwoNN, Gride) and information imbalance from k-nearest neighbours.

Pure functions of arrays. The neighbours of a representation are computed once (`knn`) and
reused for every estimate. `knn` walks the upper triangle of the distance matrix a block at
a time and uses each block for its rows and, transposed, for its columns: every distance is
computed once, half the work of whole rows, and no N x N matrix is held. The information
imbalance reads ranks off the target's neighbour list; only the points whose source
neighbour is not in it have their distance rows recomputed, a chunk at a time, to count the
closer points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

CHUNK_ROWS = 512  # rows of full distances recomputed at once to count ranks
BLOCK_ROWS = 1024  # side of the distance blocks knn computes
COUNT_ELEMENTS = 2 ** 25  # rows x sources x N comparisons held at once when counting ranks


@dataclass
class Neighbours:
    """Sorted neighbour distances and indices, (N, k + 1); column 0 is the point itself."""

    distances: np.ndarray
    indices: np.ndarray

    @property
    def nearest(self) -> np.ndarray:
        return self.indices[:, 1]


def _as_tensor(x: np.ndarray | torch.Tensor, centre: bool) -> torch.Tensor:
    """(N, D) float, centred unless the caller already did (distances do not change; the float32
    cancellation in |a|^2 + |b|^2 - 2ab shrinks). Centring copies; a centred input is shared."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    t = t.reshape(t.shape[0], -1)
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    return t - t.mean(0, keepdim=True) if centre else t


def squared_norms(x: torch.Tensor) -> torch.Tensor:
    """|x_i|^2 per row, without the (N, D) temporary that (x * x).sum(1) makes."""
    return torch.linalg.vector_norm(x, dim=1) ** 2


def count_closer(d2: torch.Tensor, neighbours: np.ndarray) -> np.ndarray:
    """rank = 1 + #{j != i : d(i, j) < d(i, neighbours[s, i])}, (S, rows), from distance rows."""
    thresholds = d2.gather(1, torch.as_tensor(neighbours.T.copy()))  # (rows, S)
    return ((d2[:, None, :] < thresholds[:, :, None]).sum(-1) + 1).numpy().T


class _RunningNearest:
    """The k smallest squared distances (and their columns) seen so far for every row."""

    def __init__(self, n: int, k: int) -> None:
        self.k = k
        self.d2 = torch.full((n, k), float("inf"))
        self.index = torch.zeros((n, k), dtype=torch.int64)

    def update(self, rows: slice, d2: torch.Tensor, first_column: int) -> None:
        """Merge a block of distances (rows x consecutive columns from `first_column`)."""
        take = min(self.k, d2.shape[1])
        values, columns = torch.topk(d2, take, dim=1, largest=False, sorted=False)
        merged = torch.cat([self.d2[rows], values], 1)
        candidates = torch.cat([self.index[rows], columns + first_column], 1)
        self.d2[rows], position = torch.topk(merged, self.k, dim=1, largest=False, sorted=False)
        self.index[rows] = candidates.gather(1, position)

    def sorted(self) -> Neighbours:
        d2, order = torch.sort(self.d2, dim=1, stable=True)
        index = self.index.gather(1, order)
        n = len(d2)
        return Neighbours(np.hstack([np.zeros((n, 1)), d2.double().sqrt().numpy()]),
                          np.hstack([np.arange(n)[:, None], index.numpy()]))


ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch._C._nn, "mkldnn_linear")


def _gemm_operand(x: torch.Tensor) -> torch.Tensor:
    """x in oneDNN's layout where torch has it (float32): its fp32 GEMM is IEEE like MKL's and,
    on AMD CPUs (where MKL takes its slower path), about twice as fast (benchmarks/geometry.py)."""
    return x.to_mkldnn() if ONEDNN and x.dtype == torch.float32 else x


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a b^T for two `_gemm_operand`s, dense."""
    return torch._C._nn.mkldnn_linear(a, b).to_dense() if a.is_mkldnn else a @ b.T


class _Distances:
    """Squared Euclidean distances within one point set, |a|^2 + |b|^2 - 2 a.b, clamped at 0,
    a point's distance to itself +inf. GEMM operands are made on first use and kept."""

    def __init__(self, x: torch.Tensor, block_rows: int = BLOCK_ROWS) -> None:
        self.x = x
        self.norms = squared_norms(x)
        n = x.shape[0]
        self.slices = [slice(a, min(a + block_rows, n)) for a in range(0, n, block_rows)]
        self._blocks: dict[int, torch.Tensor] = {}
        self._whole: torch.Tensor | None = None

    def _block(self, position: int) -> torch.Tensor:
        if position not in self._blocks:
            self._blocks[position] = _gemm_operand(self.x[self.slices[position]])
        return self._blocks[position]

    def block(self, a: int, b: int) -> torch.Tensor:
        """Between row blocks a and b (`slices`)."""
        rows, columns = self.slices[a], self.slices[b]
        d2 = torch.add(self.norms[rows, None], self.norms[None, columns])
        d2.sub_(_product(self._block(a), self._block(b)), alpha=2.0).clamp_(min=0.0)
        if a == b:
            d2.fill_diagonal_(float("inf"))
        return d2

    def rows(self, rows: torch.Tensor) -> torch.Tensor:
        """From the points `rows` to every point."""
        if self._whole is None:
            self._whole = _gemm_operand(self.x)
        d2 = torch.add(self.norms[rows, None], self.norms[None, :])
        d2.sub_(_product(_gemm_operand(self.x[rows]), self._whole), alpha=2.0).clamp_(min=0.0)
        d2[torch.arange(len(rows)), rows] = float("inf")
        return d2


def knn(x: np.ndarray | torch.Tensor, k: int, block_rows: int = BLOCK_ROWS,
        centre: bool = True) -> Neighbours:
    """The k nearest neighbours of every point (Euclidean): each block of the upper triangle
    of the squared-distance matrix is computed once and merged into both its rows' and its
    columns' running neighbour lists."""
    t = _as_tensor(x, centre)
    n = t.shape[0]
    if not 2 <= k < n:
        raise ValueError(f"k: need 2 <= k < N = {n}, got {k}")
    running = _RunningNearest(n, k)
    distances = _Distances(t, block_rows)
    for a, rows in enumerate(distances.slices):
        for b, columns in enumerate(distances.slices[a:], start=a):
            d2 = distances.block(a, b)
            running.update(rows, d2, columns.start)
            if a != b:
                running.update(columns, d2.T, rows.start)
    return running.sorted()


def twonn_id(neighbours: Neighbours, mu_fraction: float = 0.9) -> float:
    """TwoNN (Facco et al. 2017) as dadapy's compute_id_2NN: the lowest `mu_fraction` of the
    sorted log(r2/r1) fitted to -log(1 - i/N) by a line through the origin. Points whose
    first neighbour is a duplicate (r1 = 0) are left out."""
    r1, r2 = neighbours.distances[:, 1], neighbours.distances[:, 2]
    keep = r1 > 0
    log_mu = np.sort(np.log(r2[keep] / r1[keep]))
    n = len(log_mu)
    n_eff = int(n * mu_fraction)
    x = log_mu[:n_eff]
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


def gride_curve(neighbours: Neighbours, range_max: int = 64, d_max: float = 1000.0
                ) -> dict[str, list[float]]:
    """Gride ML estimates at doubling neighbour ranks (n1, 2 n1), n1 = 1, 2, 4, ...: how the ID
    changes with scale. Returns ranks (n2), ids, errors (inverse Fisher information) and the
    mean distance of the neighbours involved."""
    max_rank = min(range_max, neighbours.distances.shape[1] - 1)
    curve: dict[str, list[float]] = {"rank": [], "id": [], "error": [], "scale": []}
    for step in range(int(math.log2(max_rank))):
        n1, n2 = 2 ** step, 2 ** (step + 1)
        r_1, r_2 = neighbours.distances[:, n1], neighbours.distances[:, n2]
        keep = (r_1 > 0) & (r_2 > r_1)
        log_mu = np.log(_drop_outlying_mus(r_2[keep] / r_1[keep]))
        best = minimize_scalar(lambda d, lm=log_mu, a=n1, b=n2: -_gride_loglik(d, lm, a, b),
                               bounds=(1e-3, d_max), method="bounded", options={"xatol": 1e-7})
        d = float(best.x)
        mu_d = np.exp(-d * log_mu)
        fisher = len(log_mu) / d ** 2 + (n2 - n1 - 1) * np.sum(log_mu ** 2 * mu_d / (1 - mu_d) ** 2)
        curve["rank"].append(n2)
        curve["id"].append(d)
        curve["error"].append(float(fisher ** -0.5))
        curve["scale"].append(float(np.mean([r_1, r_2])))
    return curve


Points = np.ndarray | torch.Tensor


def neighbour_ranks(sources: np.ndarray, target: Neighbours, target_x: Points | Callable[[], Points],
                    chunk_rows: int = CHUNK_ROWS, centre: bool = True) -> np.ndarray:
    """rank_B(i, nn_A(i)) for each row of `sources` ((S, N) nearest-neighbour indices in the
    spaces A) in the target space B: 1 + the number of j != i with d_B(i, j) < d_B(i, nn_A(i)).

    Read from B's neighbour list where nn_A(i) is in it; otherwise counted from recomputed
    distance rows of the points that need them, never more than `chunk_rows` rows at once
    (fewer when many sources would make the comparison temporary large).
    `target_x` may be a loader, called only when some rank is not in the list."""
    sources = np.atleast_2d(sources)
    match = target.indices[None, :, 1:] == sources[:, :, None]  # (S, N, k)
    found = match.any(-1)
    ranks = np.where(found, match.argmax(-1) + 1, 0).astype(np.int64)
    missing_rows = np.flatnonzero(~found.all(0))
    if len(missing_rows):
        distances = _Distances(_as_tensor(target_x() if callable(target_x) else target_x, centre))
        chunk = max(1, min(chunk_rows, COUNT_ELEMENTS // (len(sources) * len(found[0]))))
        for start in range(0, len(missing_rows), chunk):
            rows = torch.as_tensor(missing_rows[start:start + chunk])
            counted = count_closer(distances.rows(rows), sources[:, rows.numpy()])
            block = ranks[:, rows.numpy()]
            ranks[:, rows.numpy()] = np.where(block == 0, counted, block)
    return ranks


def information_imbalance(ranks: np.ndarray) -> np.ndarray | float:
    """Delta(A -> B) = 2/N * mean_i rank_B(i, nn_A(i)) (one value per row of ranks)."""
    ranks = np.asarray(ranks)
    value = ranks.mean(-1) * 2.0 / ranks.shape[-1]
    return float(value) if np.ndim(value) == 0 else value

