"""Equiangular Basis Vectors (Shen, Sun, Wei, CVPR 2023).

A classification head whose class weights are *fixed* unit vectors ``w_1..w_N`` in ``R^d`` that
are pairwise almost orthogonal (``|w_i . w_j| <= alpha`` for ``i != j``). The backbone's
``d``-dimensional output is L2-normalised and compared with every basis vector by its cosine;
training pulls each embedding towards its class's vector (cross-entropy on ``cos / tau``).

The basis is generated once, offline, by the paper's procedure: start from Gaussian rows,
renormalise the rows, and minimise ``sum_{i != j} relu(|w_i . w_j| - alpha)`` by plain SGD until
``max_{i != j} |w_i . w_j| <= alpha + 1e-4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import PositiveFloat, Size, check_weights

__all__ = ["EBVResult", "generate_ebv", "welch_bound", "EBVHead"]

#: the stopping slack of the reference generator
STOP_SLACK = 1e-4


def welch_bound(n: int, d: int) -> float:
    """The Welch lower bound on ``max_{i != j} |<w_i, w_j>|`` for ``n`` unit vectors in ``R^d``
    (0 when ``n <= d``): ``sqrt((n - d) / (d (n - 1)))``."""
    if n <= d:
        return 0.0
    return math.sqrt((n - d) / (d * (n - 1)))


@dataclass
class EBVResult:
    """A generated basis: ``basis`` (n, d) unit rows, the achieved ``max_cos``, whether it reached
    ``alpha + 1e-4`` (``converged``) and the number of SGD ``steps`` taken."""

    basis: torch.Tensor
    max_cos: float
    converged: bool
    steps: int


def generate_ebv(
    num_classes: int,
    dim: int,
    alpha: float = 0.002,
    *,
    max_steps: int = 100_000,
    lr: float = 1e-3,
    seed: int = 42,
    slice_size: int = 130,
    dtype: torch.dtype = torch.float32,
) -> EBVResult:
    """Generate ``num_classes`` unit vectors in ``R^dim`` with pairwise ``|cos| <= alpha`` (+1e-4).

    The paper's procedure (defaults of the reference generator: alpha 0.002, SGD lr 1e-3, up to
    100,000 steps, seed 42, row slices of 130 for memory): each step renormalises the rows, takes
    ``M = |W W^T| - I`` and the loss ``sum relu(M - alpha)``, stops as soon as
    ``max M <= alpha + 1e-4``, else takes one SGD step. Returns an :class:`EBVResult`; check
    ``converged`` (no set of vectors beats :func:`welch_bound`).
    """
    for k, v in (("num_classes", num_classes), ("dim", dim), ("max_steps", max_steps), ("slice_size", slice_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{k} must be a positive integer, got {v!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if not (isinstance(alpha, (int, float)) and 0 <= alpha < 1 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a number in [0, 1), got {alpha!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    check_weights("EBV basis", (num_classes, dim))
    g = torch.Generator().manual_seed(seed)
    W = nn.Parameter(F.normalize(torch.randn(num_classes, dim, generator=g, dtype=dtype), dim=1))
    opt = torch.optim.SGD([W], lr=lr)
    eye = torch.eye(num_classes, dtype=dtype)
    mx = float("inf")
    for step in range(max_steps + 1):
        with torch.no_grad():
            W.copy_(F.normalize(W, dim=1))
        mx = alpha
        opt.zero_grad()
        for start in range(0, num_classes, slice_size):
            end = min(num_classes, start + slice_size)
            M = (W[start:end] @ W.T).abs() - eye[start:end]
            mx = max(mx, float(M.detach().max()))
            F.relu(M - alpha).sum().backward()
        if mx <= alpha + STOP_SLACK:
            return EBVResult(W.detach().clone(), _max_cos(W.detach()), True, step)
        if step < max_steps:
            opt.step()
    with torch.no_grad():
        W.copy_(F.normalize(W, dim=1))
    return EBVResult(W.detach().clone(), _max_cos(W.detach()), False, max_steps)


def _max_cos(W: torch.Tensor) -> float:
    G = (W @ W.T).abs()
    G.fill_diagonal_(0)
    return float(G.max())


class EBVHead(Encoder):
    """Classification head on fixed equiangular basis vectors.

    ``logits = normalize(f(x)) @ basis.T / tau`` with ``f`` a linear map ``in_features -> dim``
    (the backbone's last layer; with ``hidden`` a ReLU MLP ``in_features -> hidden... -> dim``).
    ``basis`` (``num_classes x dim``, unit rows, pairwise ``|cos| <= alpha + 1e-4``) is a buffer:
    generated once at construction (:func:`generate_ebv`, seed ``basis_seed``) and never trained.

    Parameters
    ----------
    in_features, num_classes : int
        Input size and number of classes (filled in by pipelines).
    dim : int
        Dimension ``d`` of the embedding and of the basis vectors (paper: 1000 for ImageNet).
    alpha : float
        Largest allowed ``|cos|`` between two basis vectors (paper: 0.002). When
        ``num_classes > dim`` it must exceed the Welch bound; construction raises otherwise.
    tau : float
        Temperature (paper: 0.07).
    hidden : list of int
        Widths of an optional ReLU MLP before the ``dim``-dimensional embedding (default none).
    max_steps, basis_seed : int
        Budget and seed of the basis generator (reference: 100,000 and 42).
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(
        self,
        in_features: Size,
        num_classes: Size,
        dim: Size = 64,
        alpha: float = 0.002,
        tau: PositiveFloat = 0.07,
        hidden: list[Size] | None = None,
        max_steps: Size = 100_000,
        basis_seed: int = 42,
    ) -> None:
        super().__init__()
        if not (isinstance(alpha, (int, float)) and 0 <= alpha < 1):
            raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
        wb = welch_bound(num_classes, dim)
        if alpha + STOP_SLACK < wb:
            raise ValueError(
                f"alpha={alpha} is below the Welch bound {wb:.4f} for num_classes={num_classes} vectors in dim={dim}: "
                "no such basis exists; raise alpha or dim"
            )
        widths = [in_features, *(hidden or []), dim]
        check_weights("EBVHead", *pairwise(widths))
        layers: list[nn.Module] = []
        for a, b in pairwise(widths[:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-2], dim))
        self.backbone = nn.Sequential(*layers)
        res = generate_ebv(num_classes, dim, float(alpha), max_steps=max_steps, seed=basis_seed)
        if not res.converged:
            raise ValueError(
                f"the EBV generator did not reach alpha={alpha} (+1e-4) in max_steps={max_steps} steps "
                f"(max |cos| {res.max_cos:.4f}; Welch bound {wb:.4f}); raise alpha or max_steps"
            )
        self.register_buffer("basis", res.basis)
        self.in_features, self.num_classes, self.dim, self.alpha, self.tau = in_features, num_classes, dim, float(alpha), float(tau)
        self.generator_steps = res.steps

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The L2-normalised ``dim``-dimensional embedding."""
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have in_features={self.in_features} features per sample, got {x.shape[1]}")
        return F.normalize(self.backbone(x.to(self.basis.dtype)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x) @ self.basis.T / self.tau
