"""A stage's `launch:` section typed up front, refused before any run when Slurm cannot work,
and `launcher: local` (the default) running the units here: finished ones not again."""

from __future__ import annotations

import mlflow
import pytest
import yaml

from vae_core.cli.__main__ import main
from vae_core.config import ConfigError, typed
from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.launch.fanout import map_units
from vae_core.launch.settings import LaunchConfig
from vae_core.tracking.runs import child_runs

TINY = {"dataset": "digits", "latent_sizes": [2, 3], "epochs": 1, "batch_size": 256, "save_interval": [1]}


def test_launch_is_typed_and_no_part_of_the_run_key():
    local = typed(ExperimentConfig, {**TINY, "study": "k"})
    slurm = typed(ExperimentConfig, {**TINY, "study": "k", "launch": {
        "launcher": "slurm", "wait": False, "slurm": {"partition": "gpu", "time_min": 5}}})
    assert (slurm.launch.launcher, slurm.launch.slurm.partition, slurm.launch.wait) == ("slurm", "gpu", False)
    assert slurm.flat() == local.flat()  # the same runs, wherever they train
    assert typed(ExperimentConfig, slurm.model_dump(mode="json")) == slurm  # config.json reads back
    assert local.launch == LaunchConfig()
    assert typed(LaunchConfig, slurm.launch.model_dump()) == slurm.launch  # tuples as dumped


@pytest.mark.parametrize(("launch", "message"), [
    ({"launcher": "ray"}, "launch.launcher: unknown value 'ray'; allowed values: 'local' or 'slurm'"),
    ({"slurm": {"partiton": "gpu"}}, "launch.slurm: unknown key(s) partiton; allowed keys: cpus_per_task"),
    ({"slurm": {"sbatch": ["--array=0-3"]}}, "launch.slurm.sbatch[0]: '--array=0-3' is set by the launcher"),
    ({"state_dir": ""}, "launch.state_dir: expected a folder path"),
    ({"wiat": True}, "train: unknown key 'launch.wiat'; allowed keys: launcher, slurm, state_dir, wait"),
])
def test_a_bad_launch_section_is_one_line_naming_the_key(launch, message):
    with pytest.raises(ConfigError) as error:
        typed(ExperimentConfig, {**TINY, "launch": launch}, "train")
    assert message in str(error.value) and "\n" not in str(error.value)


def write_params(folder, launch: dict) -> str:
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({"train": {**TINY, "study": "refused_stage", "launch": launch},
                                    "analyze": {"launch": launch}}))
    return str(path)


@pytest.mark.parametrize("stage", ["train", "analyze"])
@pytest.mark.parametrize("uri", ["sqlite:///{workdir}/mlflow.db", "{workdir}/mlruns"])
def test_a_file_tracking_store_is_refused_before_any_run(stage, uri, workdir, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(workdir=workdir))
    params = write_params(workdir, {"launcher": "slurm"})
    assert main(["stage", "id_ii", stage, "--params", params]) == 2
    error = capsys.readouterr().err
    assert "MLFLOW_TRACKING_URI: launcher slurm needs a tracking store every compute node can reach" in error
    assert "start an MLflow server" in error
    assert not [p.name for p in workdir.iterdir() if p.name in ("mlflow.db", "mlruns", ".slurm")]


def test_no_slurm_client_is_refused_before_any_run(workdir, capsys, monkeypatch):
    bare = workdir / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # never contacted: refused first
    params = write_params(workdir, {"launcher": "slurm"})
    assert main(["stage", "id_ii", "train", "--params", params, "--no-wait"]) == 2
    error = capsys.readouterr().err
    assert "launcher: slurm needs the Slurm client commands on PATH; not found: sbatch, srun" in error


def test_local_units_run_here_in_order_and_finished_ones_are_not_run_again(capsys):
    called = []

    def square(unit: int) -> int:
        called.append(unit)
        return unit * unit

    done = {3: -9}
    assert map_units(square, [1, 3, 4], LaunchConfig(), "squares", done=done.get) == [1, -9, 16]
    assert called == [1, 4]
    assert "squares: 1 of 3 units already done, not run again: 3" in capsys.readouterr().err
    assert map_units(square, [2], LaunchConfig(wait=False), "squares") == [4]  # wait is Slurm's


def test_a_resumed_training_trains_only_the_latent_sizes_it_had_not_finished(workdir, monkeypatch):
    """Killed during z=3, the same declaration resumes its parent and trains z=3 alone."""
    import vae_core.experiment.train as training

    real, calls = training.train_one, []

    def killed_at_3(config, data, size, *args, **kwargs):
        calls.append(size)
        if size == 3 and calls.count(3) == 1:
            raise KeyboardInterrupt
        return real(config, data, size, *args, **kwargs)

    monkeypatch.setattr(training, "train_one", killed_at_3)
    config = typed(ExperimentConfig, {**TINY, "study": "resume_units"})
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config)
    parent = mlflow.search_runs(experiment_names=["resume_units"], output_format="list",
                                filter_string="tags.`vae.kind` = 'train_parent'")[0]
    assert parent.info.status == "FAILED"
    result = run_experiment(config)
    assert calls == [2, 3, 3]  # z=2 was not trained again
    assert result.parent_run_id == parent.info.run_id
    children = child_runs(parent.info.run_id)
    assert sorted(r.data.tags["latent_size"] for r in children) == ["2", "3"]
    assert all(r.info.status == "FINISHED" for r in children)
    assert result.child_run_ids == {int(r.data.tags["latent_size"]): r.info.run_id for r in children}
