"""The data set's own image classifier (S2): its class probabilities give the Inception-score
analogue and the accuracy on reconstructions, its penultimate layer the features of the Fréchet
distance. A small conv net for (C, 28|32, 28|32) images, trained by a pure function (no MLflow).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.config import require_int

FEATURES = 128


class ImageClassifier(nn.Module):
    """3 x [conv 3x3, ReLU] with two 2x max-pools, average-pooled to 4 x 4, Linear -> 128 (features),
    Linear -> classes."""

    def __init__(self, channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(2 * width * 16, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits."""
        return self.head(self.body(x))

    @torch.no_grad()
    def embed_and_classify(self, x: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features (N, 128), class probabilities (N, K)) in eval mode, in batches."""
        was_training = self.training
        self.eval()
        features, probabilities = [], []
        for batch in x.split(batch_size):
            h = self.body(batch)
            features.append(h)
            probabilities.append(F.softmax(self.head(h), dim=1))
        self.train(was_training)
        return torch.cat(features), torch.cat(probabilities)


def train_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 10, seed: int = 0,
                     batch_size: int = 128, lr: float = 1e-3) -> ImageClassifier:
    """Adam on cross-entropy over shuffled mini-batches; the same seed gives the same network."""
    require_int("epochs", epochs, minimum=1)
    y = torch.as_tensor(y, dtype=torch.long)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ImageClassifier(x.shape[1], int(y.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()
