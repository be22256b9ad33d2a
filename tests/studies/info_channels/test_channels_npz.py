"""`analyze --kind channels` on an .npz of encoder outputs (the route for models trained
elsewhere), with answers known in closed form: a channel that copies a factor carries the
factor's entropy and has NMI 1 with it; copies of one factor across models cluster together;
collapsed channels (< 0.01 bits) are left out of OPTICS. And the refusals, before any run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from vae_core.analysis.latent_information import monte_carlo_information
from vae_core.cli.__main__ import main

M, MODELS = 120, 6
SPREAD = 10.0  # between factor values, against posterior sigma 0.01: exp(-D) is 1 or 0


def entropy_bits(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


@pytest.fixture(scope="module")
def encoder_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """Six models x 3 channels: z0 copies factor a (4 values, uneven), z1 copies factor b (5
    values), z2 is collapsed onto the prior (mu 0, logvar 0); each model's copies carry its own
    tiny offset noise and a different order of channels does not matter."""
    rng = np.random.default_rng(0)
    factors = np.stack([rng.choice(4, M, p=[0.4, 0.3, 0.2, 0.1]), rng.integers(0, 5, M)], axis=1)
    mu = np.zeros((MODELS, M, 3))
    mu[:, :, 0] = SPREAD * factors[:, 0] + 1e-7 * rng.normal(size=(MODELS, M)) + 7.0
    mu[:, :, 1] = -SPREAD * factors[:, 1] + 1e-7 * rng.normal(size=(MODELS, M))
    logvar = np.zeros_like(mu)
    logvar[:, :, :2] = 2 * np.log(0.01)
    path = tmp_path_factory.mktemp("npz") / "encodings.npz"
    np.savez(path, mu=mu, logvar=logvar, factors=factors, factor_names=np.array(["a", "b"]))
    return path, factors


@pytest.fixture(scope="module")
def analysed(encoder_outputs, tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> Path:
    out = tmp_path_factory.mktemp("channels") / "out"
    assert main(["analyze", "--kind", "channels", "--npz", str(encoder_outputs[0]), "--out-dir", str(out),
                 "--min-samples", "3", "--mc-samples", "500"]) == 0
    return out


def test_a_copy_of_a_factor_carries_its_entropy_and_nmi_one(analysed: Path, encoder_outputs) -> None:
    _, factors = encoder_outputs
    with np.load(analysed / "matrices.npz") as arrays:
        info, label_nmi = arrays["info_bits"], arrays["label_nmi"]
        entropy = arrays["label_entropy_bits"]
    np.testing.assert_allclose(entropy, [entropy_bits(factors[:, 0]), entropy_bits(factors[:, 1])], atol=1e-6)
    np.testing.assert_allclose(info[0::3], entropy_bits(factors[:, 0]), atol=1e-6)
    np.testing.assert_allclose(info[1::3], entropy_bits(factors[:, 1]), atol=1e-6)
    np.testing.assert_allclose(info[2::3], 0.0, atol=1e-12)
    np.testing.assert_allclose(label_nmi[0::3, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(label_nmi[1::3, 1], 1.0, atol=1e-6)
    # a and b are independent draws: NMI of a copy of a with b is far below 1
    assert (label_nmi[0::3, 1] < 0.2).all()


def test_copies_cluster_together_and_collapsed_channels_are_dropped(analysed: Path) -> None:
    with np.load(analysed / "matrices.npz") as arrays:
        kept, cluster, dim = arrays["kept"], arrays["cluster"], arrays["dim"]
        vi = arrays["vi"]
    np.testing.assert_array_equal(kept, [c for c in range(3 * MODELS) if c % 3 != 2])
    by_dim = {d: set(cluster[dim[kept] == d].tolist()) for d in (0, 1)}
    assert len(by_dim[0]) == 1 and len(by_dim[1]) == 1 and by_dim[0] != by_dim[1]
    assert -1 not in by_dim[0] | by_dim[1]
    np.testing.assert_allclose(vi[0, 3], 0.0, atol=1e-6)  # two copies of a: no variation of information
    summary = json.loads((analysed / "channels.json").read_text())
    assert summary["n_kept"] == 2 * MODELS and summary["n_clusters"] == 2
    assert sorted(summary["clusters"]["0"] + summary["clusters"]["1"]) == sorted(
        f"model{k}:z{d}" for k in range(MODELS) for d in (0, 1))


def test_whole_latent_information_and_files(analysed: Path, encoder_outputs) -> None:
    path, _ = encoder_outputs
    with np.load(path) as arrays:
        expected = monte_carlo_information(arrays["mu"][2], arrays["logvar"][2], 500, 0)
    summary = json.loads((analysed / "channels.json").read_text())
    assert summary["latent_info"][2]["latent_info.bits"] == pytest.approx(expected["latent_info.bits"])
    # The (a, b) pair is known exactly by the latent: its information is at most log2 M and at least
    # the pair's plug-in entropy less Monte Carlo error.
    _, factors = encoder_outputs
    pair_entropy = entropy_bits(factors[:, 0] * 10 + factors[:, 1])
    tolerance = 5 * expected["latent_info.stderr_bits"]
    assert expected["latent_info.bits"] == pytest.approx(pair_entropy, abs=tolerance)
    for name in ("channels_nmi.png", "channels_exp_neg_vi.png"):
        assert (analysed / name).stat().st_size > 10_000
    run = mlflow.search_runs(search_all_experiments=True, filter_string="tags.analysis = 'channels'",
                             output_format="list")[0]
    logged = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "channels")}
    assert {"channels/matrices.npz", "channels/channels.json", "channels/channels_nmi.png"} <= logged
    assert run.data.metrics["channels.n_clusters"] == 2


@pytest.mark.parametrize(("arrays", "refusal"), [
    (None, "^npz: file '.*missing.npz' not found"),
    ({"mean": np.zeros((2, 10, 3)), "logvar": np.zeros((2, 10, 3))}, "^npz: .* has no 'mu' array"),
    ({"mu": np.zeros((2, 10, 3)), "logvar": np.zeros((2, 10, 4))}, "^npz: .* differ in shape"),
])
def test_bad_npz_is_refused_before_any_run(arrays, refusal, tmp_path: Path, tracking_uri: str,
                                           capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / ("missing.npz" if arrays is None else "bad.npz")
    if arrays is not None:
        np.savez(path, **arrays)
    before = len(mlflow.search_runs(search_all_experiments=True))
    assert main(["analyze", "--kind", "channels", "--npz", str(path), "--out-dir", str(tmp_path / "o")]) == 2
    message = capsys.readouterr().err.removeprefix("error: ").strip()
    assert len(message.splitlines()) == 1
    assert re.match(refusal, message), message
    assert len(mlflow.search_runs(search_all_experiments=True)) == before


def test_bad_key_and_both_inputs_are_refused_before_any_run(encoder_outputs, tmp_path: Path,
                                                            tracking_uri: str, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(f"analyze:\n  npz: {encoder_outputs[0]}\n  not_a_key: 1\n")
    before = len(mlflow.search_runs(search_all_experiments=True))
    assert main(["analyze", "--kind", "channels", "--params", f"{params}:analyze"]) == 2
    assert "not_a_key" in capsys.readouterr().err
    assert main(["analyze", "--kind", "channels", "--npz", str(encoder_outputs[0]),
                 "--model", "0123456789abcdef0123456789abcdef"]) == 2
    assert capsys.readouterr().err.startswith("error: models/npz: give either trained models")
    assert main(["analyze", "--kind", "channels", "--npz", str(encoder_outputs[0]), "--xi", "1.5"]) == 2
    assert "xi" in capsys.readouterr().err
    assert main(["analyze", "--kind", "channels", "--model", "no_such_study"]) == 2
    assert capsys.readouterr().err.startswith("error: models: 'no_such_study' is not a run id")
    assert len(mlflow.search_runs(search_all_experiments=True)) == before
