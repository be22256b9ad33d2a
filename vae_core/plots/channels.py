"""S1's figures: channel structure (OPTICS-ordered similarities) and the circle fusion experiment."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vae_core.plots import finished

CLUSTER_COLOURS = plt.get_cmap("tab10")


def _cluster_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, label) of each run of one cluster along the OPTICS order (noise -1 skipped)."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts, stops = np.r_[0, edges], np.r_[edges, len(labels)]
    return [(int(a), int(b), int(labels[a])) for a, b in zip(starts, stops) if labels[a] >= 0]


def _shade(ax: plt.Axes, runs: list[tuple[int, int, int]]) -> None:
    for start, stop, label in runs:
        ax.axvspan(start - 0.5, stop - 0.5, color=CLUSTER_COLOURS(label % 10), alpha=0.25, lw=0)


def channel_structure_figure(matrix: np.ndarray, ordering: np.ndarray, reachability: np.ndarray,
                             clusters: np.ndarray, label_nmi: np.ndarray | None = None,
                             label_names: Sequence[str] = (), title: str = "NMI") -> Figure:
    """The reachability profile with clusters shaded, the similarity matrix (n, n) in OPTICS
    order, and beside it each channel's NMI with each label or factor (n, F). Per-channel
    arrays are indexed by channel (as scikit-learn's), `ordering` is the visiting order."""
    n = len(ordering)
    has_labels = label_nmi is not None and label_nmi.shape[1] > 0
    fig, axes = plt.subplots(2, 2, figsize=(9, 8.5),
                             gridspec_kw={"height_ratios": [1, 4], "width_ratios": [4, 1]})
    runs = _cluster_runs(clusters[ordering])
    profile = np.where(np.isfinite(reachability[ordering]), reachability[ordering], np.nan)
    axes[0, 0].bar(np.arange(n), profile, width=1.0, color="0.3")
    _shade(axes[0, 0], runs)
    axes[0, 0].set_ylabel("reachability")
    axes[0, 0].set_xlim(-0.5, n - 0.5)
    axes[0, 0].set_title(f"{title} in OPTICS order ({len({r[2] for r in runs})} clusters, {n} channels)")
    image = axes[1, 0].imshow(matrix[np.ix_(ordering, ordering)], vmin=0, vmax=1, cmap="viridis",
                              interpolation="nearest", aspect="auto")
    axes[1, 0].set_xlabel("channel (OPTICS order)")
    axes[1, 0].set_ylabel("channel (OPTICS order)")
    axes[0, 1].axis("off")
    fig.colorbar(image, cax=axes[0, 1].inset_axes([0.05, 0.45, 0.9, 0.15]), orientation="horizontal",
                 label=title)
    if has_labels:
        axes[1, 1].imshow(label_nmi[ordering], vmin=0, vmax=1, cmap="magma", interpolation="nearest",
                          aspect="auto")
        axes[1, 1].set_xticks(range(len(label_names)), label_names, rotation=60, fontsize=8)
        axes[1, 1].set_yticks([])
        axes[1, 1].set_title("NMI with labels", fontsize=9)
    else:
        axes[1, 1].axis("off")
    return finished(fig)


def channel_figures(result: dict[str, np.ndarray], label_names: Sequence[str] = ()) -> dict[str, Figure]:
    """Both structure figures (NMI and exp(-VI)) from `analyze_channels`' output, over the kept
    channels; file names as keys."""
    kept = result["channels.kept"]
    block = np.ix_(kept, kept)
    label_nmi = result.get("channels.label_nmi")
    label_nmi = None if label_nmi is None else label_nmi[kept]
    common = {"ordering": result["channels.ordering"], "reachability": result["channels.reachability"],
              "clusters": result["channels.cluster"], "label_nmi": label_nmi, "label_names": label_names}
    nmi, similar = result["channels.nmi"][block], np.exp(-result["channels.vi"][block])
    return {"channels_nmi.png": channel_structure_figure(nmi, title="NMI", **common),
            "channels_exp_neg_vi.png": channel_structure_figure(similar, title="exp(-VI)", **common)}


def fusion_figure(result: dict[str, np.ndarray], shown: int = 3) -> Figure:
    """Scores of the fused space against ensemble size k (the learners' own mean continuity
    dashed), and the fused means of `shown` ensemble sizes coloured by angle."""
    k = result["fusion.k"]
    picks = np.unique(np.linspace(0, len(k) - 1, shown).round().astype(int))
    fig, axes = plt.subplots(1, 2 + len(picks), figsize=(4 * (2 + len(picks)), 3.8))
    for key in ("continuity", "trustworthiness"):
        axes[0].plot(k, result[f"fusion.{key}"], marker="o", label=key)
    axes[0].axhline(result["fusion.learner_continuity"].mean(), ls="--", color="0.4",
                    label="one learner (continuity)")
    axes[1].plot(k, result["fusion.uniformity"], marker="s", color="C2")
    axes[1].set_ylabel("uniformity (1 = even spacing)")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(k, [str(v) for v in k])
        ax.set_xlabel("ensemble size k")
    axes[0].set_ylabel("score of the fused means")
    axes[0].legend(fontsize=7)
    for ax, i in zip(axes[2:], picks):
        ax.scatter(*result["fusion.means"][i].T, c=result["fusion.angle"], cmap="hsv", s=10)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(f"fused, k = {k[i]}")
        ax.set_xticks([])
        ax.set_yticks([])
    return finished(fig)


def traversal_figure(rows: Sequence[np.ndarray], labels: Sequence[str], values: Sequence[np.ndarray]
                     ) -> Figure:
    """Latent traversals, one row per cluster: the decoded images (S, C, H, W) as one channel
    of one model sweeps `values` (S,) with the others held, labelled by that channel."""
    steps = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), steps, figsize=(1.1 * steps + 1.5, 1.2 * len(rows) + 0.4),
                             squeeze=False)
    for r, (images, label, sweep) in enumerate(zip(rows, labels, values)):
        for s, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if s >= len(images):
                ax.axis("off")
                continue
            image = np.moveaxis(images[s], 0, -1)
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image.clip(0, 1), cmap="gray",
                      vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{sweep[s]:+.2f}", fontsize=6, pad=1)
        axes[r, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("traversals of one channel per cluster (value of mu)", fontsize=9)
    return finished(fig)
