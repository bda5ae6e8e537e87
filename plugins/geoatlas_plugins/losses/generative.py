"""Generative training objectives as registered losses."""

from __future__ import annotations

from typing import Any

import torch

from geoatlas.interfaces import Loss


class NegativeLogLikelihood(Loss):
    """Mean negative log-likelihood ``-mean_i log p(x_i)``.

    For density models whose ``forward(x)`` returns the per-sample log-likelihood: ``outputs``
    is a tensor of shape ``(B,)`` (or ``(B, 1)``). The loss reads nothing from ``batch``
    (maximum-likelihood training needs no targets), so it is the generation task's default.
    """

    requires = ()

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(
                "nll takes the model's per-sample log-likelihoods as one tensor, got "
                f"{type(outputs).__name__} (is the model a density model whose forward returns log p(x)?)"
            )
        if outputs.dim() == 2 and outputs.shape[1] == 1:
            outputs = outputs[:, 0]
        if outputs.dim() != 1:
            raise ValueError(
                f"nll needs one log-likelihood per sample, shape (B,) or (B, 1); got {tuple(outputs.shape)} "
                "(the model's forward must return log p(x) per sample)"
            )
        if outputs.numel() == 0:
            raise ValueError("nll got an empty batch")
        return -outputs.mean()
