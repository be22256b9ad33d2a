"""Squared Euclidean distances within one point set, a block at a time, on any torch device,
and the running k smallest distances per point that the neighbour search merges blocks into.

A block is |a|^2 - 2 (a.b - |b|^2 / 2): one GEMM with -|b|^2 / 2 as its bias (oneDNN's
float32 GEMM on CPU where torch exposes it: IEEE like MKL's and, on AMD CPUs where MKL takes
its slower path, about twice as fast, benchmarks/geometry.py; addmm elsewhere: MKL for
float64, cuBLAS on CUDA), then one pass adding |a|^2. Two rules make ties that are exact in
the data come out exact in the computed distances (the information imbalance's tie rule, in
geometry.py, relies on them):
- identical points are at distance exactly 0, not at the formula's rounding residue;
- points on a grid of step 2^-p (integers, p = 0; 4-bit pixels k/16, p = 4; p <= 8) are
  centred by a vector on the grid and their distances computed in a float type that holds
  every partial sum exactly (float32 below 2^24 steps^2, float64 above).
Other equal distances may differ by rounding. The block side follows the device's free
memory (CUDA) or a fixed budget (CPU), at most N / MIN_BLOCKS so that the blocks on the
diagonal, which hold both triangles, stay a small share of the work.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch

CPU_BLOCK_BYTES = 256 * 2 ** 20  # memory one block (and its temporaries) may take on CPU
CUDA_FREE_FRACTION = 0.25  # share of the GPU's free memory one block may take
BYTES_PER_ENTRY = 16  # a block's float distances plus the top-k and comparison temporaries
MIN_BLOCKS = 5
DIAGONAL_STRIPS = 4
MIN_BLOCK_ROWS = 256
SPARSE_SHARE = 8  # a block's entries below the running k-th are gathered when under 1/8 of a row
FLOAT32_EXACT = 2.0 ** 24  # integers up to this are exact in float32 (2^53 in float64)
MAX_GRID_BITS = 8  # points on a grid of step 2^-p, p <= this, get exact distances
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def resolve_device(x: object, device: str | torch.device | None) -> torch.device:
    """The device asked for, else the input's (a tensor's device; 'cpu' for arrays)."""
    if device is not None:
        return torch.device(device)
    return x.device if isinstance(x, torch.Tensor) else torch.device("cpu")


def block_budget(device: torch.device) -> int:
    """Bytes one block may take: a share of the free memory on CUDA, a fixed budget on CPU."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * CUDA_FREE_FRACTION)
    return CPU_BLOCK_BYTES


