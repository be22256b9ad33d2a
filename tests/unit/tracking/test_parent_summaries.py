"""Parent runs carry their children's final metrics and a description (checked by hand)."""

from __future__ import annotations

import pytest

from vae_core.tracking.summaries import best_child, summary_metrics


def test_summary_names_each_child_and_the_best_by_the_beta_free_metric():
    finals = {"z2": {"val/loss": 30.0, "val/neg_elbo": 31.0},
              "z4": {"val/loss": 31.0, "val/neg_elbo": 29.5},
              "z8": {"val/loss": 29.0, "val/neg_elbo": 30.0}}
    summary = summary_metrics(finals)
    assert summary["z4/val/neg_elbo"] == 29.5 and summary["z8/val/loss"] == 29.0
    assert best_child(finals) == ("z4", "val/neg_elbo")  # not z8, which val/loss would pick
    assert summary["best/val/neg_elbo"] == 29.5 and summary["best/val/loss"] == 31.0
    assert len(summary) == 3 * 2 + 2


def test_the_best_falls_back_to_val_loss_and_to_none():
    assert best_child({"a": {"val/loss": 2.0}, "b": {"val/loss": 1.0}}) == ("b", "val/loss")
    assert best_child({"a": {"val/recon": 2.0}}) is None
    assert best_child({"a": {"val/neg_elbo": 1.0}, "b": {"val/loss": 0.5}}) is None  # not comparable
    assert best_child({"a": {"val/kl": 3.0}, "b": {"val/kl": 2.0}}, "val/kl") == ("b", "val/kl")


@pytest.mark.parametrize("ties", [{"a": {"val/loss": 1.0}, "b": {"val/loss": 1.0}}])
def test_a_tie_picks_the_first_child(ties):
    assert best_child(ties) == ("a", "val/loss")


def test_a_maximised_selection_picks_the_highest_child():
    finals = {"trial0": {"disentanglement.mig": 0.2, "val/neg_elbo": 5.0},
              "trial1": {"disentanglement.mig": 0.6, "val/neg_elbo": 9.0},
              "trial2": {"disentanglement.mig": -0.1, "val/neg_elbo": 1.0}}
    assert best_child(finals, "disentanglement.mig", maximize=True) == ("trial1", "disentanglement.mig")
    assert best_child(finals, "disentanglement.mig") == ("trial2", "disentanglement.mig")
    summary = summary_metrics(finals, "disentanglement.mig", maximize=True)
    assert summary["best/disentanglement.mig"] == 0.6 and summary["best/val/neg_elbo"] == 9.0
