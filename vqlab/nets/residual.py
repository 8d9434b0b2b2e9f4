"""Residual block of the VQ-VAE encoder and decoder.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Sec. 4.1:
"ReLU, 3x3 conv, ReLU, 1x1 conv" added to the input.
"""

from __future__ import annotations

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3(relu(x))))``, channels preserved."""

    def __init__(self, channels: int, hidden_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(hidden_channels, channels, kernel_size=1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


def residual_stack(channels: int, hidden_channels: int, num_blocks: int) -> nn.Sequential:
    """``num_blocks`` residual blocks followed by a ReLU, as in the VQ-VAE paper."""
    blocks = [ResidualBlock(channels, hidden_channels) for _ in range(num_blocks)]
    return nn.Sequential(*blocks, nn.ReLU())
