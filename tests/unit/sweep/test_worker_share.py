"""Each sweep worker gets cores // workers torch threads and, with several GPUs, its own GPU;
read back inside real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.sweep_helpers import write_study
from vae_core.sweep import resources
from vae_core.sweep.resources import worker_env
from vae_core.sweep.runner import run_sweep
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.queries import study_runs

ROOT = Path(__file__).resolve().parents[3]
READ_BACK = ("from vae_core.sweep.resources import apply_worker_share; apply_worker_share(); "
             "import torch; print(torch.get_num_threads(), torch.get_num_interop_threads())")


def test_workers_take_turns_on_the_gpus_and_share_the_threads():
    gpus = ["0", "1", "3"]
    envs = [worker_env({"PATH": "x"}, i, 5, gpus) for i in range(1, 5)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["1", "3", "0", "1"]
    assert all(e["VAE_WORKER_THREADS"] == e["OMP_NUM_THREADS"] == "5" and e["PATH"] == "x" for e in envs)
    assert "CUDA_VISIBLE_DEVICES" not in worker_env({}, 1, 2, ["0"])  # one GPU: all share it


def test_threads_per_worker_is_the_core_share_unless_omp_says(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(resources, "usable_cores", lambda: 16)
    assert [resources.threads_per_worker(n) for n in (1, 2, 3, 16, 40)] == [16, 8, 5, 1, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resources.threads_per_worker(2) == 3


@pytest.mark.parametrize("threads", [1, 3])
def test_a_worker_process_applies_its_share(threads):
    env = worker_env({k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}, 1, threads, [])
    env.pop("OMP_NUM_THREADS")  # only the worker's own setting may set the counts
    out = subprocess.run([sys.executable, "-c", READ_BACK], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == [str(threads), str(threads)]


def test_two_sweep_workers_record_their_thread_share(tmp_path, tracking_uri, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(resources, "usable_cores", lambda: 4)  # the launcher's count, on any machine
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the worker process imports this checkout
    path = write_study(tmp_path, "shared", space={"latent_size": {"grid": [2, 3]}})
    result = run_sweep(load_study_spec(str(path), tmp_path), path, n_workers=2, register=False)
    assert result.trials == {"COMPLETE": 2}
    found = study_runs("shared")
    threads = {MlflowClient().get_run(r).data.params["torch_threads"] for r in found.run_id}
    assert threads == {"2"}  # 4 cores // 2 workers, in the launcher and in the worker process
