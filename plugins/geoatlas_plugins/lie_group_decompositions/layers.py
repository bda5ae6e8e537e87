r"""Lifting and group-convolution layers for ``R^2 ⋊ H`` (``H = GL+(2)`` or ``SL(2)``), Sec. 5 of
Mironenco & Forré (ICLR 2024), and an invariant image classifier built from them.

Feature maps on the affine group are stored on the pixel grid times a set of ``N`` Monte Carlo
samples ``h_1..h_N`` of ``H``: ``(B, C, N, H, W)``. With ``|h| = |det h|``,

.. math::
    (\text{lift}\,f)(x, h_i) = \sum_{y} k\big(h_i^{-1}(y - x)\big) f(y)\,|h_i^{-1}|,

.. math::
    (\text{gconv}\,F)(x, h_i) = \frac1N\sum_{j}\sum_{y}
        k\big(h_i^{-1}(y - x),\ \xi^{-1}(h_i^{-1}h_j)\big)\,F(y, h_j)\,|h_i^{-1}|,

where the kernels ``k`` are MLPs of the pixel offset transformed by the group and of the global
chart coordinates ``xi^{-1}`` of the relative group element. The sum over ``j`` is the Monte
Carlo estimate of the Haar integral over ``H`` (samples drawn with the decomposition sampler).
A smooth radial mask ``sigmoid(2 (1 - |u|))`` on the transformed offsets keeps kernels local.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder

from .groups import SL, GLPlus

GROUPS = {"gl_plus": GLPlus, "sl": SL}


def make_group(group: str | GLPlus, spd_scale: float = 0.2, rotation_range: float = math.pi) -> GLPlus:
    if isinstance(group, (GLPlus, SL)):
        if group.n != 2:
            raise ValueError(f"the image layers need n = 2, got {group!r}")
        return group
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, got {group!r}")
    return GROUPS[group](2, spd_scale, rotation_range)


def kernel_offsets(kernel_size: int) -> torch.Tensor:
    """Pixel offsets ``(k*k, 2)`` as ``(x, y) = (column, row)`` scaled to ``[-1, 1]``."""
    t = torch.linspace(-1.0, 1.0, kernel_size) if kernel_size > 1 else torch.zeros(1)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], -1)


class Sine(nn.Module):
    """``sin(omega x)``."""

    def __init__(self, omega: float) -> None:
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


def _mlp(d_in: int, hidden: int, d_out: int, omega: float = 10.0) -> nn.Sequential:
    """SIREN kernel network (sine activations, Sitzmann et al. init), as in the reference code's
    default kernel parametrisation: smooth MLPs cannot represent the high-frequency kernels a
    5x5 filter needs."""
    net = nn.Sequential(nn.Linear(d_in, hidden), Sine(omega), nn.Linear(hidden, hidden), Sine(1.0), nn.Linear(hidden, d_out))
    with torch.no_grad():
        net[0].weight.uniform_(-1 / d_in, 1 / d_in)
        bound = (6 / hidden) ** 0.5
        net[2].weight.uniform_(-bound, bound)
        net[4].weight.uniform_(-bound / hidden**0.5, bound / hidden**0.5)
    return net


class LiftingConv(nn.Module):
    """Image ``(B, C_in, H, W)`` -> function on ``R^2 x {h_i}``: ``(B, C_out, N, H, W)``."""

    def __init__(self, group: GLPlus, in_channels: int, out_channels: int, kernel_size: int = 5, hidden: int = 32) -> None:
        super().__init__()
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 3, got {kernel_size}")
        self.group, self.cin, self.cout, self.k = group, in_channels, out_channels, kernel_size
        self.register_buffer("offsets", kernel_offsets(kernel_size))
        self.kernel = _mlp(2, hidden, in_channels * out_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """Conv weights ``(C_out * N, C_in, k, k)`` for samples ``h`` ``(N, 2, 2)``."""
        hinv = torch.linalg.inv(h)
        u = torch.einsum("nij,pj->npi", hinv, self.offsets.to(h.dtype))  # h^{-1} offsets
        w = self.kernel(u) * torch.sigmoid(2 * (1 - u.norm(dim=-1, keepdim=True)))
        w = w * torch.linalg.det(hinv).abs()[:, None, None]
        N = h.shape[0]
        w = w.reshape(N, self.k, self.k, self.cout, self.cin).permute(3, 0, 4, 1, 2)
        return w.reshape(self.cout * N, self.cin, self.k, self.k)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weights(h).to(x.dtype), padding=self.k // 2)
        B, _, H, W = out.shape
        return out.reshape(B, self.cout, h.shape[0], H, W) + self.bias.view(1, -1, 1, 1, 1)


class GroupConv(nn.Module):
    """``(B, C_in, N, H, W)`` on samples ``h`` -> ``(B, C_out, N, H, W)`` on the same samples."""

    def __init__(self, group: GLPlus, in_channels: int, out_channels: int, kernel_size: int = 5, hidden: int = 32) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.group, self.cin, self.cout, self.k = group, in_channels, out_channels, kernel_size
        self.register_buffer("offsets", kernel_offsets(kernel_size))
        self.kernel = _mlp(2 + group.chart_dim, hidden, in_channels * out_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """Conv weights ``(C_out * N, C_in * N, k, k)``."""
        N = h.shape[0]
        hinv = torch.linalg.inv(h)
        u = torch.einsum("nij,pj->npi", hinv, self.offsets.to(h.dtype))  # (N_out, P, 2)
        rel = self.group.chart(hinv.unsqueeze(1) @ h.unsqueeze(0))  # xi^{-1}(h_i^{-1} h_j): (N_out, N_in, d)
        P, d = u.shape[1], rel.shape[-1]
        z = torch.cat([u.unsqueeze(1).expand(N, N, P, 2), rel.unsqueeze(2).expand(N, N, P, d)], -1)
        w = self.kernel(z) * torch.sigmoid(2 * (1 - u.norm(dim=-1))).unsqueeze(1).unsqueeze(-1)
        w = w * (torch.linalg.det(hinv).abs() / N)[:, None, None, None]
        w = w.reshape(N, N, self.k, self.k, self.cout, self.cin).permute(4, 0, 5, 1, 2, 3)
        return w.reshape(self.cout * N, self.cin * N, self.k, self.k)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        B, C, N, H, W = x.shape
        out = F.conv2d(x.reshape(B, C * N, H, W), self.weights(h).to(x.dtype), padding=self.k // 2)
        return out.reshape(B, self.cout, N, H, W) + self.bias.view(1, -1, 1, 1, 1)


class LieGroupCNN(Encoder):
    """Affine-invariant image classifier: lifting conv, group convs, max over the group samples
    and the plane, linear head (Mironenco & Forré, 2024).

    Group samples are drawn afresh at every training step (Monte Carlo over the Haar measure
    of ``H``) and fixed (seeded) in eval mode so predictions are deterministic.

    Parameters
    ----------
    in_channels, num_classes : int
        Filled by pipelines from the data.
    group : {"gl_plus", "sl"}
        The linear part ``H`` of the affine group ``R^2 ⋊ H``.
    channels : list of int
        Channels of the lifting layer and each group convolution.
    n_samples : int
        Monte Carlo samples of ``H`` per forward pass (``N``).
    kernel_size : int
        Spatial kernel window (odd).
    spd_scale : float
        Std of the log-normal Pos(2) factor of the samples.
    rotation_range : float
        Angles of the SO(2) factor of the samples are uniform on ``[-r, r]`` (``pi``: Haar).
    resize : int, optional
        Resize input images to ``resize x resize`` first (bilinear); small digits benefit.
    hidden : int
        Width of the kernel MLPs.
    eval_seed : int
        Seed of the fixed group samples used in eval mode.
    resample : bool
        Draw fresh samples at every training step (Monte Carlo over the group; default) or keep
        the fixed ``eval_seed`` samples throughout training.
    """

    input_type = "image"

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        group: str = "sl",
        channels: list[int] | None = None,
        n_samples: int = 4,
        kernel_size: int = 5,
        spd_scale: float = 0.2,
        resize: int | None = None,
        hidden: int = 32,
        eval_seed: int = 0,
        resample: bool = True,
        rotation_range: float = math.pi,
    ) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        if resize is not None and (not isinstance(resize, int) or resize < 4):
            raise ValueError(f"resize must be an int >= 4 or None, got {resize!r}")
        channels = [8, 16] if channels is None else list(channels)
        if not channels or any(not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
        self.group = make_group(group, spd_scale, rotation_range)
        self.in_channels, self.n_samples, self.resize, self.eval_seed = in_channels, n_samples, resize, eval_seed
        self.resample = resample
        # Not exactly invariant to anything: the layers are equivariant when the group samples are
        # co-transformed, but the deployed classifier keeps one fixed sample set (eval) or a random
        # one (training), and the pixel grid / kernel window are not transformed. Invariance to the
        # affine group holds only approximately (Monte Carlo + interpolation), so it is declared
        # separately and measured in reproduce.py.
        self.invariant_to = ()
        self.approximately_invariant_to = (f"affine_{self.group.name}",)
        self.lift = LiftingConv(self.group, in_channels, channels[0], kernel_size, hidden)
        self.convs = nn.ModuleList(GroupConv(self.group, a, b, kernel_size, hidden) for a, b in zip(channels[:-1], channels[1:], strict=True))
        self.norms = nn.ModuleList(nn.BatchNorm3d(c) for c in channels)
        self.head = nn.Linear(channels[-1], num_classes)
        self._fixed: torch.Tensor | None = None

    def samples(self, dtype: torch.dtype) -> torch.Tensor:
        """Group samples for this forward pass: fresh in training, fixed (seeded) in eval."""
        if self.training and self.resample:
            return self.group.sample(self.n_samples, dtype=dtype)
        if self._fixed is None or self._fixed.dtype != dtype:
            gen = torch.Generator().manual_seed(self.eval_seed)
            self._fixed = self.group.sample(self.n_samples, gen, dtype=dtype)
        return self._fixed

    def features(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Group feature map ``(B, C, N, H, W)`` for samples ``h``."""
        z = F.silu(self.norms[0](self.lift(x, h)))
        for conv, norm in zip(self.convs, self.norms[1:], strict=True):
            z = F.silu(norm(conv(z, h)))
        return z

    def _check(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"lie_group_cnn expects images (B, C, H, W), got shape {tuple(getattr(x, 'shape', ()))}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"lie_group_cnn was built for in_channels={self.in_channels}, got {x.shape[1]} channels")
        if not torch.isfinite(x).all():
            raise ValueError("images contain NaN or Inf values")
        if self.resize is not None and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x)
        z = self.features(x, self.samples(x.dtype))
        return z.amax(dim=(2, 3, 4))  # invariant pooling over the group samples and the plane

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))
