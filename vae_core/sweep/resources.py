"""Each sweep worker's share of the machine: cores // workers torch threads (intra- and
inter-op), and its own GPU when there are several, so n workers do not oversubscribe.

The launcher passes the share to the worker processes it starts through the environment;
each worker applies it first thing (inter-op threads can be set only once, before any
parallel work). The trainer records what a run got (`experiment.train.compute_record`).
"""

from __future__ import annotations

import contextlib
import os

import torch

THREADS_VARIABLE = "VAE_WORKER_THREADS"


def usable_cores() -> int:
    """The cores this process may run on (a Slurm or taskset limit counts), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(n_workers: int) -> int:
    """OMP_NUM_THREADS when the user set it, else an even share of the cores."""
    explicit = os.environ.get("OMP_NUM_THREADS")
    return int(explicit) if explicit else max(1, usable_cores() // max(1, n_workers))


def apply_threads(threads: int) -> None:
    """Set torch's intra- and inter-op threads; an inter-op pool already started keeps its size."""
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # set before, or parallel work already began here
        torch.set_num_interop_threads(threads)


def apply_worker_share() -> None:
    """In a worker process: apply the thread share its launcher put in the environment."""
    threads = os.environ.get(THREADS_VARIABLE)
    if threads:
        apply_threads(int(threads))


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g for g in listed.split(",") if g.strip()]
    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def worker_env(base: dict[str, str], index: int, threads: int, gpus: list[str]) -> dict[str, str]:
    """The environment of worker `index` (the launcher is worker 0 and keeps the first GPU):
    its thread share and, with several GPUs, GPU index % len(gpus) alone."""
    env = {**base, THREADS_VARIABLE: str(threads), "OMP_NUM_THREADS": str(threads)}
    if len(gpus) > 1:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    return env
