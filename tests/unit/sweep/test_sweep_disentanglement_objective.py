"""A sweep cannot optimise a disentanglement metric (no trial runs the analysis): the study file
is refused in one line saying what to do instead."""

from __future__ import annotations

import pytest

from tests.sweep_helpers import study_document
from vae_core.config import ConfigError
from vae_core.sweep.spec import parse_study


@pytest.mark.parametrize("where", ["objectives", "pruner"])
def test_a_disentanglement_objective_is_refused_with_the_way_round(where: str) -> None:
    objective = {"objectives": [{"metric": "disentanglement.mig", "direction": "maximize"}]}
    pruner = {"pruner": {"name": "median", "metric": "disentanglement.sap"}}
    overrides = objective if where == "objectives" else pruner
    with pytest.raises(ConfigError) as error:
        parse_study(study_document("s", **overrides), "s")
    message = str(error.value)
    assert "\n" not in message and "analyze --kind disentanglement" in message
    assert message.startswith("objectives[0].metric: 'disentanglement.mig'" if where == "objectives"
                              else "pruner.metric: 'disentanglement.sap'")
