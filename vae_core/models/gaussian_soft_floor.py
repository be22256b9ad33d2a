"""The sigma-VAE likelihood of study S2: one learned sigma whose log is softly floored at -6.

A freely learned decoder scale can collapse towards 0 and blow the loss up; S2 (after Rybkin et
al. 2021) uses log sigma = -6 + softplus(log_sigma_raw + 6), which is smooth, at least -6, and
equal to the raw value far above the floor.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vae_core.config import ConfigError
from vae_core.models.likelihoods import LOG_2PI, GaussianLearned

LOG_SIGMA_FLOOR = -6.0


class GaussianLearnedSoftFloor(GaussianLearned):
    """N(x; out, sigma^2), one learned sigma starting at `sigma`, log sigma >= -6."""

    name = "gaussian_learned_floor"

    def __init__(self, sigma: float) -> None:
        if not sigma > math.exp(LOG_SIGMA_FLOOR):
            raise ConfigError(f"sigma: {sigma} is not above the soft floor e^{LOG_SIGMA_FLOOR:g}; "
                              "start the learned sigma higher (e.g. 0.1)")
        super().__init__(sigma)
        with torch.no_grad():  # the raw value whose floored version is log sigma (softplus inverted)
            self.log_sigma.fill_(LOG_SIGMA_FLOOR + math.log(math.expm1(math.log(sigma) - LOG_SIGMA_FLOOR)))

    def effective_log_sigma(self) -> torch.Tensor:
        return LOG_SIGMA_FLOOR + F.softplus(self.log_sigma - LOG_SIGMA_FLOOR)

    def out_channels(self, channels: int) -> int:
        return channels

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        log_sigma = self.effective_log_sigma()
        values = 0.5 * ((x - out) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI
        return values.flatten(1).sum(1)

    def logs(self) -> dict[str, float]:
        return {"sigma": float(self.effective_log_sigma().exp())}
