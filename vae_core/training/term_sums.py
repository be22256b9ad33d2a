"""Loss terms summed on the device over an epoch, read back once: the hot loop never waits on
the host. Which term went non-finite first is tracked on the device too, so the NaN guard can
run once per epoch and still name the culprit."""

from __future__ import annotations

import math

import torch

from vae_core.models.families import ModelOutput


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the term and the epoch."""


class TermSums:
    """Batch-size-weighted sums of every loss term, in `dtype` (float64: the same numbers as
    summing Python floats batch by batch)."""

    def __init__(self, dtype: torch.dtype = torch.float64) -> None:
        self.dtype = dtype
        self.names: list[str] = []
        self.sums: torch.Tensor | None = None  # one entry per name
        self.first_bad: torch.Tensor | None = None  # the first step each term was non-finite
        self.count = 0
        self.steps = 0

    def add(self, output: ModelOutput, weight: int, watch: bool = False) -> None:
        """sums += terms * weight (one stacked tensor: a few kernels per step, no host sync);
        with `watch`, note the step where a term turned non-finite."""
        terms = output.terms()
        if not self.names:
            self.names = list(terms)
        values = torch.stack([terms[name].detach().reshape(()) for name in self.names]).to(self.dtype)
        weighted = values * weight
        self.sums = weighted if self.sums is None else self.sums + weighted
        if watch:
            step = torch.where(torch.isfinite(values), math.inf, float(self.steps))
            self.first_bad = step if self.first_bad is None else torch.minimum(self.first_bad, step)
        self.count += weight
        self.steps += 1

    def check_finite(self, epoch: int) -> None:
        """Raise naming the term that went bad first (ties: the total last)."""
        if self.first_bad is None:
            return
        first = dict(zip(self.names, self.first_bad.tolist(), strict=True))
        bad = {name: step for name, step in first.items() if math.isfinite(step)}
        if not bad:
            return
        name = min(bad, key=lambda k: (bad[k], k == "loss"))
        total = self.sums[self.names.index(name)]
        raise NonFiniteLossError(
            f"loss term {name!r} became {float(total)} at epoch {epoch}; lower the learning "
            f"rate, check the data range for the likelihood, or clip sigma")

    def means(self, prefix: str) -> dict[str, float]:
        """The sums divided by the number of samples, read from the device once."""
        if self.sums is None:
            return {}
        return {f"{prefix}/{name}": total / self.count
                for name, total in zip(self.names, self.sums.tolist(), strict=True)}
