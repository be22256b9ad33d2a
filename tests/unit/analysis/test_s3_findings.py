"""The seed's findings on constructed comparison tables where each one holds, fails, or cannot
be measured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vae_core.analysis.findings import check_findings, fitted_gaussian_draws

FINDINGS = ["AEs reconstruct better, more so at larger D_z",
            "VAEs generate better (lower Frechet distance)",
            "beta -> 0 behaves like an AE (reconstruction)",
            "larger beta (> 1) generates better than beta = 1"]


def _table(ae_recon=(100.0, 80.0, 60.0), vae_recon=(105.0, 95.0, 90.0), ae_fd=(50.0, 60.0, 70.0),
           vae_fd=(30.0, 35.0, 40.0), betas=None) -> pd.DataFrame:
    """AE and beta = 1 VAE at D_z 2, 8, 32 (n_layers 2), and a beta sweep at D_z = 2.
    betas: {beta: (recon, fd)}, beta 1 being the D_z = 2 VAE above."""
    rows = []
    for i, size in enumerate((2, 8, 32)):
        rows.append(("ae", size, 2, np.nan, ae_recon[i], ae_fd[i]))
        rows.append(("vae", size, 2, 1.0, vae_recon[i], vae_fd[i]))
    betas = {0.02: (101.0, 48.0), 1.5: (108.0, 25.0), 10.0: (130.0, 15.0)} if betas is None else betas
    rows += [("vae", 2, 2, beta, recon, fd) for beta, (recon, fd) in betas.items()]
    return pd.DataFrame(rows, columns=["family", "latent_size", "n_layers", "beta", "test_recon",
                                       "frechet_distance"])


def _holds(table: pd.DataFrame) -> list[object]:
    result = check_findings(table)
    assert list(result.finding) == FINDINGS and list(result.columns) == ["finding", "measured", "holds"]
    return list(result.holds)


def test_every_finding_holds_on_a_table_built_to_show_them():
    result = check_findings(_table())
    assert list(result.holds) == [True, True, True, True]
    assert result.measured[0] == "gap_at_D_z=2=5; gap_at_D_z=8=15; gap_at_D_z=32=30"
    assert "vae_better_pairs=3/3" in result.measured[1]
    assert "|beta=0.02 - ae|=1" in result.measured[2] and "|beta=10 - ae|=30" in result.measured[2]
    assert "fd beta=1=30" in result.measured[3] and "fd beta=10=15" in result.measured[3]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"ae_recon": (100.0, 80.0, 95.0)}, [False, True, True, True]),  # AE worse at D_z = 32
    ({"vae_recon": (130.0, 95.0, 70.0)}, [False, True, True, True]),  # the AE's lead shrinks
    ({"vae_fd": (30.0, 65.0, 40.0)}, [True, False, True, True]),  # one pair the AE generates better
    ({"betas": {0.02: (125.0, 48.0), 1.5: (108.0, 25.0), 10.0: (110.0, 15.0)}},
     [True, True, False, True]),  # beta 0.02 reconstructs further from the AE than beta 10
    ({"betas": {0.02: (101.0, 48.0), 1.5: (108.0, 25.0), 10.0: (130.0, 31.0)}},
     [True, True, True, False]),  # beta 10 generates worse than beta 1
])
def test_each_finding_fails_when_its_numbers_say_so(changes, expected):
    assert _holds(_table(**changes)) == expected


def test_findings_without_their_rows_are_not_measured():
    table = _table(betas={})
    assert _holds(table) == [True, True, None, None]
    only_large = _table(betas={1.5: (108.0, 25.0)})  # betas 1 and 1.5: none near 0
    assert _holds(only_large) == [True, True, None, True]
    aes = table[table.family == "ae"]
    assert _holds(aes) == [None, None, None, None]
    with pytest.raises(ValueError, match="lacks column"):
        check_findings(table.drop(columns="frechet_distance"))


def test_ae_samples_come_from_a_gaussian_fitted_to_its_codes():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(5000, 3)) @ np.array([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 3.0]])
    codes += np.array([100.0, -50.0, 0.0])  # far from N(0, I)
    draws = fitted_gaussian_draws(codes, 200_000, seed=1)
    np.testing.assert_allclose(draws.mean(0), codes.mean(0), atol=0.03)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), np.cov(codes, rowvar=False),
                               rtol=0.02, atol=0.01)
    np.testing.assert_array_equal(fitted_gaussian_draws(codes, 4, seed=2),
                                  fitted_gaussian_draws(codes, 4, seed=2))
