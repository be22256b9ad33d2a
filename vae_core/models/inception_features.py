"""Inception-v3 pool features (2048-d, the FID network's) from torchvision's weights file, for
users who have it locally (it cannot be downloaded here). Images in [0, 1], grey repeated to
RGB, resized to 299 x 299 and ImageNet-normalised, as torchvision's pretrained model expects."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.config import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIDE = 299


def load_inception(path: str | Path) -> nn.Module:
    """torchvision's Inception-v3 with the weights in `path` (e.g. inception_v3_google-0cc3c7bd.pth),
    its classifier removed so the output is the pooled features; eval mode."""
    from torchvision.models import inception_v3

    if not Path(path).is_file():
        raise ConfigError(f"inception_weights: no file {str(path)!r}; give torchvision's "
                          "inception_v3_google-*.pth, or leave it empty for the classifier's features only")
    model = inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=False)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.fc = nn.Identity()
    return model.eval()


@torch.no_grad()
def inception_features(model: nn.Module, x: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """(N, 2048) pool features of images x (N, C, H, W) in [0, 1], C = 1 or 3."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    features = []
    for batch in x.split(batch_size):
        rgb = batch.expand(-1, 3, -1, -1) if batch.shape[1] == 1 else batch
        resized = F.interpolate(rgb, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
        features.append(model((resized - mean) / std))
    return torch.cat(features)
