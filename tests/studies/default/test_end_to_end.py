"""The README's commands, run for real: `mlflow run . -e train` and `dvc repro` (twice)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest

from tests.conftest import ROOT, subprocess_env
from tests.unit.data.test_data import _write_idx

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def copy_of_repo(destination: Path) -> Path:
    """The files a clean clone would have (tracked and not ignored), as a fresh git repo.

    Local dvc.lock files are left out: they record this checkout's runs, not the project.
    """
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in (n for n in listed if Path(n).name != "dvc.lock"):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    for args in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"]):
        subprocess.run(args, cwd=destination, check=True, capture_output=True)
    return destination


def test_mlflow_run_trains_on_mnist_files_in_the_data_folder(tmp_path):
    """`mlflow run . -e train -P dataset=mnist`, on IDX files already on disk (no internet)."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "data" / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 300), ("t10k", 50)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _run([sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", "train", "-P", "dataset=mnist",
          "-P", "epochs=2", "-P", "latent_sizes=2,3", "--env-manager", "local",
          "--experiment-name", "e2e"], cwd=tmp_path,
         env=subprocess_env(MLFLOW_TRACKING_URI=uri, VAE_DATA_DIR=str(tmp_path / "data")))
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name("e2e")
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and parents[0].data.tags["mlflow.project.entryPoint"] == "train"
    assert sorted(r.data.tags["latent_size"] for r in children) == ["2", "3"]
    assert all(r.info.status == "FINISHED" and "val/loss" in r.data.metrics for r in children)
    assert {r.data.tags["dataset"] for r in children} == {"mnist"}
    assert {r.data.params["data_dim"] for r in children} == {"784"}


def test_dvc_repro_runs_offline_and_again_is_a_no_op(tmp_path):
    repo = copy_of_repo(tmp_path / "repo")
    first = _run(["dvc", "repro"], cwd=repo, env=subprocess_env())
    assert "Running stage 'train'" in first.stdout
    metrics = json.loads((repo / "results/default/metrics.json").read_text())
    assert sorted(metrics) == ["latent_2", "latent_4", "latent_8"]
    assert all(m["val_loss"] > 0 for m in metrics.values())
    assert (repo / "results/default/loss_curves.png").stat().st_size > 1000
    assert (repo / "mlflow.db").is_file()  # the default store: sqlite in the project root
    shown = _run(["dvc", "metrics", "show", "--json"], cwd=repo, env=subprocess_env())
    assert "latent_8" in shown.stdout
    # the command the README prints: no "DVC failed to load some metrics" (other studies' files)
    scoped = _run(["dvc", "metrics", "show", "results/default/metrics.json",
                   "results/default/train_metrics.json"], cwd=repo, env=subprocess_env())
    assert "failed to load" not in scoped.stdout + scoped.stderr and "latent_8" in scoped.stdout
    plots = _run(["dvc", "plots", "show", "-o", "plots_out"], cwd=repo, env=subprocess_env())
    assert "failed to load" not in plots.stdout + plots.stderr
    page = (repo / "plots_out" / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and all(f'"z{k}"' in page for k in (2, 4, 8))
    second = _run(["dvc", "repro"], cwd=repo, env=subprocess_env())
    assert "Running stage" not in second.stdout
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True)
    assert len(runs) == 4  # one parent and three latent sizes: the second repro trained nothing


def _experiment_metrics(shown: object) -> dict[str, dict]:
    """name -> metrics files of every experiment in `dvc exp show --json` output (DVC 3 layout)."""
    found: dict[str, dict] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if node.get("name") and isinstance(data, dict) and "metrics" in data:
                found[node["name"]] = data["metrics"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(shown)
    return found


def test_dvc_experiments_compare_metrics(tmp_path):
    """`dvc exp run -S` twice with different values: `dvc exp show` holds both experiments'
    metrics (they are git-tracked files), and an epochs override needs no save_interval edit."""
    repo = copy_of_repo(tmp_path / "repo")
    env = subprocess_env()
    _run(["dvc", "exp", "run", "-n", "short", "-S", "train.epochs=2"], cwd=repo, env=env)
    _run(["dvc", "exp", "run", "-n", "longer", "-S", "train.epochs=3", "-S", "train.save_interval.every=1"],
         cwd=repo, env=env)
    shown = json.loads(_run(["dvc", "exp", "show", "--json"], cwd=repo, env=env).stdout)
    metrics = _experiment_metrics(shown)
    assert {"short", "longer"} <= set(metrics), metrics.keys()
    for name in ("short", "longer"):
        report = metrics[name]["results/default/metrics.json"]["data"]
        assert sorted(report) == ["latent_2", "latent_4", "latent_8"]
    diff = _run(["dvc", "exp", "diff", "short", "longer", "--json"], cwd=repo, env=env)
    assert "val_loss" in diff.stdout
