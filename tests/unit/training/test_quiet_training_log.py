"""A `make demo`-like training run prints no warnings: no MLflow pickle warning per checkpoint
(checkpoints are self-describing state dicts), no torch UserWarning."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.slow
def test_training_with_checkpoints_prints_no_warning(tmp_path):
    done = run_cli("train", "--latent-sizes", "2", "--epochs", "2", "--save-interval", "0,1,2",
                   "--study", "quiet-log", cwd=tmp_path,
                   env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pickle" not in done.stderr.lower(), done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert done.stderr.count("z=2 epoch ") == 3  # one progress line per epoch, 0..2
    assert "nan" not in done.stderr  # epoch 0 has no time estimate yet: it says so
