"""Supervised losses as registered components: ``loss(outputs, batch) -> scalar``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss


def _like_targets(outputs: torch.Tensor, y: torch.Tensor, name: str) -> torch.Tensor:
    """``outputs`` in the shape of the targets, when both hold the same values per sample.

    A head of shape ``(B, 1)`` against targets ``(B,)`` is fine; a head with a different number
    of values per sample raises instead of being broadcast against the targets.
    """
    same_batch = outputs.dim() > 0 and y.dim() > 0 and outputs.shape[0] == y.shape[0]
    if outputs.numel() != y.numel() or not same_batch:
        raise ValueError(
            f"{name}: the model gives outputs of shape {tuple(outputs.shape)} but the targets have shape "
            f"{tuple(y.shape)}; they need the same number of values per sample (check out_features)"
        )
    return outputs.reshape(y.shape)


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
        return F.mse_loss(_like_targets(outputs, y, "mse"), y)


class MAE(Loss):
    """Mean absolute error (L1) between outputs and targets of the same number of elements per
    sample (ReGENN and many forecasting papers train with it)."""

    requires = ("y",)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        y = batch["y"]
        return F.l1_loss(_like_targets(outputs, y, "mae"), y)


class BCE(Loss):
    """Binary cross-entropy of logits against 0/1 targets (click-through, link existence)."""

    requires = ("y",)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        y = batch["y"].to(outputs.dtype)
        return F.binary_cross_entropy_with_logits(_like_targets(outputs, y, "bce"), y)
