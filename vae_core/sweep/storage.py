"""Where a study lives: a local SQLite file by default, or a database URL shared by many workers.

Why SQLite and not JournalStorage for the local default: only Optuna's RDB storage has
heartbeats, which is what turns a trial whose worker was killed into a FAILED trial that
`RetryHeartbeatStaleTrialCallback` re-queues. A journal file would leave it RUNNING forever.
SQLite's "database is locked" under several writers is avoided with a long busy timeout.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from vae_core.config import ConfigError
from vae_core.tracking.store import redact

# Heartbeats and trial retries are marked experimental in Optuna 5 but are its documented way.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
optuna.logging.set_verbosity(optuna.logging.WARNING)

SQLITE_BUSY_TIMEOUT_S = 120
MAX_RETRY = 3


def default_storage_url(study: str, root: Path) -> str:
    folder = root / ".optuna"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / f'{study}.db'}"


def open_storage(url: str, heartbeat_s: int) -> RDBStorage:
    """Connect (creating tables if needed); a clear ConfigError when the database is unreachable."""
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://", "mysql")):
        raise ConfigError(f"storage: unsupported URL {redact(url)!r}; allowed values: "
                          f"sqlite:///<file>, postgresql://user:password@host:port/db")
    engine_kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_s,
                          grace_period=3 * heartbeat_s,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    except Exception as error:  # sqlalchemy's OperationalError and friends
        raise ConfigError(f"storage: cannot open {redact(url)}: {type(error).__name__}: "
                          f"{str(error).splitlines()[0]}") from None


def find_study(storage: RDBStorage, name: str) -> optuna.Study | None:
    names = {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    return optuna.load_study(study_name=name, storage=storage) if name in names else None
