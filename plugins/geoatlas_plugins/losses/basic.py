"""Supervised losses as registered components: ``loss(outputs, batch) -> scalar``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss


class CrossEntropy(Loss):
    """Softmax cross-entropy of logits ``(B, C)`` against class ids ``batch["y"]``."""

    requires = ("y",)

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        if self.label_smoothing:
            return F.cross_entropy(outputs, batch["y"], label_smoothing=self.label_smoothing)
        return F.cross_entropy(outputs, batch["y"])


class MSE(Loss):
    """Mean squared error between outputs and targets of the same number of elements per sample."""

    requires = ("y",)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        y = batch["y"]
        return F.mse_loss(outputs.reshape(y.shape) if outputs.numel() == y.numel() else outputs, y)


class BCE(Loss):
    """Binary cross-entropy of logits against 0/1 targets (click-through, link existence)."""

    requires = ("y",)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        y = batch["y"].to(outputs.dtype)
        return F.binary_cross_entropy_with_logits(outputs.reshape(y.shape), y)
