"""S1's channel analysis of an ensemble, from per-model encoder outputs on one fingerprint:
information per channel, NMI and VI of every pair and with every label or factor, and the
OPTICS structure of the channels that carry information (methods.md S1)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vae_core.analysis.channel_structure import channel_structure, validate_structure_options
from vae_core.analysis.channels import pair_information
from vae_core.config import ConfigError

MAX_ABS_LOGVAR = 700.0  # exp(+-700) and the products built from it stay inside float64


def stack_models(mus: Sequence[np.ndarray], logvars: Sequence[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate per-model (M, K_m) arrays into (M, C) channels; also each channel's model and
    latent index. Checks shapes and finiteness before any work."""
    if len(mus) == 0 or len(mus) != len(logvars):
        raise ConfigError(f"mus/logvars: need one (M, K) array of each per model, got {len(mus)} means "
                          f"and {len(logvars)} log variances")
    mus = [np.asarray(x, dtype=np.float64) for x in mus]
    logvars = [np.asarray(x, dtype=np.float64) for x in logvars]
    m = mus[0].shape[0]
    for k, (mu, lv) in enumerate(zip(mus, logvars)):
        if mu.ndim != 2 or mu.shape != lv.shape or mu.shape[0] != m:
            raise ConfigError(f"mus[{k}]/logvars[{k}]: shapes {mu.shape} and {lv.shape}; every model "
                              f"needs mu and logvar of one shape (M, K) with M = {m} fingerprint points")
        if not (np.isfinite(mu).all() and np.isfinite(lv).all()) or np.abs(lv).max() > MAX_ABS_LOGVAR:
            raise ConfigError(f"mus[{k}]/logvars[{k}]: non-finite values or |logvar| > {MAX_ABS_LOGVAR} "
                              "(variances out of float64 range); check the encoder outputs")
    model = np.concatenate([np.full(mu.shape[1], k) for k, mu in enumerate(mus)])
    dim = np.concatenate([np.arange(mu.shape[1]) for mu in mus])
    return np.concatenate(mus, 1), np.concatenate(logvars, 1), model, dim


def analyze_channels(mus: Sequence[np.ndarray], logvars: Sequence[np.ndarray],
                     labels: np.ndarray | None = None, *, metric: str = "vi", min_bits: float = 0.01,
                     min_samples: int = 20, xi: float = 0.05, max_bytes: int = 2 ** 28
                     ) -> dict[str, np.ndarray]:
    """S1's channel analysis of an ensemble from per-model (M, K_m) means and log variances on one
    fingerprint, and its labels or factor values (M,) or (M, F) (each column a discrete label:
    points match when values are equal). Values in bits. C = all channels of all models in order:
      channels.model, channels.dim (C,): which model and latent dimension each channel is;
      channels.info_bits (C,); channels.joint_bits (C, C): I(X;U,V), diagonal I(X;U,U');
      channels.mutual_info_bits, channels.nmi, channels.vi (C, C);
      channels.label_entropy_bits (F,); channels.label_mutual_info_bits, channels.label_nmi,
      channels.label_vi (C, F);
      channels.kept (n,): the channels with >= min_bits, which OPTICS clusters; indexed by kept
      channel: channels.ordering, channels.reachability, channels.cluster (n,), and
      channels.distances (n, n), the matrix clustered."""
    validate_structure_options(metric, min_bits, min_samples, xi)
    mu, logvar, model, dim = stack_models(mus, logvars)
    if labels is not None:
        labels = np.asarray(labels, dtype=np.float64)
        labels = labels[:, None] if labels.ndim == 1 else labels
        if labels.ndim != 2 or labels.shape[0] != mu.shape[0] or not np.isfinite(labels).all():
            raise ConfigError(f"labels: shape {labels.shape} (finite: {bool(np.isfinite(labels).all())}); "
                              f"give finite (M,) or (M, F) values with M = {mu.shape[0]}, the "
                              "fingerprint points of mus")
    info = pair_information(mu, logvar, labels, max_bytes=max_bytes)
    pairs, with_labels = info.pairs(), info.with_labels()
    structure = channel_structure(info.info, pairs["nmi"], pairs["vi"], metric=metric,
                                  min_bits=min_bits, min_samples=min_samples, xi=xi)
    return {
        "channels.model": model, "channels.dim": dim,
        "channels.info_bits": info.info, "channels.joint_bits": info.joint,
        "channels.mutual_info_bits": pairs["mutual_info"], "channels.nmi": pairs["nmi"],
        "channels.vi": pairs["vi"],
        "channels.label_entropy_bits": info.label_info,
        "channels.label_mutual_info_bits": with_labels["mutual_info"],
        "channels.label_nmi": with_labels["nmi"], "channels.label_vi": with_labels["vi"],
        **{f"channels.{key}": value for key, value in structure.items()},
    }
