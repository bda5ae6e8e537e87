"""Torch layers that consume signed measures, and an end-to-end filtration-learning encoder.

Following Scoccola et al. (ICML 2024): a learnable filtration ``f_theta`` on the points, the Rips x
``f_theta`` bifiltration, its Hilbert signed measures (computed combinatorially by ``multipers``,
coordinates read back differentiably), a convolution vectorisation, and a classifier head; the loss
gradient reaches ``theta`` through the atoms' coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder

from ._checks import as_point_cloud, check_degrees, check_positive, check_resolution
from .filtrations import gaussian_codensity, rips_lowerstar
from .signed_measures import compute_signed_measures

__all__ = ["SignedMeasureConv", "SignedMeasureNet"]

SignedMeasureT = tuple[torch.Tensor, torch.Tensor]


class SignedMeasureConv(nn.Module):
    """Gaussian convolution of signed measures on a fixed grid, with a learnable bandwidth.

    Input: a batch (list) of samples, each a list of ``n_measures`` signed measures
    ``(points (K, n), weights (K,))`` in the coordinates of ``box``. Output:
    ``(batch, n_measures * prod(resolution))`` with
    ``v_m(x) = sum_k w_k exp(-|x - p_k|^2 / (2 sigma_m^2)) / (sigma_m sqrt(2 pi))^n``.

    Parameters
    ----------
    n_measures : int
        Signed measures per sample (e.g. one per homological degree).
    n_parameters : int
        Dimension of the measures' support.
    resolution : int or list of int
        Grid points per axis.
    box : [[lo...], [hi...]]
        Grid extent.
    bandwidth : float
        Initial ``sigma`` (one per measure).
    learn_bandwidth : bool
    """

    def __init__(
        self,
        n_measures: int = 2,
        n_parameters: int = 2,
        resolution: int | Sequence[int] = 8,
        box: Sequence[Sequence[float]] = ((0.0, 0.0), (1.0, 1.0)),
        bandwidth: float = 0.1,
        learn_bandwidth: bool = True,
    ) -> None:
        super().__init__()
        check_positive(bandwidth, "bandwidth")
        if n_measures < 1 or n_parameters < 1:
            raise ValueError("n_measures and n_parameters must be >= 1")
        res = check_resolution(resolution, n_parameters)
        b = np.asarray(box, dtype=np.float64)
        if b.shape != (2, n_parameters) or not (b[0] < b[1]).all():
            raise ValueError(f"box must be [[lo...], [hi...]] with {n_parameters} coordinates and lo < hi, got {box!r}")
        axes = [torch.linspace(float(b[0, p]), float(b[1, p]), res[p], dtype=torch.float64) for p in range(n_parameters)]
        mesh = torch.meshgrid(*axes, indexing="ij")
        self.register_buffer("grid", torch.stack([m.reshape(-1) for m in mesh], 1))
        log_bw = torch.full((n_measures,), float(np.log(bandwidth)), dtype=torch.float64)
        self.log_bandwidth = nn.Parameter(log_bw, requires_grad=learn_bandwidth)
        self.n_measures, self.n_parameters = n_measures, n_parameters

    @property
    def out_features(self) -> int:
        return self.n_measures * int(self.grid.shape[0])

    def forward(self, measures: Sequence[Sequence[SignedMeasureT]]) -> torch.Tensor:
        rows = []
        for sample in measures:
            if len(sample) != self.n_measures:
                raise ValueError(f"expected {self.n_measures} signed measures per sample, got {len(sample)}")
            parts = []
            for m, (pts, w) in enumerate(sample):
                if pts.dim() != 2 or pts.shape[1] != self.n_parameters:
                    raise ValueError(f"signed measure points must have shape (K, {self.n_parameters}), got {tuple(pts.shape)}")
                bw = self.log_bandwidth[m].exp()
                if len(pts) == 0:
                    parts.append(torch.zeros(self.grid.shape[0], dtype=torch.float64, device=self.grid.device))
                    continue
                sq = ((self.grid[:, None, :] - pts[None, :, :].to(torch.float64)) ** 2).sum(-1)
                K = torch.exp(-sq / (2 * bw**2)) / (bw * np.sqrt(2 * np.pi)) ** self.n_parameters
                parts.append(K @ w.to(torch.float64))
            rows.append(torch.cat(parts))
        return torch.stack(rows)


class SignedMeasureNet(Encoder):
    """Point cloud -> learnable Rips x f_theta bifiltration -> Hilbert signed measures -> logits.

    ``f_theta(x_i) = sigmoid(z_mid(x_i) + MLP(z(x_i)))`` with ``z`` the standardised codensities at
    ``codensity_bandwidths`` and ``z_mid`` the middle one: a learnable, rigid-motion invariant
    function of the points that starts (last layer zero-initialised) at the fixed density
    filtration and learns a correction. Rips radii are divided by ``radius_scale`` so the measures live in ``[0, 1]^2``.

    Parameters
    ----------
    num_classes : int
        Output size (logits).
    degrees : list of int
        Homological degrees of the Hilbert signed measures.
    codensity_bandwidths : list of float
        KDE bandwidths of the input features of ``f_theta``.
    hidden : int
        Width of the filtration MLP and of the head.
    resolution : int
        Convolution grid points per axis.
    bandwidth : float
        Initial convolution bandwidth (learnable).
    radius_scale : float
        Rips radius mapped to 1 (default 1.0; set it to the data's scale).
    threshold : float, optional
        Largest Rips radius (default: each cloud's enclosing radius).
    learn_filtration : bool
        Learn ``f_theta`` (else ``f`` = standardised codensity at the middle bandwidth, fixed).
    """

    input_type: ClassVar[str] = "point_cloud"
    output_space: ClassVar[str] = "euclidean"
    invariant_to: ClassVar[tuple[str, ...]] = ("so2", "so3", "son", "o_n", "se2", "se3", "translations", "permutations")

    def __init__(
        self,
        num_classes: int = 2,
        degrees: Sequence[int] = (0, 1),
        codensity_bandwidths: Sequence[float] = (0.1, 0.2, 0.4),
        hidden: int = 16,
        resolution: int = 8,
        bandwidth: float = 0.1,
        radius_scale: float = 1.0,
        threshold: float | None = None,
        learn_filtration: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
        self.degrees = check_degrees(degrees)
        if not codensity_bandwidths:
            raise ValueError("codensity_bandwidths must be a non-empty list of positive numbers")
        for h in codensity_bandwidths:
            check_positive(h, "codensity_bandwidths")
        check_positive(radius_scale, "radius_scale")
        check_positive(threshold, "threshold", allow_none=True)
        self.codensity_bandwidths = tuple(float(h) for h in codensity_bandwidths)
        self.radius_scale, self.threshold, self.learn_filtration = float(radius_scale), threshold, learn_filtration
        m = len(self.codensity_bandwidths)
        self.filtration_mlp = nn.Sequential(nn.Linear(m, hidden), nn.Tanh(), nn.Linear(hidden, 1)).double()
        nn.init.zeros_(self.filtration_mlp[2].weight)
        nn.init.zeros_(self.filtration_mlp[2].bias)
        self.conv = SignedMeasureConv(len(self.degrees), 2, resolution, ((0.0, 0.0), (1.0, 1.0)), bandwidth)
        self.head = nn.Sequential(nn.LayerNorm(self.conv.out_features), nn.Linear(self.conv.out_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)).double()

    def filtration_values(self, pts: torch.Tensor) -> torch.Tensor:
        """``f_theta`` at each point of one cloud (values in ``(0, 1)``)."""
        feats = torch.stack([gaussian_codensity(pts, h) for h in self.codensity_bandwidths], 1)
        feats = (feats - feats.mean(0, keepdim=True)) / (feats.std(0, keepdim=True) + 1e-6)
        base = feats[:, len(self.codensity_bandwidths) // 2]
        if not self.learn_filtration:
            return torch.sigmoid(base)
        # learned correction of the (standardised) codensity; zero at initialisation
        return torch.sigmoid(base + self.filtration_mlp(feats)[:, 0])

    def signed_measures(self, cloud: Any) -> list[SignedMeasureT]:
        """The Hilbert signed measures (rescaled to ``[0, 1]^2``) of one point cloud."""
        pts = as_point_cloud(cloud, "x")
        f = self.filtration_values(pts)
        bif = rips_lowerstar(pts, f, threshold=self.threshold, max_dim=max(self.degrees) + 1, collapse=True, order_vertices=False)
        scale = torch.tensor([self.radius_scale, 1.0], dtype=torch.float64)
        return [(p / scale, w) for p, w in compute_signed_measures(bif, "hilbert", self.degrees)]

    def embed(self, x: Any) -> torch.Tensor:
        """Convolved signed measures ``(batch, features)``."""
        clouds = [x[i] for i in range(x.shape[0])] if isinstance(x, torch.Tensor) else list(x)
        if isinstance(x, torch.Tensor) and x.dim() != 3:
            raise ValueError(f"x must be a batch of point clouds (B, P, d), got shape {tuple(x.shape)}")
        return self.conv([self.signed_measures(c) for c in clouds])

    def forward(self, x: Any) -> torch.Tensor:
        z = self.embed(x)
        dtype = x.dtype if isinstance(x, torch.Tensor) and x.is_floating_point() else torch.float32
        return self.head(z).to(dtype)
