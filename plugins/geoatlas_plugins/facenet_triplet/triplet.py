"""FaceNet's triplet loss with online semi-hard negative mining (Schroff, Kalenichenko, Philbin, CVPR 2015).

Embeddings are put on the unit sphere (``||f(x)||_2 = 1``, the paper's constraint), distances are
squared Euclidean, every anchor-positive pair of the mini-batch is used (sec. 3.2: "we use all
anchor-positive pairs in a mini-batch") and, for each pair, negatives are chosen among the
*semi-hard* ones of the same mini-batch (eq. 4):

    ||f(a) - f(p)||^2 < ||f(a) - f(n)||^2 < ||f(a) - f(p)||^2 + alpha.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss
from geoatlas.validation import all_finite

MINING = ("semihard", "hard", "all")
SELECTION = ("all", "hardest", "random")


def squared_distances(z: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances of unit vectors: ``||a - b||^2 = 2 - 2 <a, b>``, clamped at 0."""
    return (2.0 - 2.0 * (z @ z.T)).clamp_min(0.0)


def mine_triplets(
    d2: torch.Tensor,
    labels: torch.Tensor,
    margin: float,
    mining: str = "semihard",
    selection: str = "all",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index triplets ``(a, p, n)`` of a mini-batch from its squared distances ``d2`` ``(B, B)``.

    Every anchor-positive pair ``a != p`` with ``labels[a] == labels[p]`` is used. Candidate
    negatives ``n`` (``labels[n] != labels[a]``) of a pair are

    - ``"semihard"``: ``d2[a, p] < d2[a, n] < d2[a, p] + margin`` (FaceNet eq. 4, inside the margin);
    - ``"hard"``: ``d2[a, n] <= d2[a, p]`` (closer than the positive);
    - ``"all"``: every negative (no mining).

    ``selection`` keeps, per pair, ``"all"`` candidates, the ``"hardest"`` one (smallest
    ``d2[a, n]``) or one drawn uniformly at ``"random"`` (with ``generator``). A pair without a
    candidate contributes no triplet.
    """
    b = d2.shape[0]
    same = labels[:, None] == labels[None, :]
    a, p = (same & ~torch.eye(b, dtype=torch.bool, device=d2.device)).nonzero(as_tuple=True)  # every (a, p)
    ap = d2[a, p][:, None]  # (P, 1)
    an = d2[a]  # (P, B): distance of the pair's anchor to every sample
    cand = ~same[a]  # (P, B): the negatives of the anchor
    if mining == "semihard":
        cand = cand & (an > ap) & (an < ap + margin)
    elif mining == "hard":
        cand = cand & (an <= ap)
    elif mining != "all":
        raise ValueError(f"mining must be one of {', '.join(MINING)}, got {mining!r}")
    if selection == "all":
        k, n = cand.nonzero(as_tuple=True)
        return a[k], p[k], n
    if selection not in SELECTION:
        raise ValueError(f"selection must be one of {', '.join(SELECTION)}, got {selection!r}")
    has = cand.any(dim=1)
    if selection == "hardest":
        n = an.masked_fill(~cand, float("inf")).argmin(dim=1)
    else:
        u = torch.rand(cand.shape, generator=generator, dtype=torch.float64, device=d2.device)
        n = u.masked_fill(~cand, -1.0).argmax(dim=1)
    return a[has], p[has], n[has]


def _embeddings_and_labels(outputs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack view outputs (labels = sample identity, or ``batch["y"]`` when given) or take one tensor with ``batch["y"]``."""
    y = batch.get("y")
    if isinstance(outputs, (list, tuple)):
        if len(outputs) < 1 or not all(isinstance(o, torch.Tensor) for o in outputs):
            raise TypeError("triplet: outputs must be a tensor (B, D) or a non-empty list of view tensors (B, D)")
        shapes = {tuple(o.shape) for o in outputs}
        if len(shapes) != 1:
            raise ValueError(f"triplet: every view must have the same shape (B, D), got {sorted(shapes)}")
        b = outputs[0].shape[0] if outputs[0].dim() else 0
        z = torch.cat([o.reshape(b, -1) for o in outputs], dim=0) if outputs[0].dim() >= 2 else None
        if z is None:
            raise ValueError(f"triplet: each view must have shape (B, D), got {tuple(outputs[0].shape)}")
        if y is None:  # self-supervised: the views of one sample share an identity
            ids = torch.arange(b, device=z.device)
        else:
            ids = torch.as_tensor(y, device=z.device)
            if ids.shape != (b,):
                raise ValueError(f"triplet: batch['y'] must have shape ({b},), got {tuple(ids.shape)}")
        labels = ids.repeat(len(outputs))
        if len(outputs) < 2 and y is None:
            raise ValueError("triplet: one view without labels has no positives; give n_views >= 2 or batch['y']")
    elif isinstance(outputs, torch.Tensor):
        if y is None:
            raise ValueError("triplet: a single output tensor needs labels batch['y'] (identities); or pass a list of views")
        if outputs.dim() < 2:
            raise ValueError(f"triplet: outputs must have shape (B, D), got {tuple(outputs.shape)}")
        z = outputs.reshape(outputs.shape[0], -1)
        labels = torch.as_tensor(y, device=z.device)
        if labels.shape != (z.shape[0],):
            raise ValueError(f"triplet: batch['y'] must have shape ({z.shape[0]},), got {tuple(labels.shape)}")
    else:
        raise TypeError(f"triplet: outputs must be a tensor or a list of view tensors, got {type(outputs).__name__}")
    if z.shape[0] < 2:
        raise ValueError(f"triplet: needs at least 2 embeddings in the batch, got {z.shape[0]}")
    if z.shape[1] == 0:
        raise ValueError("triplet: embeddings have 0 dimensions")
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"triplet: labels batch['y'] must be integer class/identity ids, got dtype {labels.dtype}")
    if not all_finite(z):
        raise ValueError("triplet: the embeddings contain NaN or Inf values")
    return z, labels


