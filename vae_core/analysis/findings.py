"""The seed's S3 findings, checked as rows of the AE-vs-VAE comparison table.

Input: one row per configuration with columns family ("ae" or "vae"), latent_size, n_layers,
beta (ignored for AEs), test_recon (test reconstruction loss, mean over folds, per-sample sum)
and frechet_distance (of samples against test images; lower is better). AE and VAE are compared
on matched (latent_size, n_layers) pairs, the VAE taken at beta = 1. An AE has no prior, so its
samples are decoded from `fitted_gaussian_draws`: a Gaussian fitted to its own latent codes of
the training images (N(0, I) would judge the AE on a scale it never learned); say so beside the
table. Each output row: finding, measured (the numbers it rests on), holds (True, False, or None
when the table lacks the rows to measure it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vae_core.analysis.sample_quality import moments

KEYS = ["latent_size", "n_layers"]
COLUMNS = ["family", *KEYS, "beta", "test_recon", "frechet_distance"]


def fitted_gaussian_draws(codes: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws from N(mean, cov) of an AE's latent codes (rows), to decode as its samples."""
    mean, cov = moments(codes)
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def _row(finding: str, measured: dict[str, float | str], holds: bool | None) -> dict[str, object]:
    text = "; ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in measured.items())
    return {"finding": finding, "measured": text, "holds": holds}


def _pairs(table: pd.DataFrame) -> pd.DataFrame:
    """AE and beta = 1 VAE of each (latent_size, n_layers), columns suffixed _ae and _vae."""
    ae = table[table.family == "ae"].groupby(KEYS)[["test_recon", "frechet_distance"]].mean()
    vae = table[(table.family == "vae") & (table.beta == 1.0)]
    vae = vae.groupby(KEYS)[["test_recon", "frechet_distance"]].mean()
    return ae.join(vae, how="inner", lsuffix="_ae", rsuffix="_vae").reset_index()


def ae_reconstructs_better(pairs: pd.DataFrame) -> dict[str, object]:
    """AE recon < VAE recon at the largest D_z, and the gap (VAE - AE) larger there than at the
    smallest D_z (gaps averaged over n_layers)."""
    name = "AEs reconstruct better, more so at larger D_z"
    gaps = (pairs.test_recon_vae - pairs.test_recon_ae).groupby(pairs.latent_size).mean()
    if len(gaps) < 2:
        return _row(name, {"latent_sizes": len(gaps)}, None)
    measured = {f"gap_at_D_z={size}": float(gap) for size, gap in gaps.items()}
    return _row(name, measured, bool(gaps.iloc[-1] > 0 and gaps.iloc[-1] > gaps.iloc[0]))


def vae_generates_better(pairs: pd.DataFrame) -> dict[str, object]:
    """VAE Frechet distance below the AE's in every matched pair."""
    name = "VAEs generate better (lower Frechet distance)"
    if pairs.empty:
        return _row(name, {"pairs": 0}, None)
    wins = int((pairs.frechet_distance_vae < pairs.frechet_distance_ae).sum())
    measured = {"vae_better_pairs": f"{wins}/{len(pairs)}",
                "mean_fd_ae": float(pairs.frechet_distance_ae.mean()),
                "mean_fd_vae": float(pairs.frechet_distance_vae.mean())}
    return _row(name, measured, wins == len(pairs))


def _beta_groups(table: pd.DataFrame) -> list[tuple[tuple, pd.Series, pd.Series]]:
    """Per (latent_size, n_layers) with >= 2 betas: (key, recon by beta, fd by beta)."""
    vae = table[table.family == "vae"].groupby([*KEYS, "beta"])[["test_recon", "frechet_distance"]].mean()
    groups = []
    for key, rows in vae.groupby(level=KEYS):
        rows = rows.droplevel(KEYS).sort_index()
        if len(rows) >= 2:
            groups.append((key, rows.test_recon, rows.frechet_distance))
    return groups


def small_beta_is_like_ae(table: pd.DataFrame) -> dict[str, object]:
    """The smallest beta (< 1) reconstructs nearer the AE (same D_z, n_layers) than the largest."""
    name = "beta -> 0 behaves like an AE (reconstruction)"
    ae = table[table.family == "ae"].groupby(KEYS).test_recon.mean()
    measured, verdicts = {}, []
    for key, recon, _ in _beta_groups(table):
        if key in ae.index and recon.index[0] < 1.0:
            near, far = abs(recon.iloc[0] - ae[key]), abs(recon.iloc[-1] - ae[key])
            measured[f"{key}: |beta={recon.index[0]:g} - ae|"] = float(near)
            measured[f"{key}: |beta={recon.index[-1]:g} - ae|"] = float(far)
            verdicts.append(bool(near < far))
    return _row(name, measured or {"groups": 0}, all(verdicts) if verdicts else None)


def large_beta_generates_better(table: pd.DataFrame) -> dict[str, object]:
    """Every beta > 1 has a lower Frechet distance than beta = 1 of the same D_z, n_layers."""
    name = "larger beta (> 1) generates better than beta = 1"
    measured, verdicts = {}, []
    for key, _, fd in _beta_groups(table):
        if 1.0 in fd.index and (fd.index > 1.0).any():
            measured.update({f"{key}: fd beta={b:g}": float(v) for b, v in fd[fd.index >= 1.0].items()})
            verdicts.append(bool((fd[fd.index > 1.0] < fd[1.0]).all()))
    return _row(name, measured or {"groups": 0}, all(verdicts) if verdicts else None)


def check_findings(table: pd.DataFrame) -> pd.DataFrame:
    """One row per finding: finding, measured, holds."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"check_findings: the table lacks column(s) {', '.join(missing)}; "
                         f"give {', '.join(COLUMNS)}")
    pairs = _pairs(table)
    return pd.DataFrame([ae_reconstructs_better(pairs), vae_generates_better(pairs),
                         small_beta_is_like_ae(table), large_beta_generates_better(table)])
