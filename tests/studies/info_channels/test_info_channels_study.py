"""The S1 study end to end through `run_stage` on a tiny declaration: a 2-model grid sweep of
conv64 VAEs on 64 x 64 sprites (each trial a child run of the sweep's parent run), the
fingerprint file, the channel analysis (its numbers against a brute-force computation from the
reloaded networks), and the report with the fusion experiment. Marked slow (a minute or so)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml

from vae_core.studies import run_stage
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.queries import sweep_trials

pytestmark = pytest.mark.slow

STUDY = "info_channels_tiny"
SWEEP = {"study": STUDY, "base": {"dataset": "sprites", "dataset_options": {"n": 100}, "model": "vae",
                                  "arch": "conv64", "latent_size": 4, "epochs": 1, "batch_size": 32,
                                  "lr": 3.0e-3, "save_interval": [1]},
         "space": {"beta": {"grid": [1.0, 4.0]}, "seed": {"grid": [3]}},
         "objectives": [{"metric": "val/neg_elbo", "direction": "minimize"}],
         "sampler": {"name": "grid", "seed": 0}, "heartbeat_s": 1}
PARAMS = {"fingerprint": {"n_points": 40, "seed": 2},
          "channels": {"min_bits": 0.0, "min_samples": 2, "mc_samples": 200, "traversal_steps": 3},
          "report": {"n_learners": 6, "n_points": 16, "ensemble_sizes": [2, 3], "steps": 5}}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> dict:
    folder = tmp_path_factory.mktemp("info_channels")
    (folder / "sweep.yaml").write_text(yaml.safe_dump(SWEEP))
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"sweep": str(folder / "sweep.yaml"), "n_workers": 1},
                                      **PARAMS}))
    out = folder / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the Optuna storage and trainer state land here
        results = {stage: run_stage("info_channels", stage, params, out_dir=out)
                   for stage in ("train", "fingerprint", "channels", "report")}
    return {"out": out, **results}


def brute_force_bits(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """-(1/M) sum_i log2 (1/M) sum_j exp(-D_B(i, j)) per channel, loop over channels, float64."""
    bits = []
    for c in range(mu.shape[1]):
        m, v = mu[:, c], np.exp(logvar[:, c])
        total = v[:, None] + v[None]
        d = ((m[:, None] - m[None]) ** 2 / (4 * total)
             + 0.5 * np.log(total / (2 * np.sqrt(v[:, None] * v[None]))))
        bits.append(-np.mean(np.log2(np.exp(-d).mean(1))))
    return np.array(bits)


def test_the_sweep_trains_each_grid_point_as_a_child_run(study: dict) -> None:
    assert study["train"]["trials"] == {"COMPLETE": 2}
    trials = sweep_trials(STUDY)
    assert len(trials) == 2 and set(trials.parent_run_id) == {study["train"]["parent_run_id"]}
    assert sorted(float(b) for b in trials["param.beta"]) == [1.0, 4.0]
    written = json.loads((study["out"] / "sweep.json").read_text())
    assert written["parent_run_id"] == study["train"]["parent_run_id"]


def test_fingerprint_is_a_fixed_sample_of_distinct_grid_points(study: dict) -> None:
    with np.load(study["out"] / "fingerprint.npz") as arrays:
        images, factors, names = arrays["images"], arrays["factors"], arrays["factor_names"]
    assert images.shape == (40, 1, 64, 64) and set(np.unique(images)) <= {0.0, 1.0}
    assert list(names) == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    assert len(np.unique(factors, axis=0)) == 40
    assert np.isin(factors[:, 1].round(6), np.linspace(0.5, 1.0, 6).round(6)).all()
    assert np.isin(factors[:, 2].round(6), (2 * np.pi * np.arange(40) / 40).round(6)).all()
    assert (images.sum((1, 2, 3)) > 0).all()


def test_channel_information_matches_a_brute_force_from_the_reloaded_models(study: dict) -> None:
    with np.load(study["out"] / "fingerprint.npz") as arrays:
        images = torch.from_numpy(arrays["images"])
    with np.load(study["out"] / "channels" / "matrices.npz") as arrays:
        info, model, label_nmi = arrays["info_bits"], arrays["model"], arrays["label_nmi"]
        latent_bits = arrays["latent_info_bits"]
    trials = sweep_trials(STUDY)
    assert len(info) == 8 and label_nmi.shape == (8, 5) and len(latent_bits) == 2
    for k, run_id in enumerate(trials.run_id):
        with torch.no_grad():
            mu, logvar = load_model(run_id).eval().encode(images)
        expected = brute_force_bits(mu.double().numpy(), logvar.double().numpy())
        np.testing.assert_allclose(info[model == k], expected, rtol=1e-7, atol=1e-10)
        assert 0 <= latent_bits[k] <= math.log2(40) + 0.5  # a whole latent: at most log2 M, up to MC error
    summary = study["channels"]
    assert set(summary["models"].values()) == set(trials.run_id)
    assert (study["out"] / "channels" / "traversals.png").is_file() == (summary["n_clusters"] > 0)


def test_report_holds_the_fusion_and_the_channel_counts(study: dict) -> None:
    metrics = json.loads((study["out"] / "report" / "metrics.json").read_text())
    assert metrics["channels"]["n_channels"] == 8
    assert metrics["channels"]["n_clusters"] == study["channels"]["n_clusters"]
    assert set(metrics["fusion"]) == {"k2", "k3"}
    assert (study["out"] / "report" / "fusion" / "fusion.png").stat().st_size > 10_000
