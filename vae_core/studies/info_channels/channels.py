"""The channels stage: `analyze --kind channels` on the train stage's sweep (every completed
trial) and the fingerprint stage's file, into results/info_channels/channels/."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from vae_core.config import StrList
from vae_core.studies.base import StageContext
from vae_core.studies.info_channels.analyze import KIND, ChannelsConfig, run_channels
from vae_core.studies.info_channels.fingerprint import FILE
from vae_core.studies.info_channels.train import TrainConfig
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.store import project_root


class ChannelsStageConfig(ChannelsConfig):
    """Empty models: the train stage's sweep study; empty fingerprint: the fingerprint stage's."""

    kind: Literal["channels"] = "channels"
    models: StrList = Field(default_factory=list)


def channels(config: ChannelsStageConfig, context: StageContext) -> dict[str, Any]:
    settings = config.model_dump(exclude={"kind"})
    if not config.models and not config.npz:
        train = context.section("train", TrainConfig)
        settings["models"] = [load_study_spec(train.sweep, project_root()).study]
    settings["fingerprint"] = config.fingerprint or str(context.out_dir / FILE)
    return run_channels(ChannelsConfig.model_validate(settings), context.out_dir / KIND)[KIND]
