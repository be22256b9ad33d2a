"""The conv networks of study S2 (methods.md): q(z|x), q(y|z,x) for HVAE and LVAE, p(y|z), p(x|y).

With c conv channels, images of side 28 or 32 go 28 -> 14 -> 7 -> 4 or 32 -> 16 -> 8 -> 4: two
convs k4 s2 p1, then a "middle" conv that is k4 s1 p0 for 28 and k4 s2 p1 for 32. The lower
latent y is a c x 4 x 4 feature map; the top latent z is a vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.config import ConfigError

Y_SIDE = 4
SIDES = (28, 32)


@dataclass(frozen=True)
class ImageGeometry:
    """Channels and side of the images, and the middle conv that brings 7 or 8 to 4."""

    channels: int
    side: int

    @property
    def middle(self) -> dict[str, int]:
        return {"kernel_size": 4, "stride": 1, "padding": 0} if self.side == 28 else \
            {"kernel_size": 4, "stride": 2, "padding": 1}


def image_geometry(sample_shape: tuple[int, ...]) -> ImageGeometry:
    """The geometry of (C, H, W) images with H = W in 28, 32; ConfigError otherwise."""
    shape = tuple(sample_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in SIDES:
        raise ConfigError(f"arch: the hierarchical VAEs take images of shape (C, 28, 28) or (C, 32, 32), "
                          f"the data has shape {shape}; resize the images (dataset_options resize=28 or 32)")
    return ImageGeometry(channels=shape[0], side=shape[1])


def _down(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 4, 2, 1)


def _up(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)


class BottomUp(nn.Module):
    """conv, conv (-> c x 7 x 7 or 8 x 8, LVAE's bottom-up input to q(y)), middle conv -> c x 4 x 4."""

    def __init__(self, geometry: ImageGeometry, c: int) -> None:
        super().__init__()
        self.conv1 = _down(geometry.channels, c)
        self.conv2 = _down(c, c)
        self.conv3 = nn.Conv2d(c, c, **geometry.middle)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(flattened c*4*4 features for q(z|x), the c x 7/8 map after the second conv)."""
        skip = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.conv3(skip)).flatten(1), skip


class GaussianMapHeads(nn.Module):
    """3x3 convs for mu and softplus sigma of a c x 4 x 4 Gaussian."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.mu = nn.Conv2d(c, c, 3, 1, 1)
        self.pre_std = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), F.softplus(self.pre_std(h))


class HvaeYPosterior(nn.Module):
    """q(y|z,x): an x-branch of two convs and a z-branch Linear -> c x 4 x 4 -> ConvT, concatenated,
    then the middle conv to c x 4 x 4 and the 3x3 heads."""

    def __init__(self, geometry: ImageGeometry, c: int, z_dims: int) -> None:
        super().__init__()
        self.c = c
        self.x_conv1 = _down(geometry.channels, c)
        self.x_conv2 = _down(c, c)
        self.z_linear = nn.Linear(z_dims, c * Y_SIDE * Y_SIDE)
        self.z_deconv = nn.ConvTranspose2d(c, c, **geometry.middle)
        self.joint = nn.Conv2d(2 * c, c, **geometry.middle)
        self.heads = GaussianMapHeads(c)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_h = F.relu(self.x_conv2(F.relu(self.x_conv1(x))))
        z_h = F.relu(self.z_linear(z)).view(-1, self.c, Y_SIDE, Y_SIDE)
        z_h = F.relu(self.z_deconv(z_h))
        return self.heads(F.relu(self.joint(torch.cat((z_h, x_h), dim=1))))


class LvaeYEstimate(nn.Module):
    """LVAE's bottom-up estimate (mu_hat, s_hat) of y from the shared c x 7/8 map."""

    def __init__(self, geometry: ImageGeometry, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, **geometry.middle)
        self.heads = GaussianMapHeads(c)

    def forward(self, skip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(F.relu(self.conv(skip)))


class YPrior(nn.Module):
    """p(y|z): Linear(z -> y/2) ReLU, then linear mu and softplus sigma, reshaped to c x 4 x 4."""

    def __init__(self, c: int, z_dims: int) -> None:
        super().__init__()
        self.y_shape = (c, Y_SIDE, Y_SIDE)
        y_dims = c * Y_SIDE * Y_SIDE
        self.hidden = nn.Linear(z_dims, y_dims // 2)
        self.mu = nn.Linear(y_dims // 2, y_dims)
        self.pre_std = nn.Linear(y_dims // 2, y_dims)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.hidden(z))
        return self.mu(h).view(-1, *self.y_shape), F.softplus(self.pre_std(h)).view(-1, *self.y_shape)


class XDecoder(nn.Module):
    """p(x|y): ConvT stack c x 4 x 4 -> 7/8 -> 14/16 -> 28/32, ending in the likelihood's parameters."""

    def __init__(self, geometry: ImageGeometry, c: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.ConvTranspose2d(c, c, **geometry.middle), nn.ReLU(),
            _up(c, c), nn.ReLU(),
            _up(c, out_channels))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.layers(y)
