"""S4 end to end: `dvc repro projects/elbo_entropies/dvc.yaml` (on a shortened study) and the
`stage` MLproject entry point."""

from __future__ import annotations

import json
import sys

import mlflow
import pytest
import yaml

from tests.conftest import ROOT, subprocess_env
from tests.studies.default.test_end_to_end import _run, copy_of_repo

pytestmark = pytest.mark.slow


def test_dvc_repro_runs_the_study_and_its_report(tmp_path):
    repo = copy_of_repo(tmp_path / "repo")
    params_file = repo / "projects/elbo_entropies/params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["train"]["defaults"]["epochs"] = 3  # the pipeline's wiring, not the study's numbers
    params["train"]["runs"] = params["train"]["runs"][:2]
    params["variance_table"]["sample_sizes"] = [10, 100]
    params["streaming"].update(batches_per_segment=100, eval_batches=20)
    params["verification"]["steps"] = 10
    params_file.write_text(yaml.safe_dump(params))
    _run(["dvc", "repro", "projects/elbo_entropies/dvc.yaml"], cwd=repo, env=subprocess_env())
    out = repo / "results/elbo_entropies"
    metrics = json.loads((out / "metrics.json").read_text())
    names = [run["name"] for run in params["train"]["runs"]]
    assert set(names) <= set(metrics) and {"variance_ratio", "streaming", "verification"} <= set(metrics)
    for name in names:
        assert (out / f"elbo_entropies_{name}.png").stat().st_size > 1000
        assert (out / f"collapse_{name}.png").stat().st_size > 1000
    for figure in ("variance_table.png", "streaming_bic.png", "verification.png"):
        assert (out / figure).stat().st_size > 1000
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["elbo_entropies"], output_format="list")
    assert sorted(r.info.run_name for r in runs) == sorted([*names, "train", "streaming", "verification"])
    trained = {r.info.run_name: r.info.run_id for r in runs}
    assert set(json.loads((out / "train_metrics.json").read_text())) == set(names)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(trained[names[0]], "figures")}
    assert "figures/elbo_entropies.png" in artifacts and "figures/posterior_collapse.png" in artifacts
    second = _run(["dvc", "repro", "projects/elbo_entropies/dvc.yaml"], cwd=repo, env=subprocess_env())
    assert "Running stage" not in second.stdout


def test_mlflow_run_stage_entry_point(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = tmp_path / "params.yaml"
    params.write_text("verification:\n  dataset_options: {n: 500}\n  steps: 5\n")
    _run([sys.executable, "-m", "mlflow", "run", str(ROOT), "-e", "stage", "-P", "study=elbo_entropies",
          "-P", "stage=verification",
          "-P", f"params={params}", "-P", f"out_dir={tmp_path / 'out'}", "--env-manager", "local",
          "--experiment-name", "s4-e2e"], cwd=tmp_path, env=subprocess_env(MLFLOW_TRACKING_URI=uri))
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["s4-e2e"], output_format="list")
    assert len(runs) == 1 and runs[0].data.tags["mlflow.project.entryPoint"] == "stage"
    assert {"elbo", "entropy_sum", "log_likelihood"} <= set(runs[0].data.metrics)
    assert (tmp_path / "out/verification.png").is_file()
