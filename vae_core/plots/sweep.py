"""Figures of an Optuna study, from its trials table (Study.trials_dataframe())."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vae_core.plots import finished


def _complete(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["state"] == "COMPLETE"].sort_values("number")


def history_figure(trials: pd.DataFrame, objective: str, minimize: bool = True) -> Figure:
    """Each completed trial's value by trial number, with the best value so far."""
    done = _complete(trials)
    column = "value" if "value" in done else "values_0"
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(done["number"], done[column], "o", ms=4, label="trial")
    best = done[column].cummin() if minimize else done[column].cummax()
    ax.step(done["number"], best, where="post", color="C3", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title("optimisation history")
    ax.legend()
    return finished(fig)


def importance_figure(importances: dict[str, float]) -> Figure:
    """Horizontal bars of parameter importances (largest on top)."""
    names = sorted(importances, key=importances.get)
    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.5 * len(names)))
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set_xlabel("importance (fANOVA)")
    ax.set_title("parameter importances")
    return finished(fig)


def slice_figure(trials: pd.DataFrame, objective: str) -> Figure:
    """The objective against each parameter, one panel per parameter."""
    done = _complete(trials)
    column = "value" if "value" in done else "values_0"
    params = [c for c in done.columns if c.startswith("params_")]
    cols = min(3, max(len(params), 1))
    rows = math.ceil(max(len(params), 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, param in zip(axes.flat, params):
        x = done[param]
        if pd.api.types.is_numeric_dtype(x) and x.nunique() > 1 and (x > 0).all() and x.max() / x.min() > 20:
            ax.set_xscale("log")
        ax.scatter(x.astype(float) if pd.api.types.is_numeric_dtype(x) else x.astype(str),
                   done[column], c=done["number"], cmap="viridis", s=18)
        ax.set_xlabel(param.removeprefix("params_"))
        ax.set_ylabel(objective)
    for ax in list(axes.flat)[len(params):]:
        ax.axis("off")
    fig.suptitle(f"{objective} against each parameter")
    return finished(fig)


def pareto_mask(values: np.ndarray, minimize: tuple[bool, bool]) -> np.ndarray:
    """True for points no other point dominates (brute force; studies are small)."""
    signed = values * np.where(minimize, 1.0, -1.0)
    keep = np.ones(len(signed), dtype=bool)
    for i, point in enumerate(signed):
        dominated = (signed <= point).all(axis=1) & (signed < point).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def pareto_figure(trials: pd.DataFrame, names: tuple[str, str], minimize: tuple[bool, bool]) -> Figure:
    """Two objectives of every completed trial, the Pareto front highlighted."""
    done = _complete(trials)
    values = done[["values_0", "values_1"]].to_numpy(dtype=float)
    front = pareto_mask(values, minimize)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(values[~front, 0], values[~front, 1], color="0.6", s=18, label="trial")
    order = np.argsort(values[front, 0])
    ax.plot(values[front, 0][order], values[front, 1][order], "o-", color="C3", label="Pareto front")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Pareto front")
    ax.legend()
    return finished(fig)
