"""MLflow: the store, the trainer's callback, checkpoints as logged models."""

from vae_core.tracking.store import configure_tracking, git_commit, project_root, tracking_uri

__all__ = ["configure_tracking", "git_commit", "project_root", "tracking_uri"]
