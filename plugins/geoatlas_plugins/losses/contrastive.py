"""Contrastive objectives for self-supervised representation learning."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss


class InfoNCE(Loss):
    """NT-Xent, the InfoNCE loss of SimCLR (Chen et al., ICML 2020, eq. 1).

    ``outputs`` is a list of two view embeddings ``z1, z2`` of shape ``(B, D)`` (what the
    trainer passes when ``pretrain.views`` is used; other trailing shapes are flattened). The
    ``2B`` embeddings are L2-normalised; for each anchor ``i`` with positive ``j`` (the other view
    of the same sample)

    ``l(i, j) = -log( exp(s_ij / t) / sum_{k != i} exp(s_ik / t) )``

    where ``s`` is the cosine similarity, so every anchor sees its positive and ``2B - 2``
    negatives (both views of the other samples). The loss is the mean of ``l`` over the ``2B``
    anchors.

    Parameters
    ----------
    temperature : float
        ``t > 0``. The default 0.5 is SimCLR's setting for CIFAR-10 (batch 512, the authors'
        README and appendix B.9), which is closer to the small batches and small images this
        framework trains on than the ImageNet default 0.1 (batch 4096); smaller temperatures
        pay off with larger batches (the paper's Table 5).

    Notes
    -----
    The value depends on the batch size (more negatives), so ``batch_size_independent`` is
    False. Exactly two views are required (``pretrain.views.n_views: 2``).
    """

    requires = ()
    batch_size_independent = False

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TypeError(f"temperature must be a number, got {type(temperature).__name__}")
        if not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        if not isinstance(outputs, (list, tuple)):
            raise TypeError(
                "info_nce takes a list of two view embeddings (give the task `views` with n_views: 2), "
                f"got {type(outputs).__name__}"
            )
        if len(outputs) != 2:
            raise ValueError(f"info_nce takes exactly 2 views (NT-Xent pairs), got {len(outputs)}; set n_views: 2")
        z1, z2 = outputs
        if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
            raise TypeError("info_nce: both views must be tensors of shape (B, D)")
        if z1.dim() < 2 or z1.shape != z2.shape:
            raise ValueError(f"info_nce: the views must have the same shape (B, D), got {tuple(z1.shape)} and {tuple(z2.shape)}")
        b = z1.shape[0]
        if b < 2:
            raise ValueError(f"info_nce needs at least 2 samples per batch (negatives), got {b}")
        z = torch.cat([z1.reshape(b, -1), z2.reshape(b, -1)], dim=0)
        if not torch.isfinite(z).all():
            raise ValueError("info_nce: the embeddings contain NaN or Inf values")
        z = F.normalize(z, dim=1)
        logits = (z @ z.T) / self.temperature
        eye = torch.eye(2 * b, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(eye, float("-inf"))  # an anchor is not its own negative
        idx = torch.arange(b, device=z.device)
        positives = torch.cat([idx + b, idx])  # anchor i < B pairs with i + B and vice versa
        return F.cross_entropy(logits, positives)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
