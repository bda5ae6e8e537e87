"""Euclidean baseline encoders."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import Fraction, Size, check_weights


class MLP(Encoder):
    """Multilayer perceptron on flattened input: ``in_features -> hidden... -> out_features``."""

    input_type = "vector"

    def __init__(
        self,
        in_features: Size,
        out_features: Size,
        hidden: list[Size] | None = None,
        dropout: Fraction = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        acts = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {', '.join(acts)}, got {activation!r}")
        hidden = [64, 64] if hidden is None else list(hidden)
        widths = [in_features, *hidden, out_features]
        check_weights("MLP", *pairwise(widths))
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), acts[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)
        self.in_features = in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1:
            raise ValueError(f"MLP expects a batch (N, {self.in_features}), got a scalar")
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"MLP expects {self.in_features} input features, got {x.shape[1]}")
        return self.net(x)


class CNN(Encoder):
    """Conv(3x3)-BN-ReLU stages with max-pooling, global average pooling and a linear head."""

    input_type = "image"

    def __init__(self, in_channels: Size, num_classes: Size, channels: list[Size] | None = None) -> None:
        super().__init__()
        channels = [16, 32] if channels is None else list(channels)
        if not channels:
            raise ValueError("CNN: parameter 'channels' must name at least one stage width")
        cs = [in_channels, *channels]
        check_weights("CNN", *[(a, b, 3, 3) for a, b in pairwise(cs)], (channels[-1], num_classes))
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(channels):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)
        self.in_channels = in_channels

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"CNN expects images (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"CNN expects {self.in_channels} input channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        return self.head(self.embed(x))
