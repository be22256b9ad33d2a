"""Metric-vs-parameter figure: its points, mean line and std band against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vae_core.config import ConfigError
from vae_core.plots.disentanglement import metric_spread, metrics_vs_param_figure


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"beta": beta, "seed": seed, "disentanglement.mig": rng.uniform(),
             "disentanglement.sap": rng.uniform()}
            for beta in (100.0, 0.5, 4.0, 1.0) for seed in range(3)]
    rows.append({"beta": 16.0, "seed": 0, "disentanglement.mig": 0.3, "disentanglement.sap": 0.1})
    return pd.DataFrame(rows)


def test_spread_is_the_mean_and_sample_std_over_seeds() -> None:
    table = _table()
    spread = metric_spread(table, "beta", "disentanglement.mig")
    assert list(spread.index) == [0.5, 1.0, 4.0, 16.0, 100.0]
    for beta, row in spread.iterrows():
        values = table.loc[table.beta == beta, "disentanglement.mig"].to_numpy()
        assert row["mean"] == pytest.approx(np.mean(values))
        assert row["std"] == pytest.approx(np.std(values, ddof=1) if len(values) > 1 else 0.0)
        assert row["seeds"] == len(values)


def test_figure_draws_every_model_and_the_mean_with_its_band() -> None:
    table = _table()
    fig = metrics_vs_param_figure(table, param="beta")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in panels] == ["mig", "sap"]
    for ax, metric in zip(panels, ("disentanglement.mig", "disentanglement.sap")):
        points, mean = ax.lines
        np.testing.assert_array_equal(points.get_ydata(), table[metric])
        spread = metric_spread(table, "beta", metric)
        np.testing.assert_allclose(mean.get_xdata(), spread.index)
        np.testing.assert_allclose(mean.get_ydata(), spread["mean"])
        band = ax.collections[0].get_paths()[0].vertices
        assert band[:, 1].max() == pytest.approx((spread["mean"] + spread["std"]).max())
        assert ax.get_xscale() == "log"  # 0.5 .. 100


def test_missing_columns_are_named() -> None:
    with pytest.raises(ConfigError, match="column\\(s\\) beta not in the table"):
        metrics_vs_param_figure(_table().drop(columns="beta"), param="beta")
