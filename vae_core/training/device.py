"""Where tensors live and at what precision: the `device` and `precision` settings resolved once.

`auto` picks cuda, else mps, else cpu; an explicit device the machine lacks is refused with
what the machine has, so a typo or a CPU node fails before any run exists.
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from vae_core.data.splits import DatasetSplits

PRECISIONS = ("32", "bf16", "16-mixed")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available_devices() -> str:
    """What this machine offers, in words (for error messages)."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        found.append("mps")
    return ", ".join(found)


def resolve_device(name: str) -> torch.device:
    """The torch device `name` means here; ValueError (one line) when the machine lacks it."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{name!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise ValueError(f"{name!r} is not on this machine (found: {available_devices()}); "
                             f"use device=auto or one of those")
    elif device.type == "mps" and not _mps_available():
        raise ValueError(f"'mps' is not on this machine (found: {available_devices()}); use device=auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name!r}: unsupported device type; use auto, cpu, cuda, cuda:N or mps")
    return device


def check_precision(precision: str, device: torch.device) -> None:
    """16-mixed needs CUDA (a GradScaler); bf16 runs anywhere autocast supports it."""
    if precision == "16-mixed" and device.type != "cuda":
        raise ValueError(f"precision=16-mixed needs a CUDA device, not {device}; "
                         f"use precision=bf16 or 32 here")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's autocast context (a no-op at full precision)."""
    if precision == "32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def accumulator_dtype(device: torch.device) -> torch.dtype:
    """Loss sums in float64 (the same numbers as summing Python floats), float32 where the device
    has no float64 (mps)."""
    return torch.float32 if device.type == "mps" else torch.float64


SPLIT_FIELDS = ("train", "val", "test", "train_labels", "val_labels", "test_labels",
                "train_factors", "val_factors", "test_factors")


def splits_on(data: DatasetSplits, device: torch.device) -> DatasetSplits:
    """A copy of `data` whose tensors live on `device` (moved once; the original is left as is)."""
    if data.train.device == device:
        return data
    moved = {name: getattr(data, name).to(device) for name in SPLIT_FIELDS
             if getattr(data, name) is not None}
    return dataclasses.replace(data, **moved)

