"""An O(3)-invariant point-cloud encoder built from Gaunt tensor products."""

from __future__ import annotations

import torch
from torch import nn

from geoatlas.interfaces import Encoder

from .layers import GauntTensorProduct, expand_degrees


class GauntNet(Encoder):
    r"""Spherical-harmonic embedding of a point cloud followed by Gaunt self-products.

    1. Centre the cloud, ``r_p = |x_p|``, ``u_p = x_p / r_p``; embed
       ``h^c_{lm} = \frac1P\sum_p \phi_{c,l}(r_p/\bar r)\,Y_{lm}(u_p)`` with Gaussian radial bases.
    2. ``n_layers`` times: ``h <- h + W_l (w_out (w h) \otimes_G (w h))`` truncated to degree ``L``
       (channel mixing ``W_l`` per degree keeps equivariance), i.e. many-body features as in the
       paper's MACE experiments.
    3. Invariants (``h_{c,0}`` and the norms ``|h_{c,l}|``) feed an MLP head.

    Invariant to all of O(3) (``o_n`` with ``n=3``: rotations *and* reflections), ``so3_sh`` and
    translations. Reflections are included because the embedding has consistent parity
    (``Y_lm(-u) = (-1)^l Y_lm(u)``), the Gaunt coefficient of degrees ``(l1, l2, l3)`` vanishes
    unless ``l1 + l2 + l3`` is even (so products preserve that parity), and the read-out uses only
    ``h_{c,0}`` and norms.

    Parameters
    ----------
    num_classes : int
        Output size (``out_features`` is an alias the pipeline may fill).
    L : int
        Maximum spherical-harmonic degree.
    channels, n_radial, n_layers, hidden : int
        Width, number of radial Gaussians, Gaunt layers, and head width.
    """

    input_type = "point_cloud"
    invariant_to = ("so3", "o_n", "so3_sh", "translations")

    def __init__(
        self,
        num_classes: int | None = None,
        out_features: int | None = None,
        L: int = 3,
        channels: int = 8,
        n_radial: int = 6,
        n_layers: int = 2,
        hidden: int = 64,
        in_features: int = 3,
    ) -> None:
        super().__init__()
        out = num_classes if num_classes is not None else out_features
        if out is None or not isinstance(out, int) or out < 1:
            raise ValueError(f"num_classes (or out_features) must be a positive int, got {out!r}")
        for name, v in (("L", L), ("channels", channels), ("n_radial", n_radial), ("hidden", hidden)):
            if not isinstance(v, int) or v < (0 if name == "L" else 1):
                raise ValueError(f"{name} must be a {'non-negative' if name == 'L' else 'positive'} int, got {v!r}")
        if not isinstance(n_layers, int) or n_layers < 0:
            raise ValueError(f"n_layers must be a non-negative int, got {n_layers!r}")
        if in_features != 3:
            raise ValueError(f"gaunt_net works on 3-D point clouds (in_features=3), got in_features={in_features}")
        self.L, self.channels = L, channels
        self.register_buffer("centres", torch.linspace(0.0, 2.5, n_radial))
        self.width = 2.5 / max(n_radial - 1, 1)
        self.radial = nn.Parameter(torch.randn(n_radial, channels, L + 1) / n_radial**0.5)
        self.products = nn.ModuleList(GauntTensorProduct(L, L, L, channels) for _ in range(n_layers))
        self.mix = nn.ParameterList(nn.Parameter(torch.eye(channels).repeat(L + 1, 1, 1)) for _ in range(n_layers))
        self.head = nn.Sequential(nn.Linear(channels * (L + 2), hidden), nn.SiLU(), nn.Linear(hidden, out))

    def embed_harmonics(self, X: torch.Tensor) -> torch.Tensor:
        """SH features ``(B, channels, (L+1)^2)`` of point clouds ``(B, P, 3)``."""
        from e3nn import o3

        Xc = X - X.mean(1, keepdim=True)
        r = Xc.norm(dim=-1)  # (B, P)
        rbar = r.mean(1, keepdim=True).clamp_min(1e-12)
        s = r / rbar
        Y = o3.spherical_harmonics(list(range(self.L + 1)), Xc, normalize=True, normalization="integral")
        Y = torch.where((r > 1e-9 * rbar).unsqueeze(-1), Y, torch.zeros_like(Y))  # centre point: no direction
        basis = torch.exp(-((s.unsqueeze(-1) - self.centres) ** 2) / (2 * self.width**2))  # (B, P, R)
        phi = torch.einsum("bpr,rcl->bpcl", basis, self.radial.to(X.dtype))  # (B, P, C, L+1)
        return torch.einsum("bpck,bpk->bck", expand_degrees(phi, self.L), Y) / X.shape[1]

    def invariants(self, h: torch.Tensor) -> torch.Tensor:
        """``(B, channels * (L+2))``: ``h_{c,0}`` and the per-degree norms."""
        norms = [h[..., deg * deg : (deg + 1) ** 2].norm(dim=-1) for deg in range(self.L + 1)]
        return torch.cat([h[..., 0]] + norms, dim=-1)

    def embed(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor) or X.dim() != 3 or X.shape[-1] != 3:
            raise ValueError(f"gaunt_net expects point clouds (B, P, 3), got {tuple(getattr(X, 'shape', ()))}")
        if X.shape[1] == 0:
            raise ValueError("gaunt_net got empty point clouds (P = 0)")
        if not torch.isfinite(X).all():
            raise ValueError("point clouds contain NaN or Inf values")
        h = self.embed_harmonics(X)
        for gtp, W in zip(self.products, self.mix, strict=True):
            z = gtp(h)
            Wc = expand_degrees(W.permute(1, 2, 0), self.L).to(z.dtype)  # (C, C, (L+1)^2)
            h = h + torch.einsum("dck,bck->bdk", Wc, z)
        return self.invariants(h)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(X))
