"""SimLAP (Wu, Atito, Feng, Mo, Kittler, Awais, arXiv 2410.18200): contrastive learning from
arbitrary pairs of classes, through a learned class-pair gate that selects the subspace in which
the pair is similar.

The objective follows the authors' public code (``erow/FastSSL``, ``model/simlap.py``), read to
confirm the equations (no code copied): label-pair gate, squared gate on the normalised anchor,
multi-positive InfoNCE whose negatives exclude both classes of the pair.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Loss
from geoatlas.validation import Size, all_finite

PAIRINGS = ("arbitrary", "identical", "distinct")
GATES = ("learned", "open")


class ClassPairGate(nn.Module):
    """``g(c1, c2) = sigmoid(MLP((e_c1 + e_c2) / 2))`` in ``(0, 1)^D``: a label embedding
    ``e`` (``num_classes x in_dim``) and the MLP ReLU -> BN(in_dim) -> Linear(in_dim, mlp_dim)
    -> ReLU -> BN(mlp_dim) -> Linear(mlp_dim, D)."""

    def __init__(self, num_classes: int, out_dim: int, in_dim: int = 512, mlp_dim: int = 1024) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.label_embedding = nn.Embedding(num_classes, in_dim)
        self.mlp = nn.Sequential(
            nn.ReLU(), nn.BatchNorm1d(in_dim), nn.Linear(in_dim, mlp_dim),
            nn.ReLU(), nn.BatchNorm1d(mlp_dim), nn.Linear(mlp_dim, out_dim),
        )

    def forward(self, y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp((self.label_embedding(y1) + self.label_embedding(y2)) / 2))


def simlap_masks(y: torch.Tensor, y1: torch.Tensor, y2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positives ``P[i, j] = (y_j == y2_i)`` and excluded ``E[i, j] = y_j in {y1_i, y2_i}`` (the
    negatives of anchor ``i`` are the keys outside ``E``); ``P`` is a subset of ``E``."""
    pos = y[None, :] == y2[:, None]
    return pos, pos | (y[None, :] == y1[:, None])


def multipositive_nce(logits: torch.Tensor, pos: torch.Tensor, excluded: torch.Tensor) -> torch.Tensor:
    """``mean_i (1/|P_i|) sum_{j in P_i} [ log(exp l_ij + sum_{k not in E_i} exp l_ik) - l_ij ]``:
    each positive competes with the negatives only (not with the other positives); the positives
    of an anchor are averaged, then the anchors (the authors' ``multipos_ce_loss``: a row without
    positives contributes 0 and still counts in the mean over rows)."""
    neg = torch.logsumexp(logits.masked_fill(excluded, float("-inf")), dim=1, keepdim=True)
    per_pair = torch.logaddexp(logits, neg.expand_as(logits)) - logits
    n_pos = pos.sum(dim=1)
    per_row = torch.where(pos, per_pair, torch.zeros_like(per_pair)).sum(dim=1) / n_pos.clamp_min(1)
    return per_row.mean()


