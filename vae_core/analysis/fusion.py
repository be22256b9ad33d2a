"""Fusing weak learners into one representation (methods.md S1, "ensemble learning").

Fingerprint: M points evenly spaced on the unit circle. Weak learners: 1-D Gaussian channels
that each see the circle badly, made procedurally so the experiment runs offline in seconds
(the seed trained 1-D beta-VAEs, which learn the same two kinds of map): a "cut" (the angle
from a random point onward, torn at that point) or a "fold" (a projection cos(angle - phase),
which merges mirror points). Fusion: M free 2-D Gaussians, fitted by Adam to maximise their
mean similarity (NMI, exp(-VI) or I(U;V), from `channels`) to k learners. Score: how well the
fused means keep the circle's neighbourhoods (continuity and trustworthiness, scikit-learn)
and the seed's uniformity of consecutive spacings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.manifold import trustworthiness

from vae_core.analysis.channels import (
    bhattacharyya_distance,
    bits_from_log_sums,
    information_bits,
    similarity,
)
from vae_core.config import ConfigError, require_choice, require_int

ENSEMBLE_SIZES = (2, 3, 5, 10, 15, 20, 30, 50)
SIMILARITIES = ("nmi", "exp_neg_vi", "mutual_info")


@dataclass(frozen=True)
class WeakLearners:
    angle: np.ndarray  # (M,) fingerprint angles
    mu: np.ndarray  # (M, L) each learner's mean on the fingerprint
    logvar: np.ndarray  # (M, L)


def circle_weak_learners(n_learners: int = 250, n_points: int = 100, fold_fraction: float = 0.2,
                         seed: int = 0) -> WeakLearners:
    """Cuts (angle from a random phase, scaled to [-1, 1)) and folds (cos(angle - phase)), each with
    its own noise level: mean noise 0.05 and posterior sigma 0.05 to 0.2 (a third as large again
    where posteriors are unsure near the cut or fold)."""
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(n_points) / n_points
    phase = rng.uniform(0, 2 * np.pi, n_learners)
    shifted = np.mod(angle[:, None] - phase[None], 2 * np.pi)
    fold = rng.random(n_learners) < fold_fraction
    mu = np.where(fold, np.cos(shifted), shifted / np.pi - 1)
    edge = np.where(fold, np.abs(np.sin(shifted)), np.minimum(shifted, 2 * np.pi - shifted) / np.pi)
    sigma = rng.uniform(0.05, 0.2, n_learners) * (1 + np.exp(-(edge / 0.1) ** 2) / 3)
    mu = mu + 0.05 * rng.normal(size=mu.shape)
    return WeakLearners(angle=angle, mu=mu, logvar=2 * np.log(sigma))


def log_coefficients(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """-D_B(i, j) between the diagonal Gaussians of rows i, j of (M, d) inputs (summed over d)."""
    return -bhattacharyya_distance(mu[:, None], logvar[:, None], mu[None], logvar[None]).sum(-1)


@dataclass(frozen=True)
class Targets:
    """The chosen learners' Bhattacharyya coefficients (k, M, M) and their information terms,
    fixed while the fused space is fitted."""

    coefficients: torch.Tensor
    info: torch.Tensor  # (k,) I(X;V)
    self_info: torch.Tensor  # (k,) I(X;V,V')

    @classmethod
    def of(cls, learners: WeakLearners, chosen: Sequence[int]) -> Targets:
        logs = torch.stack([log_coefficients(torch.as_tensor(learners.mu[:, [i]]),
                                             torch.as_tensor(learners.logvar[:, [i]])) for i in chosen])
        return cls(logs.exp(), information_bits(logs), information_bits(2 * logs))


def fused_similarity(log_fused: torch.Tensor, targets: Targets, kind: str) -> torch.Tensor:
    """Similarity (k,) of a space with log coefficients (M, M) to each target. The joint sums
    sum_j A_F(i, j) A_V(i, j) are >= 1 (their diagonal terms are 1), so plain products suffice."""
    joint = bits_from_log_sums(torch.einsum("ij,kij->ki", log_fused.exp(), targets.coefficients).log())
    values = similarity(information_bits(log_fused), information_bits(2 * log_fused),
                        targets.info, targets.self_info, joint)
    return torch.exp(-values["vi"]) if kind == "exp_neg_vi" else values[kind]


def fuse(learners: WeakLearners, chosen: Sequence[int], kind: str = "nmi", dims: int = 2, steps: int = 400,
         lr: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit M free `dims`-D Gaussians to the chosen learners; returns their means, log variances and
    the final mean similarity. Starts like the seed: means N(0, 0.05^2), log variances 0."""
    generator = torch.Generator().manual_seed(seed)
    targets = Targets.of(learners, chosen)
    mu = (0.05 * torch.randn(len(learners.angle), dims, generator=generator, dtype=torch.float64))
    mu.requires_grad_()
    logvar = torch.zeros_like(mu, requires_grad=True)
    optimizer = torch.optim.Adam([mu, logvar], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -fused_similarity(log_coefficients(mu, logvar), targets, kind).mean()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = fused_similarity(log_coefficients(mu, logvar), targets, kind).mean()
    return mu.detach().numpy(), logvar.detach().numpy(), float(final)


def circle_scores(angle: np.ndarray, points: np.ndarray, n_neighbors: int = 6) -> dict[str, float]:
    """Continuity (circle neighbours kept), trustworthiness (no false neighbours), and the seed's
    uniformity: RMS over mean of the distances between consecutive points (1 = even spacing).
    An even n_neighbors: on evenly spaced angles the k-th and (k+1)-th neighbours of an odd k
    tie, and the two sides would break the tie differently."""
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points = np.asarray(points, dtype=np.float64).reshape(len(angle), -1)
    steps = np.linalg.norm(points - np.roll(points, 1, axis=0), axis=1)
    return {"continuity": float(trustworthiness(points, circle, n_neighbors=n_neighbors)),
            "trustworthiness": float(trustworthiness(circle, points, n_neighbors=n_neighbors)),
            "uniformity": float(np.sqrt(np.mean(steps ** 2)) / np.mean(steps))}


def circle_fusion(n_learners: int = 250, n_points: int = 100, ensemble_sizes: Sequence[int] = ENSEMBLE_SIZES,
                  kind: str = "nmi", steps: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    """The experiment: for each k, fuse the first k learners (in a seeded random order) and score
    the fused means; also each learner's own continuity. Keys "fusion.*"."""
    require_choice("similarity", kind, SIMILARITIES)
    require_int("n_points", n_points, minimum=8)
    require_int("n_learners", n_learners, minimum=1)
    for k in ensemble_sizes:
        if require_int("ensemble_sizes[]", k, minimum=1) > n_learners:
            raise ConfigError(f"ensemble_sizes: {k} exceeds n_learners = {n_learners}; lower it or "
                              "raise n_learners")
    learners = circle_weak_learners(n_learners, n_points, seed=seed)
    order = np.random.default_rng(seed + 1).permutation(n_learners)
    runs = [fuse(learners, order[:k], kind, steps=steps, seed=seed) for k in ensemble_sizes]
    scores = [circle_scores(learners.angle, mu) for mu, _, _ in runs]
    return {
        "fusion.k": np.array(ensemble_sizes), "fusion.angle": learners.angle,
        "fusion.similarity": np.array([value for _, _, value in runs]),
        "fusion.means": np.stack([mu for mu, _, _ in runs]),
        **{f"fusion.{key}": np.array([s[key] for s in scores]) for key in scores[0]},
        "fusion.learner_continuity": np.array([circle_scores(learners.angle, learners.mu[:, i])["continuity"]
                                               for i in range(n_learners)]),
    }

