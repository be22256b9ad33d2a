"""Sample quality through the data set's own classifier (S2): an Inception-score analogue and a
Fréchet distance on the classifier's penultimate features.

With p(l|x) the classifier's class probabilities on generated images and p(l) their mean over a
split: IS = exp E_x KL[p(l|x) || p(l)], diversity = exp H(p(l)), sharpness = exp(-E_x H(p(l|x))).
Per split IS = diversity x sharpness exactly (E KL = H(p(l)) - E H(p(l|x))). Mean (and std for IS)
over splits. `fd_classifier` is FID's formula on these features instead of Inception's (Inception
weights cannot be fetched offline), so it is not comparable with published FIDs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr

from vae_core.analysis.sample_quality import frechet_distance, moments


def inception_score(probabilities: np.ndarray, splits: int = 5) -> dict[str, float]:
    """{is.mean, is.std, is.diversity, is.sharpness} from (N, K) class probabilities in `splits` parts."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) < splits:
        raise ValueError(f"inception_score: need (N, K) probabilities with N >= splits={splits}, "
                         f"got shape {probabilities.shape}")
    scores, diversity, sharpness = [], [], []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(0)
        scores.append(np.exp(rel_entr(part, marginal).sum(1).mean()))
        diversity.append(np.exp(entr(marginal).sum()))
        sharpness.append(np.exp(-entr(part).sum(1).mean()))
    return {"is.mean": float(np.mean(scores)), "is.std": float(np.std(scores)),
            "is.diversity": float(np.mean(diversity)), "is.sharpness": float(np.mean(sharpness))}


def classifier_frechet_distance(real_features: np.ndarray,
                                generated_features: np.ndarray) -> dict[str, float]:
    """{fd_classifier}: Fréchet distance between Gaussians fitted to the two feature sets."""
    return {"fd_classifier": frechet_distance(*moments(generated_features), *moments(real_features))}


def classifier_accuracy(probabilities: np.ndarray, labels: np.ndarray, name: str) -> dict[str, float]:
    """{clf.<name>_acc}: the share of images whose most probable class is their label (real images,
    reconstructions)."""
    predicted = np.asarray(probabilities).argmax(1)
    return {f"clf.{name}_acc": float((predicted == np.asarray(labels)).mean())}
