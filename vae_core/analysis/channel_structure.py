"""Structure in an ensemble's channels: OPTICS on VI or NMI distances (methods.md S1).

Clusters are pieces of information that training found again and again across the ensemble.
Channels with almost no information (< `min_bits`) are dropped first: their NMI is 0 / 0 and
they would all crowd into one meaningless cluster.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import OPTICS

from vae_core.config import ConfigError, require_choice, require_float, require_int

METRICS = ("vi", "nmi")
NMI_FLOOR = 1e-4


def validate_structure_options(metric: str, min_bits: float, min_samples: int, xi: float) -> None:
    """Reject bad options before the (expensive) pairwise step runs."""
    require_choice("metric", metric, METRICS)
    require_float("min_bits", min_bits, minimum=0.0)
    require_int("min_samples", min_samples, minimum=2)
    require_float("xi", xi, minimum=0.0, strict=True)
    if xi >= 1:
        raise ConfigError(f"xi: must lie strictly between 0 and 1, got {xi}")


def structure_distances(nmi: np.ndarray, vi: np.ndarray, metric: str) -> np.ndarray:
    """clip(VI, 0) or -ln(clip(NMI, 1e-4)), symmetrised, >= 0, with a zero diagonal."""
    distances = np.clip(vi, 0.0, None) if metric == "vi" else -np.log(np.clip(nmi, NMI_FLOOR, None))
    distances = np.clip((distances + distances.T) / 2, 0.0, None)
    np.fill_diagonal(distances, 0.0)
    return distances


def channel_structure(info_bits: np.ndarray, nmi: np.ndarray, vi: np.ndarray, metric: str = "vi",
                      min_bits: float = 0.01, min_samples: int = 20, xi: float = 0.05
                      ) -> dict[str, np.ndarray]:
    """OPTICS (precomputed distances) on the channels carrying >= min_bits.

    Returns "kept" (indices of those channels), and indexed by kept channel like scikit-learn:
    "ordering" (visiting order), "reachability" (inf for each start), "cluster" (-1 = noise),
    and "distances" (the matrix clustered). min_samples is capped at the kept count - 1."""
    validate_structure_options(metric, min_bits, min_samples, xi)
    kept = np.flatnonzero(np.asarray(info_bits) >= min_bits)
    if len(kept) < 3:
        raise ConfigError(f"min_bits: only {len(kept)} channel(s) carry >= {min_bits} bits; OPTICS "
                          "needs at least 3; lower min_bits or check that the models learnt anything")
    block = np.ix_(kept, kept)
    distances = structure_distances(np.asarray(nmi)[block], np.asarray(vi)[block], metric)
    optics = OPTICS(min_samples=min(min_samples, len(kept) - 1), metric="precomputed", xi=xi)
    optics.fit(distances)
    return {"kept": kept, "ordering": optics.ordering_, "reachability": optics.reachability_,
            "cluster": optics.labels_, "distances": distances}
