"""S2 grid figures: the frontier against a brute force, the Fano curve's data, colours and bad tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from vae_core.analysis.rates import fano_max_accuracy
from vae_core.config import ConfigError
from vae_core.plots.hit import (
    beta_colours,
    fano_figure,
    rate_plane_figure,
    total_rate_figure,
    total_rate_frontier,
)


def _grid(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    betas = [0.1, 1.0, 10.0]
    rows = []
    for beta_z, beta_y in itertools.product(betas, betas):
        rate_z, rate_y = 8 / beta_z + rng.random(), 40 / beta_y + rng.random()
        rows.append({"beta_z": beta_z, "beta_y": beta_y, "rate_z": rate_z, "rate_y": rate_y,
                     "psnr": 10 + np.log(rate_z + rate_y) + rng.random(),
                     "mi.z_label": min(rate_z, 2.2) * 0.9,
                     "probe.z.logreg_mean": 0.1 + 0.3 * min(rate_z, 2.2)})
    rows[4]["psnr"] = np.nan  # a model whose evaluation failed is left out, not plotted as 0
    return pd.DataFrame(rows)


def _brute_force_frontier(total, metric, maximize):
    better = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    keep = []
    for i in range(len(total)):
        dominated = any(total[j] <= total[i] and not better(metric[i], metric[j])
                        and (total[j] < total[i] or better(metric[j], metric[i])) for j in range(len(total)))
        keep.append(not dominated)
    return np.array(keep)


@pytest.mark.parametrize("maximize", [True, False])
def test_frontier_matches_a_brute_force(maximize):
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"rate_z": rng.random(40) * 10, "rate_y": rng.random(40) * 10,
                          "m": rng.integers(0, 6, 40).astype(float)})  # ties in the metric
    table.loc[5, ["rate_z", "rate_y", "m"]] = table.loc[6, ["rate_z", "rate_y", "m"]].values  # a duplicate
    total = (table["rate_z"] + table["rate_y"]).to_numpy()
    expected = _brute_force_frontier(total, table["m"].to_numpy(), maximize)
    np.testing.assert_array_equal(total_rate_frontier(table, "m", maximize), expected)


def test_beta_colours_span_the_corners():
    colours = beta_colours(np.array([0.1, 10.0, 1.0]), np.array([0.1, 10.0, 10.0]))
    np.testing.assert_allclose(colours, [[0, 0.35, 0], [1, 0.35, 1], [0.5, 0.35, 1]])


def test_figures_build_and_skip_missing_values():
    table = _grid()
    plane = rate_plane_figure(table, "psnr")
    assert len(plane.axes) >= 2 and plane.axes[0].collections[0].get_offsets().shape == (8, 2)
    total = total_rate_figure(table, "psnr", maximize=True)
    assert total.axes[0].get_xlabel().startswith("R(z) + R(y|z)")


def test_fano_figure_draws_the_inverted_bound():
    table = _grid()
    figure = fano_figure(table, "probe.z.logreg_mean", "mi.z_label", h_label=np.log(10), n_classes=10)
    curve = next(line for line in figure.axes[0].lines if line.get_label().startswith("Fano"))
    x, y = curve.get_data()
    np.testing.assert_allclose(y, [fano_max_accuracy(i, np.log(10), 10) for i in x])
    assert y[0] == pytest.approx(0.1) and y[-1] == 1.0


def test_missing_columns_name_them():
    with pytest.raises(ConfigError, match="lacks column\\(s\\) fid"):
        total_rate_figure(_grid(), "fid")
    with pytest.raises(ConfigError, match="rate_y"):
        rate_plane_figure(_grid().drop(columns="rate_y"), "psnr")
