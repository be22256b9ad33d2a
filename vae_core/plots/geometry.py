"""S0's figures, drawn from the geometry tables (the JSON documents the analysis writes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vae_core.plots import finished


def _final(per_epoch: dict[str, object]) -> object:
    return per_epoch[max(per_epoch, key=int)]


def _sizes(table: dict[str, dict]) -> list[str]:
    return sorted(table, key=lambda label: (not label.isdigit(), int(label) if label.isdigit() else 0,
                                            label))


def layer_labels(layers: dict[str, str] | list[str]) -> list[str]:
    """Tick labels: the module names the user gave (or the defaults), not the probe ids l00..."""
    return list(layers.values()) if isinstance(layers, dict) else list(layers)


def _layer_axis(ax: plt.Axes, layers: list[str]) -> None:
    ax.set_xticks(range(len(layers)), layers, rotation=45, fontsize=8)
    ax.set_xlabel("layer")


def id_profile_figure(ids: dict[str, dict], layers: list[str]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in _sizes(ids):
        ax.plot(_final(ids[label]), marker="o", ms=3, label=f"K={label}")
    _layer_axis(ax, layers)
    ax.set_ylabel("intrinsic dimension (TwoNN)")
    ax.set_title("ID profile at the last checkpoint")
    ax.legend(fontsize=7)
    return finished(fig)


def first_last_figure(first_last: dict[str, dict], layers: list[str]) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, title in zip(axes, ("to_first", "to_last"), ("Delta(l -> input)", "Delta(l -> output)")):
        for label in _sizes(first_last):
            ax.plot(_final(first_last[label])[key], marker="o", ms=3, label=f"K={label}")
        _layer_axis(ax, layers)
        ax.set_title(title)
    axes[0].set_ylabel("information imbalance")
    axes[1].legend(fontsize=7)
    return finished(fig)


def _against_size(ax: plt.Axes, per_size: dict[str, float], ylabel: str) -> None:
    """One value per model against its latent size (models without a numeric size only when
    no model has one)."""
    sizes = [s for s in _sizes(per_size) if s.isdigit()] or _sizes(per_size)
    ax.plot(range(len(sizes)), [per_size[s] for s in sizes], marker="o")
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_xlabel("latent size K")
    ax.set_ylabel(ylabel)


def _final_out_in(first_last: dict[str, dict]) -> dict[str, float]:
    return {label: _final(per_epoch)["to_first"][-1] for label, per_epoch in first_last.items()}


def out_in_figure(first_last: dict[str, dict]) -> Figure:
    """Delta(output -> input) at the last checkpoint against latent size."""
    fig, ax = plt.subplots(figsize=(5, 4))
    _against_size(ax, _final_out_in(first_last), "Delta(output -> input)")
    ax.set_title("information the output keeps about the input")
    return finished(fig)


def out_in_vs_quality_figure(first_last: dict[str, dict], quality: dict[str, dict]) -> Figure:
    """S0's pair: Delta(output -> input) and the sample-quality score (fd_pixel, lower is
    better), both at the last checkpoint, against latent size."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    _against_size(axes[0], _final_out_in(first_last), "Delta(output -> input)")
    axes[0].set_title("information the output keeps about the input")
    _against_size(axes[1], {label: _final(per_epoch) for label, per_epoch in quality.items()},
                  "fd_pixel (lower is better)")
    axes[1].set_title("sample quality (FID's formula without Inception)")
    return finished(fig)


def kl_figure(kl: dict[str, dict]) -> Figure:
    """Validation KL(q(z|x) || p(z)) over training, one curve per latent size."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in _sizes(kl):
        epochs = sorted(kl[label], key=int)
        ax.plot([int(e) for e in epochs], [kl[label][e] for e in epochs], marker="o", ms=3,
                label=f"K={label}")
    if any("0" in per_epoch for per_epoch in kl.values()):  # the untrained network: no log axis
        ax.set_xscale("symlog", linthresh=1)
    else:
        ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation KL (nats)")
    ax.set_title("KL against epoch")
    ax.legend(fontsize=7)
    return finished(fig)


def consecutive_figure(train: dict[str, dict], layers: list[str]) -> Figure:
    """(Delta(l -> l+1) - Delta(l+1 -> l)) / mean: positive reads as expansion, negative as
    compression."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in _sizes(train):
        final = _final(train[label])
        fwd, bwd = np.asarray(final["forward"]), np.asarray(final["backward"])
        ax.plot((fwd - bwd) / ((fwd + bwd) / 2), marker="o", ms=3, label=f"K={label}")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(range(len(layers) - 1), [f"{a}->{b}" for a, b in zip(layers[:-1], layers[1:])],
                  rotation=60, fontsize=7)
    ax.set_ylabel("relative consecutive difference")
    ax.set_title("expansion (+) / compression (-) between layers")
    ax.legend(fontsize=7)
    return finished(fig)


def out_in_epochs_figure(first_last: dict[str, dict]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in _sizes(first_last):
        epochs = sorted(first_last[label], key=int)
        ax.plot([int(e) for e in epochs], [first_last[label][e]["to_first"][-1] for e in epochs],
                marker="o", ms=3, label=f"K={label}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("Delta(output -> input)")
    ax.set_title("Delta(output -> input) over training")
    ax.legend(fontsize=7)
    return finished(fig)


def geometry_figures(tables: dict[str, dict]) -> dict[str, Figure]:
    """Every S0 figure, by file name; the sample-quality and KL figures only when their tables
    are there and not empty (older result folders have neither)."""
    layers = layer_labels(tables["geometry"]["layers"])
    first_last = tables["imbalances_first_last"]
    figures = {
        "id_profile": id_profile_figure(tables["ids"], layers),
        "ii_first_last": first_last_figure(first_last, layers),
        "ii_out_in_by_latent": out_in_figure(first_last),
        "ii_consecutive": consecutive_figure(tables["imbalances_train"], layers),
        "ii_out_in_by_epoch": out_in_epochs_figure(first_last),
    }
    if tables.get("sample_quality"):
        figures["ii_out_in_vs_quality"] = out_in_vs_quality_figure(first_last, tables["sample_quality"])
    if tables.get("kl"):
        figures["kl_by_epoch"] = kl_figure(tables["kl"])
    return figures
