"""S2's per-model evaluation numbers that need no classifier: likelihood bounds, PSNR, I_q(z; L), Fano.

- Importance-weighted bound: log p(x) >= log (1/S) sum_s w_s with log w_s = log p(x, y_s, z_s) -
  log q(y_s, z_s|x) (the model's `log_weights`); S = 1 in expectation is the ELBO.
- PSNR per image from posterior-mean reconstructions, data range 1.
- I_q(z; L) by Monte Carlo over the test set (methods.md S2): z_j ~ q(z|x_j) and
  I ~ mean_j log[(1/N_l) sum_{i in class l_j} q(z_j|x_i) / ((1/N) sum_i q(z_j|x_i))], the sums by
  log-sum-exp in float64. Rows j go in chunks, so memory is O(N * chunk), never N x N.
  Upper bound H(L), the labels' empirical entropy.
- Fano: I >= H(L) - H_b(acc) - (1 - acc) log(K - 1), inverted for the highest accuracy I allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import entr

from vae_core.config import ConfigError

LOG_2PI = math.log(2 * math.pi)
LogDensityRows = Callable[[torch.Tensor], torch.Tensor]  # samples (B, ...) -> log q(z_j|x_i), (B, N)


# -- likelihood bounds -------------------------------------------------------------------------
def log_mean_exp(log_w: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log (1/S) sum_s exp(log_w_s) along `dim`, stable at any offset."""
    return torch.logsumexp(log_w, dim=dim) - math.log(log_w.shape[dim])


def likelihood_bounds(log_w: torch.Tensor) -> dict[str, float]:
    """Mean over images of the S-sample importance-weighted bound and of the ELBO, from (S, N) weights."""
    log_w = log_w.double()
    return {"ll.iwae": float(log_mean_exp(log_w, 0).mean()), "ll.elbo": float(log_w.mean()),
            "ll.samples": float(log_w.shape[0])}


# -- reconstructions ---------------------------------------------------------------------------
def psnr(x: np.ndarray | torch.Tensor, x_hat: np.ndarray | torch.Tensor,
         data_range: float = 1.0) -> np.ndarray:
    """10 log10(range^2 / MSE) per image, MSE over all its pixels (inf for a perfect copy)."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"psnr: images {x.shape} and reconstructions {x_hat.shape} differ in shape")
    mse = ((x - x_hat) ** 2).reshape(len(x), -1).mean(1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range**2 / mse)


def reconstruction_scores(x: np.ndarray | torch.Tensor, x_hat: np.ndarray | torch.Tensor) -> dict[str, float]:
    """Mean per-image PSNR (dB, data range 1) and mean squared error of reconstructions."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    return {"recon.psnr": float(psnr(x, x_hat).mean()), "recon.mse": float(((x - x_hat) ** 2).mean())}