class SimLAP(Loss):
    """SimLAP loss over two views with class labels (supervised).

    Views ``z1, z2`` ``(B, D)`` are L2-normalised. Each anchor ``i`` (view 1, class ``y1_i = y_i``)
    is paired with a class ``y2_i``: ``"arbitrary"`` (the paper's; the labels of the batch in a
    random permutation), ``"identical"`` (``y2 = y1``, supervised contrastive) or ``"distinct"``
    (a random other class). The gate ``g_i = g(y1_i, y2_i)`` selects the pair's subspace and

    ``l_ij = s * < z1_i * g_i * g_i , z2_j >``

    (gate squared, applied to the normalised anchor, no re-normalisation), ``s = exp(log_scale)``
    learnable from ``1 / temperature``. The loss is :func:`multipositive_nce` with positives the
    view-2 samples of class ``y2_i`` and excluded the samples of classes ``y1_i`` and ``y2_i``.

    Parameters
    ----------
    num_classes : int
        Number of classes (label embedding of the gate).
    embed_dim : int
        Size ``D`` of the encoder's output (the gate's output size).
    pairing : {"arbitrary", "identical", "distinct"}
        How ``y2`` is drawn.
    gate : {"learned", "open"}
        The learned class-pair gate, or the all-ones gate (plain multi-positive InfoNCE).
    temperature : float
        Initial temperature (0.1); the scale ``1/temperature`` is learned unless ``learn_scale`` is False.
    learn_scale : bool
        Whether the logit scale is a parameter (the authors' code: yes).
    gate_in_dim, gate_mlp_dim : int
        Label-embedding and hidden sizes of the gate MLP (512, 1024 in the authors' code).
    """

    requires = ("y",)
    batch_size_independent = False

    def __init__(
        self,
        num_classes: Size,
        embed_dim: Size,
        pairing: Literal["arbitrary", "identical", "distinct"] = "arbitrary",
        gate: Literal["learned", "open"] = "learned",
        temperature: float = 0.1,
        learn_scale: bool = True,
        gate_in_dim: Size = 512,
        gate_mlp_dim: Size = 1024,
    ) -> None:
        super().__init__()
        for pname, v in (("num_classes", num_classes), ("embed_dim", embed_dim), ("gate_in_dim", gate_in_dim), ("gate_mlp_dim", gate_mlp_dim)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{pname} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{pname} must be >= 1, got {v}")
        if not isinstance(learn_scale, bool):
            raise TypeError(f"learn_scale must be a bool, got {type(learn_scale).__name__}")
        if pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
        if gate not in GATES:
            raise ValueError(f"gate must be one of {', '.join(GATES)}, got {gate!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TypeError(f"temperature must be a number, got {type(temperature).__name__}")
        if not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        if pairing == "distinct" and num_classes < 2:
            raise ValueError("pairing='distinct' needs num_classes >= 2")
        self.num_classes, self.embed_dim, self.pairing, self.gate_kind = int(num_classes), int(embed_dim), pairing, gate
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.gate = ClassPairGate(num_classes, embed_dim, gate_in_dim, gate_mlp_dim) if gate == "learned" else None
        self.last_stats: dict[str, float] = {}

    def pair_labels(self, y: torch.Tensor) -> torch.Tensor:
        """``y2`` for anchors of classes ``y`` (draws from torch's global generator)."""
        if self.pairing == "identical":
            return y
        if self.pairing == "arbitrary":
            return y[torch.randperm(len(y), device=y.device)]
        return (y + torch.randint(1, self.num_classes, y.shape, device=y.device)) % self.num_classes

    def gates(self, y1: torch.Tensor, y2: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        if self.gate is None:
            return torch.ones(len(y1), self.embed_dim, dtype=dtype, device=y1.device)
        return self.gate(y1, y2).to(dtype)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        z1, z2, y = self._inputs(outputs, batch)
        y2 = self.pair_labels(y)
        g = self.gates(y, y2, z1.dtype)
        logits = self.log_scale.exp() * ((z1 * g * g) @ z2.T)
        pos, excluded = simlap_masks(y, y, y2)
        with torch.no_grad():
            p = g.detach().clamp(1e-6, 1 - 1e-6)
            self.last_stats = {
                "activation": float(g.detach().sum(1).mean()),
                "entropy": float(-(p * p.log() + (1 - p) * (1 - p).log()).mean()),
                "scale": float(self.log_scale.detach().exp()),
            }
        return multipositive_nce(logits, pos, excluded)

    def _inputs(self, outputs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not isinstance(outputs, (list, tuple)):
            raise TypeError(f"simlap takes a list of two view embeddings (n_views: 2), got {type(outputs).__name__}")
        if len(outputs) != 2:
            raise ValueError(f"simlap takes exactly 2 views, got {len(outputs)}; set n_views: 2")
        z1, z2 = outputs
        if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
            raise TypeError("simlap: both views must be tensors of shape (B, D)")
        if z1.dim() != 2 or z1.shape != z2.shape:
            raise ValueError(f"simlap: the views must have the same shape (B, D), got {tuple(z1.shape)} and {tuple(z2.shape)}")
        b, d = z1.shape
        if b < 2:
            raise ValueError(f"simlap needs at least 2 samples per batch, got {b}")
        if d != self.embed_dim:
            raise ValueError(f"simlap: embeddings have {d} dimensions but embed_dim={self.embed_dim}")
        if "y" not in batch or batch["y"] is None:
            raise ValueError("simlap is supervised: it needs class labels batch['y'] (set pretrain.labels: true in the representation task)")
        y = torch.as_tensor(batch["y"], device=z1.device)
        if y.is_floating_point() or y.is_complex():
            raise TypeError(f"simlap: labels batch['y'] must be integer class ids, got dtype {y.dtype}")
        if y.shape != (b,):
            raise ValueError(f"simlap: batch['y'] must have shape ({b},), got {tuple(y.shape)}")
        if int(y.min()) < 0 or int(y.max()) >= self.num_classes:
            raise ValueError(f"simlap: labels must lie in [0, num_classes={self.num_classes}), got range [{int(y.min())}, {int(y.max())}]")
        if not (all_finite(z1) and all_finite(z2)):
            raise ValueError("simlap: the embeddings contain NaN or Inf values")
        return F.normalize(z1, dim=1), F.normalize(z2, dim=1), y.long()

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, embed_dim={self.embed_dim}, pairing={self.pairing!r}, gate={self.gate_kind!r}"