class TripletLoss(Loss):
    """FaceNet triplet loss on the unit sphere with online (semi-hard) negative mining.

    For the mined triplets ``T`` of a mini-batch (all anchor-positive pairs; negatives by
    ``mining``/``selection``, see :func:`mine_triplets`),

    ``L = reduce_{(a,p,n) in T} [ ||f_a - f_p||^2 - ||f_a - f_n||^2 + alpha ]_+``

    with ``f = x / ||x||``. ``outputs`` is either one tensor ``(B, D)`` with identities in
    ``batch["y"]`` (the paper's supervised setting), or the list of view outputs of the
    representation task: then the views of one sample share an identity (the labels
    ``batch["y"]`` are used instead when the batch has them).

    Parameters
    ----------
    margin : float
        ``alpha``, 0.2 in the paper.
    mining : {"semihard", "hard", "all"}
        Candidate negatives per anchor-positive pair (FaceNet's is ``"semihard"``, eq. 4).
    selection : {"all", "hardest", "random"}
        Which candidates make triplets: all of them (the default; the set that
        ``pytorch-metric-learning``'s semi-hard ``TripletMarginMiner`` returns), the one
        closest to the anchor, or one at random.
    reduction : {"mean", "sum"}
        ``"mean"`` over the mined triplets (default) or the paper's ``"sum"`` (eq. 3). With
        semi-hard mining every mined triplet has a positive loss, so the mean is also the mean
        over non-zero triplets. No triplet gives a zero loss (with a zero gradient).
    """

    requires = ()
    batch_size_independent = False  # more samples, more semi-hard candidates

    def __init__(
        self,
        margin: float = 0.2,
        mining: Literal["semihard", "hard", "all"] = "semihard",
        selection: Literal["all", "hardest", "random"] = "all",
        reduction: Literal["mean", "sum"] = "mean",
    ) -> None:
        super().__init__()
        if isinstance(margin, bool) or not isinstance(margin, (int, float)):
            raise TypeError(f"margin must be a number, got {type(margin).__name__}")
        if not math.isfinite(margin) or margin <= 0:
            raise ValueError(f"margin must be a finite number > 0, got {margin}")
        if mining not in MINING:
            raise ValueError(f"mining must be one of {', '.join(MINING)}, got {mining!r}")
        if selection not in SELECTION:
            raise ValueError(f"selection must be one of {', '.join(SELECTION)}, got {selection!r}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.margin, self.mining, self.selection, self.reduction = float(margin), mining, selection, reduction
        self.last_n_triplets = 0

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        z, labels = _embeddings_and_labels(outputs, batch)
        z = F.normalize(z, dim=1)
        d2 = squared_distances(z)
        gen = None
        if self.selection == "random":
            gen = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,))))
        with torch.no_grad():
            a, p, n = mine_triplets(d2.detach(), labels, self.margin, self.mining, self.selection, gen)
        self.last_n_triplets = int(a.numel())
        if a.numel() == 0:
            return (z * 0.0).sum()
        losses = F.relu(d2[a, p] - d2[a, n] + self.margin)
        return losses.sum() if self.reduction == "sum" else losses.mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, mining={self.mining!r}, selection={self.selection!r}, reduction={self.reduction!r}"
