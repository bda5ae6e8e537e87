"""A reconstruction of the neural snowflake, a trainable (quasi-)metric on R^d (Borde & Kratsios, ICLR 2024).

**Reconstructed, not verified against the paper.** The paper's definition (Sec. 3 / Eq. 5 of
arXiv 2310.15003) could not be read here: the stored copies of the paper hold only its
beginning, and there is no official code. The construction below is rebuilt from the abstract
and the OpenReview reviews (a bounded kernel-type distance, a power ``|t|^alpha`` and an
"irregular" ``log(1 + |t|^beta)^(1 + |p|)``, iterated on ``||x - y||`` with non-negative
matrices ``A, B, C``). The form of the bounded component, where ``A, B, C`` sit, the per-layer
scalar exponents, the reparametrisations and the initialisation are our choices.

This reconstruction refines the Euclidean distance ``t = ||x - y||`` by an iterative
representation with non-negative matrices and a trainable *snowflake activation*

    sigma_{alpha, beta, p}(s) = (1 - exp(-|s|),  |s|^alpha,  log(1 + |s|^beta)^(1 + |p|)),

    u_0 = t,   u_j = B_j sigma_{alpha_j, beta_j, p_j}(A_j u_{j-1})   (j = 1..J),   rho = C u_J,

with ``A_j, B_j, C >= 0`` entrywise, ``alpha_j, beta_j in (0, 1]`` and ``p_j >= 0``.
The three components stand for the bounded kernel-type distance, the fractal (snowflake) power
and the "irregular" fractal component that the reviews describe. The constraints are imposed by
reparametrisation, so they hold for every value of the raw (optimised) parameters and hence
after every optimiser step: ``A = |A_raw|``, ``alpha = sigmoid(alpha_raw)``,
``p = |p_raw|`` (the reviews quote the exponent as ``1 + |p|``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from geoatlas.interfaces import Encoder

__all__ = ["NeuralSnowflake", "safe_distance", "snowflake_activation"]


# ---------------------------------------------------------------------------- safe primitives
def _safe_pow(s: torch.Tensor, e: torch.Tensor | float) -> torch.Tensor:
    """``s ** e`` for ``s >= 0`` with value 0 and finite gradients at ``s == 0``."""
    pos = s > 0
    s_safe = torch.where(pos, s, torch.ones_like(s))
    return torch.where(pos, s_safe**e, torch.zeros_like(s))


def safe_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Euclidean distance ``||x - y||`` over the last axis, exactly 0 (with zero gradient) at ``x == y``.

    Symmetric bit for bit: ``(x - y)**2 == (y - x)**2`` in floating point.
    """
    sq = ((x - y) ** 2).sum(-1)
    pos = sq > 0
    return torch.where(pos, torch.where(pos, sq, torch.ones_like(sq)).sqrt(), torch.zeros_like(sq))


def snowflake_activation(s: torch.Tensor, alpha: torch.Tensor | float, beta: torch.Tensor | float, p: torch.Tensor | float) -> torch.Tensor:
    """The snowflake activation, applied entrywise; the three components go to a new last axis.

    Parameters
    ----------
    s : torch.Tensor
        Input of any shape.
    alpha, beta : float or 0-d tensor in (0, 1]
        Exponent of the fractal power component and of the inner power of the log component.
    p : float or 0-d tensor >= 0
        The log component is raised to ``1 + |p|`` (a quasi-metric for ``p > 0``).

    Returns
    -------
    torch.Tensor
        Shape ``s.shape + (3,)``: ``(1 - e^{-|s|}, |s|^alpha, log(1 + |s|^beta)^(1 + |p|))``.
    """
    a = s.abs()
    bounded = -torch.expm1(-a)
    power = _safe_pow(a, alpha)
    if isinstance(p, torch.Tensor):
        q = 1.0 + p.abs()
    else:
        q = 1.0 + abs(p)
    irregular = _safe_pow(torch.log1p(_safe_pow(a, beta)), q)
    return torch.stack([bounded, power, irregular], -1)


def _logit(v: float) -> float:
    if not 0.0 < v <= 1.0:
        raise ValueError(f"exponent must lie in (0, 1], got {v!r}")
    if v == 1.0:
        return 40.0  # sigmoid(40) == 1 in float64 up to 4e-18
    return math.log(v / (1.0 - v))


