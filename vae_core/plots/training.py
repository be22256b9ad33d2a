"""Training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from vae_core.plots import finished


def loss_curves_figure(curves: dict[str, dict[int, float]], title: str = "",
                       ylabel: str = "loss (nats per sample)") -> Figure:
    """One line per label, x = epoch."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in curves.items():
        if points:
            epochs = sorted(points)
            ax.plot(epochs, [points[e] for e in epochs], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return finished(fig)
