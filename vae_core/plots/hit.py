"""Figures of an S2 grid (one row per model: rate_z, rate_y, beta_y, beta_z and metric columns).

Colour by (log10 beta_z, log10 beta_y) is a two-dimensional colour map: red grows with beta_z,
blue with beta_y (legend square beside the plot). Models with beta_y = beta_z (plain beta-VAEs)
are ringed in black, beta_y = beta_z = 1 (the ELBO) is a star. The frontier is the set of
models no other model beats on both total rate (lower) and the metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.pyplot import subplots

from vae_core.analysis.rates import fano_max_accuracy
from vae_core.config import ConfigError
from vae_core.plots import finished
from vae_core.plots.sweep import pareto_mask

GRID_COLUMNS = ("rate_z", "rate_y", "beta_y", "beta_z")


def _require(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    missing = [c for c in (*GRID_COLUMNS, *columns) if c not in table.columns]
    if missing:
        raise ConfigError(f"metric: the grid table lacks column(s) {', '.join(missing)}; it has "
                          f"{', '.join(map(str, table.columns))}")
    return table.dropna(subset=list(columns)).reset_index(drop=True)


def _unit(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return np.full_like(values, 0.5) if span == 0 else (values - values.min()) / span


def beta_colours(beta_z: np.ndarray, beta_y: np.ndarray) -> np.ndarray:
    """RGB per model: red = scaled log10 beta_z, blue = scaled log10 beta_y, green fixed."""
    u, v = _unit(np.log10(np.asarray(beta_z, float))), _unit(np.log10(np.asarray(beta_y, float)))
    return np.column_stack([u, np.full_like(u, 0.35), v])


def total_rate_frontier(table: pd.DataFrame, metric: str, maximize: bool) -> np.ndarray:
    """True for models that no other model beats on total rate (lower) and metric at once."""
    values = np.column_stack([table["rate_z"] + table["rate_y"], table[metric]]).astype(float)
    return pareto_mask(values, (True, not maximize))


def _log_span(values: pd.Series) -> list[float]:
    low, high = np.log10(values.min()), np.log10(values.max())
    return [low - 0.5, high + 0.5] if low == high else [low, high]


def _figure(panels: int) -> tuple[Figure, list[Axes], Axes]:
    """`panels` plot axes side by side and a narrow last one for the colour legend."""
    fig, axes = subplots(1, panels + 1, figsize=(5.5 * panels + 1.6, 4.5),
                         gridspec_kw={"width_ratios": [5] * panels + [1]})
    return fig, list(axes[:-1]), axes[-1]


def _beta_legend(ax: Axes, table: pd.DataFrame) -> None:
    grid = np.linspace(0, 1, 21)
    u, v = np.meshgrid(grid, grid)
    ax.imshow(np.dstack([u, np.full_like(u, 0.35), v]), origin="lower", aspect="auto",
              extent=[*_log_span(table["beta_z"]), *_log_span(table["beta_y"])])
    ax.set_box_aspect(1)
    ax.set_xlabel("log10 beta_z", fontsize=7)
    ax.set_ylabel("log10 beta_y", fontsize=7)
    ax.tick_params(labelsize=6)


def _mark_special(ax: Axes, table: pd.DataFrame, x: str | np.ndarray, y: str | np.ndarray) -> None:
    xs = table[x].to_numpy() if isinstance(x, str) else x
    ys = table[y].to_numpy() if isinstance(y, str) else y
    plain = np.isclose(table["beta_y"].to_numpy(float), table["beta_z"].to_numpy(float))
    elbo = plain & np.isclose(table["beta_z"].to_numpy(float), 1.0)
    ax.scatter(xs[plain], ys[plain], s=60, facecolors="none", edgecolors="k", lw=1, label="beta_y = beta_z")
    ax.scatter(xs[elbo], ys[elbo], s=160, marker="*", c="gold", edgecolors="k", zorder=5, label="beta = 1")


def rate_plane_figure(table: pd.DataFrame, metric: str, maximize: bool = True) -> Figure:
    """The metric over the (R(z), R(y|z)) plane, beside the same points coloured by the betas;
    frontier models (total rate against metric) outlined in red."""
    table = _require(table, metric)
    front = total_rate_frontier(table, metric, maximize)
    fig, (left, right), legend = _figure(2)
    shown = left.scatter(table["rate_z"], table["rate_y"], c=table[metric], cmap="viridis", s=30)
    fig.colorbar(shown, ax=left, label=metric)
    right.scatter(table["rate_z"], table["rate_y"], c=beta_colours(table["beta_z"], table["beta_y"]), s=30)
    _beta_legend(legend, table)
    for ax in (left, right):
        _mark_special(ax, table, "rate_z", "rate_y")
        ax.scatter(table["rate_z"][front], table["rate_y"][front], s=90, facecolors="none",
                   edgecolors="r", lw=1.2, label="frontier")
        ax.set_xlabel("R(z) [nats]")
        ax.set_ylabel("R(y|z) [nats]")
    left.legend(fontsize=7, loc="lower right")
    left.set_title(f"{metric} over the rate plane")
    right.set_title("coloured by (log beta_z, log beta_y)")
    return finished(fig)


def total_rate_figure(table: pd.DataFrame, metric: str, maximize: bool = True) -> Figure:
    """The metric against R(z) + R(y|z), coloured by the betas, with the frontier."""
    table = _require(table, metric)
    total = (table["rate_z"] + table["rate_y"]).to_numpy()
    front = total_rate_frontier(table, metric, maximize)
    order = np.argsort(total[front])
    fig, (ax,), legend = _figure(1)
    ax.scatter(total, table[metric], c=beta_colours(table["beta_z"], table["beta_y"]), s=30)
    ax.plot(total[front][order], table[metric].to_numpy()[front][order], "r-", lw=1, label="frontier")
    _mark_special(ax, table, total, metric)
    _beta_legend(legend, table)
    ax.set_xlabel("R(z) + R(y|z) [nats]")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{metric} against total rate")
    return finished(fig)


def fano_figure(table: pd.DataFrame, accuracy: str, information: str, h_label: float,
                n_classes: int) -> Figure:
    """Probe accuracy against I_q(z; L), with Fano's ceiling acc_max(I) for I in [0, H(L)] and chance."""
    table = _require(table, accuracy, information)
    grid = np.linspace(0.0, h_label, 200)
    ceiling = [fano_max_accuracy(i, h_label, n_classes) for i in grid]
    fig, (ax,), legend = _figure(1)
    ax.scatter(table[information], table[accuracy], c=beta_colours(table["beta_z"], table["beta_y"]), s=30)
    ax.plot(grid, ceiling, "k-", lw=1, label="Fano bound (max accuracy)")
    ax.axhline(1.0 / n_classes, color="0.5", ls=":", lw=1, label="chance")
    ax.axvline(h_label, color="0.5", ls="--", lw=1, label="H(L)")
    _mark_special(ax, table, information, accuracy)
    _beta_legend(legend, table)
    ax.set_xlabel(f"{information} [nats]")
    ax.set_ylabel(accuracy)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("probe accuracy and Fano's bound")
    return finished(fig)
