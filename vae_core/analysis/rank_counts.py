"""Ranks that a neighbour list cannot give, counted from recomputed distance rows.

rank_B(i, j) under the tie rule (geometry.py) needs #{m : d_B(i, m) < t} and #{m : d_B(i, m) = t}
over the whole row i, t = d_B(i, j). Only the rows that need it are recomputed, and their
distances to one another only once: the rows are cut into chunks, and each chunk meets the
points outside the set in one GEMM and every later chunk in one GEMM whose transpose serves
that chunk's rows too. Each count is accumulated piece by piece against a threshold taken
beforehand from the points' coordinates (exact for points on a grid and identical points);
j's own entry is taken back out of the counts, so rounding between that
threshold and the GEMM's value of d_B(i, j) cannot count j as closer than itself.
"""

from __future__ import annotations

import numpy as np
import torch

from vae_core.analysis.distance_blocks import SquaredDistances


def _thresholds(distances: SquaredDistances, rows: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
    """d^2(rows[r], neighbours[q, r]) as |a|^2 + |b|^2 - 2 a.b, clamped at 0 (exact for
    points on a grid), 0 for identical points, (Q, R); NaN where the neighbour is -1."""
    x, norms = distances.x, distances.norms
    chunk = max(1, 2 ** 20 // x.shape[1])  # 4 MiB pieces: no fresh pages per piece
    t = torch.full(neighbours.shape, float("nan"), dtype=x.dtype, device=x.device)
    every = len(rows) == len(x)  # rows are all the points, in order: slices, not gathers
    for q, nn in enumerate(neighbours):
        for part in torch.nonzero(nn >= 0).flatten().split(chunk):
            i, j = rows[part], nn[part]
            near = x[part[0]:part[-1] + 1] if every and len(part) == part[-1] - part[0] + 1 else x[i]
            t[q, part] = norms[i] + norms[j] - 2 * (near * x[j]).sum(1)
    t.clamp_(min=0.0)
    if distances.groups is not None:
        same = distances.groups[rows][None] == distances.groups[neighbours.clamp(min=0)]
        t.masked_fill_(same & (neighbours >= 0), 0.0)
    return t


def _distinct(sources: torch.Tensor, need: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct needed neighbours of each row, (Q, R) padded with -1, and for each
    (s, r) its query q: sources that agree on a row's neighbour share one count."""
    asked = torch.where(need, sources, -1)
    ordered, order = torch.sort(asked, dim=0)
    new = torch.ones_like(ordered, dtype=torch.bool)
    new[1:] = ordered[1:] != ordered[:-1]
    new &= ordered >= 0
    query_sorted = (new.cumsum(0) - 1).clamp_(min=0)
    count = max(1, int(new.sum(0).max()))
    queries = torch.full((count + 1, sources.shape[1]), -1, dtype=sources.dtype, device=sources.device)
    queries.scatter_(0, torch.where(ordered >= 0, query_sorted, count), ordered)  # row `count`: discarded
    return queries[:count], torch.empty_like(order).scatter_(0, order, query_sorted)


class RankCounter:
    """Tie-rule ranks of the pairs (rows[r], sources[s, r]) where need[s, r], one count per
    distinct pair. With t the threshold, each distance d adds 1 + sign(t - d): 2 if closer,
    1 if tied, 0 if farther (and for the point itself, at +inf); so 1 + (sum - the
    neighbour's own term) / 2 is 1 + #{closer} + #{tied, the neighbour excluded} / 2, one
    pass per piece and pair."""

    def __init__(self, distances: SquaredDistances, rows: np.ndarray, sources: np.ndarray,
                 need: np.ndarray) -> None:
        device = distances.x.device
        self.rows = torch.as_tensor(rows, device=device)
        self.need = torch.as_tensor(need, device=device)
        self.queries, self.query_of = _distinct(torch.as_tensor(sources, device=device), self.need)
        self.t = _thresholds(distances, self.rows, self.queries)
        self.asked = self.queries >= 0
        self.position = torch.full((len(distances.x),), -1, dtype=torch.int64, device=device)
        self.position[self.rows] = torch.arange(len(rows), device=device)
        self.sums = torch.zeros(self.t.shape, dtype=torch.float64, device=device)

    def add(self, d2: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> None:
        """Count one piece of distances (some of the rows x the points `columns`)."""
        at = self.position[rows]
        column_of = torch.full_like(self.position, -1)
        column_of[columns] = torch.arange(len(columns), device=d2.device)
        for q in torch.nonzero(self.asked[:, at].any(1)).flatten().tolist():
            t = self.t[q, at]
            terms = torch.sub(t[:, None], d2).sign_().sum(1).double() + d2.shape[1]
            own = column_of[self.queries[q, at].clamp(min=0)]  # the neighbour's own entry, if here
            here = torch.nonzero((own >= 0) & self.asked[q, at]).flatten()
            terms[here] -= 1 + torch.sign(t[here] - d2[here, own[here]]).double()
            self.sums[q, at] += terms

    def ranks(self) -> np.ndarray:
        """(S, R): 1 + #{closer} + #{tied, the neighbour excluded} / 2; NaN where not needed."""
        ranks = (1 + self.sums / 2).gather(0, self.query_of)
        return ranks.masked_fill_(~self.need, float("nan")).cpu().numpy()


def count_ranks(distances: SquaredDistances, rows: np.ndarray, sources: np.ndarray, need: np.ndarray,
                chunk_rows: int) -> np.ndarray:
    """Tie-rule ranks (S, len(rows)) of sources[s, rows[r]] in row rows[r] where need[s, r]
    (NaN elsewhere); `rows` sorted. Every distance between two of the rows is computed once."""
    counter = RankCounter(distances, rows, sources[:, rows], need)
    device = distances.x.device
    outside = torch.ones(len(distances.x), dtype=torch.bool, device=device)
    outside[counter.rows] = False
    rest = torch.nonzero(outside).flatten()
    rest_x = distances.x[rest]
    chunks = counter.rows.split(chunk_rows)
    for a, chunk in enumerate(chunks):
        if len(rest):
            counter.add(distances.between(chunk, rest, rest_x), chunk, rest)
        for b, other in enumerate(chunks[a:], start=a):
            d2 = distances.between(chunk, other)
            if a == b:
                d2.fill_diagonal_(float("inf"))
            counter.add(d2, chunk, other)
            if a != b:
                counter.add(d2.T, other, chunk)
    return counter.ranks()


def ranks_from_distances(d2: torch.Tensor, rows: np.ndarray, neighbours: np.ndarray,
                         chunk_rows: int = 256) -> np.ndarray:
    """Tie-rule ranks of neighbours[..., r] in row rows[r] of a whole squared-distance matrix
    (+inf on its diagonal): (1 + sum over m of (1 + sign(t - d_m))) / 2, t = d(rows[r],
    neighbours[..., r]), the neighbour's own term counting 1 (RankCounter). `neighbours`:
    (R,) or (S, R); every source is counted while a chunk of rows is in cache."""
    many = np.atleast_2d(neighbours)
    ranks = np.empty(many.shape)
    every = np.array_equal(rows, np.arange(len(d2)))  # all rows in order: slices, not copies
    for start in range(0, len(rows), chunk_rows):
        part = slice(start, start + chunk_rows)
        block = d2[part] if every else d2[torch.as_tensor(rows[part], device=d2.device)]
        columns = torch.as_tensor(many[:, part].T.copy(), device=d2.device)  # (rows, S)
        for s, t in enumerate(block.gather(1, columns).T):
            signs = torch.sub(t[:, None], block).sign_().sum(1)  # integers: exact below 2^24
            ranks[s, part] = ((1 + d2.shape[1] + signs.double()) / 2).cpu().numpy()
    return ranks if np.ndim(neighbours) == 2 else ranks[0]
