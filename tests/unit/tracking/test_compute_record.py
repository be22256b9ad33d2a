"""A training run records where it computed (device, threads) and, unless told not to, MLflow's
system metrics (CPU, memory) sampled while it trained."""

from __future__ import annotations

import time

import pytest
import torch
from mlflow import MlflowClient

from vae_core.config import typed
from vae_core.experiment import ExperimentConfig, load_data
from vae_core.experiment.train import train_one
from vae_core.tracking import runs
from vae_core.training import Callback


class SlowEpochs(Callback):
    """Long enough epochs for a few system-metric samples at a 0.1 s interval."""

    def on_epoch_end(self, trainer, epoch, metrics) -> None:
        time.sleep(0.4)


def train(system_metrics: bool) -> str:
    config = typed(ExperimentConfig, {"dataset": "digits", "epochs": 1, "batch_size": 512,
                                      "latent_sizes": [2], "device": "cpu", "save_interval": [],
                                      "system_metrics": system_metrics, "study": "compute"}, "train")
    data = load_data(config.data, 0)
    experiment_id = runs.study_experiment("compute")
    run_id, status = train_one(config, data, 2, None, experiment_id, extra_callbacks=(SlowEpochs(),),
                               key_extra={"system_metrics_test": system_metrics, "at": time.time()})
    assert status == "finished"
    return run_id


@pytest.mark.parametrize("on", [True, False])
def test_system_metrics_follow_the_flag_and_the_device_and_threads_are_recorded(on, tracking_uri,
                                                                              monkeypatch):
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.1")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    run = MlflowClient().get_run(train(on))
    system = {k for k in run.data.metrics if k.startswith("system/")}
    if on:
        assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= system
    else:
        assert system == set()
    params = run.data.params
    assert params["resolved_device"] == "cpu" and params["device"] == "cpu"
    assert params["torch_threads"] == str(torch.get_num_threads())
    assert params["torch_interop_threads"] == str(torch.get_num_interop_threads())
    assert params["system_metrics"] == str(on)
