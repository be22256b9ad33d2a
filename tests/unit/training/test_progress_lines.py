"""Off a terminal (nohup, CI, Slurm logs) training prints one plain line per epoch as it goes."""

from __future__ import annotations

from types import SimpleNamespace

from vae_core.training.progress import ProgressCallback


def test_one_line_per_epoch_with_losses_and_time_left(capsys):
    trainer = SimpleNamespace(epoch=-1, config=SimpleNamespace(epochs=3))
    progress = ProgressCallback("z=4")
    progress.on_train_start(trainer)  # pytest's captured stderr is not a terminal
    for epoch in range(4):
        progress.on_epoch_end(trainer, epoch, {"val/loss": 40.0 - epoch, "val/neg_elbo": 41.0 - epoch,
                                               "val/kl": 1.0})
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1, lines  # printed at once, not at the end
        line = lines[0]
        assert line.startswith(f"z=4 epoch {epoch}/3 ") and f"val/loss={40 - epoch:.4g}" in line
        assert f"val/neg_elbo={41 - epoch:.4g}" in line and "val/kl" not in line
        assert ("s left)" if epoch else "starting)") in line
    progress.on_train_end(trainer, "finished")
    assert capsys.readouterr().err == ""
