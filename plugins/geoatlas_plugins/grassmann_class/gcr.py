"""Grassmann Class Representation (Wang, Li, Zhang; ICCV 2023).

Each class ``c`` is a ``k``-dimensional linear subspace of the feature space ``R^D``, stored by an
orthonormal basis ``S_c in St(D, k)``. The logit of a normalised feature ``x^ = x / ||x||`` is
the norm of its projection onto the subspace, scaled:

    logit_c(x) = gamma * || S_c^T x^ ||,         gamma = 25, default k = 8.

The loss is invariant to ``S_c -> S_c Q`` (``Q in O(k)``): it depends only on the subspace, a
point of the Grassmann manifold. The paper optimises ``S`` by Riemannian SGD on the Grassmannian:
Euclidean momentum on the raw gradient, projection onto the horizontal space
``H = B - S S^T B``, and the exact geodesic step ``S <- (S V cos(Sigma t) + U sin(Sigma t)) V^T``
with ``H = U Sigma V^T``, ``t = -lr``; re-orthonormalisation by QR every 5 steps.

geoopt has no Grassmann manifold. ``GrassmannStiefel`` is a geoopt ``EuclideanStiefel`` whose
retraction is that exact Grassmann geodesic (``geodesic=True``, the default) or geoopt's own
Stiefel retraction (``geodesic=False``). For this O(k)-invariant loss ``S^T G`` is symmetric, so
geoopt's Stiefel Riemannian gradient ``G - S sym(S^T G)`` *is* the Grassmann horizontal gradient
``G - S S^T G``; ``geoopt.optim.RiemannianSGD`` on it is then a Grassmann optimiser.
``GrassmannSGD`` is the paper's update rule exactly (momentum on the raw gradient, then projection).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, ClassVar

import geoopt
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import PositiveFloat, Size, check_weights

__all__ = ["horizontal", "grassmann_geodesic", "GrassmannStiefel", "GrassmannSGD", "GCRHead", "random_stiefel"]


def horizontal(S: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Projection of ``B`` (..., D, k) onto the horizontal space at ``S``: ``B - S S^T B``."""
    return B - S @ (S.transpose(-1, -2) @ B)


def grassmann_geodesic(S: torch.Tensor, H: torch.Tensor, t: float = 1.0) -> torch.Tensor:
    """The Grassmann geodesic from ``S`` (orthonormal columns) in the horizontal direction ``H``
    at time ``t``: ``(S V cos(Sigma t) + U sin(Sigma t)) V^T`` with ``H = U Sigma V^T`` (thin SVD)."""
    U, sig, Vh = torch.linalg.svd(H, full_matrices=False)
    V = Vh.transpose(-1, -2)
    cos = torch.cos(sig * t).unsqueeze(-2)
    sin = torch.sin(sig * t).unsqueeze(-2)
    return (S @ V * cos + U * sin) @ Vh


