"""The SPD manifold with selectable Riemannian metrics.

Metrics (``metric=``):

- ``"affine_invariant"`` (default, geoopt's ``SymmetricPositiveDefinite`` behaviour):
  :math:`d(X, Y) = \\|\\log(X^{-1/2} Y X^{-1/2})\\|_F`;
- ``"log_euclidean"``: :math:`d(X, Y) = \\|\\log X - \\log Y\\|_F`;
- ``"bures_wasserstein"``:
  :math:`d^2(X, Y) = \\operatorname{tr} X + \\operatorname{tr} Y - 2\\operatorname{tr}(X^{1/2} Y X^{1/2})^{1/2}`;
- ``"generalized_bures_wasserstein"``: the BW metric pulled back through
  :math:`\\phi(X) = M^{-1/2} X^{\\theta} M^{-1/2}` and scaled by :math:`1/\\theta`
  (Han et al. 2023's GBW metric with the power deformation used by GBWBN, Wang et al. CVPR 2025).
  ``M`` is an SPD matrix (optionally a learnable ``geoopt.ManifoldParameter``), ``theta > 0``.

All operations are batched over leading axes, differentiable (spectral functions use a
custom backward with divided differences that stays finite at repeated eigenvalues) and work
in float32 or float64.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import geoopt
import torch

from geoatlas.interfaces import Manifold

try:  # the core's switch for data checks (GEOATLAS_CHECKS=0 / geoatlas.validation.checks(False))
    from geoatlas.validation import enabled as _checks_enabled
except ImportError:  # pragma: no cover - older core without the switch

    def _checks_enabled() -> bool:
        return True

METRICS: tuple[str, ...] = (
    "affine_invariant",
    "log_euclidean",
    "bures_wasserstein",
    "generalized_bures_wasserstein",
)


# ---------------------------------------------------------------------------- spectral calculus
def sym(x: torch.Tensor) -> torch.Tensor:
    """Symmetric part ``(x + x^T) / 2``."""
    return 0.5 * (x + x.transpose(-1, -2))


def _fn(name: str, lam: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scalar function and its derivative applied to eigenvalues."""
    if name == "sqrt":
        s = lam.sqrt()
        return s, 0.5 / s
    if name == "invsqrt":
        s = lam.rsqrt()
        return s, -0.5 * s / lam
    if name == "log":
        return lam.log(), 1.0 / lam
    if name == "exp":
        e = lam.exp()
        return e, e
    if name == "pow":
        return lam.pow(p), p * lam.pow(p - 1.0)
    if name == "inv":
        return 1.0 / lam, -1.0 / lam**2
    if name == "rect":  # ReEig: max(lambda, p)
        return lam.clamp_min(p), (lam > p).to(lam.dtype)
    if name == "abs":  # |X| = U |Lambda| U^T (the fold of a symmetric matrix onto the PSD cone)
        return lam.abs(), torch.sign(lam)
    raise ValueError(f"unknown spectral function {name!r}")


def _divided_differences(lam: torch.Tensor, f: torch.Tensor, df: torch.Tensor) -> torch.Tensor:
    """Loewner matrix ``(f(l_a) - f(l_b)) / (l_a - l_b)``, ``f'`` where eigenvalues (nearly) coincide."""
    la, lb = lam.unsqueeze(-1), lam.unsqueeze(-2)
    diff = la - lb
    tol = (torch.finfo(lam.dtype).eps ** 0.5) * torch.maximum(la.abs(), lb.abs()).clamp_min(1e-30)
    close = diff.abs() <= tol
    safe = torch.where(close, torch.ones_like(diff), diff)
    dd = (f.unsqueeze(-1) - f.unsqueeze(-2)) / safe
    avg = 0.5 * (df.unsqueeze(-1) + df.unsqueeze(-2))
    return torch.where(close, avg, dd)


class _SpectralFunction(torch.autograd.Function):
    """``U f(Lambda) U^T`` with the Daleckii-Krein backward (finite at repeated eigenvalues)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, name: str, p: float) -> torch.Tensor:  # type: ignore[override]
        lam, u = torch.linalg.eigh(sym(x))
        f, df = _fn(name, lam, p)
        ctx.save_for_backward(u, lam, f, df)
        return (u * f.unsqueeze(-2)) @ u.transpose(-1, -2)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        u, lam, f, df = ctx.saved_tensors
        loewner = _divided_differences(lam, f, df)
        inner = u.transpose(-1, -2) @ sym(g) @ u
        return u @ (loewner * inner) @ u.transpose(-1, -2), None, None


def _needs_grad(*xs: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(isinstance(x, torch.Tensor) and x.requires_grad for x in xs)


def spectral(x: torch.Tensor, name: str, p: float = 0.0) -> torch.Tensor:
    """Apply a spectral function (``sqrt``, ``invsqrt``, ``log``, ``exp``, ``pow``, ``inv``, ``rect``, ``abs``)."""
    if not _needs_grad(x):  # same forward as _SpectralFunction, without the autograd.Function machinery
        lam, u = torch.linalg.eigh(sym(x))
        return (u * _fn(name, lam, float(p))[0].unsqueeze(-2)) @ u.transpose(-1, -2)
    return _SpectralFunction.apply(x, name, float(p))


def sqrtm(x: torch.Tensor) -> torch.Tensor:
    """Principal square root of SPD matrices."""
    return spectral(x, "sqrt")


def invsqrtm(x: torch.Tensor) -> torch.Tensor:
    """Inverse principal square root of SPD matrices."""
    return spectral(x, "invsqrt")


def logm(x: torch.Tensor) -> torch.Tensor:
    """Matrix logarithm of SPD matrices."""
    return spectral(x, "log")


def expm(x: torch.Tensor) -> torch.Tensor:
    """Matrix exponential of symmetric matrices."""
    return spectral(x, "exp")


def powm(x: torch.Tensor, p: float) -> torch.Tensor:
    """Matrix power ``x^p`` of SPD matrices."""
    return spectral(x, "pow", p)


class _Lyapunov(torch.autograd.Function):
    """Solve ``P L + L P = V`` for SPD ``P`` and symmetric ``V`` (eigen-solver, custom backward)."""

    @staticmethod
    def forward(ctx: Any, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        lam, u = torch.linalg.eigh(sym(p))
        denom = lam.unsqueeze(-1) + lam.unsqueeze(-2)
        sol = u @ ((u.transpose(-1, -2) @ v @ u) / denom) @ u.transpose(-1, -2)
        ctx.save_for_backward(u, denom, sol)
        return sol

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        u, denom, sol = ctx.saved_tensors
        c = u @ ((u.transpose(-1, -2) @ sym(g) @ u) / denom) @ u.transpose(-1, -2)
        gp = -(c @ sol.transpose(-1, -2) + sol.transpose(-1, -2) @ c)
        return gp, c


def lyapunov(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The solution ``L`` of ``P L + L P = V`` (batched, differentiable in ``P`` and ``V``)."""
    p, v = torch.broadcast_tensors(p, v)
    return _Lyapunov.apply(p, v)


