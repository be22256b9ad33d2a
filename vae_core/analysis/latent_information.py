"""Monte Carlo I(X;U) of a whole latent space (methods.md S1): an unbiased estimate of the
mutual information itself, where the Bhattacharyya value of `channels` is a lower bound.

X is uniform over the N points; U ~ q(u|x) = N(mu_x, diag exp(logvar_x)). Draw i uniformly,
u ~ q(u|x_i), and average log2 q(u|x_i) - log2 (1/N) sum_j q(u|x_j), in float64 with
log-sum-exp over j, in chunks of draws. I(X;U,U') is this with (mu, logvar) tiled twice along
the latent axis (two independent draws given x); I(X;U,V) with two models' latents concatenated.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from vae_core.analysis.channels import LN2
from vae_core.config import ConfigError, require_int


def _log_densities(u: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """log q(u_s | x_j) for every draw s and point j: (S, N)."""
    squared = (u[:, None, :] - mu[None]) ** 2 * np.exp(-logvar)[None]
    return -0.5 * (squared + logvar[None] + math.log(2 * math.pi)).sum(-1)


def monte_carlo_information(mu: np.ndarray, logvar: np.ndarray, n_samples: int = 10000, seed: int = 0,
                            max_bytes: int = 2 ** 27) -> dict[str, float]:
    """I(X;U) in bits for (N, K) means and log variances: mean and standard error of the mean
    over `n_samples` draws (seeded, drawn up front so chunking leaves them alone); memory near
    `max_bytes` per chunk of draws. numpy throughout: single-threaded, so it is not slowed
    by other processes on a shared machine."""
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ConfigError(f"mu/logvar: shapes {mu.shape} and {logvar.shape}; give two (N, K) arrays "
                          "of one shape")
    require_int("n_samples", n_samples, minimum=2)
    n, k = mu.shape
    chunk = max(1, max_bytes // (8 * 3 * n * k))
    rng = np.random.default_rng(seed)
    own = rng.integers(n, size=n_samples)
    u = mu[own] + np.exp(0.5 * logvar[own]) * rng.normal(size=(n_samples, k))
    bits = np.empty(n_samples)
    for start in range(0, n_samples, chunk):
        part = slice(start, start + chunk)
        log_q = _log_densities(u[part], mu, logvar)
        marginal = logsumexp(log_q, axis=1) - math.log(n)
        bits[part] = (log_q[np.arange(len(log_q)), own[part]] - marginal) / LN2
    return {"latent_info.bits": float(bits.mean()),
            "latent_info.stderr_bits": float(bits.std(ddof=1) / math.sqrt(n_samples))}
