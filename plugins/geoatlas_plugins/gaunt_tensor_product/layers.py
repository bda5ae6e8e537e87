"""The equivariant Gaunt tensor-product layer and SO(3) acting on spherical-harmonic features."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from geoatlas.interfaces import Encoder, Group

from .fourier import GauntFFT, num_coefficients


def degree_of(size: int, what: str = "x") -> int:
    """``L`` with ``(L+1)^2 == size``; ``ValueError`` otherwise."""
    L = math.isqrt(size) - 1
    if size < 1 or (L + 1) ** 2 != size:
        raise ValueError(f"{what} must have (L+1)^2 spherical-harmonic coefficients on its last axis, got {size}")
    return L


def expand_degrees(w: torch.Tensor, L: int) -> torch.Tensor:
    """Per-degree weights ``(..., L+1)`` -> per-coefficient ``(..., (L+1)^2)``."""
    reps = torch.tensor([2 * deg + 1 for deg in range(L + 1)], device=w.device)
    return torch.repeat_interleave(w, reps, dim=-1)


class GauntTensorProduct(Encoder):
    r"""Channel-wise Gaunt tensor product with learnable per-degree weights (Luo et al., 2024).

    .. math::
        z^{c}_{l_3 m_3} = w^{\mathrm{out}}_{c,l_3}\sum_{l_1m_1l_2m_2}
        G^{l_3m_3}_{l_1m_1,l_2m_2}\,(w^{(1)}_{c,l_1}x^c_{l_1m_1})\,(w^{(2)}_{c,l_2}y^c_{l_2m_2})

    computed as SH -> 2-D Fourier, FFT convolution, Fourier -> SH in ``O(L^3)`` per channel.
    Features are e3nn irreps ``0e + 1o + ... `` coefficients in e3nn's real basis with
    ``normalization="integral"``: ``x`` is ``(..., channels, (L1+1)^2)``. ``forward(x)`` is
    the self-product ``x (x) x`` (the many-body building block); ``forward(x, y)`` the product of
    two feature sets. Equivariant: ``D(R) z = GTP(D(R) x, D(R) y)`` for Wigner matrices ``D``.

    Parameters
    ----------
    L1, L2 : int
        Maximum degrees of the inputs (``L2`` defaults to ``L1``).
    L_out : int, optional
        Maximum output degree (default ``L1 + L2``, the full product).
    channels : int
        Number of channels (weights are per channel and degree). ``in_features`` is accepted as
        an alias so pipelines can fill it.
    learnable : bool
        Learn the per-degree weights (initialised to 1); otherwise the plain Gaunt product.
    """

    input_type = "features"
    equivariant_to = ("so3_sh",)

    def __init__(
        self,
        L1: int = 2,
        L2: int | None = None,
        L_out: int | None = None,
        channels: int = 1,
        learnable: bool = True,
    ) -> None:
        super().__init__()
        L2 = L1 if L2 is None else L2
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.op = GauntFFT(L1, L2, L_out)
        self.L1, self.L2, self.L_out, self.channels = L1, L2, self.op.L_out, channels
        init = (torch.ones(channels, L1 + 1), torch.ones(channels, L2 + 1), torch.ones(channels, self.L_out + 1))
        if learnable:
            self.w1, self.w2, self.w_out = (nn.Parameter(t) for t in init)
        else:
            for name, t in zip(("w1", "w2", "w_out"), init, strict=True):
                self.register_buffer(name, t)

    def _check(self, x: Any, L: int, what: str) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 2 or x.shape[-2] != self.channels:
            raise ValueError(f"{what} must have shape (..., channels={self.channels}, {(L + 1) ** 2}), got {tuple(x.shape)}")
        if x.shape[-1] != num_coefficients(L):
            raise ValueError(f"{what} must have (L+1)^2 = {num_coefficients(L)} coefficients (L={L}) on its last axis, got {x.shape[-1]}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{what} contains NaN or Inf values")
        return x

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            if self.L1 != self.L2:
                raise ValueError(f"the self-product forward(x) needs L1 == L2, got {self.L1} and {self.L2}")
            y = x
        x = self._check(x, self.L1, "x")
        y = self._check(y, self.L2, "y")
        xw = x * expand_degrees(self.w1, self.L1).to(x.dtype)
        yw = y * expand_degrees(self.w2, self.L2).to(y.dtype)
        z = self.op(xw, yw)
        return z * expand_degrees(self.w_out, self.L_out).to(z.dtype)


class SO3OnHarmonics(Group):
    """SO(3) acting on spherical-harmonic coefficient vectors through e3nn's Wigner-D matrices.

    Elements are ``3 x 3`` rotation matrices (Haar sampling via e3nn). Data of type
    ``"features"`` has shape ``(..., (L+1)^2)`` (irreps ``0e + 1o + ... + L``); ``L`` is read
    from the last axis. ``"vector"``/``"point_cloud"`` data are rotated directly.
    """

    name = "so3_sh"
    compact = True
    acts_on = ("features", "vector", "point_cloud")

    @property
    def dim(self) -> int:
        return 3

    def identity(self, n: int | None = None, *, dtype=None, device=None) -> torch.Tensor:
        eye = torch.eye(3, dtype=dtype or torch.get_default_dtype(), device=device)
        return eye if n is None else eye.expand(n, -1, -1).clone()

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return g @ h

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return g.transpose(-1, -2)

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        """Haar-random rotations (normalised Gaussian quaternions)."""
        from e3nn import o3

        q = torch.randn(n, 4, generator=generator, dtype=dtype or torch.get_default_dtype())
        return o3.quaternion_to_matrix(q / q.norm(dim=-1, keepdim=True))

    def wigner_d(self, g: torch.Tensor, L: int) -> torch.Tensor:
        """Block-diagonal Wigner-D matrix ``((L+1)^2, (L+1)^2)`` of ``g`` in e3nn's basis."""
        from e3nn import o3

        irreps = o3.Irreps([(1, (deg, (-1) ** deg)) for deg in range(L + 1)])
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)  # e3nn builds angles in the default dtype
        try:
            return irreps.D_from_matrix(g.to(torch.float64)).to(g.dtype)
        finally:
            torch.set_default_dtype(prev)

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"so3_sh acts on tensors, got {type(x).__name__}")
        if data_type in ("vector", "point_cloud"):
            if x.shape[-1] != 3:
                raise ValueError(f"so3_sh rotates 3-D coordinates, got last axis {x.shape[-1]}")
            M = g
        else:
            M = self.wigner_d(g, degree_of(x.shape[-1], "features"))
        M = M.to(x.dtype)
        if M.dim() == 2:
            return x @ M.transpose(-1, -2)
        extra = x.dim() - 2
        Mb = M.reshape(M.shape[0], *([1] * extra), *M.shape[-2:])
        return (Mb @ x.unsqueeze(-1)).squeeze(-1)

    def __repr__(self) -> str:
        return "SO3OnHarmonics()"
