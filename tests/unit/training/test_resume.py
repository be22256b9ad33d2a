"""kill -9 in the middle of training, then the same command again: same run, no epoch lost or twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import torch

from tests.conftest import ROOT, run_cli, subprocess_env

EPOCHS = 30
COMMAND = ["train", "--study", "resume-test", "--latent-sizes", "2,3", "--epochs", str(EPOCHS),
           "--batch-size", "8", "--save-interval", "0,2,15,30"]


def _latest_state_epoch(folder: Path) -> int:
    epochs = []
    for path in folder.glob("*.pt"):
        try:
            epochs.append(torch.load(path, weights_only=False)["epoch"])
        except Exception:  # noqa: BLE001 - a file being replaced right now
            continue
    return max(epochs, default=-1)


def test_killed_training_resumes_in_the_same_run(workdir, tracking_uri):
    env = subprocess_env(PYTHONPATH=str(ROOT), MLFLOW_TRACKING_URI=tracking_uri)
    process = subprocess.Popen([sys.executable, "-m", "vae_core.cli", *COMMAND], cwd=workdir,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _latest_state_epoch(workdir / ".vae_state") < 4:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "training never reached epoch 4"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    experiment = mlflow.get_experiment_by_name("resume-test")
    killed = mlflow.search_runs([experiment.experiment_id], output_format="list")
    assert {r.info.status for r in killed} == {"RUNNING"}  # what kill -9 leaves behind

    finished = run_cli(*COMMAND, cwd=workdir)
    assert finished.returncode == 0, finished.stderr[-3000:]

    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert killed[0].info.run_id in {r.info.run_id for r in runs}
    client = mlflow.MlflowClient()
    for child in children:
        assert child.info.status == "FINISHED"
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "val/loss")]
        assert sorted(steps) == list(range(EPOCHS + 1))  # none lost, none twice
        models = mlflow.search_logged_models(
            experiment_ids=[experiment.experiment_id],
            filter_string=f"source_run_id = '{child.info.run_id}'", output_format="list")
        assert sorted(int(m.tags["epoch"]) for m in models) == [0, 2, 15, 30]
