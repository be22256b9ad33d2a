"""The study file's launcher, slurm: block and state_dir: checked up front, turned into the
sbatch script submitit writes (read back here as sbatch would read it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from submitit.slurm.slurm import _make_sbatch_string

from tests.sweep_helpers import study_document
from vae_core.config import ConfigError
from vae_core.experiment import STATE_DIR_ENV, state_path
from vae_core.launch.settings import state_dir_path
from vae_core.launch.task import executor_parameters, task_setup
from vae_core.sweep.slurm_launch import closing_parameters
from vae_core.sweep.spec import parse_study

FULL = {"partition": "gpu-a100", "time_min": 90, "cpus_per_task": 4, "gpus_per_task": 1, "mem_gb": 7.5,
        "sbatch": ["--account=proj-42", "#SBATCH --qos=high", "--exclusive"],
        "setup": ["module load cuda/12"], "log_dir": "/shared/slurm"}


def parse(**overrides):
    return parse_study(study_document("s", **overrides), "s")


def sbatch_options(script: str) -> dict[str, str]:
    """`#SBATCH --key=value` lines as sbatch reads them."""
    options = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH --"):
            key, _, value = line.removeprefix("#SBATCH --").partition("=")
            options[key] = value or "(flag)"
    return options


def test_defaults_are_local_with_an_hour_and_one_cpu_per_task():
    spec = parse()
    assert (spec.launcher, spec.state_dir) == ("local", ".vae_state")
    assert (spec.slurm.partition, spec.slurm.time_min, spec.slurm.cpus_per_task, spec.slurm.gpus_per_task,
            spec.slurm.mem_gb, spec.slurm.sbatch) == (None, 60, 1, 0, None, ())


def test_the_slurm_block_becomes_the_array_script_sbatch_reads(tmp_path):
    spec = parse(launcher="slurm", slurm=FULL)
    worker = executor_parameters(spec.slurm, "sweep-s", ["echo ready"])
    script = _make_sbatch_string(command="python -m x", folder=tmp_path, map_count=3, **worker)
    options = sbatch_options(script)
    assert options["partition"] == "gpu-a100" and options["time"] == "90"
    assert options["cpus-per-task"] == "4" and options["gpus-per-task"] == "1"
    assert options["mem"] == "7680M"  # 7.5 GiB in MiB, as sbatch counts
    assert options["account"] == "proj-42" and options["qos"] == "high" and options["exclusive"] == "(flag)"
    assert options["array"] == "0-2%3" and options["job-name"] == "sweep-s"
    assert "echo ready" in script.split("# setup", 1)[1]
    closing = sbatch_options(_make_sbatch_string(command="python -m x", folder=tmp_path,
                                                 **closing_parameters(worker, "1234")))
    assert closing["dependency"] == "afterany:1234" and closing["cpus-per-task"] == "1"
    assert "gpus-per-task" not in closing and "mem" not in closing and "array" not in closing
    assert closing["account"] == "proj-42" and closing["partition"] == "gpu-a100"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"launcher": "ray"}, "launcher: unknown value 'ray'; allowed values: local, slurm"),
    ({"slurm": {"partitoin": "gpu"}}, "slurm: unknown key(s) partitoin"),
    ({"slurm": {"time_min": 0}}, "slurm.time_min"),
    ({"slurm": {"cpus_per_task": "two"}}, "slurm.cpus_per_task: expected an integer, got 'two'"),
    ({"slurm": {"gpus_per_task": -1}}, "slurm.gpus_per_task"),
    ({"slurm": {"mem_gb": 0}}, "slurm.mem_gb"),
    ({"slurm": {"partition": "gpu; rm -rf /"}}, "slurm.partition: expected a partition name"),
    ({"slurm": {"sbatch": ["account=proj"]}}, "slurm.sbatch[0]: expected an sbatch option like"),
    ({"slurm": {"sbatch": ["--qos=high", "--array=0-9"]}}, "slurm.sbatch[1]: '--array=0-9' is set by the"),
    ({"slurm": {"sbatch": "--qos=high"}}, "slurm.sbatch: expected a list of non-empty strings"),
    ({"slurm": {"setup": [""]}}, "slurm.setup: expected a list of non-empty strings"),
    ({"slurm": ["gpu"]}, "slurm: expected a mapping of"),
    ({"state_dir": ""}, "state_dir: expected a folder path"),
])
def test_bad_launch_settings_name_the_key_and_the_fix(overrides, message):
    with pytest.raises(ConfigError) as error:
        parse(**overrides)
    assert message in str(error.value)


def test_task_setup_exports_survive_the_shell_verbatim(tmp_path):
    """The job script's exports, run by bash: odd characters in values arrive unchanged and the
    project goes first on an existing PYTHONPATH."""
    tracking = "http://tracking:5000/?a=1&b='x' $HOME"
    state = tmp_path / "state dir"
    lines = task_setup(parse(slurm={"cpus_per_task": 3}).slurm, tracking, state, tmp_path / "my project")
    script = "\n".join([*lines, 'printf "%s\\n" "$MLFLOW_TRACKING_URI" "$VAE_STATE_DIR" "$PYTHONPATH" '
                        '"$OMP_NUM_THREADS"'])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": "/already/there"}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.splitlines() == [tracking, str(state), f"{tmp_path / 'my project'}:/already/there", "3"]
    bare = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env={"PATH": "/bin"})
    assert bare.stdout.splitlines()[2] == str(tmp_path / "my project")


def test_state_dir_is_relative_to_the_root_unless_vae_state_dir_says(tmp_path, monkeypatch):
    monkeypatch.delenv(STATE_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert state_path("abc") == tmp_path.resolve() / ".vae_state" / "abc.pt"  # as before the setting
    assert state_dir_path(".vae_state", tmp_path) == tmp_path.resolve() / ".vae_state"
    assert state_dir_path("/shared/state", tmp_path) == Path("/shared/state")
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "override"))
    assert state_dir_path(".vae_state", tmp_path) == tmp_path / "override"
    assert state_path("abc") == tmp_path / "override" / "abc.pt"  # what the trainer resumes from
