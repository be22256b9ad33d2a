"""Every S2 evaluation number of one trained hierarchical VAE on the test set (methods.md S2):
test loss terms and both rates (nats, bits/dim), the importance-weighted log-likelihood bound
beside the ELBO, PSNR of posterior-mean reconstructions, I_q(z; label), probes on mu_z and on
flattened mu_y, the classifier's accuracy on real images and reconstructions, and sample quality
(Inception-score analogue, diversity, sharpness, Fréchet distance on the classifier's features;
and on Inception-v3's, `fd_inception`, when torchvision's weights file is given).

The model's likelihood is the one it trained with (a fixed sigma, or its learned sigma), so the
likelihood numbers use that sigma; it is reported as `model.sigma`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import Field, PositiveInt, field_validator

from vae_core.analysis.classifier_scores import (
    classifier_accuracy,
    classifier_frechet_distance,
    inception_score,
)
from vae_core.analysis.probes import probe_accuracies
from vae_core.analysis.rates import (
    categorical_label_information,
    gaussian_label_information,
    likelihood_bounds,
    reconstruction_scores,
)
from vae_core.analysis.sample_quality import frechet_distance, moments
from vae_core.config import IntList, StrictModel
from vae_core.models.classifier import ImageClassifier
from vae_core.models.hierarchical import HierarchicalVAE, PosteriorSummary
from vae_core.models.inception_features import inception_features, load_inception
from vae_core.training.term_sums import TermSums


class EvaluationSettings(StrictModel):
    iw_samples: PositiveInt = 100  # importance samples of the log-likelihood bound
    n_samples: PositiveInt = 10000  # prior samples for the Inception-score analogue and the FD
    is_splits: PositiveInt = 5
    probe_seeds: IntList = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    mi_chunk: PositiveInt = 256  # rows of the Monte Carlo I_q(z; L) estimate held at once
    batch_size: PositiveInt = 500
    seed: int = 0
    test_limit: PositiveInt | None = None  # evaluate on the first n test images only (quick looks)
    inception_weights: str = ""  # torchvision's inception_v3 weights file, if at hand: adds fd_inception

    @field_validator("inception_weights")
    @classmethod
    def _weights_file(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"no file {value!r}; give torchvision's inception_v3_google-*.pth or leave "
                             "it empty")
        return value


def loss_terms(model: HierarchicalVAE, x: torch.Tensor, settings: EvaluationSettings) -> dict[str, float]:
    """eval/loss, recon, rate_z, rate_y, neg_elbo (nats, and _bpd) on the test images in eval mode,
    a fixed noise seed (`eval/`: the trainer's own per-epoch `test/` stays apart)."""
    sums = TermSums()
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(settings.seed)
        for batch in x.split(settings.batch_size):
            sums.add(model(batch), batch.shape[0])
    return sums.means("eval")


def posterior(model: HierarchicalVAE, x: torch.Tensor, batch_size: int) -> PosteriorSummary:
    parts = [model.posterior(batch) for batch in x.split(batch_size)]
    fields = {}
    for name in ("z_mean", "z_logvar", "z_log_probs", "y_mean", "y_logvar"):
        values = [getattr(p, name) for p in parts]
        fields[name] = None if values[0] is None else torch.cat(values)
    return PosteriorSummary(**fields)


def label_information(summary: PosteriorSummary, labels: np.ndarray,
                      settings: EvaluationSettings) -> dict[str, float]:
    """I_q(z; L): one draw per test point, chunked (a categorical z draws a class)."""
    options = {"seed": settings.seed, "chunk": settings.mi_chunk}
    if summary.z_log_probs is not None:
        return categorical_label_information(summary.z_log_probs, labels, **options)
    return gaussian_label_information(summary.z_mean, summary.z_logvar, labels, **options)


def likelihood(model: HierarchicalVAE, x: torch.Tensor, settings: EvaluationSettings) -> dict[str, float]:
    """The S-sample importance-weighted bound and the ELBO, in batches of about batch_size / S images."""
    step = max(1, settings.batch_size // settings.iw_samples)
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        log_w = torch.cat([model.log_weights(batch, settings.iw_samples) for batch in x.split(step)], 1)
    return likelihood_bounds(log_w)


def sample_quality(model: HierarchicalVAE, classifier: ImageClassifier, x: torch.Tensor,
                   settings: EvaluationSettings) -> dict[str, float]:
    generator = torch.Generator().manual_seed(settings.seed)
    sizes = [len(part) for part in torch.arange(settings.n_samples).split(settings.batch_size)]
    samples = torch.cat([model.sample(n, generator) for n in sizes])
    real_features, _ = classifier.embed_and_classify(x, settings.batch_size)
    fake_features, fake_probabilities = classifier.embed_and_classify(samples, settings.batch_size)
    scores = {**inception_score(fake_probabilities.numpy(), settings.is_splits),
              **classifier_frechet_distance(real_features.numpy(), fake_features.numpy())}
    if settings.inception_weights:
        network = load_inception(settings.inception_weights)
        real, fake = (inception_features(network, images).numpy() for images in (x, samples))
        scores["fd_inception"] = frechet_distance(*moments(fake), *moments(real))
    return scores


def evaluate_model(model: HierarchicalVAE, classifier: ImageClassifier, x: torch.Tensor, labels: torch.Tensor,
                   settings: EvaluationSettings) -> dict[str, float]:
    """All of the module docstring's numbers for one model, as one flat dict."""
    model.eval()
    labels_np = labels.numpy()
    summary = posterior(model, x, settings.batch_size)
    reconstructions = torch.cat([model.reconstruct(batch) for batch in x.split(settings.batch_size)])
    _, real_probabilities = classifier.embed_and_classify(x, settings.batch_size)
    _, recon_probabilities = classifier.embed_and_classify(reconstructions, settings.batch_size)
    seeds = tuple(settings.probe_seeds)
    return {
        **loss_terms(model, x, settings), **likelihood(model, x, settings),
        **reconstruction_scores(x, reconstructions), **label_information(summary, labels_np, settings),
        **probe_accuracies(summary.z_mean.numpy(), labels_np, "z", seeds),
        **probe_accuracies(summary.y_mean.numpy(), labels_np, "y", seeds),
        **classifier_accuracy(real_probabilities.numpy(), labels_np, "real"),
        **classifier_accuracy(recon_probabilities.numpy(), labels_np, "recon"),
        **sample_quality(model, classifier, x, settings),
        **{f"model.{k}": v for k, v in model.likelihood.logs().items()},
        "data.n_classes": float(len(np.unique(labels_np))), "data.n_test": float(len(x)),
    }
