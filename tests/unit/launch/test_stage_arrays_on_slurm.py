"""Study stages as Slurm job arrays on a real single-node cluster (munged, slurmctld, slurmd on
localhost), runs on an MLflow server backed by PostgreSQL, all on loopback: the training stage's
latent sizes as array tasks under one local parent, collected by a second start that submits
nothing; S0's models analysed by array tasks give the tables a local analysis gives."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from vae_core.cli.__main__ import main
from vae_core.config import typed
from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.launch import UnitsFailed
from vae_core.launch.fanout import RECORD, map_units
from vae_core.launch.jobs import active
from vae_core.launch.settings import LaunchConfig
from vae_core.studies.id_ii.analyze import GeometryConfig, run_geometry
from vae_core.tracking.history import metric_history
from vae_core.tracking.runs import child_runs

pytestmark = [pytest.mark.services, pytest.mark.slow]

TINY = {"dataset": "digits", "arch": "mlp", "latent_sizes": [2, 3], "epochs": 1, "batch_size": 256,
        "save_interval": [0, 1]}
MLP_LAYERS = ["input", "encoder.body", "latent", "decoder.body.1", "output"]


def slurm_launch(folder: Path, **extra) -> dict:
    return {"launcher": "slurm", "state_dir": str(folder / "state"),
            "slurm": {"time_min": 10, "cpus_per_task": 1, "log_dir": str(folder / "slurm")}, **extra}


def on_server(folder: Path, server: str, monkeypatch) -> None:
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    mlflow.set_tracking_uri(server)


def leaves(document, path=""):
    """(path, value) of every number or string in nested dicts and lists."""
    if isinstance(document, dict):
        return [leaf for key in sorted(document) for leaf in leaves(document[key], f"{path}/{key}")]
    if isinstance(document, list):
        return [leaf for i, item in enumerate(document) for leaf in leaves(item, f"{path}/{i}")]
    return [(path, document)]


def same_tables(found: dict, expected: dict) -> None:
    """Equal up to float rounding (the tasks run with one thread, this process with more)."""
    found, expected = leaves(found), leaves(expected)
    assert [p for p, _ in found] == [p for p, _ in expected]
    for (path, a), (_, b) in zip(found, expected):
        assert a == (pytest.approx(b, rel=1e-4, abs=1e-6) if isinstance(b, float) else b), path


def wait_for_jobs(jobs: list[str], timeout_s: float = 300) -> None:
    deadline = time.time() + timeout_s
    while active(jobs):
        assert time.time() < deadline, f"jobs {jobs} still queued or running"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def trained_on_slurm(postgres, mlflow_server, slurm_cluster, tmp_path_factory):
    """Submitted without waiting, then collected by the same declaration started again."""
    folder = tmp_path_factory.mktemp("stage_arrays")
    with pytest.MonkeyPatch.context() as monkeypatch:
        on_server(folder, mlflow_server, monkeypatch)
        config = typed(ExperimentConfig, {**TINY, "study": "stage_arrays",
                                          "launch": slurm_launch(folder, wait=False)})
        first = run_experiment(config)
        record_file = next((folder / "slurm").glob(f"train-stage_arrays-*/{RECORD}"))
        jobs = json.loads(record_file.read_text())
        scheduled = MlflowClient().get_run(first.parent_run_id).info.status
        wait_for_jobs(list(jobs.values()))
        scripts = sorted(p.name for p in record_file.parent.glob("*_submission.sh"))
        second = run_experiment(config.model_copy(update={"launch": config.launch.model_copy(
            update={"wait": True})}))
        rescripts = sorted(p.name for p in record_file.parent.glob("*_submission.sh"))
        yield folder, first, second, jobs, scheduled, (scripts, rescripts)


def test_latent_sizes_train_in_array_tasks_under_one_local_parent(trained_on_slurm):
    folder, first, second, jobs, scheduled, (scripts, rescripts) = trained_on_slurm
    assert first.submitted and first.child_run_ids == {} and scheduled == "SCHEDULED"
    array = jobs["z2"].split("_")[0]
    assert jobs == {"z2": f"{array}_0", "z3": f"{array}_1"}  # one array, one task per latent size
    assert scripts == rescripts == [f"{array}_submission.sh"]  # the second start submitted nothing
    assert second.parent_run_id == first.parent_run_id and not second.submitted
    client = MlflowClient()
    assert client.get_run(second.parent_run_id).info.status == "FINISHED"
    children = child_runs(second.parent_run_id)
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    by_size = {int(r.data.tags["latent_size"]): r for r in children}
    assert second.child_run_ids == {size: run.info.run_id for size, run in by_size.items()}
    assert {size: run.data.tags["slurm.job_id"] for size, run in by_size.items()} == \
        {2: jobs["z2"], 3: jobs["z3"]}  # each trained by its own array task
    history = metric_history(list(second.child_run_ids.values()), ["val/loss"])
    assert sorted(history.groupby("run_id").step.apply(list).tolist()) == [[0, 1], [0, 1]]
    parent_metrics = client.get_run(second.parent_run_id).data.metrics
    assert {"z2/val/loss", "z3/val/loss"} <= set(parent_metrics)  # the local parent's summary
    log = (folder / "slurm" / f"train-stage_arrays-{second.parent_run_id[:8]}" / f"{jobs['z3']}_0_log.err")
    assert "z=3" in log.read_text()  # the task's own progress lines, in its log


def test_models_analysed_by_array_tasks_give_the_local_tables(trained_on_slurm, mlflow_server, tmp_path,
                                                               monkeypatch, capfd):
    folder, _, second, *_ = trained_on_slurm
    on_server(tmp_path, mlflow_server, monkeypatch)
    models = [second.child_run_ids[2], second.child_run_ids[3]]
    config = GeometryConfig(models=models, n_points=100, layers=MLP_LAYERS, k=8)
    launch = typed(LaunchConfig, slurm_launch(tmp_path))
    on_slurm = run_geometry(config, tmp_path / "slurm_out", "stage_arrays", launch)
    err = capfd.readouterr().err
    assert "Slurm array" in err and "2 tasks submitted" in err
    assert len(list((tmp_path / "state" / "geometry").iterdir())) == 4  # 2 models x 2 checkpoints
    local = run_geometry(config, tmp_path / "local_out", "stage_arrays",
                         LaunchConfig(state_dir=str(tmp_path / "local_state")))
    same_tables(on_slurm, local)
    again = run_geometry(config, tmp_path / "again", "stage_arrays", launch)
    assert "2 of 2 units already done, not run again" in capfd.readouterr().err
    assert json.dumps(again, sort_keys=True) == json.dumps(on_slurm, sort_keys=True)  # read from the cache


def test_an_unknown_partition_is_refused_before_any_run(slurm_cluster, workdir, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # never contacted: refused first
    params = workdir / "params.yaml"
    params.write_text(json.dumps({"train": {**TINY, "launch": {"launcher": "slurm",
                                                               "slurm": {"partition": "gpu"}}}}))
    assert main(["stage", "default", "train", "--params", str(params)]) == 2
    error = capsys.readouterr().err
    assert "slurm.partition: the cluster has no partition 'gpu'; allowed values: debug" in error
    assert not (workdir / ".slurm").exists()


def test_a_failed_task_is_named_with_its_log_and_a_queued_one_is_not_submitted_twice(slurm_cluster, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # the units never contact it
    launch = typed(LaunchConfig, slurm_launch(tmp_path, wait=False))
    labels = ["four", "minus_one"]
    assert map_units(math.sqrt, [4.0, -1.0], launch, "roots", labels) is None
    with pytest.raises(UnitsFailed) as failed:  # started again at once: waits for the same jobs
        map_units(math.sqrt, [4.0, -1.0], launch.model_copy(update={"wait": True}), "roots", labels)
    assert len(list((tmp_path / "slurm" / "roots").glob("*_submission.sh"))) == 1
    message = str(failed.value)
    assert message.startswith("roots: 1 of 2 array tasks failed: minus_one (job ")
    assert "failed: ValueError: math domain error; log: " in message and "\n" not in message
    log = Path(message.split("log: ")[1].split(";")[0])
    assert log.name.endswith("_log.err") and "math domain error" in log.read_text()
    assert map_units(math.sqrt, [9.0, 4.0], launch.model_copy(update={"wait": True}), "roots",
                     ["nine", "four"], done={4.0: 2.0}.get) == [3.0, 2.0]
