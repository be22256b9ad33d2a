"""Channel information, NMI and VI against closed forms, integrals and a brute-force pair loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.special import logsumexp
from sklearn.metrics import adjusted_rand_score

from vae_core.analysis import channels
from vae_core.analysis.channel_analysis import analyze_channels
from vae_core.analysis.channels import (
    _Channels,
    bhattacharyya_distance,
    bhattacharyya_matrices,
    label_distance_matrices,
    pair_information,
)
from vae_core.config import ConfigError


def _closed_form(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """The textbook D_B of two 1-D normals, written with standard deviations (no logs)."""
    return (mu1 - mu2) ** 2 / (4 * (s1 ** 2 + s2 ** 2)) + 0.5 * np.log((s1 ** 2 + s2 ** 2) / (2 * s1 * s2))


PAIRS = [(0.0, 1.0, 0.0, 1.0), (0.3, 0.5, -1.2, 2.0), (1e4, 0.7, 1e4 + 1.5, 0.2), (2.0, 1e-3, 2.0, 3.0)]


@pytest.mark.parametrize(("mu1", "s1", "mu2", "s2"), PAIRS)
def test_bhattacharyya_matches_closed_form_and_integral(mu1: float, s1: float, mu2: float, s2: float) -> None:
    """D_B = -ln of the coefficient integral of sqrt(p q), integrated numerically."""
    ours = float(bhattacharyya_distance(*(torch.tensor(v, dtype=torch.float64)
                                          for v in (mu1, 2 * np.log(s1), mu2, 2 * np.log(s2)))))
    assert ours == pytest.approx(_closed_form(mu1, s1, mu2, s2), rel=1e-12, abs=1e-12)
    p, q = stats.norm(mu1, s1), stats.norm(mu2, s2)
    lo, hi = max(mu1 - 12 * s1, mu2 - 12 * s2), min(mu1 + 12 * s1, mu2 + 12 * s2)  # where both live
    points = sorted({x for x in (mu1, mu2) if lo < x < hi})
    coefficient, _ = integrate.quad(lambda x: np.sqrt(p.pdf(x) * q.pdf(x)), lo, hi, points=points, limit=500,
                                    epsabs=1e-13)
    assert ours == pytest.approx(-np.log(coefficient), rel=1e-6, abs=1e-9)


def test_bhattacharyya_coefficient_matches_monte_carlo() -> None:
    """BC = E_p[sqrt(q / p)]: the sample mean lies within 4 standard errors of exp(-D_B)."""
    rng = np.random.default_rng(0)
    for mu1, s1, mu2, s2 in PAIRS[:3]:
        x = rng.normal(mu1, s1, 400_000)
        ratio = np.exp(0.5 * (stats.norm.logpdf(x, mu2, s2) - stats.norm.logpdf(x, mu1, s1)))
        expected = np.exp(-_closed_form(mu1, s1, mu2, s2))
        assert abs(ratio.mean() - expected) < 4 * ratio.std() / np.sqrt(len(x)) + 1e-12


def test_direct_coefficients_equal_exp_of_distances() -> None:
    """The fast path's exp(-D), computed without logs, against exp of the log-space distances,
    with huge offsets and extreme log variances."""
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(60, 5)) * np.array([1, 1e4, 1e-3, 1, 10])
    logvar = rng.normal(size=(60, 5)) * np.array([1, 1, 1, 10, 3]) - np.array([0, 0, 20, 0, 0])
    m, c = mu.shape
    direct = _Channels(mu, logvar).coefficients(slice(0, m), np.empty((m, c, m)), np.empty((m, c, m)))
    expected = np.exp(-bhattacharyya_matrices(mu, logvar)).transpose(1, 0, 2)
    np.testing.assert_allclose(direct, expected, rtol=1e-11, atol=1e-280)  # below: subnormals


def _bits(distances: np.ndarray) -> float:
    m = distances.shape[-1]
    return float(-(logsumexp(-distances, axis=-1) - np.log(m)).mean() / np.log(2))


def _brute_force(mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The formulas pair by pair, each D from the closed form, each sum its own log-sum-exp."""
    m, c = mu.shape
    s = np.exp(0.5 * logvar)
    d = np.stack([_closed_form(mu[:, u, None], s[:, u, None], mu[None, :, u], s[None, :, u])
                  for u in range(c)])
    lab = np.stack([np.where(labels[:, f, None] == labels[None, :, f], 0.0, -np.log(1e-10))
                    for f in range(labels.shape[1])])
    out = {key: np.zeros((c, c)) for key in ("nmi", "vi")} | {key: np.zeros((c, labels.shape[1]))
                                                               for key in ("label_nmi", "label_vi")}
    for others, key in ((d, ""), (lab, "label_")):
        for u in range(c):
            for v in range(len(others)):
                i_u, i_v = _bits(d[u]), _bits(others[v])
                i_uu, i_vv, i_uv = _bits(2 * d[u]), _bits(2 * others[v]), _bits(d[u] + others[v])
                out[f"{key}nmi"][u, v] = (i_u + i_v - i_uv) / np.sqrt((2 * i_u - i_uu) * (2 * i_v - i_vv))
                out[f"{key}vi"][u, v] = 2 * i_uv - i_uu - i_vv
    out["info"] = np.array([_bits(d[u]) for u in range(c)])
    return out


