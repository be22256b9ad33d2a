"""Trials per minute of a fixed 8-point grid (digits, 40 epochs: trials of several seconds)
with 1, 2 and 4 worker processes, on the default SQLite storage and, when PostgreSQL
binaries are installed, on a PostgreSQL started for the run. Two clocks: the wall time of the
whole `sweep` command (interpreter start-up, data loading, the parent run and the champion's
registration included, which one worker or many pay alike), and the span in which trials
ran (first trial's start to last trial's end, from Optuna's records), which is what extra
workers can shorten. Also counts 'database is locked' errors.

    .venv/bin/python benchmarks/sweep_throughput.py [--workers 1 2 4] [--epochs 40] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.services import postgres_bin, start_postgres  # noqa: E402

GRID = {"beta": {"grid": [0.5, 1.0, 2.0, 4.0]}, "latent_size": {"grid": [2, 4]}}


def trial_span(name: str, storage: str) -> float:
    """Seconds from the first trial's start to the last trial's end."""
    import optuna

    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    return (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()


def run_once(folder: Path, name: str, storage: str, workers: int, epochs: int
             ) -> tuple[float, float, int, int]:
    """Seconds for the whole command, seconds in which trials ran, completed grid (1/0),
    'database is locked' messages."""
    study = {"study": name, "base": {"dataset": "digits", "epochs": epochs, "batch_size": 64,
                                     "save_interval": [epochs]},
             "space": GRID, "objectives": ["val/loss"], "sampler": {"name": "grid"}}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    # One thread per worker: the same compute per worker, so the ratio measures parallelism.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
           "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vae_core.cli", "sweep", "--study", str(path),
                           "--storage", storage, "--n-workers", str(workers)],
                          cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    locked = (done.stdout + done.stderr).count("database is locked")
    return seconds, trial_span(name, storage), done.stdout.count('"COMPLETE": 8'), locked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2, help="the fastest of this many runs counts")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    # Warm the MLflow store once (its schema migration is not part of any measurement).
    run_once(folder, "warmup", f"sqlite:///{folder / 'warmup.db'}", 1, 1)
    backends = {"sqlite": lambda name: f"sqlite:///{folder / f'{name}.db'}"}
    server = None
    if postgres_bin() is not None:
        server = start_postgres(postgres_bin())
        backends["postgresql"] = lambda name: server.create_database(name)
    best: dict[tuple[str, int], tuple[float, float, int, int]] = {}
    try:
        for repeat in range(args.repeats):  # interleaved, so a busy spell hits every setting alike
            for backend, make_url in backends.items():
                for workers in args.workers:
                    name = f"{backend}_w{workers}_r{repeat}"
                    seconds, span, complete, locked = run_once(folder, name, make_url(name), workers,
                                                               args.epochs)
                    old = best.get((backend, workers), (float("inf"), float("inf"), 1, 0))
                    best[(backend, workers)] = (min(old[0], seconds), min(old[1], span),
                                                min(old[2], complete), old[3] + locked)
    finally:
        if server is not None:
            server.stop()
    print(f"8-point grid, digits, {args.epochs} epochs per trial, {os.cpu_count()} CPUs, "
          f"fastest of {args.repeats}, 'db locked' summed over repeats")
    print(f"{'storage':<11} {'workers':>7} {'wall s':>7} {'vs 1':>6} {'trials s':>8} {'trials/min':>10} "
          f"{'vs 1':>6} {'grid done':>9} {'db locked':>9}")
    for (backend, workers), (seconds, span, complete, locked) in best.items():
        one_wall, one_span = best[(backend, args.workers[0])][:2]
        print(f"{backend:<11} {workers:>7} {seconds:>7.1f} {one_wall / seconds:>5.2f}x {span:>8.1f} "
              f"{8 * 60 / span:>10.2f} {one_span / span:>5.2f}x {'yes' if complete else 'NO':>9} {locked:>9}")


if __name__ == "__main__":
    main()
