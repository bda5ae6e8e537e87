r"""GL+(n), SL(n) and their affine extensions with the polar-decomposition chart of
Mironenco & Forré (ICLR 2024), Sec. 4.

Every ``g`` in GL+(n) factors uniquely as ``g = P R`` with ``P = (g g^T)^{1/2}`` in Pos(n)
(symmetric positive definite) and ``R = P^{-1} g`` in SO(n); for SL(n), ``det P = 1``. Writing
``P = exp(S)`` with ``S`` symmetric (traceless for SL(n)) gives the global chart

.. math:: \xi^{-1}(g) = (S, \log R) \in \mathfrak{p} \oplus \mathfrak{so}(n),
          \qquad \xi(S, A) = \exp(S)\exp(A),

a diffeomorphism onto the group even though the group exponential is not surjective. The Haar
measure factorises along the decomposition, ``dg = d\mu_{Pos}(P)\, dR``; Monte Carlo samples take
``R`` Haar-uniform on SO(n) and ``P = exp(S)`` log-normal (``S`` Gaussian in an orthonormal basis of
the symmetric matrices, std ``spd_scale``), as in the paper's experiments.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from geoatlas.interfaces import MatrixGroup

SUPPORTED_N = (2, 3)


def sym_fn(S: torch.Tensor, fn) -> torch.Tensor:
    """Apply a scalar function to a batch of symmetric matrices through ``eigh``."""
    lam, V = torch.linalg.eigh(S)
    return (V * fn(lam).unsqueeze(-2)) @ V.transpose(-1, -2)


def haar_so(n: int, m: int, generator: torch.Generator | None, dtype: torch.dtype) -> torch.Tensor:
    """``m`` Haar-uniform rotations of SO(n): QR of a Gaussian matrix with sign fix, then a
    column flip where ``det = -1`` (right multiplication by a fixed reflection keeps Haar)."""
    a = torch.randn(m, n, n, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    flip = torch.linalg.det(q) < 0
    q[flip, :, 0] = -q[flip, :, 0]
    return q


def so_log(R: torch.Tensor) -> torch.Tensor:
    """Principal logarithm of rotations (``n = 2``: angle in ``(-pi, pi]``; ``n = 3``: axis-angle).

    For ``n = 3`` the angle is ``atan2(|w|, (tr R - 1)/2)`` with ``w = vee(R - R^T)/2 = sin(angle) k``
    (accurate at every angle, unlike ``acos``). The axis ``k`` comes from ``w`` while
    ``cos(angle) >= 0``; for larger angles ``w`` shrinks to zero at ``pi`` and loses all relative
    precision, so the axis is read instead from the symmetric part
    ``(R + R^T)/2 - cos(angle) I = (1 - cos(angle)) k k^T`` (its largest column, sign taken from
    ``w``), which is well conditioned there. At exactly ``pi`` both ``+-pi k`` are logarithms.
    """
    n = R.shape[-1]
    if n == 2:
        theta = torch.atan2(R[..., 1, 0], R[..., 0, 0])
        A = torch.zeros_like(R)
        A[..., 0, 1], A[..., 1, 0] = -theta, theta
        return A
    if n == 3:
        K = 0.5 * (R - R.transpose(-1, -2))
        w = torch.stack([K[..., 2, 1], K[..., 0, 2], K[..., 1, 0]], -1)  # sin(angle) * axis
        sin = w.norm(dim=-1)
        cos = 0.5 * (torch.diagonal(R, dim1=-2, dim2=-1).sum(-1) - 1)
        angle = torch.atan2(sin, cos)
        # small and moderate angles: log R = angle / sin(angle) * K (series below 1e-4)
        small = sin < 1e-4
        scale = torch.where(small, 1 + angle**2 / 6, angle / torch.where(small, torch.ones_like(sin), sin))
        A_near0 = K * scale[..., None, None]
        # angles beyond pi/2: axis from the symmetric part
        B = 0.5 * (R + R.transpose(-1, -2)) - cos[..., None, None] * torch.eye(3, dtype=R.dtype, device=R.device)
        diagB = torch.diagonal(B, dim1=-2, dim2=-1)
        j = diagB.argmax(-1, keepdim=True)  # B_jj = (1 - cos) k_j^2 >= (1 - cos) / 3
        col = torch.take_along_dim(B, j[..., None, :], dim=-1).squeeze(-1)  # (1 - cos) k_j k
        bjj = torch.take_along_dim(diagB, j, dim=-1).squeeze(-1)
        k = col / torch.sqrt((bjj * (1 - cos)).clamp_min(1e-300))[..., None]
        sign = torch.where((k * w).sum(-1) < 0, -1.0, 1.0).to(R.dtype)
        v = k * (sign * angle)[..., None]
        zero = torch.zeros_like(v[..., 0])
        A_nearpi = torch.stack([
            torch.stack([zero, -v[..., 2], v[..., 1]], -1),
            torch.stack([v[..., 2], zero, -v[..., 0]], -1),
            torch.stack([-v[..., 1], v[..., 0], zero], -1),
        ], -2)
        return torch.where((cos < 0)[..., None, None], A_nearpi, A_near0)
    raise ValueError(f"so_log supports n in {SUPPORTED_N}, got n={n}")


class _LinearPolarGroup(MatrixGroup):
    """Shared code for GL+(n) and SL(n) (``special=True``)."""

    compact = False
    acts_on = ("point_cloud", "vector")
    special: bool = False

    def __init__(self, n: int = 2, spd_scale: float = 0.2, rotation_range: float = math.pi) -> None:
        if not (isinstance(rotation_range, (int, float)) and 0 < rotation_range <= math.pi):
            raise ValueError(f"rotation_range must be in (0, pi], got {rotation_range!r}")
        if n != 2 and rotation_range != math.pi:
            raise ValueError("rotation_range < pi is only supported for n = 2")
        self.rotation_range = float(rotation_range)
        if n not in SUPPORTED_N:
            raise ValueError(f"n must be one of {SUPPORTED_N} (closed-form SO(n) logarithm), got {n!r}")
        if not (isinstance(spd_scale, (int, float)) and spd_scale >= 0 and math.isfinite(spd_scale)):
            raise ValueError(f"spd_scale must be a finite number >= 0, got {spd_scale!r}")
        self.n, self.spd_scale = n, float(spd_scale)

    # -------------------------------------------------------------- structure
    @property
    def dim(self) -> int:
        return self.n * self.n - (1 if self.special else 0)

    @property
    def chart_dim(self) -> int:
        """Number of coordinates of :meth:`chart` (``= dim``)."""
        return self.dim

    @property
    def matrix_size(self) -> int:
        return self.n

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return torch.linalg.inv(g)

    def check_element(self, g: torch.Tensor, what: str = "g") -> torch.Tensor:
        """Raise ``ValueError`` unless ``g`` is a finite ``(..., n, n)`` matrix in the group."""
        if not isinstance(g, torch.Tensor) or g.shape[-2:] != (self.n, self.n):
            raise ValueError(f"{what} must be a tensor of shape (..., {self.n}, {self.n}), got {tuple(getattr(g, 'shape', ()))}")
        if not torch.isfinite(g).all():
            raise ValueError(f"{what} contains NaN or Inf values")
        det = torch.linalg.det(g)
        if (det <= 0).any():
            raise ValueError(f"{what} is not in {self.name}: determinant <= 0 ({float(det.min()):.3g})")
        if self.special and ((det - 1).abs() > 1e-4).any():
            raise ValueError(f"{what} is not in SL({self.n}): determinant {float(det[(det - 1).abs().argmax()] if det.dim() else det):.6g} != 1")
        return g

    # -------------------------------------------------------------- decomposition / chart
    def decompose(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Polar decomposition ``g = exp(S) R``: returns ``(S, R)`` with ``S`` symmetric, ``R`` in SO(n)."""
        self.check_element(g)
        lam, V = torch.linalg.eigh(g @ g.transpose(-1, -2))
        half_log = 0.5 * torch.log(lam)
        S = (V * half_log.unsqueeze(-2)) @ V.transpose(-1, -2)
        P_inv = (V * torch.exp(-half_log).unsqueeze(-2)) @ V.transpose(-1, -2)
        return S, P_inv @ g

    def compose_polar(self, S: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
        """``exp(S) R``."""
        return sym_fn(S, torch.exp) @ R

    def xi_inv(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The global chart :math:`\xi^{-1}(g) = (S, \log R)` (symmetric and skew matrices)."""
        S, R = self.decompose(g)
        return S, so_log(R)

    def xi(self, S: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        r""":math:`\xi(S, A) = \exp(S)\exp(A)`; the inverse of :meth:`xi_inv`."""
        return sym_fn(S, torch.exp) @ torch.linalg.matrix_exp(A)

    def chart(self, g: torch.Tensor) -> torch.Tensor:
        """Coordinates of ``xi^{-1}(g)`` in an orthonormal basis (``(..., dim)``): the kernel input."""
        S, A = self.xi_inv(g)
        n = self.n
        iu = torch.triu_indices(n, n, 1)
        diag = torch.diagonal(S, dim1=-2, dim2=-1)
        if self.special:  # traceless: orthonormal coordinates of the diagonal part
            diag = diag[..., :-1] - diag[..., -1:] if n == 2 else diag[..., :-1]
            diag = diag / math.sqrt(2) if n == 2 else diag
        off = S[..., iu[0], iu[1]] * math.sqrt(2)
        skew = A[..., iu[0], iu[1]] * math.sqrt(2)
        return torch.cat([diag, off, skew], -1)

    def log(self, g: torch.Tensor) -> torch.Tensor:
        """The chart as one Lie-algebra matrix ``S + log R`` (global, unlike the matrix log)."""
        S, A = self.xi_inv(g)
        return S + A

    def exp(self, X: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`log`: ``exp(sym X) exp(skew X)`` (not the group exponential)."""
        S = 0.5 * (X + X.transpose(-1, -2))
        if self.special:
            S = S - torch.diagonal(S, dim1=-2, dim2=-1).mean(-1)[..., None, None] * torch.eye(self.n, dtype=X.dtype)
        return self.xi(S, 0.5 * (X - X.transpose(-1, -2)))

    # -------------------------------------------------------------- sampling
    def sample_symmetric(self, m: int, generator=None, *, dtype=None) -> torch.Tensor:
        """``S`` Gaussian in an orthonormal basis of Sym(n) (traceless for SL), std ``spd_scale``."""
        dtype = dtype or torch.get_default_dtype()
        Z = torch.randn(m, self.n, self.n, generator=generator, dtype=dtype)
        S = (Z + Z.transpose(-1, -2)) / 2  # off-diagonal var 1/2, diagonal var 1: isotropic in the
        S = S * self.spd_scale             # Frobenius-orthonormal basis (E_ii, (E_ij+E_ji)/sqrt 2)
        if self.special:
            S = S - torch.diagonal(S, dim1=-2, dim2=-1).mean(-1)[:, None, None] * torch.eye(self.n, dtype=dtype)
        return S

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        """``n`` elements ``exp(S) R``: ``R`` Haar on SO(n), ``exp(S)`` log-normal on Pos(n).

        With ``rotation_range < pi`` (n = 2) the angle of ``R`` is uniform on ``[-r, r]``
        (bounded sampling, as the reference code allows for its samplers)."""
        dtype = dtype or torch.get_default_dtype()
        if self.rotation_range < math.pi:  # uniform angle in [-r, r] (Haar restricted to an arc)
            theta = self.rotation_range * (2 * torch.rand(n, generator=generator, dtype=dtype) - 1)
            c, s = torch.cos(theta), torch.sin(theta)
            R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        else:
            R = haar_so(self.n, n, generator, dtype)
        return self.compose_polar(self.sample_symmetric(n, generator, dtype=dtype), R)

    # -------------------------------------------------------------- action
    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{self.name} acts on tensors, got {type(x).__name__}")
        if x.shape[-1] != self.n:
            raise ValueError(f"{self.name} acts on {self.n}-dimensional coordinates, got last axis {x.shape[-1]}")
        self.check_element(g)  # e.g. 2 I is not in SL(2); a reflection is not in GL+(n)
        return _apply_linear(g, x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, spd_scale={self.spd_scale}, rotation_range={self.rotation_range:.4g})"


def _apply_linear(A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    A = A.to(x.dtype)
    if A.dim() == 2:
        return x @ A.transpose(-1, -2)
    extra = x.dim() - 2
    if extra < 0:
        raise ValueError(f"cannot apply a batch of {tuple(A.shape)} matrices to data of shape {tuple(x.shape)}")
    Ab = A.reshape(A.shape[0], *([1] * extra), *A.shape[-2:])
    return (Ab @ x.unsqueeze(-1)).squeeze(-1)


class GLPlus(_LinearPolarGroup):
    """GL+(n): invertible matrices with positive determinant."""

    name = "gl_plus"
    special = False


class SL(_LinearPolarGroup):
    """SL(n): matrices with determinant one (volume preserving)."""

    name = "sl"
    special = True


class _AffineGroup(MatrixGroup):
    """``R^n ⋊ H`` as homogeneous ``(n+1) x (n+1)`` matrices ``[[A, t], [0, 1]]``.

    Acts on points (``x -> A x + t``), free vectors (``v -> A v``) and, for ``n = 2``, on images
    ``(..., C, H, W)`` by ``(g.f)(x) = f(g^{-1} x)`` in the normalised coordinates ``[-1, 1]^2`` of
    ``torch.nn.functional.affine_grid`` (bilinear resampling, zeros outside; ``x`` = column,
    ``y`` = row). Image actions are exact only up to interpolation.
    """

    compact = False
    linear_cls: type[_LinearPolarGroup] = GLPlus

    def __init__(self, n: int = 2, spd_scale: float = 0.2, translation_scale: float = 0.1, rotation_range: float = math.pi) -> None:
        self.linear = self.linear_cls(n, spd_scale, rotation_range)
        if not (isinstance(translation_scale, (int, float)) and translation_scale >= 0):
            raise ValueError(f"translation_scale must be a number >= 0, got {translation_scale!r}")
        self.n, self.spd_scale, self.translation_scale = n, float(spd_scale), float(translation_scale)
        self.acts_on = ("point_cloud", "vector", "image") if n == 2 else ("point_cloud", "vector")

    @property
    def dim(self) -> int:
        return self.linear.dim + self.n

    @property
    def matrix_size(self) -> int:
        return self.n + 1

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        n = self.n
        Ainv = torch.linalg.inv(g[..., :n, :n])
        out = torch.zeros_like(g)
        out[..., :n, :n] = Ainv
        out[..., :n, n] = -(Ainv @ g[..., :n, n].unsqueeze(-1)).squeeze(-1)
        out[..., n, n] = 1
        return out

    def make(self, A: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The element ``[[A, t], [0, 1]]``."""
        g = torch.zeros(*A.shape[:-2], self.n + 1, self.n + 1, dtype=A.dtype)
        g[..., : self.n, : self.n] = A
        g[..., : self.n, self.n] = t
        g[..., self.n, self.n] = 1
        return g

    def linear_part(self, g: torch.Tensor) -> torch.Tensor:
        return g[..., : self.n, : self.n]

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        """Linear part from :meth:`GLPlus.sample`/:meth:`SL.sample`, Gaussian translation."""
        dtype = dtype or torch.get_default_dtype()
        A = self.linear.sample(n, generator, dtype=dtype)
        t = self.translation_scale * torch.randn(n, self.n, generator=generator, dtype=dtype)
        return self.make(A, t)

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{self.name} acts on tensors, got {type(x).__name__}")
        if not isinstance(g, torch.Tensor) or g.shape[-2:] != (self.n + 1, self.n + 1):
            raise ValueError(f"g must be a tensor of shape (..., {self.n + 1}, {self.n + 1}), got {tuple(getattr(g, 'shape', ()))}")
        self.linear.check_element(g[..., : self.n, : self.n], "the linear part of g")
        if data_type == "image":
            return affine_image(g, x)
        if x.shape[-1] != self.n:
            raise ValueError(f"{self.name} acts on {self.n}-dimensional coordinates, got last axis {x.shape[-1]}")
        y = _apply_linear(g[..., : self.n, : self.n], x)
        if data_type == "vector":
            return y
        t = g[..., : self.n, self.n].to(x.dtype)
        return y + (t if g.dim() == 2 else t.reshape(t.shape[0], *([1] * (x.dim() - 2)), self.n))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, spd_scale={self.spd_scale}, translation_scale={self.translation_scale})"


def affine_image(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(g.f)(p) = f(g^{-1} p)`` for images ``(N, C, H, W)`` (or ``(C, H, W)``) and ``3 x 3`` ``g``."""
    if g.shape[-2:] != (3, 3):
        raise ValueError(f"images are acted on by 3 x 3 affine matrices, got {tuple(g.shape)}")
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W) or (C, H, W), got {tuple(x.shape)}")
    ginv = torch.linalg.inv(g.to(torch.float64)).to(x.dtype)
    theta = ginv[..., :2, :]  # maps output coordinates to input coordinates
    if theta.dim() == 2:
        theta = theta.expand(x.shape[0], 2, 3)
    elif theta.shape[0] != x.shape[0]:
        raise ValueError(f"got {theta.shape[0]} group elements for {x.shape[0]} images")
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out[0] if single else out


class AffineGLPlus(_AffineGroup):
    """Aff+(n) = R^n ⋊ GL+(n)."""

    name = "affine_gl_plus"
    linear_cls = GLPlus


class AffineSL(_AffineGroup):
    """R^n ⋊ SL(n): volume-preserving affine maps."""

    name = "affine_sl"
    linear_cls = SL
