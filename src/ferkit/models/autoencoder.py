"""Denoising convolutional autoencoder around any registered backbone (survey, seed 000: "deep autoencoder"
pre-training without labels).

The encoder is the backbone itself (its ``forward_features``, the pooled vector the classifier's head sees);
a small transposed-convolution decoder rebuilds the clean face from it. After pre-training, ``encoder_state``
is a state_dict that ``model.pretrained`` loads into the same backbone for fine-tuning.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.models.registry import create_model


class ConvDecoder(nn.Module):
    """(B, D) -> (B, C, S, S): a linear map to a 5x5 grid, three x2 up-sampling stages (40x40), resized to S."""

    def __init__(self, num_features: int, out_chans: int = 1, width: int = 128, grid: int = 5):
        super().__init__()
        self.width, self.grid = width, grid
        self.fc = nn.Linear(num_features, width * grid * grid)
        layers, cin = [], width
        for cout in (width // 2, width // 4, width // 8):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.up = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, out_chans, 3, 1, 1)

    def forward(self, z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x = F.relu(self.fc(z)).view(-1, self.width, self.grid, self.grid)
        x = self.out(self.up(x))
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


class DenoisingAutoencoder(nn.Module):
    def __init__(
        self,
        backbone: str = "ferresnet_s",
        in_chans: int = 1,
        backbone_kwargs: dict | None = None,
        decoder_width: int = 128,
    ):
        super().__init__()
        self.backbone = backbone
        self.encoder = create_model(backbone, num_classes=1, in_chans=in_chans, **(backbone_kwargs or {}))
        self.encoder.reset_classifier(0)
        self.decoder = ConvDecoder(self.encoder.num_features, in_chans, decoder_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x`` (same shape), from the encoder's pooled features."""
        return self.decoder(self.encoder.forward_features(x), x.shape[-2:])

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The backbone's weights, named as in ``create_model(backbone)`` (no head)."""
        return {k: v.detach().cpu().clone() for k, v in self.encoder.state_dict().items()}


def corrupt(
    x: torch.Tensor, noise_std: float = 0.2, mask_prob: float = 0.25, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Denoising-autoencoder input: additive Gaussian noise plus masking noise (pixels set to 0, the mean grey of
    normalised input) with probability ``mask_prob``."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) * noise_std
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= mask_prob
    return (x + noise) * keep.to(x.dtype)
