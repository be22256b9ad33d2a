"""What a parent run shows in the runs table without being expanded: each child's final
validation metrics under the child's key (`z4/val/neg_elbo`), the best child's under `best/`,
and a description (the UI's `mlflow.note.content`) saying what the run is."""

from __future__ import annotations

import time

from mlflow import MlflowClient
from mlflow.entities import Metric

SELECTION_METRICS = ("val/neg_elbo", "val/loss")  # the first one a child logged picks the best
BEST_CHILD_TAG = "vae.best_child"
NOTE_TAG = "mlflow.note.content"


def final_metrics(run_id: str, prefix: str | tuple[str, ...] = "val/") -> dict[str, float]:
    return {k: v for k, v in MlflowClient().get_run(run_id).data.metrics.items() if k.startswith(prefix)}


def best_child(finals: dict[str, dict[str, float]], selection: str = "",
               maximize: bool = False) -> tuple[str, str] | None:
    """(child key, metric) of the child lowest (highest with maximize) in `selection` (else the
    lowest in the first of SELECTION_METRICS that every child logged); None when none has it."""
    for metric in (selection,) if selection else SELECTION_METRICS:
        scored = {key: values[metric] for key, values in finals.items() if metric in values}
        if scored and len(scored) == len(finals):
            pick = max if maximize and selection else min
            return pick(scored, key=scored.__getitem__), metric
    return None


def summary_metrics(finals: dict[str, dict[str, float]], selection: str = "",
                    maximize: bool = False) -> dict[str, float]:
    """`<key>/<metric>` for every child and `best/<metric>` for the best one."""
    summary = {f"{key}/{name}": value for key, values in finals.items() for name, value in values.items()}
    best = best_child(finals, selection, maximize)
    if best is not None:
        summary.update({f"best/{name}": value for name, value in finals[best[0]].items()})
    return summary


def log_parent_summary(parent_id: str, children: dict[str, str], description: str,
                       selection: str = "", prefixes: tuple[str, ...] = ("val/",),
                       maximize: bool = False) -> dict[str, float]:
    """Log the children's final metrics (those starting with one of `prefixes`) on the parent
    and its description; returns the metrics."""
    client = MlflowClient()
    finals = {key: final_metrics(run_id, prefixes) for key, run_id in children.items()}
    summary = summary_metrics(finals, selection, maximize)
    now = int(time.time() * 1000)
    metrics = [Metric(k, float(v), now, 0) for k, v in summary.items()]
    for start in range(0, len(metrics), 1000):
        client.log_batch(parent_id, metrics=metrics[start:start + 1000], synchronous=True)
    best = best_child(finals, selection, maximize)
    if best is not None:
        word = "highest" if maximize and selection else "lowest"
        client.set_tag(parent_id, BEST_CHILD_TAG, f"{best[0]} ({word} {best[1]})")
    client.set_tag(parent_id, NOTE_TAG, description)
    return summary