def random_stiefel(*shape: int, generator: torch.Generator | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Gaussian matrices of shape ``(..., D, k)`` orthonormalised by QR (the paper's initialisation)."""
    A = torch.randn(*shape, generator=generator, dtype=dtype or torch.get_default_dtype())
    Q, R = torch.linalg.qr(A)
    return Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)


class GrassmannStiefel(geoopt.EuclideanStiefel):
    """Stiefel representatives of Grassmann points, with the exact Grassmann geodesic as the
    retraction (``geodesic=True``) or geoopt's Stiefel retraction (``geodesic=False``).

    The update direction is projected on the horizontal space first (a no-op for a Riemannian
    gradient of an O(k)-invariant loss); vector transport is the projection, as in geoopt.
    """

    name = "GrassmannStiefel"

    def __new__(cls, geodesic: bool = True) -> GrassmannStiefel:  # geoopt.Stiefel.__new__ takes `canonical`
        return super().__new__(cls)

    def __init__(self, geodesic: bool = True) -> None:
        super().__init__()
        self.geodesic = bool(geodesic)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if not self.geodesic:
            return super().retr(x, u)
        return grassmann_geodesic(x, horizontal(x, u))

    def retr_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.retr(x, u)
        return y, self.proju(y, v)

    expmap = retr  # type: ignore[assignment]

    def expmap_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.retr_transp(x, u, v)


class GrassmannSGD(torch.optim.Optimizer):
    """The paper's Riemannian SGD for Grassmann parameters (and plain SGD for the others).

    For a Grassmann parameter ``S`` (a ``geoopt.ManifoldParameter`` on :class:`GrassmannStiefel`):
    ``buf <- momentum * buf + G`` (Euclidean momentum on the raw gradient, no weight decay),
    ``H = buf - S S^T buf``, ``S <- geodesic(S, -lr H)``, and ``S <- qr(S).Q`` every ``qr_every``
    steps. Other parameters: SGD with momentum and weight decay (``torch.optim.SGD`` rule).
    """

    def __init__(self, params: Any, lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 0.0, qr_every: int = 5) -> None:
        if lr <= 0 or momentum < 0 or weight_decay < 0 or qr_every < 1:
            raise ValueError(f"need lr > 0, momentum >= 0, weight_decay >= 0, qr_every >= 1; got {lr}, {momentum}, {weight_decay}, {qr_every}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "qr_every": qr_every})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                grassmann = isinstance(p, geoopt.ManifoldParameter) and isinstance(p.manifold, GrassmannStiefel)
                g = p.grad if grassmann or not group["weight_decay"] else p.grad + group["weight_decay"] * p
                buf = state.get("buf")
                buf = g.clone() if buf is None else buf.mul_(group["momentum"]).add_(g)
                state["buf"] = buf
                if grassmann:
                    new = grassmann_geodesic(p, horizontal(p, buf), -group["lr"])
                    state["steps"] = state.get("steps", 0) + 1
                    if state["steps"] % group["qr_every"] == 0:
                        Q, R = torch.linalg.qr(new)
                        new = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)
                    p.copy_(new)
                else:
                    p.add_(buf, alpha=-group["lr"])
        return loss


class GCRHead(Encoder):
    """Grassmann class representation head: logits ``gamma * ||S_c^T x^||``.

    ``x^`` is the L2-normalised feature: the input itself (``hidden=[]``, a head on given features)
    or the output of a ReLU MLP backbone ``in_features -> hidden...``. ``S`` is a
    ``geoopt.ManifoldParameter`` of shape ``(num_classes, D, k)`` on :class:`GrassmannStiefel`;
    train it with ``riemannian_sgd`` (geoopt) or :class:`GrassmannSGD` (the paper's rule). A plain
    Euclidean optimiser would leave the manifold.

    Parameters
    ----------
    in_features, num_classes : int
        Input size and classes (filled in by pipelines).
    k : int
        Subspace dimension per class (paper default 8; ``k = 1`` is an absolute-cosine classifier).
    gamma : float
        Logit scale (paper: 25).
    hidden : list of int
        Widths of the ReLU MLP backbone (default none: the head acts on the input features).
    geodesic : bool
        Exact Grassmann geodesic as the retraction (default) or geoopt's Stiefel retraction.
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(
        self,
        in_features: Size,
        num_classes: Size,
        k: Size = 8,
        gamma: PositiveFloat = 25.0,
        hidden: list[Size] | None = None,
        geodesic: bool = True,
    ) -> None:
        super().__init__()
        widths = [in_features, *(hidden or [])]
        D = widths[-1]
        if k > D:
            raise ValueError(f"k={k} must not exceed the feature dimension D={D} (a k-dim subspace of R^D)")
        check_weights("GCRHead", *pairwise(widths), (num_classes, D, k))
        layers: list[nn.Module] = []
        for a, b in pairwise(widths):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.backbone = nn.Sequential(*layers)
        self.manifold = GrassmannStiefel(geodesic=geodesic)
        self.S = geoopt.ManifoldParameter(random_stiefel(num_classes, D, k), manifold=self.manifold)
        self.in_features, self.num_classes, self.k, self.gamma, self.feature_dim = in_features, num_classes, k, float(gamma), D

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised feature ``x^``."""
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have in_features={self.in_features} features per sample, got {x.shape[1]}")
        return F.normalize(self.backbone(x.to(self.S.dtype)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xh = self.embed(x)
        proj = torch.einsum("bd,cdk->bck", xh, self.S)
        return self.gamma * proj.norm(dim=-1)