def _hard_channels(m: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Duplicated channels, tied means, duplicated fingerprint points, offsets of 1e4, tiny and
    large variances, and a weak channel (about 0.02 bits; with much less, 2 I(X;U) - I(X;U,U')
    is second order in D and NMI is 0 / 0 in rounding, which is why analyses drop such channels)."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(m, 3))
    z[5] = z[4]  # a duplicated fingerprint point
    mu = np.column_stack([z[:, 0], z[:, 0], 1e4 + z[:, 1], np.round(z[:, 2]), 0.5 * z[:, 0] + z[:, 1],
                          rng.normal(size=m) * 0.5])
    logvar = np.column_stack([np.full(m, -2.0), np.full(m, -2.0), np.full(m, -4.0), np.full(m, -1.0),
                              rng.normal(size=m) - 1, np.full(m, 5.0)])
    labels = np.column_stack([np.round(z[:, 2]), (z[:, 0] > 0).astype(float)])
    return mu, logvar, labels


@pytest.mark.parametrize(("max_bytes", "strip", "product_bits"),
                         [(1, 1, 1000), (2 ** 16, 4, 12), (2 ** 28, 64, 1000), (2 ** 28, 64, 12)])
def test_pairs_equal_brute_force(max_bytes: int, strip: int, product_bits: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One fingerprint row per chunk, a few, and all at once; strips of 1, 4 (the last one
    ragged) and all channels; running products folded into logs every 2 rows or never:
    all agree with the per-pair loop."""
    monkeypatch.setattr(channels, "JOINT_BLOCK", strip)
    monkeypatch.setattr(channels, "PRODUCT_BITS", product_bits)
    mu, logvar, labels = _hard_channels()
    info = pair_information(mu, logvar, labels, max_bytes=max_bytes)
    expected = _brute_force(mu, logvar, labels)
    pairs, with_labels = info.pairs(), info.with_labels()
    np.testing.assert_allclose(info.info, expected["info"], atol=1e-10)
    np.testing.assert_allclose(pairs["nmi"], expected["nmi"], atol=1e-8)
    np.testing.assert_allclose(pairs["vi"], expected["vi"], atol=1e-10)
    np.testing.assert_allclose(with_labels["nmi"], expected["label_nmi"], atol=1e-8)
    np.testing.assert_allclose(with_labels["vi"], expected["label_vi"], atol=1e-10)


def test_self_and_duplicate_similarity() -> None:
    """A channel and its exact copy: NMI 1 and VI 0, as for the channel with itself."""
    mu, logvar, _ = _hard_channels()
    pairs = pair_information(mu, logvar).pairs()
    np.testing.assert_allclose(np.diag(pairs["nmi"]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(pairs["vi"]), 0.0, atol=1e-12)
    assert pairs["nmi"][0, 1] == pytest.approx(1.0, abs=1e-12)
    assert pairs["vi"][0, 1] == pytest.approx(0.0, abs=1e-12)
    assert pairs["nmi"][0, 2] < 0.5  # independent factors


def test_label_copy_carries_the_label_entropy() -> None:
    """mu = label with tiny sigma: I(X;U) = I(X;U,U') = H(label) in bits, and NMI with the
    label column 1."""
    rng = np.random.default_rng(3)
    labels = rng.choice(4, size=300, p=[0.5, 0.25, 0.15, 0.1]).astype(float)
    _, counts = np.unique(labels, return_counts=True)
    entropy = stats.entropy(counts / counts.sum(), base=2)
    info = pair_information(labels[:, None], np.full((300, 1), -30.0), labels[:, None])
    assert info.info[0] == pytest.approx(entropy, abs=1e-9)
    assert info.joint[0, 0] == pytest.approx(entropy, abs=1e-9)
    assert info.label_info[0] == pytest.approx(entropy, abs=1e-6)
    assert info.with_labels()["nmi"][0, 0] == pytest.approx(1.0, abs=1e-6)


def test_distance_matrices_shapes_and_label_floor() -> None:
    mu, logvar, labels = _hard_channels(12)
    d, lab = bhattacharyya_matrices(mu, logvar), label_distance_matrices(labels)
    assert d.shape == (6, 12, 12) and lab.shape == (2, 12, 12)
    np.testing.assert_allclose(np.diagonal(d, axis1=1, axis2=2), 0.0, atol=1e-12)
    np.testing.assert_allclose(d, d.transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(np.unique(lab), [0.0, -np.log(1e-10)])


def _planted(m: int = 200) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """10 models x 10 channels: 3 groups of 25 noisy copies of independent factors, and 25 dead
    channels (mu ~ 0, sigma ~ 1) that carry almost nothing; channels shuffled across models."""
    rng = np.random.default_rng(4)
    truth = rng.permutation(np.repeat(np.arange(4), 25))  # group 3: dead
    z = rng.normal(size=(m, 3))
    live = truth < 3
    mu = np.where(live, z[:, np.minimum(truth, 2)] + 0.05 * rng.normal(size=(m, 100)),
                  0.001 * rng.normal(size=(m, 100)))
    logvar = np.where(live, np.log(0.2 ** 2), 0.0) + 0.1 * rng.normal(size=(m, 100))
    return np.split(mu, 10, axis=1), np.split(logvar, 10, axis=1), truth, z


@pytest.mark.parametrize("metric", ["vi", "nmi"])
def test_optics_finds_planted_groups(metric: str) -> None:
    mus, logvars, truth, _ = _planted()
    result = analyze_channels(mus, logvars, metric=metric)
    kept = result["channels.kept"]
    np.testing.assert_array_equal(kept, np.flatnonzero(truth < 3))  # dead channels dropped
    clusters = result["channels.cluster"]
    assert adjusted_rand_score(truth[kept], clusters) == pytest.approx(1.0)
    assert (clusters >= 0).all()
    np.testing.assert_array_equal(result["channels.model"], np.repeat(np.arange(10), 10))


def test_analysis_with_factors_names_each_group() -> None:
    """Each live channel's NMI is highest with the (discretised) factor it copies."""
    mus, logvars, truth, z = _planted()
    result = analyze_channels(mus, logvars, np.round(z))
    assert result["channels.label_nmi"].shape == (100, 3)
    assert result["channels.label_entropy_bits"].shape == (3,)
    live = truth < 3
    np.testing.assert_array_equal(result["channels.label_nmi"][live].argmax(1), truth[live])


def test_bad_inputs_raise_config_errors() -> None:
    mu = np.zeros((10, 2))
    with pytest.raises(ConfigError, match="mus\\[1\\]"):
        analyze_channels([mu, np.zeros((11, 2))], [mu, np.zeros((11, 2))])
    with pytest.raises(ConfigError, match="metric"):
        analyze_channels([mu], [mu], metric="cosine")
    with pytest.raises(ConfigError, match="labels"):
        analyze_channels([mu], [mu], labels=np.zeros((9, 1)))
    with pytest.raises(ConfigError, match="logvar"):
        analyze_channels([mu], [np.full((10, 2), np.nan)])
    with pytest.raises(ConfigError, match="min_bits"):
        analyze_channels([mu], [mu])  # no channel carries information
