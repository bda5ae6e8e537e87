"""CLOOB (Fürst et al., NeurIPS 2022): modern Hopfield retrieval + the InfoLOOB objective; CLIP's
symmetric InfoNCE as its baseline.

Both losses take two paired embeddings ``x`` ("images") and ``y`` ("texts") of shape ``(N, D)``:
the two outputs of a two-tower encoder, or the two views of the representation task (then the
"modalities" are two augmentations of one sample). Each is L2-normalised first.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss
from geoatlas.validation import all_finite

#: the authors' Conceptual Captions pre-training run (ml-jku/cloob README: ``--init-inv-tau=30``,
#: ``--scale-hopfield=8``), both fixed; the argparse defaults of ``params.py`` (14.3 / 14.3) are not that run
INV_TAU = 30.0
BETA = 8.0
#: CLIP's initial logit scale 1/0.07 (Radford et al. 2021), the CLIP baseline's default
CLIP_INV_TAU = 14.3


def hopfield_retrieval(state: torch.Tensor, stored: torch.Tensor, beta: float) -> torch.Tensor:
    """Modern Hopfield retrieval ``softmax(beta * state @ stored.T) @ stored``, rows L2-normalised.

    ``state`` ``(N, D)`` are the state (query) patterns, ``stored`` ``(M, D)`` the stored patterns
    (keys and values: no projections, one head), ``beta`` the inverse temperature.
    """
    retrieved = torch.softmax(beta * (state @ stored.T), dim=-1) @ stored
    return F.normalize(retrieved, dim=-1)


def info_loob(a: torch.Tensor, b: torch.Tensor, inv_tau: float) -> torch.Tensor:
    """InfoLOOB of anchors ``a`` against ``b`` (positive pairs on the diagonal), *not* scaled by tau:

    ``mean_i [ -k_ii + log sum_{j != i} exp(k_ij) ]`` with ``k = inv_tau * a @ b.T``,

    i.e. InfoNCE with the positive left out of the denominator ("leave one out").
    """
    k = inv_tau * (a @ b.T)
    eye = torch.eye(k.shape[0], dtype=torch.bool, device=k.device)
    return (-k.diagonal() + torch.logsumexp(k.masked_fill(eye, float("-inf")), dim=1)).mean()


def _check_scale(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {v}")
    return float(v)


def paired_embeddings(outputs: Any, who: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The two L2-normalised modality embeddings ``(N, D)`` of ``outputs`` (a list/tuple of two tensors)."""
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(
            f"{who} takes two paired embeddings [x, y] (two views: n_views: 2, or a two-tower encoder's "
            f"tuple), got {type(outputs).__name__}"
        )
    if len(outputs) != 2:
        raise ValueError(f"{who} takes exactly 2 modalities/views, got {len(outputs)}; set n_views: 2")
    x, y = outputs
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{who}: both modalities must be tensors of shape (N, D)")
    if x.dim() < 2 or x.shape != y.shape:
        raise ValueError(f"{who}: the two modalities must have the same shape (N, D), got {tuple(x.shape)} and {tuple(y.shape)}")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"{who} needs at least 2 pairs per batch (leave-one-out negatives), got {n}")
    x, y = x.reshape(n, -1), y.reshape(n, -1)
    if x.shape[1] == 0:
        raise ValueError(f"{who}: embeddings have 0 dimensions")
    if not (all_finite(x) and all_finite(y)):
        raise ValueError(f"{who}: the embeddings contain NaN or Inf values")
    return F.normalize(x, dim=1), F.normalize(y, dim=1)


class CLOOB(Loss):
    """CLOOB: InfoLOOB on modern-Hopfield-retrieved embeddings of both modalities.

    With normalised ``x_i, y_i`` and stored patterns ``X`` (the batch's image embeddings) and
    ``Y`` (text embeddings), ``U_x = Ret(x, X)``, ``U_y = Ret(y, X)`` (retrieved from the image
    memory), ``V_x = Ret(x, Y)``, ``V_y = Ret(y, Y)`` (from the text memory), and

    ``L = tau * [ InfoLOOB(U_x -> U_y) + InfoLOOB(V_y -> V_x) ]``

    where ``InfoLOOB(a -> b) = mean_i [ -a_i.b_i / tau + log sum_{j != i} exp(a_i.b_j / tau) ]``.

    Parameters
    ----------
    inv_tau : float
        Inverse temperature ``1 / tau`` of InfoLOOB (fixed; 30 as in the authors' CC pre-training run).
    beta : float
        Inverse temperature of the Hopfield retrieval (fixed; 8 as in the authors' CC pre-training run).
    scale_by_tau : bool
        Multiply the loss by ``tau`` (the authors' code does; the paper's equation does not): a
        constant factor.
    """

    requires = ()
    batch_size_independent = False  # more pairs: more negatives and more stored patterns

    def __init__(self, inv_tau: float = INV_TAU, beta: float = BETA, scale_by_tau: bool = True) -> None:
        super().__init__()
        self.inv_tau = _check_scale("inv_tau", inv_tau)
        self.beta = _check_scale("beta", beta)
        if not isinstance(scale_by_tau, bool):
            raise TypeError(f"scale_by_tau must be a bool, got {type(scale_by_tau).__name__}")
        self.scale_by_tau = scale_by_tau

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        x, y = paired_embeddings(outputs, "cloob")
        u_x, u_y = hopfield_retrieval(x, x, self.beta), hopfield_retrieval(y, x, self.beta)
        v_x, v_y = hopfield_retrieval(x, y, self.beta), hopfield_retrieval(y, y, self.beta)
        loss = info_loob(u_x, u_y, self.inv_tau) + info_loob(v_y, v_x, self.inv_tau)
        return loss / self.inv_tau if self.scale_by_tau else loss

    def extra_repr(self) -> str:
        return f"inv_tau={self.inv_tau}, beta={self.beta}, scale_by_tau={self.scale_by_tau}"


class CLIP(Loss):
    """CLIP's symmetric InfoNCE (Radford et al. 2021), the baseline of CLOOB:

    ``L = [ CE(inv_tau * x y^T, diag) + CE(inv_tau * y x^T, diag) ] / 2``

    on L2-normalised ``x, y``: each image against all texts of the batch and vice versa (unlike
    SimCLR's NT-Xent, ``info_nce``, there are no within-modality negatives).

    Parameters
    ----------
    inv_tau : float
        Inverse temperature (logit scale), fixed; 14.3 (= 1/0.07, CLIP's initial value).
    """

    requires = ()
    batch_size_independent = False

    def __init__(self, inv_tau: float = CLIP_INV_TAU) -> None:
        super().__init__()
        self.inv_tau = _check_scale("inv_tau", inv_tau)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        x, y = paired_embeddings(outputs, "clip")
        logits = self.inv_tau * (x @ y.T)
        target = torch.arange(x.shape[0], device=x.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    def extra_repr(self) -> str:
        return f"inv_tau={self.inv_tau}"
