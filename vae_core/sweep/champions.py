"""A study's best trials as registered model versions: the champion alias on the best trial
(one objective) or on the Pareto trial best in the first objective, `pareto-<n>` on each
Pareto trial (two objectives). Registration is idempotent (tracking.registry)."""

from __future__ import annotations

import optuna

from vae_core.sweep.bridge import RUN_ATTR
from vae_core.tracking.registry import drop_aliases_except, register_run


def register_study_champions(study: optuna.Study, name: str, alias: str = "champion") -> dict[str, str]:
    """The best trial (one objective) or the Pareto set (two) as registered versions.

    Two objectives: every Pareto trial gets alias `pareto-<trial number>`; `alias` goes to the
    Pareto trial best in the first objective. Returns alias -> version.
    """
    best = [t for t in study.best_trials if t.user_attrs.get(RUN_ATTR)]
    if not best:
        return {}
    sign = 1 if study.directions[0] == optuna.study.StudyDirection.MINIMIZE else -1
    best.sort(key=lambda t: sign * t.values[0])
    registered: dict[str, str] = {}
    for rank, trial in enumerate(best):
        aliases = (alias,) if rank == 0 else ()
        if len(study.directions) > 1:
            aliases += (f"pareto-{trial.number}",)
        tags = {"optuna.study_name": name, "optuna.trial_number": str(trial.number),
                "optuna.values": ",".join(f"{v:.6g}" for v in trial.values)}
        version = register_run(name, trial.user_attrs[RUN_ATTR], aliases, tags)
        registered.update({a: version for a in aliases})
    drop_aliases_except(name, "pareto-", set(registered))  # trials that left the Pareto front
    return registered
