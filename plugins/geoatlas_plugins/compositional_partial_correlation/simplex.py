"""The open simplex with Aitchison's geometry, as a geoopt-compatible manifold.

Points are compositions ``x`` of ``parts`` strictly positive parts summing to one, shape
``(..., parts)``. The centred log-ratio ``clr(x) = log x - mean(log x)`` is an isometry from the
simplex onto the hyperplane ``H = {z : sum(z) = 0}`` with its Euclidean metric (Aitchison 1986),
so every geometric operation is the Euclidean one read through ``clr``:

* tangent space at ``x``: ``T_x = {u : sum(u) = 0}`` (ambient directions inside the simplex);
* differential of clr: ``dclr_x(u) = u / x - mean(u / x)``;
* metric: ``<u, v>_x = <dclr_x(u), dclr_x(v)>``;
* ``exp_x(u) = C(x * exp(u / x))`` with the closure ``C(y) = y / sum(y)``;
* ``log_x(y) = x * (w - <x, w>)`` with ``w = clr(y) - clr(x)``;
* ``d(x, y) = ||clr(x) - clr(y)||`` (the Aitchison distance).
"""

from __future__ import annotations

from typing import Any

import geoopt
import torch

from geoatlas.interfaces import Manifold

__all__ = ["AitchisonSimplex", "clr", "clr_inv", "closure", "helmert_basis", "ilr", "ilr_inv"]


def closure(x: torch.Tensor) -> torch.Tensor:
    """Rescale the last axis to sum to one, ``C(x) = x / sum(x)``."""
    return x / x.sum(dim=-1, keepdim=True)


def clr(x: torch.Tensor) -> torch.Tensor:
    """Centred log-ratio transform ``log x - mean(log x)`` along the last axis."""
    lx = torch.log(x)
    return lx - lx.mean(dim=-1, keepdim=True)


