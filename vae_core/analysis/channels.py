"""Information content of latent channels over a fingerprint (methods.md S1), all pairs at once.

A channel U (one latent dimension of one model) gives each of the M fingerprint points a 1-D
Gaussian; A_U(i, j) = exp(-D_U(i, j)) is the Bhattacharyya coefficient of points i and j.
Kolchinsky-Tracey's bound gives, in bits,
    I(X;U) = -(1/M) sum_i log2[(1/M) sum_j A_U(i, j)],
and I(X;U,V) the same with A_U A_V (I(X;U,U') with A_U^2). For every pair at once,
S_i(U, V) = sum_j A_U(i, j) A_V(i, j) is, per fingerprint row i, the product B_i B_i^T of the
(C x M) matrix B_i[U, j] = A_U(i, j): matrix products over a chunk of rows (upper triangle
only, in strips) instead of a Python loop over C^2 / 2 pairs, each exp(-D) entry computed once.
This is the log-sum-exp made stable by its row maximum, with the scaling built in: for
Bhattacharyya (and label) matrices every row's maximum is exp(-D(i, i)) = 1 on the diagonal,
for every channel, so each product sum lies in [1, M], the entries that underflow are below
1e-308 of it, and the log loses nothing; so the sums of many rows are multiplied before one log.
Everything is float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

LN2 = math.log(2.0)
Array = TypeVar("Array", np.ndarray, torch.Tensor)
LABEL_FLOOR = 1e-10  # a label's "coefficient" between points of different labels
PRODUCT_BITS = 1000  # running products of row sums stay below 2^PRODUCT_BITS (float64: 2^1024)
SLAB_BYTES = 2 ** 22  # coefficient slabs per chunk of rows: within cache
JOINT_BLOCK = 64  # channels per strip of the pairwise products (smaller strips multiply slowly)


def bhattacharyya_distance(mu_a: torch.Tensor, logvar_a: torch.Tensor,
                           mu_b: torch.Tensor, logvar_b: torch.Tensor) -> torch.Tensor:
    """D_B of 1-D Gaussians, elementwise with broadcasting, with variances kept as logs:
    (mu_a - mu_b)^2 / (4 (s_a^2 + s_b^2)) + 1/2 log((s_a^2 + s_b^2) / (2 s_a s_b))."""
    log_mean_var = torch.logaddexp(logvar_a, logvar_b) - LN2
    return ((mu_a - mu_b) ** 2 * torch.exp(-log_mean_var) / 8
            + 0.5 * log_mean_var - 0.25 * (logvar_a + logvar_b))


def _channel_log_coefficients(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """-D_U(i, j) for all fingerprint pairs: (C, M, M) from (M, C) inputs."""
    mu, logvar = mu.T, logvar.T
    return -bhattacharyya_distance(mu[:, :, None], logvar[:, :, None], mu[:, None, :], logvar[:, None, :])


def bhattacharyya_matrices(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """(C, M, M) distances D_U(i, j) of each channel, from (M, C) means and log variances
    (C M^2 float64s: 360 MB for 500 channels at M = 300; the pairwise analysis never builds it)."""
    mu_t, logvar_t = (torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in (mu, logvar))
    return (-_channel_log_coefficients(mu_t, logvar_t)).numpy()


def label_coefficients(labels: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
    """clip(1[l_i = l_j], 1e-10) per label column, for rows i in `rows`: (r, F, M) from (M, F)."""
    labels = np.asarray(labels, dtype=np.float64)
    return np.where(labels[rows, :, None] == labels.T[None], 1.0, LABEL_FLOOR)


def label_distance_matrices(labels: np.ndarray) -> np.ndarray:
    """(F, M, M) "distances" -log(clip(1[l_i = l_j], 1e-10)) of each label or factor column."""
    return -np.log(label_coefficients(labels)).transpose(1, 0, 2)


def bits_from_log_sums(log_row_sums: torch.Tensor) -> torch.Tensor:
    """-(1/M) sum_i log2[(1/M) sum_j ...] from the logs of the M row sums (..., M)."""
    return -(log_row_sums - math.log(log_row_sums.shape[-1])).mean(-1) / LN2


def information_bits(log_coefficients: torch.Tensor) -> torch.Tensor:
    """I(X;U) in bits from log exp(-D) matrices (..., M, M), by log-sum-exp over j."""
    return bits_from_log_sums(torch.logsumexp(log_coefficients, -1))


def similarity(info_u: Array, self_u: Array, info_v: Array, self_v: Array, joint: Array
               ) -> dict[str, Array]:
    """I(U;V), NMI and VI (bits) from I(X;U), I(X;U,U'), I(X;V), I(X;V,V'), I(X;U,V), already
    broadcast against each other; arithmetic only, so numpy arrays and torch tensors both work.
    2 I(X;U) - I(X;U,U') stands in for U's entropy."""
    mutual = info_u + info_v - joint
    return {"mutual_info": mutual,
            "nmi": mutual / ((2 * info_u - self_u) * (2 * info_v - self_v)) ** 0.5,
            "vi": 2 * joint - self_u - self_v}


@dataclass(frozen=True)
class ChannelInformation:
    """Bits over one fingerprint: channels U, V and label/factor columns L."""

    info: np.ndarray  # (C,) I(X;U)
    joint: np.ndarray  # (C, C) I(X;U,V); its diagonal is I(X;U,U')
    label_info: np.ndarray  # (F,) I(X;L), the plug-in entropy of L up to the 1e-10 floor
    label_self: np.ndarray  # (F,) I(X;L,L')
    label_joint: np.ndarray  # (C, F) I(X;U,L)

    def pairs(self) -> dict[str, np.ndarray]:
        """I(U;V), NMI, VI between every two channels (C, C). NMI is nan for channels without
        information (0 / 0), and rounding-dominated for channels with far below 0.01 bits, whose
        entropy stand-in 2 I(X;U) - I(X;U,U') is of second order in D: drop those first."""
        d = np.diag(self.joint)
        with np.errstate(invalid="ignore", divide="ignore"):
            return similarity(self.info[:, None], d[:, None], self.info[None], d[None], self.joint)

    def with_labels(self) -> dict[str, np.ndarray]:
        """I(U;L), NMI, VI between every channel and every label column (C, F)."""
        d = np.diag(self.joint)
        with np.errstate(invalid="ignore", divide="ignore"):
            return similarity(self.info[:, None], d[:, None], self.label_info[None],
                              self.label_self[None], self.label_joint)


class _Channels:
    """Per-point quantities of (M, C) channels, computed once and reused by every row chunk."""

    def __init__(self, mu: np.ndarray, logvar: np.ndarray) -> None:
        self.mu, self.mu_t = mu, np.ascontiguousarray(mu.T)
        self.var = np.exp(logvar)
        self.var_t = np.ascontiguousarray(self.var.T)
        self.root = 2 ** 0.25 * np.exp(0.25 * logvar)  # root_i root_j = sqrt(2 s_i s_j)
        self.root_t = np.ascontiguousarray(self.root.T)

    def coefficients(self, rows: slice, out: np.ndarray, work: np.ndarray) -> np.ndarray:
        """A_U(i, j) = exp(-D_U(i, j)) as (r, C, M) for rows i in `rows`, written into `out`.

        Computed directly as exp(-dmu^2 / (4 v)) sqrt(2 s_i s_j) / sqrt(v), v = s_i^2 + s_j^2, in
        reused buffers: each factor lies in (0, 1] and A_U(i, i) = 1, and fresh slabs for every
        step would cost more in page faults than the arithmetic."""
        r = rows.stop - rows.start
        a, v = out[:r], work[:r]
        np.add(self.var[rows, :, None], self.var_t[None], out=v)
        np.subtract(self.mu[rows, :, None], self.mu_t[None], out=a)
        np.square(a, out=a)
        np.divide(a, v, out=a)
        np.multiply(a, -0.25, out=a)
        np.exp(a, out=a)
        np.sqrt(v, out=v)
        np.divide(a, v, out=a)
        np.multiply(a, self.root[rows, :, None], out=a)
        return np.multiply(a, self.root_t[None], out=a)


def _rows_per_product(m: int) -> int:
    """Row sums (each <= M) whose product stays below 2^PRODUCT_BITS."""
    return max(1, int(PRODUCT_BITS / math.log2(max(m, 2))))


def _rows_per_chunk(c: int, m: int, f: int, max_bytes: int) -> int:
    """Rows per chunk: slabs of coefficients small enough to stay in cache through the ten
    passes that build them, all buffers (two C x M slabs and C x C products per row) within
    max_bytes, and no more rows than one running product may take."""
    per_row = 8 * (2 * c * m + c * c + 2 * f * m + c * f)
    return max(1, min(m, SLAB_BYTES // (8 * c * m), max_bytes // per_row, _rows_per_product(m)))


class _LogSums:
    """sum_i log x_i of row sums x_i >= 1, kept as running products (one log per many rows, not
    one per row), folded into logs before a product could pass 2^PRODUCT_BITS (each x_i <= M)."""

    def __init__(self, shape: tuple[int, ...], m: int) -> None:
        self.total, self.running = np.zeros(shape), np.ones(shape)
        self.limit, self.rows = _rows_per_product(m), 0

    def start_chunk(self, rows: int) -> None:
        if self.rows + rows > self.limit:
            self.total += np.log(self.running)
            self.running[...] = 1.0
            self.rows = 0
        self.rows += rows

    def multiply(self, sums: np.ndarray, index: tuple[slice, ...] = (Ellipsis,)) -> None:
        self.running[index] *= np.prod(sums, axis=0)

    def bits(self, m: int) -> np.ndarray:
        """-(1/M) sum_i log2[(1/M) x_i]."""
        return -((self.total + np.log(self.running)) / m - math.log(m)) / LN2


def _multiply_joint(a: np.ndarray, joint: _LogSums) -> None:
    """Fold the row sums S_i(U, V) = sum_j A_U(i, j) A_V(i, j) of the upper triangle U <= V into
    `joint`, one strip of JOINT_BLOCK channels at a time: S_i is symmetric, so the part below
    the diagonal (nearly half the multiply-adds) is skipped, while each product stays large
    enough to run at full speed."""
    a_t, c = torch.from_numpy(a), a.shape[1]
    for p in range(0, c, JOINT_BLOCK):
        products = torch.bmm(a_t[:, p:p + JOINT_BLOCK], a_t[:, p:].transpose(1, 2))
        joint.multiply(products.numpy(), (slice(p, p + JOINT_BLOCK), slice(p, None)))


def pair_information(mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray | None = None,
                     max_bytes: int = 2 ** 28) -> ChannelInformation:
    """Every channel's information and every pair's joint information, chunked over fingerprint
    rows (memory within `max_bytes` besides the C x C results); each exp(-D) entry is computed
    once, and each row's C x C sums come from matrix products.

    mu, logvar: (M, C) channels' means and log variances on the fingerprint; labels: (M, F)."""
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    m, c = mu.shape
    labels = np.zeros((m, 0)) if labels is None else np.asarray(labels, dtype=np.float64)
    f = labels.shape[1]
    step = _rows_per_chunk(c, m, f, max_bytes)
    channels = _Channels(mu, logvar)
    slab, work = np.empty((step, c, m)), np.empty((step, c, m))
    sums = {"info": _LogSums((c,), m), "joint": _LogSums((c, c), m), "label_info": _LogSums((f,), m),
            "label_self": _LogSums((f,), m), "label_joint": _LogSums((c, f), m)}
    for start in range(0, m, step):
        rows = slice(start, min(start + step, m))
        for part in sums.values():
            part.start_chunk(rows.stop - rows.start)
        a = channels.coefficients(rows, slab, work)
        sums["info"].multiply(a.sum(-1))
        _multiply_joint(a, sums["joint"])
        if f:
            b = label_coefficients(labels, rows)
            sums["label_info"].multiply(b.sum(-1))
            sums["label_self"].multiply((b * b).sum(-1))
            sums["label_joint"].multiply(a @ b.transpose(0, 2, 1))
    bits = {key: part.bits(m) for key, part in sums.items()}
    joint = np.triu(bits["joint"])
    return ChannelInformation(info=bits["info"], joint=joint + np.triu(joint, 1).T,
                              label_info=bits["label_info"], label_self=bits["label_self"],
                              label_joint=bits["label_joint"])