def block_rows(n: int, device: torch.device) -> int:
    """Side of the square blocks for n points: what the memory allows, at most n / MIN_BLOCKS
    (but not below MIN_BLOCK_ROWS, where the GEMM loses efficiency)."""
    by_memory = math.isqrt(block_budget(device) // BYTES_PER_ENTRY)
    by_symmetry = max(MIN_BLOCK_ROWS, math.ceil(n / MIN_BLOCKS))
    return max(1, min(n, by_memory, by_symmetry))


def as_points(x: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, D) float32 or float64 on the device, sharing x's memory where it can."""
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    t = t.reshape(t.shape[0], -1)
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    return t.to(device)


def _on_grid(x: torch.Tensor, scale: float) -> bool:
    """Whether every coordinate times `scale` is a whole number (the first row settles most
    float data)."""
    return all(torch.equal(c * scale, (c * scale).round()) for c in [x[:1], *x.split(1024)])


def grid_step(x: torch.Tensor) -> float | None:
    """The largest 2^-p (p <= MAX_GRID_BITS) such that every coordinate is a multiple of it,
    or None. Sums and products of such numbers are exact in floating point while they stay
    below FLOAT32_EXACT steps: integers (p = 0) and, say, 4-bit pixels k/16 (p = 4)."""
    return next((2.0 ** -p for p in range(MAX_GRID_BITS + 1) if _on_grid(x, 2.0 ** p)), None)


def centre_(x: torch.Tensor, mean: torch.Tensor | None = None) -> torch.Tensor:
    """Subtract the mean (or the `mean` given) in place: distances do not change, and the
    cancellation in |a|^2 + |b|^2 - 2 a.b shrinks; points on a grid (`grid_step`) subtract
    the mean rounded to the grid and stay on it."""
    mean = x.mean(0) if mean is None else mean.to(x.device)
    step = grid_step(x)
    return x.sub_((mean if step is None else (mean / step).round() * step).to(x.dtype))


def _squared_norms(x: torch.Tensor, exact: bool) -> torch.Tensor:
    """|x_i|^2 per row: summed term by term for points on a grid (exact), else from the norm (no
    (N, D) temporary)."""
    if exact:
        return torch.cat([(chunk * chunk).sum(1) for chunk in x.split(1024)])
    return torch.linalg.vector_norm(x, dim=1).square_()


def duplicate_groups(x: torch.Tensor) -> torch.Tensor | None:
    """For each point the index of the first identical point, or None if all are distinct.
    Rows are sorted by a random projection; neighbours in that order whose projections
    agree to within rounding are compared exactly."""
    direction = torch.randn(x.shape[1], generator=torch.Generator().manual_seed(0)).to(x)
    hashes = x @ direction
    order = torch.argsort(hashes)
    close = torch.nonzero(hashes[order].diff().abs() <= 1e-5 * hashes.abs().max()).flatten()
    same = torch.zeros(len(x) - 1, dtype=torch.bool, device=x.device)
    same[close] = (x[order[close]] == x[order[close + 1]]).all(1)
    if not same.any():
        return None
    run = torch.cat([torch.zeros(1, dtype=torch.int64, device=x.device), (~same).long().cumsum(0)])
    first = torch.full((len(x),), len(x), dtype=torch.int64, device=x.device)
    first = first.scatter_reduce(0, run, order, reduce="amin")
    return torch.empty_like(order).scatter_(0, order, first[run])


def gemm(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """a b^T + bias (per column): oneDNN for float32 on CPU where torch exposes it, else addmm."""
    if ONEDNN and a.dtype == torch.float32 and a.device.type == "cpu":
        return torch.ops.mkldnn._linear_pointwise(a, b, bias, "none", [], "")
    return torch.addmm(bias[None, :], a, b.T)


class SquaredDistances:
    """Squared distances within the points x, a block (or chosen rows) at a time, clamped at
    0; a point's distance to itself is +inf, to an identical point 0."""

    def __init__(self, x: torch.Tensor, rows_per_block: int | None = None) -> None:
        step = grid_step(x)
        exact = step is not None
        if exact and x.dtype == torch.float32 and \
                4 * (float(torch.linalg.vector_norm(x, dim=1).max()) / step) ** 2 >= FLOAT32_EXACT:
            x = x.double()  # a distance (at most 4 max |x|^2) or a partial sum could round
        self.x = x
        self.norms = _squared_norms(x, exact)
        self.half_norms = self.norms * -0.5
        self.groups = duplicate_groups(x)
        n = len(x)
        side = rows_per_block or block_rows(n, x.device)
        self.slices = [slice(a, min(a + side, n)) for a in range(0, n, side)]

    def between(self, rows: slice | torch.Tensor, columns: slice | torch.Tensor,
                columns_x: torch.Tensor | None = None) -> torch.Tensor:
        """max(0, |a|^2 - 2 (a.b - |b|^2 / 2)), the inner term one GEMM with a bias; identical
        points at exactly 0. `columns_x`: the columns' coordinates, where the caller holds them."""
        columns_x = self.x[columns] if columns_x is None else columns_x
        product = gemm(self.x[rows], columns_x, self.half_norms[columns])
        d2 = torch.add(self.norms[rows, None], product, alpha=-2.0, out=product).clamp_(min=0.0)
        if self.groups is not None:
            d2.masked_fill_(self.groups[rows, None] == self.groups[None, columns], 0.0)
        return d2

    def block(self, rows: slice, columns: slice) -> torch.Tensor:
        """Between two ranges of points."""
        d2 = self.between(rows, columns)
        if max(rows.start, columns.start) < min(rows.stop, columns.stop):  # the ranges overlap
            d2.diagonal(rows.start - columns.start).fill_(float("inf"))
        return d2

    def rows(self, rows: torch.Tensor) -> torch.Tensor:
        """From the points `rows` to every point."""
        d2 = self.between(rows, slice(None))
        d2[torch.arange(len(rows), device=d2.device), rows] = float("inf")
        return d2


class RunningNearest:
    """The k smallest squared distances (and their columns) seen so far for every row. Once a
    row's list is full, only a block's entries below its current k-th distance are merged:
    after the first blocks they are few, and a comparison finds them faster than a top-k."""

    def __init__(self, n: int, k: int, device: torch.device, dtype: torch.dtype) -> None:
        self.k = k
        self.d2 = torch.full((n, k), float("inf"), device=device, dtype=dtype)
        self.index = torch.zeros((n, k), dtype=torch.int64, device=device)

    def update(self, rows: slice, d2: torch.Tensor, first_column: int) -> None:
        """Merge a block of distances (rows x consecutive columns from `first_column`)."""
        kth = self.d2[rows].amax(1, keepdim=True)
        if not torch.isfinite(kth).all():  # some list is not full yet
            self._merge_smallest(rows, d2, first_column)
            return
        row, column = (d2 < kth).nonzero(as_tuple=True)
        if len(row) == 0:
            return
        counts = torch.bincount(row, minlength=len(d2))
        if int(counts.max()) * SPARSE_SHARE > d2.shape[1]:
            self._merge_smallest(rows, d2, first_column)
        else:
            self._merge_hits(rows.start, d2, first_column, row, column, counts)

    def _merge_smallest(self, rows: slice, d2: torch.Tensor, first_column: int) -> None:
        """Merge each row's k smallest entries of the block."""
        values, columns = torch.topk(d2, min(self.k, d2.shape[1]), dim=1, largest=False, sorted=False)
        self._merge(torch.arange(rows.start, rows.stop, device=d2.device), values, columns + first_column)

    def _merge_hits(self, first_row: int, d2: torch.Tensor, first_column: int, row: torch.Tensor,
                    column: torch.Tensor, counts: torch.Tensor) -> None:
        """Merge the entries (row, column) of the block, few per row, padded to the most."""
        picked = torch.nonzero(counts).flatten()
        slot_of_row = torch.zeros_like(counts)
        slot_of_row[picked] = torch.arange(len(picked), device=d2.device)
        first_hit = counts.cumsum(0) - counts
        slots = (slot_of_row[row], torch.arange(len(row), device=d2.device) - first_hit[row])
        values = torch.full((len(picked), int(counts.max())), float("inf"), device=d2.device, dtype=d2.dtype)
        columns = torch.zeros(values.shape, dtype=torch.int64, device=d2.device)
        values[slots] = d2[row, column]
        columns[slots] = column + first_column
        self._merge(picked + first_row, values, columns)

    def _merge(self, rows: torch.Tensor, values: torch.Tensor, columns: torch.Tensor) -> None:
        merged = torch.cat([self.d2[rows], values], 1)
        candidates = torch.cat([self.index[rows], columns], 1)
        kept, position = torch.topk(merged, self.k, dim=1, largest=False, sorted=False)
        self.d2[rows], self.index[rows] = kept, candidates.gather(1, position)


class PieceCounter(Protocol):
    def add(self, d2: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> None: ...


def nearest_pass(distances: SquaredDistances, k: int, counter: PieceCounter | None = None
                 ) -> RunningNearest:
    """Each block of the upper triangle computed once and merged into both its rows' and,
    transposed, its columns' running lists (and handed to `counter` both ways): half the
    products of whole rows. A diagonal block is computed as a staircase of DIAGONAL_STRIPS
    strips, each against itself and the strips below it (5/8 of the square for 4), and
    merged whole. For point sets whose whole matrix does not fit (`fits_whole`)."""
    running = RunningNearest(len(distances.x), k, distances.x.device, distances.x.dtype)

    def merge(rows: slice, columns: slice, d2: torch.Tensor) -> None:
        running.update(rows, d2, columns.start)
        if counter is not None:
            counter.add(d2, _indices(rows, d2.device), _indices(columns, d2.device))

    for a, rows in enumerate(distances.slices):
        merge(rows, rows, _diagonal_block(distances, rows))
        for columns in distances.slices[a + 1:]:
            d2 = distances.block(rows, columns)
            merge(rows, columns, d2)
            merge(columns, rows, d2.T)
    return running


def fits_whole(x: torch.Tensor) -> bool:
    """Whether the N x N squared distances of x fit the device's block budget."""
    return len(x) ** 2 * x.element_size() <= block_budget(x.device)


def whole_matrix(distances: SquaredDistances) -> torch.Tensor:
    """The N x N squared distances (+inf on the diagonal), each block of the upper triangle
    (staircase on the diagonal) computed once and mirrored: neighbour lists and ranks are
    then read off it with one pass per row strip, with no running lists to merge, and every
    rank of a pair sees the same value of its distance."""
    x = distances.x
    matrix = torch.empty((len(x), len(x)), dtype=x.dtype, device=x.device)
    for a, rows in enumerate(distances.slices):
        matrix[rows, rows] = _diagonal_block(distances, rows)
        for columns in distances.slices[a + 1:]:
            d2 = distances.block(rows, columns)
            matrix[rows, columns] = d2
            matrix[columns, rows] = d2.T
    return matrix


def nearest_in_matrix(matrix: torch.Tensor, k: int, strip_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's k smallest squared distances and their columns (unsorted), a strip at a time."""
    found = [torch.topk(strip, k, dim=1, largest=False, sorted=False) for strip in matrix.split(strip_rows)]
    return torch.cat([f.values for f in found]), torch.cat([f.indices for f in found])


def _diagonal_block(distances: SquaredDistances, rows: slice) -> torch.Tensor:
    """The distances within `rows`, the strips of the staircase mirrored into a square."""
    size = rows.stop - rows.start
    square = torch.empty((size, size), dtype=distances.x.dtype, device=distances.x.device)
    edges = sorted({size * i // DIAGONAL_STRIPS for i in range(DIAGONAL_STRIPS + 1)})
    for start, stop in zip(edges[:-1], edges[1:]):
        first = rows.start + start
        strip = distances.block(slice(first, rows.start + stop), slice(first, rows.stop))
        square[start:stop, start:] = strip
        square[stop:, start:stop] = strip[:, stop - start:].T
    return square


def _indices(points: slice, device: torch.device) -> torch.Tensor:
    return torch.arange(points.start, points.stop, device=device)