def _fdiff(x: torch.Tensor, u: torch.Tensor, name: str, p: float = 0.0, inverse: bool = False) -> torch.Tensor:
    """Fréchet derivative ``Df(x)[u]`` of a spectral function (or its inverse) by Daleckii-Krein."""
    lam, q = torch.linalg.eigh(sym(x))
    f, df = _fn(name, lam, p)
    loew = _divided_differences(lam, f, df)
    inner = q.transpose(-1, -2) @ u @ q
    inner = inner / loew if inverse else inner * loew
    return q @ inner @ q.transpose(-1, -2)


def _trace(x: torch.Tensor) -> torch.Tensor:
    return x.diagonal(dim1=-2, dim2=-1).sum(-1)


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.clamp_min(torch.finfo(x.dtype).tiny).sqrt() * (x > 0)


# ---------------------------------------------------------------------------- BW primitives
def _bw_sqdist(
    a: torch.Tensor, b: torch.Tensor, exact: bool = False, before_fallback: Any = None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(d^2, cholesky_ex(A).info, eigenvalues of L^T B L)``; the last two are ``None`` on the
    fallback path (some ``A`` without a Cholesky factor, e.g. singular PSD). ``exact``: ``B`` is
    exactly symmetric, so ``L^T B L`` is symmetric up to rounding and needs no ``(C + C^T) / 2``."""
    chol, info = torch.linalg.cholesky_ex(a)
    if bool((info != 0).any()):  # PSD-but-singular A (or garbage): the square-root formula
        if before_fallback is not None:
            before_fallback()  # the public operations' checks: refuse non-PD input here
        ra = sqrtm(a)
        cross = sqrtm(ra @ b @ ra)
        return (_trace(a) + _trace(b) - 2 * _trace(cross)).clamp_min(0), None, None
    # tr (A^1/2 B A^1/2)^1/2 = sum sqrt(eig(L^T B L)) for A = L L^T: L^T B L = Q^T A^1/2 B A^1/2 Q with
    # Q = A^-1/2 L orthogonal, so one Cholesky and one eigenvalue-only solve replace two eigh's
    c = chol.transpose(-1, -2) @ b @ chol
    lam = torch.linalg.eigvalsh(c if exact and not _needs_grad(c) else sym(c))
    return (_trace(a) + _trace(b) - 2 * _safe_sqrt(lam).sum(-1)).clamp_min(0), info, lam


def bw_sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Bures-Wasserstein distance ``tr A + tr B - 2 tr (A^1/2 B A^1/2)^1/2``
    (computed as ``tr A + tr B - 2 sum_i sqrt(lambda_i(L^T B L))`` with ``A = L L^T``)."""
    return _bw_sqdist(a, b)[0]


def bw_log(p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """BW logarithm ``Log_P(S) = (PS)^1/2 + (SP)^1/2 - 2P``."""
    rp, irp = sqrtm(p), invsqrtm(p)
    c = rp @ sqrtm(rp @ s @ rp) @ irp
    return c + c.transpose(-1, -2) - 2 * p


def bw_exp(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """BW exponential ``Exp_P(V) = P + V + L_P[V] P L_P[V]`` with ``P L + L P = V``."""
    lv = lyapunov(p, v)
    return sym(p + v + lv @ p @ lv)


def bw_inner(p: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """BW inner product ``<U, V>_P = tr(L_P[U] V) / 2``."""
    return 0.5 * _trace(lyapunov(p, u) @ v)


def bw_barycenter(
    x: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
    init: torch.Tensor | None = None,
    symmetric: bool = False,
) -> torch.Tensor:
    """Weighted BW barycenter of ``x`` (``(..., N, n, n)``) by the fixed-point iteration
    ``G <- G^{-1/2} (sum_i w_i (G^{1/2} X_i G^{1/2})^{1/2})^2 G^{-1/2}`` (Álvarez-Esteban et al. 2016),
    until the relative change ``max |G_new - G|_F / max |G|_F < tol``.

    Without gradients the same iterates are computed from the Cholesky factor ``G = L L^T``
    instead of ``G^{+-1/2}``: ``L = G^{1/2} Q`` with ``Q`` orthogonal, so
    ``(L^T X_i L)^{1/2} = Q^T (G^{1/2} X_i G^{1/2})^{1/2} Q`` and, with
    ``H' = sum_i w_i (L^T X_i L)^{1/2}``, the update is ``G <- M^T M``, ``M = H' L^{-1}``
    (one Cholesky and one triangular solve per iteration instead of an ``eigh`` of ``G``, two
    reconstructions and four products).

    ``symmetric=True`` declares ``x`` exactly symmetric: the whitened matrices ``L^T X_i L``
    are then symmetric up to rounding and go to LAPACK as they are."""
    w = _weights(x, weights)
    g = (w[..., None, None] * x).sum(-3) if init is None else init
    if not _needs_grad(x, w, g):
        g, left = _bw_fixed_point_cholesky(x, w, g, max_iter, tol, symmetric)
        if left == 0:
            return g
        max_iter = left  # a Cholesky failed (G not numerically PD): the spectral loop goes on from G
    for _ in range(max_iter):
        rg, irg = _sqrt_invsqrt(g)
        h = _weighted_sum_fn(x, w, "sqrt", symmetric, a=rg)
        new = sym(irg @ h @ h @ irg)
        step = (new - g).flatten(-2).norm(dim=-1).max() / g.flatten(-2).norm(dim=-1).max()
        g = new
        if float(step) < tol:
            break
    return g


def _bw_fixed_point_cholesky(
    x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, max_iter: int, tol: float, symmetric: bool
) -> tuple[torch.Tensor, int]:
    """The no-gradient BW fixed point of :func:`bw_barycenter` in the Cholesky frame, same
    iterates and stopping rule. Returns ``(G, 0)`` when done (converged or ``max_iter`` steps);
    if a Cholesky factorisation fails (``G`` not numerically positive definite, e.g. from singular
    inputs) it returns the iterate reached and the number of steps left, for the spectral loop."""
    n, k = x.shape[-1], x.shape[-3]
    c = _chunk(n, math.prod(x.shape[:-3]))
    parts = [(x, w[..., None])] if c >= k else [(x[..., i : i + c, :, :], w[..., i : i + c, None]) for i in range(0, k, c)]
    for it in range(max_iter):
        low, info = torch.linalg.cholesky_ex(g)
        if bool(info.any()):
            return g, max_iter - it
        lt, lo = (low.mT, low) if low.dim() == 2 else (low.mT.unsqueeze(-3), low.unsqueeze(-3))
        h = None
        for xc, wc in parts:
            z = lt @ (xc @ lo)
            lam, u = torch.linalg.eigh(z if symmetric else sym(z))
            part = _eig_sum(u, wc * lam.sqrt())
            h = part if h is None else h.add_(part)
        m = torch.linalg.solve_triangular(low, h, upper=False, left=False)  # M = H' L^{-1}
        new = m.mT @ m
        if new.dim() == 2:
            step = torch.linalg.vector_norm(new - g) / torch.linalg.vector_norm(g)
        else:
            step = (new - g).flatten(-2).norm(dim=-1).max() / g.flatten(-2).norm(dim=-1).max()
        g = new
        if float(step) < tol:
            break
    return sym(g), 0  # M^T M is symmetric up to the summation order of the product


def _eig_sum(u: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """``sum_k U_k diag(f_k) U_k^T`` over the axis ``-3`` of ``u`` (``(..., N, n, n)``, ``f``:
    ``(..., N, n)``) as one matrix product ``[U_1 F_1 ... U_N F_N] [U_1 ... U_N]^T`` (``n x Nn``
    times ``Nn x n``) rather than ``N`` small products and a sum."""
    *batch, k, n, _ = u.shape
    a = (u * f.unsqueeze(-2)).movedim(-3, -2).reshape(*batch, n, k * n)
    return a @ u.movedim(-3, -2).reshape(*batch, n, k * n).transpose(-1, -2)


#: bytes of one n x n batch that the no-gradient paths work on at a time: eigh, its eigenvectors and
#: the products stay in cache (torch's eigh copies the whole batch, numpy's works matrix by matrix);
#: measured ~10% faster at n = 32-64 with batches of 100-500 than one whole-batch call
_CHUNK_BYTES = 1 << 20


def _chunk(n: int, rows: int = 1) -> int:
    return max(1, _CHUNK_BYTES // (8 * n * n * max(rows, 1)))


def _weighted_sum_fn(
    x: torch.Tensor,
    w: torch.Tensor,
    name: str,
    symmetric: bool = False,
    eig: list | None = None,
    a: torch.Tensor | None = None,
    mins: list | None = None,
) -> torch.Tensor:
    """``sum_i w_i f(Z_i)`` over the axis ``-3``, ``Z_i = A X_i A^T`` (``A``: ``a``, identity when
    ``None``) for symmetric ``X``. Without gradients: batched ``eigh`` and the contraction
    ``sum_i U_i diag(w_i f(lambda_i)) U_i^T`` (the ``N`` matrices ``f(Z_i)`` are never formed),
    chunk by chunk along ``N``; ``symmetric``: ``X`` is exactly symmetric, so ``Z`` is symmetric up
    to rounding and LAPACK may read its lower triangle instead of ``(Z + Z^T) / 2``. ``eig``: a
    list that receives ``(lambda, U, w)`` (detached) per chunk; ``mins``: the smallest eigenvalues."""

    def whiten(xc: torch.Tensor) -> torch.Tensor:
        return xc if a is None else a.unsqueeze(-3) @ xc @ a.unsqueeze(-3).transpose(-1, -2)

    if _needs_grad(x, w, *([] if a is None else [a])):
        z = whiten(x)
        if eig is not None:
            lam, u = torch.linalg.eigh(sym(z.detach()))
            eig.append((lam, u, w.detach()))
        if mins is not None:
            mins.append(torch.linalg.eigvalsh(sym(z.detach()))[..., 0])
        return (w[..., None, None] * spectral(z, name)).sum(-3)
    n, k = x.shape[-1], x.shape[-3]
    c = _chunk(n, math.prod(x.shape[:-3]))
    total = None
    for i in range(0, k, c):
        z = whiten(x if c >= k else x[..., i : i + c, :, :])
        lam, u = torch.linalg.eigh(z if symmetric else sym(z))
        wc = w if c >= k else w[..., i : i + c]
        if eig is not None:
            eig.append((lam, u, wc))
        if mins is not None:
            mins.append(lam[..., 0])
        part = _eig_sum(u, wc[..., None] * _fn(name, lam, 0.0)[0])
        total = part if total is None else total.add_(part)
    return total  # type: ignore[return-value]


def _sqrt_invsqrt(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(G^1/2, G^-1/2)`` from one eigendecomposition (two spectral calls when gradients are needed)."""
    if _needs_grad(g):
        return sqrtm(g), invsqrtm(g)
    lam, u = torch.linalg.eigh(sym(g))
    ut = u.transpose(-1, -2)
    return (u * lam.sqrt().unsqueeze(-2)) @ ut, (u * lam.rsqrt().unsqueeze(-2)) @ ut


def _weights(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if x.dim() < 3:
        raise ValueError(f"x must have shape (..., N, n, n) with N matrices to average, got {tuple(x.shape)}")
    n = x.shape[-3]
    if n == 0:
        raise ValueError("cannot average an empty set of matrices (N = 0)")
    if weights is None:
        return torch.full(x.shape[:-2], 1.0 / n, dtype=x.dtype, device=x.device)
    w = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
    if w.shape[-1] != n:
        raise ValueError(f"weights must have {n} entries along the last axis, got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all() or (w < 0).any() or (w.sum(-1) <= 0).any():
        raise ValueError("weights must be finite, non-negative and not all zero")
    return (w / w.sum(-1, keepdim=True)).expand(x.shape[:-2])


# ---------------------------------------------------------------------------- the manifold
class SPD(Manifold, geoopt.SymmetricPositiveDefinite):
    """Symmetric positive-definite ``n x n`` matrices with a selectable Riemannian metric.

    Parameters
    ----------
    n : int
        Matrix size.
    metric : str
        ``"affine_invariant"`` (default; geoopt's behaviour), ``"log_euclidean"``,
        ``"bures_wasserstein"`` or ``"generalized_bures_wasserstein"``.
    theta : float
        Power deformation of the generalized BW metric (``theta > 0``; 1 = no deformation).
    metric_matrix : Tensor, optional
        The SPD matrix ``M`` of the generalized BW metric (identity when omitted).
    learnable : bool
        Make ``M`` a ``geoopt.ManifoldParameter`` on the affine-invariant SPD manifold, so that
        Riemannian optimisers learn it (generalized BW only).
    """

    name = "spd"

    def __init__(
        self,
        n: int = 3,
        metric: str = "affine_invariant",
        theta: float = 1.0,
        metric_matrix: Any = None,
        learnable: bool = False,
    ) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        theta = float(theta)
        if not (theta > 0 and theta < float("inf")):
            raise ValueError(f"theta must be a finite number > 0, got {theta}")
        if metric != "generalized_bures_wasserstein" and (theta != 1.0 or metric_matrix is not None or learnable):
            raise ValueError("theta, metric_matrix and learnable apply only to metric='generalized_bures_wasserstein'")
        super().__init__()
        self.n = n
        self.metric = metric
        self.theta = theta
        self._ga_dimension = n * (n + 1) // 2
        if metric == "generalized_bures_wasserstein":
            m = torch.eye(n, dtype=torch.float64) if metric_matrix is None else torch.as_tensor(metric_matrix, dtype=torch.float64).clone()
            if m.shape != (n, n):
                raise ValueError(f"metric_matrix must have shape ({n}, {n}), got {tuple(m.shape)}")
            ok, reason = _spd_check(m, 1e-8)
            if not ok:
                raise ValueError(f"metric_matrix must be symmetric positive-definite: {reason}")
            if learnable:
                self.metric_matrix = geoopt.ManifoldParameter(m, manifold=SPD(n))
            else:
                self.register_buffer("metric_matrix", m)
        else:
            self.metric_matrix = None

    def extra_repr(self) -> str:
        extra = f", theta={self.theta}" if self.metric == "generalized_bures_wasserstein" else ""
        return f"n={self.n}, metric={self.metric!r}{extra}"

    # ------------------------------------------------------------------ validation and sampling
    #: the public operations below validate their own arguments (one batched Cholesky per call,
    #: see ``_check_points``); the core's generic boundary wrapper would repeat the same checks
    _ga_checked_ops: ClassVar[dict[str, tuple[int, ...]]] = {}

    def _check_points(self, op: str, *, pd_later: tuple[str, ...] = (), **points: torch.Tensor | None) -> bool | None:
        """Raise ``TypeError``/``ValueError`` naming the argument unless every given tensor is a
        batch of finite, symmetric, positive-definite ``n x n`` matrices.

        Cost: one ``x - x^T`` (symmetry, per matrix relative to its largest diagonal entry; NaN/Inf
        fail it too) and **one** batched Cholesky factorisation (``cholesky_ex``, no exception) per
        argument, and one host sync for all of them; the error path re-examines the arguments
        and says what is wrong. Arguments named in ``pd_later`` skip the
        Cholesky: the operation factorises them anyway (a Cholesky factor or eigenvalues) and
        confirms positive-definiteness from that factorisation with :meth:`_confirm_pd`, so
        their check costs nothing beyond the sum and ``x - x^T``.
        Skipped when the core's data checks are off (``GEOATLAS_CHECKS=0`` or
        ``geoatlas.validation.checks(False)``).

        Returns ``None`` when the checks are off (the caller then skips ``_confirm_pd`` too),
        otherwise whether every argument is *exactly* symmetric, in which case operations may hand
        it to LAPACK without forming ``(x + x^T) / 2`` (the same bits).
        """
        if not _checks_enabled():
            return None
        n = self.n
        flat = []
        for name, x in points.items():
            if x is None:
                continue
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"spd.{op}: {name} must be a torch.Tensor of SPD matrices, got {type(x).__name__}")
            if not x.is_floating_point():
                raise TypeError(f"spd.{op}: {name} must be a floating-point tensor, got dtype {x.dtype}")
            if x.dim() < 2 or x.shape[-2:] != (n, n):
                raise ValueError(f"spd.{op}: {name} must have shape (..., {n}, {n}) for this {n} x {n} SPD manifold, got {tuple(x.shape)}")
            flat.append((name, (x.detach() if x.requires_grad else x).reshape(-1, n, n)))
        flat = [(name, xf) for name, xf in flat if xf.numel()]
        if not flat:
            return False
        # one pass over all arguments. Symmetry, per matrix: max |x - x^T| <= 1e-5 (1 + max_i x_ii).
        # NaN/Inf anywhere makes x - x^T NaN (Inf - Inf on the diagonal), so this is also the
        # finiteness check. For a PD matrix max_i x_ii = max |x_ij| (the criterion the error path
        # applies); where they differ the matrix is not PD, and the error path says which test fails.
        # small batches: one pass over all arguments (fewer kernel launches); large ones: per argument
        # (no concatenated copy: these passes are memory-bound). x - x^T is antisymmetric, so its
        # largest entry is its largest absolute entry (and NaN propagates through amax).
        groups = [xf for _, xf in flat]
        if len(groups) > 1 and sum(xf.numel() for xf in groups) <= 1 << 16:
            groups = [torch.cat(groups)]
        stats = []
        c = _chunk(n)
        for xs in groups:  # in cache-sized chunks: x - x^T reads x transposed (issue 22)
            part = []
            for i in range(0, xs.shape[0], c):
                xc = xs[i : i + c]
                asym = (xc - xc.transpose(-1, -2)).amax(dim=(-2, -1))
                part.append(torch.stack((asym, torch.add(asym, xc.diagonal(dim1=-2, dim2=-1).amax(dim=-1), alpha=-1e-5))).amax(dim=-1))
            stats.append(part[0] if len(part) == 1 else torch.stack(part).amax(dim=0))
        for name, xf in flat:  # positive-definiteness, unless the operation confirms it itself
            if name not in pd_later:
                stats.append(torch.linalg.cholesky_ex(xf).info.amax().to(stats[0].dtype).reshape(1))
        top = (stats[0] if len(stats) == 1 else torch.cat(stats)).tolist()
        k = 2 * len(groups)
        if all(v <= 1e-5 for v in top[1:k:2]) and not any(top[k:]):  # NaN fails the first test
            return not any(top[0:k:2])
        self._diagnose(op, points)
        return False

    def _confirm_pd(self, op: str, *items: tuple[str, torch.Tensor, torch.Tensor]) -> None:
        """Second half of a deferred check (``pd_later``): for each ``(name, x, ok)``, ``ok`` says,
        from the factorisation the operation computed anyway (``cholesky_ex(x).info == 0``, or
        positive eigenvalues of ``x`` or of a matrix congruent to it), whether every matrix of
        ``x`` is positive-definite. One host sync for all of them. Called only with the checks on."""
        oks = [ok.all() for _, x, ok in items if x.numel()]
        if not oks or bool(oks[0] if len(oks) == 1 else torch.stack(oks).all()):
            return
        for name, x, ok in items:
            if x.numel() and not bool(ok.all()):
                self._diagnose(op, {name: x})
                lo = float(torch.linalg.eigvalsh(sym(x.detach().reshape(-1, self.n, self.n))).min())
                raise ValueError(f"spd.{op}: {name} is not (numerically) positive-definite: smallest eigenvalue {lo:.3e}")

    def _diagnose(self, op: str, points: dict[str, torch.Tensor | None]) -> None:
        """Error path of the checks: find the offending argument and raise saying what is wrong."""
        n = self.n
        for name, x in points.items():  # error path only: find the argument and say what is wrong
            if x is None:
                continue
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"spd.{op}: {name} contains NaN or Inf values")
            xf = x.detach().reshape(-1, n, n)
            asym = (xf - xf.transpose(-1, -2)).abs().amax(dim=(-2, -1))
            if (asym > 1e-5 * (1 + xf.abs().amax(dim=(-2, -1)))).any():
                err = float(asym.max())
                raise ValueError(f"spd.{op}: {name} is not symmetric (max |x - x^T| = {err:.3e}); SPD matrices are symmetric")
            bad = torch.nonzero(torch.linalg.cholesky_ex(xf).info).flatten()
            if bad.numel():
                k = int(bad[0])
                lo = float(torch.linalg.eigvalsh(sym(xf[k])).min())
                raise ValueError(
                    f"spd.{op}: {name} is not positive-definite: matrix {k} of the flattened batch "
                    f"({bad.numel()} of {xf.shape[0]} fail) has smallest eigenvalue {lo:.3e}"
                )
        return  # a false alarm of the cheap test (a sum that overflowed on huge finite entries)

    def _check_vectors(self, op: str, **vectors: torch.Tensor | None) -> None:
        """Tangent vectors: tensors of matching trailing shape ``(n, n)``, finite."""
        if not _checks_enabled():
            return
        for name, u in vectors.items():
            if u is None:
                continue
            if not isinstance(u, torch.Tensor):
                raise TypeError(f"spd.{op}: {name} must be a torch.Tensor, got {type(u).__name__}")
            if u.dim() < 2 or u.shape[-2:] != (self.n, self.n):
                raise ValueError(f"spd.{op}: {name} must have shape (..., {self.n}, {self.n}), got {tuple(u.shape)}")
            if u.numel() and not bool(torch.isfinite(u).all()):
                raise ValueError(f"spd.{op}: {name} contains NaN or Inf values")

    def _ga_check_domain(self, x: torch.Tensor, what: str) -> None:
        """The core's domain hook: ``x`` must be SPD ``n x n`` matrices (see ``_check_points``)."""
        self._check_points("check", **{what: x})

    def _check_point_on_manifold(self, x: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5) -> tuple[bool, str | None]:
        if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
            return False, f"expected square matrices of shape (..., {self.n}, {self.n}), got {tuple(x.shape)}"
        if x.shape[-1] != self.n:
            return False, f"expected matrices of size {self.n} x {self.n}, got {x.shape[-2]} x {x.shape[-1]}"
        return _spd_check(x, atol, rtol)

    def _check_vector_on_tangent(self, x: torch.Tensor, u: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5) -> tuple[bool, str | None]:
        if u.shape[-2:] != x.shape[-2:]:
            return False, f"tangent vectors must have shape (..., {x.shape[-2]}, {x.shape[-1]}), got {tuple(u.shape)}"
        if not torch.allclose(u, u.transpose(-1, -2), atol=atol, rtol=rtol):
            err = float((u - u.transpose(-1, -2)).abs().max())
            return False, f"tangent vectors of SPD are symmetric matrices; max |u - u^T| = {err:.3e}"
        return True, None

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """``n`` random SPD matrices ``A A^T / size + I / 2`` (Gaussian ``A``)."""
        a = torch.randn(n, self.n, self.n, generator=generator, dtype=dtype)
        return a @ a.transpose(-1, -2) / self.n + 0.5 * torch.eye(self.n, dtype=dtype)

    # ------------------------------------------------------------------ matrix functions (public)
    @staticmethod
    def matrix_function(x: torch.Tensor, name: str, p: float = 0.0) -> torch.Tensor:
        """Spectral function of symmetric matrices, batched, with a Daleckii-Krein backward that
        stays finite at repeated eigenvalues.

        ``name``: ``"sqrt"``, ``"invsqrt"``, ``"log"``, ``"exp"``, ``"pow"`` (``x^p``), ``"inv"``,
        ``"rect"`` (``max(lambda, p)``, SPDNet's ReEig), ``"abs"`` (``|lambda|``).
        """
        return spectral(x, name, p)

    @staticmethod
    def lyapunov(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Solve ``P L + L P = V`` (batched, differentiable in both arguments)."""
        return lyapunov(p, v)

    # ------------------------------------------------------------------ GBW pullback helpers
    def _m(self, x: torch.Tensor) -> torch.Tensor:
        return self.metric_matrix.to(dtype=x.dtype, device=x.device)  # type: ignore[union-attr]

    def to_bw(self, x: torch.Tensor) -> torch.Tensor:
        """The GBW chart ``phi(X) = M^{-1/2} X^theta M^{-1/2}`` (identity for plain BW)."""
        if self.metric == "bures_wasserstein":
            return x
        self._require_gbw("to_bw")
        im = invsqrtm(self._m(x))
        xt = x if self.theta == 1.0 else powm(x, self.theta)
        return sym(im @ xt @ im)

    def from_bw(self, y: torch.Tensor) -> torch.Tensor:
        """Inverse chart ``phi^{-1}(Y) = (M^{1/2} Y M^{1/2})^{1/theta}``."""
        if self.metric == "bures_wasserstein":
            return y
        self._require_gbw("from_bw")
        rm = sqrtm(self._m(y))
        z = sym(rm @ y @ rm)
        return z if self.theta == 1.0 else powm(z, 1.0 / self.theta)

    def _dphi(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        im = invsqrtm(self._m(x))
        du = u if self.theta == 1.0 else _fdiff(x, u, "pow", self.theta)
        return sym(im @ du @ im)

    def _dphi_inv(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        rm = sqrtm(self._m(x))
        w = sym(rm @ z @ rm)
        return w if self.theta == 1.0 else sym(_fdiff(x, w, "pow", self.theta, inverse=True))

    def _require_gbw(self, what: str) -> None:
        if self.metric != "generalized_bures_wasserstein":
            raise TypeError(f"{what} is defined for the (generalized) Bures-Wasserstein metric, not {self.metric!r}")

    # ------------------------------------------------------------------ metric operations
    def _pd_later(self, *xs: torch.Tensor) -> tuple[str, ...]:
        """Arguments of ``dist``/``sqdist`` whose positive-definiteness the computation itself
        establishes (see ``_dist``), so that the checks skip their Cholesky."""
        if self.metric in ("affine_invariant", "bures_wasserstein"):
            return ("x", "y")
        if self.metric == "log_euclidean" and not _needs_grad(*xs):
            return ("x", "y")
        return ()

    def _logm_checked(self, x: torch.Tensor, op: str | None, name: str, exact: bool = False) -> torch.Tensor:
        """``log x``; with ``op`` (no gradient path), confirms positive-definiteness from its
        eigenvalues. ``exact``: ``x`` is exactly symmetric, ``sym(x)`` would be ``x`` itself."""
        if _needs_grad(x):
            return logm(x)
        lam, u = torch.linalg.eigh(x if exact else sym(x))
        if op is not None:
            self._confirm_pd(op, (name, x, lam[..., 0] > 0))
        return (u * lam.log().unsqueeze(-2)) @ u.transpose(-1, -2)

    def _dist(self, x: torch.Tensor, y: torch.Tensor, keepdim: bool = False, op: str | None = None, exact: bool = False) -> torch.Tensor:
        """Distance; ``op`` (public callers that deferred the PD check with ``_pd_later``) confirms
        positive-definiteness from the factorisations computed here."""
        if self.metric in ("bures_wasserstein", "generalized_bures_wasserstein"):
            d = _safe_sqrt(self._sqdist(x, y, op))
            return d[..., None, None] if keepdim else d
        if self.metric == "log_euclidean":
            if x.shape == y.shape and x.dim() >= 2 and not _needs_grad(x, y):
                # in the eigenframes: U_x^T (log X - log Y) U_y = diag(a) M - M diag(b) with
                # M = U_x^T U_y, a = log l_x, b = log l_y, and the Frobenius norm is orthogonally
                # invariant, so d^2 = sum_ij (a_i - b_j)^2 M_ij^2: one n x n product per pair
                # instead of two reconstructions and a difference (issue 22), a sum of non-negative
                # terms (no cancellation); chunks of the batch stay in cache; PD confirmed from
                # the eigenvalues
                n = x.shape[-1]
                xf, yf = x.reshape(-1, n, n), y.reshape(-1, n, n)
                c = _chunk(n)
                out, mx, my = [], [], []
                for i in range(0, xf.shape[0], c):
                    lx, ux = torch.linalg.eigh(xf[i : i + c] if exact else sym(xf[i : i + c]))
                    ly, uy = torch.linalg.eigh(yf[i : i + c] if exact else sym(yf[i : i + c]))
                    mx.append(lx[:, 0])
                    my.append(ly[:, 0])
                    m = torch.bmm(ux.transpose(-1, -2), uy)
                    m.mul_(lx.log().unsqueeze(-1) - ly.log().unsqueeze(-2))
                    d = torch.linalg.vector_norm(m, dim=(-2, -1))
                    # identical points: exactly 0 (M = U^T U is the identity only up to rounding)
                    out.append(d.masked_fill_((xf[i : i + c] == yf[i : i + c]).flatten(1).all(1), 0.0))
                if op is not None:
                    self._confirm_pd(op, ("x", x, torch.cat(mx) > 0), ("y", y, torch.cat(my) > 0))
                d = (out[0] if len(out) == 1 else torch.cat(out)).reshape(x.shape[:-2])
                return d[..., None, None] if keepdim else d
            return torch.linalg.matrix_norm(self._logm_checked(x, op, "x") - self._logm_checked(y, op, "y"), keepdim=keepdim)
        # affine-invariant: generalized eigenvalues of (Y, X) through a Cholesky factor of X;
        # X is PD iff its Cholesky exists, Y iff those eigenvalues are positive (congruence)
        xb, yb = torch.broadcast_tensors(x, y)
        if not _needs_grad(x, y) and xb.dim() >= 3:
            # no gradient: the same operations in cache-sized chunks of the batch (issue 22:
            # 0.98 -> ~0.65 of pyriemann's time at n = 64, 500 pairs)
            n = x.shape[-1]
            xf, yf = xb.reshape(-1, n, n), yb.reshape(-1, n, n)
            c = _chunk(n)
            infos, lams = [], []
            for i in range(0, xf.shape[0], c):
                chol, info = torch.linalg.cholesky_ex(xf[i : i + c])
                infos.append(info)
                if op is not None and bool(info.any()):
                    break  # reported below, before any garbage factor is used
                z = torch.linalg.solve_triangular(chol, yf[i : i + c], upper=False)
                w = torch.linalg.solve_triangular(chol, z.transpose(-1, -2), upper=False)
                lams.append(torch.linalg.eigvalsh(w if exact else sym(w)))
            if op is not None:
                self._confirm_pd(op, ("x", x, torch.cat(infos) == 0))  # raises if a factor failed
            lam = torch.cat(lams).reshape(*xb.shape[:-2], n)
        else:
            chol, info = torch.linalg.cholesky_ex(xb)
            if op is not None:
                self._confirm_pd(op, ("x", x, info == 0))  # before the solves: no garbage factor used
            z = torch.linalg.solve_triangular(chol, yb, upper=False)
            w = torch.linalg.solve_triangular(chol, z.transpose(-1, -2), upper=False)
            lam = torch.linalg.eigvalsh(w if exact and not _needs_grad(w) else sym(w))  # exact: w symmetric up to rounding
        if op is not None:
            self._confirm_pd(op, ("y", y, lam[..., 0] > 0))
        d = _safe_sqrt((lam.log() ** 2).sum(-1))
        return d[..., None, None] if keepdim else d

    def _sqdist(self, x: torch.Tensor, y: torch.Tensor, op: str | None = None, exact: bool = False) -> torch.Tensor:
        if self.metric == "bures_wasserstein":
            checked = op is not None
            d2, info, lam = _bw_sqdist(x, y, exact, (lambda: self._diagnose(op, {"x": x, "y": y})) if checked else None)
            if checked and info is not None:
                self._confirm_pd(op, ("x", x, info == 0), ("y", y, lam[..., 0] > 0))  # type: ignore[arg-type,index]
            return d2
        if self.metric == "generalized_bures_wasserstein":
            return bw_sqdist(self.to_bw(x), self.to_bw(y)) / self.theta**2
        return self._dist(x, y, op=op, exact=exact) ** 2

    def _inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, keepdim: bool = False) -> torch.Tensor:
        if v is None:
            v = u
        if self.metric == "affine_invariant":
            ix = spectral(x, "inv")
            ret = _trace(ix @ u @ ix @ v)
        elif self.metric == "log_euclidean":
            ret = _trace(_fdiff(x, u, "log") @ _fdiff(x, v, "log"))
        elif self.metric == "bures_wasserstein":
            ret = bw_inner(x, u, v)
        else:
            ret = bw_inner(self.to_bw(x), self._dphi(x, u), self._dphi(x, v)) / self.theta**2
        return ret[..., None, None] if keepdim else ret

    def egrad2rgrad(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Riemannian gradient from the Euclidean gradient ``u``."""
        e = sym(u)
        if self.metric == "affine_invariant":
            return x @ e @ x.transpose(-1, -2)
        if self.metric == "log_euclidean":
            lx = logm(x)
            return sym(_fdiff(lx, _fdiff(lx, e, "exp"), "exp"))
        if self.metric == "bures_wasserstein":
            return 2 * sym(x @ e + e @ x)
        p = self.to_bw(x)
        rm = sqrtm(self._m(x))
        de = e if self.theta == 1.0 else _fdiff(x, e, "pow", self.theta, inverse=True)
        w = sym(rm @ de @ rm)
        return self._dphi_inv(x, 2 * self.theta**2 * sym(p @ w + w @ p))

    def _expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if self.metric == "affine_invariant":
            rx, ix = sqrtm(x), invsqrtm(x)
            return sym(rx @ expm(ix @ u @ ix) @ rx)
        if self.metric == "log_euclidean":
            return expm(logm(x) + _fdiff(x, u, "log"))
        if self.metric == "bures_wasserstein":
            return bw_exp(x, u)
        return self.from_bw(bw_exp(self.to_bw(x), self._dphi(x, u)))

    def _logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.metric == "affine_invariant":
            rx, ix = sqrtm(x), invsqrtm(x)
            return sym(rx @ logm(ix @ y @ ix) @ rx)
        if self.metric == "log_euclidean":
            return sym(_fdiff(x, logm(y) - logm(x), "log", inverse=True))
        if self.metric == "bures_wasserstein":
            return sym(bw_log(x, y))
        return self._dphi_inv(x, sym(bw_log(self.to_bw(x), self.to_bw(y))))

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Retraction: geoopt's second-order retraction for the affine-invariant metric, the exact
        exponential map otherwise (BW's ``Exp_P(V) = (I + L) P (I + L)`` stays positive semidefinite)."""
        if self.metric == "affine_invariant":
            return geoopt.SymmetricPositiveDefinite.retr(self, x, u)
        return self._expmap(x, u)

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Parallel transport along the geodesic from ``x`` to ``y`` (affine-invariant, log-Euclidean);
        for (generalized) BW the identity vector transport of ``Sym(n)`` (used by optimisers only)."""
        if self.metric == "affine_invariant":
            rx, ix = sqrtm(x), invsqrtm(x)
            e = spectral(ix @ y @ ix, "sqrt")
            return sym(rx @ e @ sym(ix @ v @ ix) @ e @ rx)
        if self.metric == "log_euclidean":
            return sym(_fdiff(y, _fdiff(x, v, "log"), "log", inverse=True))
        return sym(v)

    def _geodesic(self, x: torch.Tensor, y: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() > 0:
            t = t[..., None, None]
        if self.metric == "log_euclidean":
            return expm((1 - t) * logm(x) + t * logm(y))
        return self._expmap(x, t * self._logmap(x, y))

    def _frechet_mean(
        self,
        x: torch.Tensor,
        weights: torch.Tensor | None = None,
        *,
        max_iter: int = 100,
        tol: float = 1e-10,
        op: str | None = None,
        exact: bool = False,
    ) -> torch.Tensor:
        w = _weights(x, weights)
        if self.metric == "bures_wasserstein":
            return bw_barycenter(x, w, max_iter=max_iter, tol=tol, symmetric=exact)
        if self.metric == "generalized_bures_wasserstein":
            return self.from_bw(bw_barycenter(self.to_bw(x), w, max_iter=max_iter, tol=tol))
        # log-Euclidean mean (closed form; the affine-invariant flow's warm start)
        if _needs_grad(x):
            lem = expm((w[..., None, None] * logm(x)).sum(-3))
        else:  # sum_i w_i U_i log(L_i) U_i^T as contractions (no N reconstructed logarithms)
            mins: list = []
            s_log = _weighted_sum_fn(x, w, "log", exact, mins=mins)
            if op is not None:
                self._confirm_pd(op, ("x", x, (mins[0] if len(mins) == 1 else torch.cat(mins, dim=-1)) > 0))
            lam, u = torch.linalg.eigh(s_log)  # s_log is symmetric up to rounding (a product A B^T of the same terms)
            lem = (u * lam.exp().unsqueeze(-2)) @ u.transpose(-1, -2)
        if self.metric == "log_euclidean":
            return lem
        if tol <= 0:
            return self._karcher_unit_steps(x, w, lem, max_iter)
        return self._karcher_bb(x, w, lem, max_iter, tol, exact)

    @staticmethod
    def _karcher_unit_steps(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, max_iter: int) -> torch.Tensor:
        """``max_iter`` steps of the plain Karcher flow (unit step, halved when the gradient
        grows): what ``tol <= 0`` asks for, e.g. the one-step batch means of SPD batch norm."""
        step, best = 1.0, float("inf")
        for _ in range(max_iter):
            rg, ig = _sqrt_invsqrt(g)
            t = (w[..., None, None] * logm(ig.unsqueeze(-3) @ x @ ig.unsqueeze(-3))).sum(-3)
            crit = float(t.detach().flatten(-2).norm(dim=-1).max())
            if crit > best:
                step *= 0.5
            best = min(best, crit)
            g = sym(rg @ expm(step * t) @ rg)
        return g

    @staticmethod
    def _karcher_bb(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, max_iter: int, tol: float, symmetric: bool = False) -> torch.Tensor:
        """Riemannian gradient descent for the affine-invariant mean with Barzilai-Borwein steps,
        until ``max ||sum_i w_i log(F^-1 X_i F^-T)||_F < tol`` (the norm of the Riemannian gradient).

        Works in a frame ``G = F F^T`` that is carried along the geodesic,
        ``F <- F exp(s T / 2)``: in that frame the metric is Frobenius and parallel transport
        along the step is the identity, so the BB step ``s = s_k |T_k|^2 / <T_k, T_k - T_{k+1}>``
        uses exactly transported gradients. The Hessian of the Fréchet function is ``>= I``
        (non-positive curvature), so these steps lie in ``(0, 1]``; the unit step (the classic
        Karcher flow) overshoots along the stiff directions, which is what BB corrects. The first
        step, with no history yet, is the Cauchy step ``|T|^2 / <T, H T>``, where
        ``H T = sum_i w_i U_i (K_i o U_i^T T U_i) U_i^T`` with ``K_i[a, b] =
        (l_a + l_b)/2 (log l_a - log l_b)/(l_a - l_b)`` from the eigendecompositions
        ``U_i diag(l_i) U_i^T`` of the whitened ``F^-1 X_i F^-T`` just computed.
        """
        f, fi = _sqrt_invsqrt(g)
        step = torch.ones(g.shape[:-2], dtype=g.dtype, device=g.device)
        t_prev = None
        for _ in range(max_iter):
            eig: list | None = [] if t_prev is None else None
            t = _weighted_sum_fn(x, w, "log", symmetric, eig, a=fi)
            crit = float(t.detach().flatten(-2).norm(dim=-1).max())
            if crit < tol:
                break
            if eig:  # first step: the exact minimiser of the quadratic model along T (Cauchy step)
                td = t.detach()
                curv = torch.zeros_like(td[..., 0, 0])  # <T, Hess T>
                for lam, u, wc in eig:
                    loewner = _divided_differences(lam, lam.log(), 1.0 / lam) * 0.5 * (lam.unsqueeze(-1) + lam.unsqueeze(-2))
                    vp = u.transpose(-1, -2) @ td.unsqueeze(-3) @ u
                    curv = curv + (wc[..., None, None] * loewner * vp * vp).sum((-3, -2, -1))
                step = ((td * td).sum((-2, -1)) / curv).nan_to_num(1.0).clamp(1e-3, 1.0)
            if t_prev is not None:
                num = (t_prev * t_prev).sum((-2, -1))
                den = (t_prev * (t_prev - t)).sum((-2, -1))
                bb = torch.where(den > 0, step * num / torch.where(den > 0, den, torch.ones_like(den)), torch.ones_like(den))
                step = bb.clamp(1e-3, 1.0).detach()
            f = f @ expm(0.5 * step[..., None, None] * t)
            fi = torch.linalg.inv(f)  # the exact inverse of the frame (a product of updates would drift)
            t_prev = t
        return sym(f @ f.transpose(-1, -2))

    # ------------------------------------------------------------------ public operations (validated)
    def dist(self, x: torch.Tensor, y: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
        """Geodesic distance of the selected metric."""
        exact = self._check_points("dist", pd_later=self._pd_later(x, y), x=x, y=y)
        return self._dist(x, y, keepdim, op=None if exact is None else "dist", exact=bool(exact))

    def sqdist(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Squared geodesic distance."""
        exact = self._check_points("sqdist", pd_later=self._pd_later(x, y), x=x, y=y)
        return self._sqdist(x, y, op=None if exact is None else "sqdist", exact=bool(exact))

    def inner(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor | None = None, keepdim: bool = False) -> torch.Tensor:
        """Riemannian inner product ``<u, v>_x`` of the selected metric."""
        self._check_points("inner", x=x)
        self._check_vectors("inner", u=u, v=v)
        return self._inner(x, u, v, keepdim)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Riemannian exponential map."""
        self._check_points("expmap", x=x)
        self._check_vectors("expmap", u=u)
        return self._expmap(x, u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Riemannian logarithm map (inverse of ``expmap``)."""
        self._check_points("logmap", x=x, y=y)
        return self._logmap(x, y)

    def geodesic(self, x: torch.Tensor, y: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """Point at time ``t`` on the geodesic from ``x`` (t = 0) to ``y`` (t = 1)."""
        self._check_points("geodesic", x=x, y=y)
        return self._geodesic(x, y, t)

    def frechet_mean(
        self,
        x: torch.Tensor,
        weights: torch.Tensor | None = None,
        *,
        max_iter: int = 100,
        tol: float = 1e-10,
    ) -> torch.Tensor:
        """Weighted Fréchet (Karcher) mean of ``x`` of shape ``(..., N, n, n)`` over the ``N`` axis.

        Affine-invariant: Riemannian gradient descent from the log-Euclidean mean,
        ``G <- F exp(s T) F^T`` with ``G = F F^T`` and ``T = sum w_i log(F^-1 X_i F^-T)``, until
        ``|T|_F < tol`` (the Riemannian gradient norm); steps ``s``: Cauchy, then Barzilai-Borwein
        (see ``_karcher_bb``). ``tol <= 0`` runs exactly ``max_iter`` steps of the classic unit-step
        Karcher flow ``G <- G^1/2 exp(T) G^1/2`` instead (SPD batch norm's one-step means).
        Log-Euclidean: ``exp(sum w_i log X_i)`` (closed form); BW: the fixed-point iteration of
        Álvarez-Esteban et al.; generalized BW: the BW barycenter in the chart ``phi``.
        """
        pd_later = ("x",) if self.metric in ("affine_invariant", "log_euclidean") and not _needs_grad(x) else ()
        exact = self._check_points("frechet_mean", pd_later=pd_later, x=x)
        op = "frechet_mean" if pd_later and exact is not None else None
        return self._frechet_mean(x, weights, max_iter=max_iter, tol=tol, op=op, exact=bool(exact))

    def frechet_variance(self, x: torch.Tensor, mean: torch.Tensor | None = None, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted mean squared distance of ``x`` (``(..., N, n, n)``) to its Fréchet mean."""
        self._check_points("frechet_variance", x=x, mean=mean)
        w = _weights(x, weights)
        if mean is None:
            mean = self._frechet_mean(x, w)
        return (w * self._sqdist(x, mean.unsqueeze(-3))).sum(-1)


def _spd_check(x: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-5) -> tuple[bool, str | None]:
    if not torch.allclose(x, x.transpose(-1, -2), atol=atol, rtol=rtol):
        err = float((x - x.transpose(-1, -2)).abs().max())
        return False, f"matrices are not symmetric (max |x - x^T| = {err:.3e}, atol={atol}, rtol={rtol})"
    lam = torch.linalg.eigvalsh(sym(x))
    lo = float(lam.min()) if lam.numel() else 1.0
    if not lo > 0:
        return False, f"matrices are not positive-definite (smallest eigenvalue {lo:.3e} <= 0)"
    return True, None


__all__ = [
    "METRICS",
    "SPD",
    "bw_barycenter",
    "bw_exp",
    "bw_inner",
    "bw_log",
    "bw_sqdist",
    "expm",
    "invsqrtm",
    "logm",
    "lyapunov",
    "powm",
    "spectral",
    "sqrtm",
    "sym",
]
