"""The circle fusion experiment: its similarity against a brute-force loop, its scores' meaning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from vae_core.analysis.fusion import (
    Targets,
    circle_fusion,
    circle_scores,
    circle_weak_learners,
    fuse,
    fused_similarity,
    log_coefficients,
)
from vae_core.config import ConfigError


def _distances(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Closed-form D_B of diagonal Gaussians, summed over dimensions, with plain variances."""
    v = np.exp(logvar)
    vs = v[:, None] + v[None]
    gap = (mu[:, None] - mu[None]) ** 2 / (4 * vs)
    return (gap + 0.5 * np.log(vs / (2 * np.sqrt(v[:, None] * v[None])))).sum(-1)


def _bits(d: np.ndarray) -> float:
    return float(-(logsumexp(-d, axis=1) - np.log(len(d))).mean() / np.log(2))


@pytest.mark.parametrize("kind", ["nmi", "exp_neg_vi", "mutual_info"])
def test_fused_similarity_equals_brute_force(kind: str) -> None:
    rng = np.random.default_rng(0)
    learners = circle_weak_learners(n_learners=4, n_points=30, seed=1)
    mu, logvar = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) - 1
    ours = fused_similarity(log_coefficients(torch.tensor(mu), torch.tensor(logvar)),
                            Targets.of(learners, [0, 2, 3]), kind).numpy()
    d_f = _distances(mu, logvar)
    expected = []
    for i in (0, 2, 3):
        d_v = _distances(learners.mu[:, [i]], learners.logvar[:, [i]])
        i_f, i_v, i_ff, i_vv, i_fv = _bits(d_f), _bits(d_v), _bits(2 * d_f), _bits(2 * d_v), _bits(d_f + d_v)
        mi = i_f + i_v - i_fv
        expected.append({"nmi": mi / np.sqrt((2 * i_f - i_ff) * (2 * i_v - i_vv)),
                         "exp_neg_vi": np.exp(-(2 * i_fv - i_ff - i_vv)), "mutual_info": mi}[kind])
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_scores_tell_tears_from_false_neighbours() -> None:
    """The circle itself scores 1 throughout; a cut (angle unrolled) tears it: continuity drops
    well below trustworthiness (only its two ends gain false neighbours); a fold (cos) puts
    mirror points together: trustworthiness drops."""
    angle = 2 * np.pi * np.arange(60) / 60
    circle = circle_scores(angle, np.stack([np.cos(angle), np.sin(angle)], 1))
    assert circle == pytest.approx({"continuity": 1.0, "trustworthiness": 1.0, "uniformity": 1.0})
    cut = circle_scores(angle, angle)
    fold = circle_scores(angle, np.cos(angle))
    assert cut["continuity"] < 0.97 and cut["trustworthiness"] > 0.99
    assert fold["trustworthiness"] < 0.97
    assert cut["uniformity"] > 1.5  # one jump of 2 pi - step among steps of 2 pi / 60


def test_fitting_raises_the_similarity() -> None:
    learners = circle_weak_learners(n_learners=5, n_points=40, seed=2)
    targets = Targets.of(learners, range(3))
    start = torch.tensor(0.05 * np.random.default_rng(0).normal(size=(40, 2)))
    for kind in ("nmi", "exp_neg_vi", "mutual_info"):
        initial = float(fused_similarity(log_coefficients(start, torch.zeros(40, 2, dtype=torch.float64)),
                                         targets, kind).mean())
        _, _, final = fuse(learners, range(3), kind, steps=60)
        assert final > initial + 0.05


def test_experiment_is_seeded_and_shaped() -> None:
    settings = {"n_learners": 8, "n_points": 24, "ensemble_sizes": (2, 5), "steps": 20, "seed": 3}
    first, second = circle_fusion(**settings), circle_fusion(**settings)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert first["fusion.means"].shape == (2, 24, 2)
    assert first["fusion.learner_continuity"].shape == (8,)


def test_bad_settings_raise() -> None:
    with pytest.raises(ConfigError, match="ensemble_sizes"):
        circle_fusion(n_learners=5, ensemble_sizes=(2, 10))
    with pytest.raises(ConfigError, match="similarity"):
        circle_fusion(kind="cosine")
