"""The data set's classifier: it learns a toy it must get right, is reproducible from its seed, and
gives features and probabilities of the documented shapes."""

from __future__ import annotations

import torch

from vae_core.models.classifier import FEATURES, ImageClassifier, train_classifier


def _squares(n: int, side: int, channels: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images with a bright 6x6 square whose corner says the class (3 classes)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, channels, side, side, generator=g) * 0.3
    for i, label in enumerate(labels.tolist()):
        row, col = [(2, 2), (2, side - 8), (side - 8, 2)][label]
        x[i, :, row:row + 6, col:col + 6] = 1.0
    return x, labels


def test_learns_a_separable_toy_and_generalises():
    x, y = _squares(96, 28, 1, seed=0)
    model = train_classifier(x, y, epochs=4, seed=0, batch_size=16)
    test_x, test_y = _squares(100, 28, 1, seed=1)
    features, probabilities = model.embed_and_classify(test_x, batch_size=64)
    assert (probabilities.argmax(1) == test_y).float().mean() == 1.0
    assert features.shape == (100, FEATURES) and probabilities.shape == (100, 3)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(100))
    torch.testing.assert_close(features, model.features(test_x))


def test_same_seed_same_network_and_colour_32():
    x, y = _squares(64, 32, 3, seed=2)
    first, second = train_classifier(x, y, epochs=1, seed=5), train_classifier(x, y, epochs=1, seed=5)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    other = train_classifier(x, y, epochs=1, seed=6)
    assert not torch.equal(first.head.weight, other.head.weight)
    assert isinstance(first, ImageClassifier) and first(x).shape == (64, 3)