# ---------------------------------------------------------------------------- the module
class NeuralSnowflake(Encoder):
    """Trainable snowflake (quasi-)metric ``rho(x, y) = phi(||x - y||)`` on ``R^dim``.

    Parameters
    ----------
    dim : int
        Dimension of the points the metric acts on (checked on input).
    depth : int
        Number ``J`` of snowflake layers (iterations).
    width : int
        Width of each layer: ``A_j`` maps to ``width`` units, ``sigma`` triples them and
        ``B_j`` maps ``3 * width`` back to ``width``.
    quasi : bool
        If ``False`` the exponents ``p_j`` are fixed to 0 (not trained), so ``rho`` is a metric
        (triangle inequality with constant 1). If ``True`` (default) ``p_j >= 0`` are trained and
        ``rho`` is a quasi-metric with the constant of :meth:`quasi_metric_constant`.
    seed : int or None
        Seed of the initialisation (``None``: torch's global generator).

    Notes
    -----
    ``forward(x, y)`` gives the distances of aligned batches ``(..., dim)``;
    ``pairwise(X, Y=None)`` the distance matrix; ``phi(t)`` the learned 1-D map applied to
    Euclidean distances ``t >= 0``.
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, dim: int, depth: int = 2, width: int = 8, quasi: bool = True, seed: int | None = 0) -> None:
        super().__init__()
        for name, v in (("dim", dim), ("depth", depth), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(quasi, bool):
            raise TypeError(f"quasi must be a bool, got {type(quasi).__name__}")
        self.dim, self.depth, self.width, self.quasi = dim, depth, width, quasi
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.A = nn.ParameterList()
        self.B = nn.ParameterList()
        d_in = 1
        for _ in range(depth):
            self.A.append(nn.Parameter(0.5 + torch.rand(width, d_in, generator=gen) / d_in))
            self.B.append(nn.Parameter(torch.rand(width, 3 * width, generator=gen) * (2.0 / (3 * width))))
            d_in = width
        self.C = nn.Parameter(torch.rand(1, width, generator=gen) * (2.0 / width))
        # alpha = sigmoid(raw) in (0, 1); initial 0.5 (square-root snowflake), beta likewise
        self.alpha_raw = nn.Parameter(torch.zeros(depth))
        self.beta_raw = nn.Parameter(torch.zeros(depth))
        self.p_raw = nn.Parameter(torch.full((depth,), 0.5), requires_grad=quasi)
        if not quasi:
            self.p_raw.data.zero_()

    # ------------------------------------------------------------------ constrained values
    @property
    def alphas(self) -> torch.Tensor:
        """Exponents ``alpha_j in (0, 1]`` of the power components."""
        return torch.sigmoid(self.alpha_raw)

    @property
    def betas(self) -> torch.Tensor:
        """Exponents ``beta_j in (0, 1]`` inside the log components."""
        return torch.sigmoid(self.beta_raw)

    @property
    def ps(self) -> torch.Tensor:
        """Exponents ``p_j >= 0`` (the log component is raised to ``1 + p_j``)."""
        return self.p_raw.abs() if self.quasi else torch.zeros_like(self.p_raw)

    def weights(self) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """The non-negative matrices ``(A_1..A_J, B_1..B_J, C)`` actually used."""
        return [a.abs() for a in self.A], [b.abs() for b in self.B], self.C.abs()

    def constraints_satisfied(self) -> bool:
        """Whether every constrained quantity lies in its allowed set (used by tests)."""
        A, B, C = self.weights()
        ok = all(bool((m >= 0).all()) for m in [*A, *B, C])
        al, be, p = self.alphas, self.betas, self.ps
        ok = ok and bool(((al > 0) & (al <= 1)).all()) and bool(((be > 0) & (be <= 1)).all())
        return ok and bool((p >= 0).all())

    def quasi_metric_constant(self) -> float:
        """A constant ``K`` with ``rho(x, z) <= K (rho(x, y) + rho(y, z))`` for all x, y, z.

        Derived for this architecture: ``t = ||x - y||`` is a metric (``K_0 = 1``);
        non-negative combinations keep ``K``; the concave components vanishing at 0
        (``1 - e^{-s}``, ``s^alpha``, ``log(1 + s^beta)``) keep ``K`` since
        ``f(K s) <= K f(s)`` for ``K >= 1``; raising to ``q = 1 + p`` turns ``K`` into
        ``2^(q - 1) K^q``. Hence ``K_j = 2^(p_j) K_{j-1}^(1 + p_j)``; ``K = 1`` when all
        ``p_j = 0`` (a metric).
        """
        k = 1.0
        for p in self.ps.detach().double().tolist():
            k = (2.0**p) * k ** (1.0 + p)
        return float(k)

    # ------------------------------------------------------------------ evaluation
    def phi(self, t: torch.Tensor) -> torch.Tensor:
        """The learned map ``phi: [0, inf) -> [0, inf)`` applied entrywise to distances ``t``."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
        if not torch.isfinite(t).all():
            raise ValueError("t contains NaN or Inf values")
        if (t < 0).any():
            raise ValueError("t must be non-negative distances")
        A, B, C = self.weights()
        al, be, p = self.alphas, self.betas, self.ps
        u = t.unsqueeze(-1).to(A[0].dtype)
        for j in range(self.depth):
            s = u @ A[j].T  # (..., width)
            z = snowflake_activation(s, al[j], be[j], p[j])  # (..., width, 3)
            u = z.flatten(-2) @ B[j].T  # (..., width)
        return (u @ C.T).squeeze(-1)

    def _check_points(self, x: torch.Tensor, what: str) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"{what} must have shape (..., {self.dim}), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{what} contains NaN or Inf values")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distances ``rho(x, y)`` of aligned (broadcastable) batches of shape ``(..., dim)``."""
        self._check_points(x, "x")
        self._check_points(y, "y")
        return self.phi(safe_distance(x, y))

    def pairwise(self, X: torch.Tensor, Y: torch.Tensor | None = None) -> torch.Tensor:
        """Distance matrix ``rho(X_i, Y_j)`` of shape ``(n, m)`` (``Y = X`` when omitted)."""
        self._check_points(X, "X")
        if X.dim() != 2:
            raise ValueError(f"X must have shape (n, {self.dim}), got {tuple(X.shape)}")
        if X.shape[0] == 0:
            raise ValueError("X is empty")
        if Y is None:
            Y = X
        else:
            self._check_points(Y, "Y")
            if Y.dim() != 2 or Y.shape[0] == 0:
                raise ValueError(f"Y must have shape (m, {self.dim}) with m >= 1, got {tuple(Y.shape)}")
        return self.phi(safe_distance(X[:, None, :], Y[None, :, :]))

    # ------------------------------------------------------------------ direct setting
    @torch.no_grad()
    def set_layer(
        self,
        j: int,
        A: torch.Tensor | None = None,
        B: torch.Tensor | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        p: float | None = None,
    ) -> None:
        """Set layer ``j``'s constrained values (non-negative ``A``/``B``, ``alpha``, ``beta`` in (0, 1], ``p >= 0``)."""
        if not 0 <= j < self.depth:
            raise ValueError(f"j must be in [0, {self.depth}), got {j}")
        for name, m, target in (("A", A, self.A[j]), ("B", B, self.B[j])):
            if m is not None:
                m = torch.as_tensor(m, dtype=target.dtype)
                if m.shape != target.shape:
                    raise ValueError(f"{name} must have shape {tuple(target.shape)}, got {tuple(m.shape)}")
                if (m < 0).any():
                    raise ValueError(f"{name} must be entrywise non-negative")
                target.copy_(m)
        if alpha is not None:
            self.alpha_raw[j] = _logit(float(alpha))
        if beta is not None:
            self.beta_raw[j] = _logit(float(beta))
        if p is not None:
            if p < 0 or (p > 0 and not self.quasi):
                raise ValueError(f"p must be >= 0 (and 0 when quasi=False), got {p!r}")
            self.p_raw[j] = float(p)

    @torch.no_grad()
    def set_output(self, C: torch.Tensor) -> None:
        """Set the non-negative output row ``C`` of shape ``(1, width)``."""
        C = torch.as_tensor(C, dtype=self.C.dtype)
        if C.shape != self.C.shape:
            raise ValueError(f"C must have shape {tuple(self.C.shape)}, got {tuple(C.shape)}")
        if (C < 0).any():
            raise ValueError("C must be entrywise non-negative")
        self.C.copy_(C)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, depth={self.depth}, width={self.width}, quasi={self.quasi}"
