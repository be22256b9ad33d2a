"""A model trained on a data set without ground-truth factors is refused in one line naming the
model and its data set, before any MLflow run or output exists."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from vae_core.cli.__main__ import main
from vae_core.config import ConfigError, typed
from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.studies.disentanglement.analyze import DisentanglementConfig, run_disentanglement


def test_a_model_trained_without_factors_is_refused_before_any_run(workdir: Path, capsys) -> None:
    config = typed(ExperimentConfig, {"study": "disentanglement_refusal", "dataset": "digits",
                                      "arch": "mlp", "latent_sizes": [2], "epochs": 1,
                                      "batch_size": 256, "save_interval": [1]})
    digits = run_experiment(config).child_run_ids[2]
    before = len(mlflow.search_runs(search_all_experiments=True))
    with pytest.raises(ConfigError) as error:
        run_disentanglement(DisentanglementConfig(models=[digits]), workdir / "out")
    message = str(error.value)
    assert message.startswith(f"models: {digits} was trained on 'digits', which has no ground-truth "
                              "factors; disentanglement needs one of shapes3d, dsprites")
    assert "\n" not in message
    capsys.readouterr()  # training's log lines
    assert main(["analyze", "--kind", "disentanglement", "--model", digits, "--out-dir", "out2"]) == 2
    assert capsys.readouterr().err.endswith(f"{message}\n")
    assert main(["analyze", "--kind", "disentanglement", "--model", digits, "--num-bins", "1"]) == 2
    assert "num_bins" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="^models: give at least one"):
        run_disentanglement(DisentanglementConfig(), workdir / "out")
    assert len(mlflow.search_runs(search_all_experiments=True)) == before
    assert not (workdir / "out").exists() and not (workdir / "out2").exists()