# -- I_q(z; label) -----------------------------------------------------------------------------
def label_entropy(labels: np.ndarray | torch.Tensor) -> float:
    """H(L) in nats from the labels' empirical frequencies."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(entr(counts / counts.sum()).sum())


def gaussian_log_density_rows(mu: torch.Tensor, logvar: torch.Tensor) -> LogDensityRows:
    """z (B, K) -> log N(z_j; mu_i, diag e^logvar_i) for every i, (B, N), as two matrix products
    into one (B, N) buffer: -1/2 [z^2 . (1/v_i) - 2 z . (mu_i/v_i) + sum(mu_i^2/v_i + log 2 pi v_i)].

    Centring on the mean of mu (the density is translation invariant) keeps float64 exact for
    latents far from the origin."""
    mu, logvar = torch.as_tensor(mu).double(), torch.as_tensor(logvar).double()
    centre = mu.mean(0)
    mu = mu - centre
    precision = torch.exp(-logvar)
    weighted = mu * precision
    constant = (mu * weighted).sum(1) + logvar.sum(1) + mu.shape[1] * LOG_2PI

    def rows(z: torch.Tensor) -> torch.Tensor:
        z = z.double() - centre
        out = torch.addmm(constant, z * z, precision.T)
        return out.addmm_(z, weighted.T, alpha=-2.0).mul_(-0.5)
    return rows


def categorical_log_density_rows(log_probs: torch.Tensor) -> LogDensityRows:
    """classes (B,) -> log q(z = c_j|x_i) for every i, (B, N)."""
    by_class = torch.as_tensor(log_probs).double().T.contiguous()
    return lambda classes: by_class[classes]


def label_information(log_density_rows: LogDensityRows, samples: torch.Tensor,
                      labels: np.ndarray | torch.Tensor, name: str = "z",
                      chunk: int = 256) -> dict[str, float]:
    """I_q(name; L) from one sample z_j ~ q(.|x_j) per point, and H(L); chunked over j."""
    labels = torch.as_tensor(np.asarray(labels))
    n = len(labels)
    if len(samples) != n:
        raise ValueError(f"label_information: {len(samples)} samples for {n} labels; give one per point")
    _, index, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    order = torch.argsort(index, stable=True)  # columns grouped by class: each class a slice
    ends = counts.cumsum(0).tolist()
    segments = list(zip([0, *ends[:-1]], ends))
    log_sizes = counts.double().log()
    total = 0.0
    for start in range(0, n, chunk):
        log_q = log_density_rows(samples[start:start + chunk])[:, order]  # (B, N), class-sorted
        by_class = torch.stack([log_q[:, a:b].logsumexp(1) for a, b in segments], 1)  # log sum_{i in l}
        del log_q  # freed before the next chunk builds its matrix: two (B, N) buffers at most
        marginal = by_class.logsumexp(1) - math.log(n)
        own = index[start:start + chunk, None]
        total += float((by_class.gather(1, own).squeeze(1) - log_sizes[own.squeeze(1)] - marginal).sum())
    return {f"mi.{name}_label": total / n, "mi.h_label": label_entropy(labels)}


def gaussian_label_information(mu: torch.Tensor, logvar: torch.Tensor, labels: np.ndarray | torch.Tensor,
                               name: str = "z", seed: int = 0, chunk: int = 256) -> dict[str, float]:
    """label_information for a diagonal Gaussian q: one reparameterised draw per point."""
    mu, logvar = torch.as_tensor(mu).double().flatten(1), torch.as_tensor(logvar).double().flatten(1)
    noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    samples = mu + (0.5 * logvar).exp() * noise
    return label_information(gaussian_log_density_rows(mu, logvar), samples, labels, name, chunk)


def categorical_label_information(log_probs: torch.Tensor, labels: np.ndarray | torch.Tensor, name: str = "z",
                                  seed: int = 0, chunk: int = 256) -> dict[str, float]:
    """label_information for a categorical q: one class drawn per point."""
    log_probs = torch.as_tensor(log_probs).double()
    samples = torch.multinomial(log_probs.exp(), 1, generator=torch.Generator().manual_seed(seed)).squeeze(1)
    return label_information(categorical_log_density_rows(log_probs), samples, labels, name, chunk)


# -- Fano --------------------------------------------------------------------------------------
def fano_bound(accuracy: float, h_label: float, n_classes: int) -> float:
    """H(L) - H_b(acc) - (1 - acc) log(K - 1): the least I(z; L) any classifier of this accuracy needs."""
    binary = float(entr(accuracy) + entr(1 - accuracy))
    return h_label - binary - (1 - accuracy) * math.log(n_classes - 1)


def fano_max_accuracy(information: float, h_label: float, n_classes: int) -> float:
    """The highest accuracy whose Fano bound I allows: the root of fano_bound(acc) = I on [1/K, 1]
    (the bound rises there, from H(L) - log K <= 0 to H(L)); 1 when I >= H(L)."""
    if n_classes < 2:
        raise ConfigError(f"n_classes: {n_classes} classes; Fano's bound needs at least 2")
    chance = 1.0 / n_classes
    if information >= h_label:
        return 1.0
    if fano_bound(chance, h_label, n_classes) >= information:
        return chance
    return float(brentq(lambda a: fano_bound(a, h_label, n_classes) - information, chance, 1.0, xtol=1e-12))
