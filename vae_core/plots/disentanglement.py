"""Disentanglement metrics against a swept parameter (beta, or any other), spread over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from vae_core.config import ConfigError
from vae_core.plots import finished


def metric_spread(table: pd.DataFrame, param: str, metric: str) -> pd.DataFrame:
    """Per value of `param` (ascending): mean, sample std (0 for one seed) and seed count."""
    grouped = table.groupby(param)[metric]
    return pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1).fillna(0.0),
                         "seeds": grouped.count()}).sort_index()


def metrics_vs_param_figure(table: pd.DataFrame, param: str = "param",
                            metrics: Sequence[str] | None = None, seed: str = "seed") -> Figure:
    """One panel per metric: each (param, seed) model as a point, the mean over seeds as a line
    with a +- 1 std band. `table` has a row per model with columns param, seed and the metrics
    (default: every other numeric column); a positive param spanning > 20x gets a log axis."""
    missing = [c for c in (param, seed, *(metrics or ())) if c not in table]
    if missing:
        raise ConfigError(f"metrics_vs_param_figure: column(s) {', '.join(missing)} not in the "
                          f"table (columns: {', '.join(map(str, table.columns))})")
    if metrics is None:
        metrics = [c for c in table.select_dtypes("number").columns if c not in (param, seed)]
    if not metrics:
        raise ConfigError("metrics_vs_param_figure: no metric columns; pass metrics=[...]")
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        spread = metric_spread(table, param, metric)
        ax.plot(table[param], table[metric], "o", ms=3.5, alpha=0.45, color="C0", label="seed")
        ax.plot(spread.index, spread["mean"], "-", color="C3", lw=1.6, label="mean")
        ax.fill_between(spread.index, spread["mean"] - spread["std"], spread["mean"] + spread["std"],
                        color="C3", alpha=0.18, lw=0, label="± std")
        x = table[param]
        if (x > 0).all() and x.max() / x.min() > 20:
            ax.set_xscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel(metric.removeprefix("disentanglement."))
    axes.flat[0].legend(fontsize=8)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"disentanglement vs {param} ({table[seed].nunique()} seeds)")
    return finished(fig)