def clr_inv(z: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`clr` on the zero-sum hyperplane: ``C(exp z)`` (a softmax)."""
    return torch.softmax(z, dim=-1)


def helmert_basis(parts: int, *, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
    """Orthonormal basis ``V`` (``parts x (parts-1)``) of the zero-sum hyperplane.

    Column ``k`` is the normalised Helmert contrast ``(1, ..., 1, -k, 0, ..., 0) / sqrt(k (k+1))``
    (``k`` ones), so ``V^T V = I`` and ``V^T 1 = 0``; ``ilr(x) = V^T clr(x)``.
    """
    if parts < 2:
        raise ValueError(f"parts must be >= 2, got {parts}")
    V = torch.zeros(parts, parts - 1, dtype=dtype, device=device)
    for k in range(1, parts):
        V[:k, k - 1] = 1.0
        V[k, k - 1] = -float(k)
        V[:, k - 1] /= (k * (k + 1)) ** 0.5
    return V


def ilr(x: torch.Tensor) -> torch.Tensor:
    """Isometric log-ratio coordinates (Helmert basis), shape ``(..., parts - 1)``."""
    V = helmert_basis(x.shape[-1], dtype=x.dtype, device=x.device)
    return clr(x) @ V


def ilr_inv(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`ilr`."""
    V = helmert_basis(y.shape[-1] + 1, dtype=y.dtype, device=y.device)
    return clr_inv(y @ V.T)


class AitchisonSimplex(Manifold):
    """Open simplex of ``parts``-part compositions with the Aitchison metric.

    Parameters
    ----------
    parts : int
        Number of parts ``D >= 2``; the manifold has dimension ``D - 1`` and is flat
        (isometric to ``R^{D-1}`` through ilr coordinates).
    eps : float
        Floor used by :meth:`projx` to push points off the boundary (zeros are not
        compositions: ``log 0`` is undefined).
    """

    name = "aitchison_simplex"
    ndim = 1
    reversible = True

    def __init__(self, parts: int = 3, eps: float = 1e-12) -> None:
        if not isinstance(parts, int) or isinstance(parts, bool) or parts < 2:
            raise ValueError(f"parts must be an integer >= 2, got {parts!r}")
        if not (isinstance(eps, (int, float)) and 0 < eps < 1.0 / parts):
            raise ValueError(f"eps must be in (0, 1/parts), got {eps!r}")
        super().__init__()
        self.parts = parts
        self.eps = float(eps)
        self._ga_dimension = parts - 1

    @property
    def curvature(self) -> float:
        return 0.0

    # ------------------------------------------------------------------ helpers
    def _shape_ok(self, x: torch.Tensor) -> tuple[bool, str | None]:
        if x.dim() < 1 or x.shape[-1] != self.parts:
            return False, f"last axis must have {self.parts} parts, got shape {tuple(x.shape)}"
        return True, None

    def dclr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Differential of clr at ``x`` applied to the tangent vector ``u``."""
        r = u / x
        return r - r.mean(dim=-1, keepdim=True)

    def dclr_inv(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`dclr` at ``x`` for ``w`` in the zero-sum hyperplane."""
        return x * (w - (x * w).sum(dim=-1, keepdim=True))

    # ------------------------------------------------------------------ geoopt API
    def _check_point_on_manifold(self, x: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5) -> tuple[bool, str | None]:
        ok, reason = self._shape_ok(x)
        if not ok:
            return ok, reason
        if not bool((x > 0).all()):
            return False, "compositions must have strictly positive parts (zeros/negatives found)"
        err = (x.sum(dim=-1) - 1).abs().max().item() if x.numel() else 0.0
        if err > atol + rtol:
            return False, f"parts must sum to 1 (max |sum - 1| = {err:.2e})"
        return True, None

    def _check_vector_on_tangent(self, x: torch.Tensor, u: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5) -> tuple[bool, str | None]:
        ok, reason = self._shape_ok(u)
        if not ok:
            return ok, reason
        err = u.sum(dim=-1).abs().max().item() if u.numel() else 0.0
        if err > atol + rtol * float(u.abs().max().item() if u.numel() else 0.0):
            return False, f"tangent vectors must sum to 0 (max |sum| = {err:.2e})"
        return True, None

    def projx(self, x: torch.Tensor) -> torch.Tensor:
        return closure(x.clamp_min(self.eps))

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return u - u.mean(dim=-1, keepdim=True)

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, *, keepdim: bool = False) -> torch.Tensor:
        if v is None:
            v = u
        return (self.dclr(x, u) * self.dclr(x, v)).sum(dim=-1, keepdim=keepdim)

    def norm(self, x: torch.Tensor, u: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        return self.inner(x, u, keepdim=keepdim).clamp_min(0).sqrt()

    def egrad2rgrad(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        # gradient in clr coordinates: (d clr^{-1})^T e, projected on H; then mapped back by dclr^{-1}
        g = x * u - x * (x * u).sum(dim=-1, keepdim=True)
        h = g - g.mean(dim=-1, keepdim=True)
        return self.dclr_inv(x, h)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return torch.softmax(torch.log(x) + u / x, dim=-1)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.expmap(x, u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.dclr_inv(x, clr(y) - clr(x))

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        return (clr(x) - clr(y)).norm(dim=-1, keepdim=keepdim)

    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim: bool = False) -> torch.Tensor:
        return ((clr(x) - clr(y)) ** 2).sum(dim=-1, keepdim=keepdim)

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # parallel transport is the identity in clr coordinates (flat geometry)
        return self.dclr_inv(y, self.dclr(x, v))

    def retr_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.retr(x, u)
        return y, self.transp(x, y, v)

    def expmap_transp(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.retr_transp(x, u, v)

    def transp_follow_retr(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.transp(x, self.retr(x, u), v)

    def transp_follow_expmap(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.transp_follow_retr(x, u, v)

    def geodesic(self, t: torch.Tensor | float, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Point at time ``t`` on the Aitchison geodesic (a straight line in clr) from x to y."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() > 0:
            t = t.unsqueeze(-1)
        return clr_inv((1 - t) * clr(x) + t * clr(y))

    def frechet_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Fréchet mean of compositions ``(n, parts)``: the closed geometric mean ``C(exp(mean log x))``."""
        self.check_point(x, what="x")
        return clr_inv(clr(x).mean(dim=0))

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """``n`` logistic-normal compositions ``C(exp(z))``, ``z ~ N(0, I)``."""
        z = torch.randn(n, self.parts, generator=generator, dtype=dtype)
        return clr_inv(z)

    def random(self, *size: Any, dtype: torch.dtype | None = None, device: Any = None) -> torch.Tensor:
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        z = torch.randn(*shape, dtype=dtype, device=device)
        return clr_inv(z)

    def extra_repr(self) -> str:
        return f"parts={self.parts}"


# geoopt looks up a few optional methods by name; make sure the class is concrete
assert not getattr(AitchisonSimplex, "__abstractmethods__", frozenset()), AitchisonSimplex.__abstractmethods__
_ = geoopt  # geoopt.ManifoldParameter works with this manifold (see tests)
