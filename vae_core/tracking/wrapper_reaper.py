"""Delete the run `mlflow run` opened once `mlflow run` has closed it.

`mlflow run` sets its run's final status after our command exits, and fails with a traceback
when that run is already deleted (its `_maybe_set_run_terminated` compares a status string with
integer codes, so it always writes). So a refused command, or one that files its work in a run
of its own, hands the wrapper to this small detached process: it waits until the run is no
longer RUNNING (or `timeout_s` has passed, then closes it itself) and deletes it.

`python -m vae_core.tracking.wrapper_reaper RUN_ID [TIMEOUT_S]`
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mlflow import MlflowClient

from vae_core.tracking.store import configure_tracking

POLL_S = 0.2


def reap(run_id: str, timeout_s: float = 120.0) -> None:
    configure_tracking()
    client = MlflowClient()
    deadline = time.monotonic() + timeout_s
    while client.get_run(run_id).info.status == "RUNNING":
        if time.monotonic() > deadline:
            client.set_terminated(run_id, "KILLED")
            break
        time.sleep(POLL_S)
    client.delete_run(run_id)


def spawn(run_id: str, timeout_s: float = 120.0) -> subprocess.Popen:
    """Start the reaper detached from this process (it outlives the command)."""
    package_root = str(Path(__file__).resolve().parents[2])  # this vae_core, wherever cwd is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_RUN_ID", None)
    return subprocess.Popen([sys.executable, "-m", "vae_core.tracking.wrapper_reaper", run_id,
                             str(timeout_s)], env=env, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    reap(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 120.0)
