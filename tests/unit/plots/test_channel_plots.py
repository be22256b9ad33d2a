"""S1's figures draw what they are given: the matrix in OPTICS order, one shade per cluster run."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from vae_core.plots.channels import _cluster_runs, channel_figures, channel_structure_figure, fusion_figure


def _structure(n: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    clusters = np.repeat([0, 1, -1], [5, 4, n - 9])
    matrix = np.where(clusters[:, None] == clusters[None], 0.9, 0.1) * (clusters[:, None] >= 0)
    np.fill_diagonal(matrix, 1.0)
    return {"matrix": matrix, "ordering": rng.permutation(n), "clusters": clusters,
            "reachability": np.r_[np.inf, rng.random(n - 1)]}


def test_cluster_runs_follow_the_order() -> None:
    assert _cluster_runs(np.array([0, 0, -1, 1, 1, 1, 0])) == [(0, 2, 0), (3, 6, 1), (6, 7, 0)]


def test_structure_figure_shows_the_reordered_matrix_and_labels() -> None:
    s = _structure()
    label_nmi = np.random.default_rng(1).random((12, 3))
    fig = channel_structure_figure(s["matrix"], s["ordering"], s["reachability"], s["clusters"], label_nmi,
                                   ["shape", "scale", "x"])
    assert isinstance(fig, Figure)
    matrix_ax, label_ax = fig.axes[2], fig.axes[3]
    order = s["ordering"]
    np.testing.assert_array_equal(matrix_ax.images[0].get_array(), s["matrix"][np.ix_(order, order)])
    np.testing.assert_array_equal(label_ax.images[0].get_array(), label_nmi[order])
    shades = [p for p in fig.axes[0].patches if p.get_alpha() == 0.25]
    assert len(shades) == len(_cluster_runs(s["clusters"][order]))
    assert [t.get_text() for t in label_ax.get_xticklabels()] == ["shape", "scale", "x"]


def test_channel_figures_from_analysis_output() -> None:
    s = _structure()
    kept = np.arange(2, 14)
    full = np.zeros((16, 16))
    full[np.ix_(kept, kept)] = s["matrix"]
    result = {"channels.kept": kept, "channels.ordering": s["ordering"], "channels.cluster": s["clusters"],
              "channels.reachability": s["reachability"], "channels.nmi": full,
              "channels.vi": -np.log(np.clip(full, 1e-3, 1)), "channels.label_nmi": np.zeros((16, 2))}
    figures = channel_figures(result, ["a", "b"])
    assert set(figures) == {"channels_nmi.png", "channels_exp_neg_vi.png"}
    shown = figures["channels_exp_neg_vi.png"].axes[2].images[0].get_array()
    np.testing.assert_allclose(shown, np.clip(s["matrix"], 1e-3, 1)[np.ix_(s["ordering"], s["ordering"])])


def test_fusion_figure() -> None:
    k = np.array([2, 3, 5, 10])
    angle = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    result = {"fusion.k": k, "fusion.angle": angle, "fusion.continuity": np.linspace(0.9, 1, 4),
              "fusion.trustworthiness": np.linspace(0.9, 1, 4), "fusion.uniformity": np.linspace(2, 1, 4),
              "fusion.learner_continuity": np.full(30, 0.95),
              "fusion.means": np.stack([np.stack([np.cos(angle), np.sin(angle)], 1)] * 4)}
    fig = fusion_figure(result)
    assert len(fig.axes) == 5
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), result["fusion.continuity"])
    assert fig.axes[4].get_title() == "fused, k = 10"
