"""Spherical harmonics + SIREN location encoding (Rußwurm, Klemmer, Rolf, Zbinden, Tuia, ICLR 2024).

A location ``(lon, lat)`` in degrees is encoded as ``y = NN(PE(lon, lat))`` where ``PE`` are the
real spherical harmonics of degrees ``l = 0 .. L-1`` (``L**2`` features) and ``NN`` is a
sinusoidal-representation network (SIREN).

Angles follow the reference implementation: ``phi = rad(lon + 180)`` (azimuth) and
``theta = rad(lat + 90)`` (polar angle measured from the south pole), and the associated Legendre
functions (with the Condon-Shortley phase) are evaluated at ``cos(theta)``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Encoder
from geoatlas.validation import PositiveFloat, Size

__all__ = [
    "real_spherical_harmonics", "SphericalHarmonics", "SirenLayer", "SirenNet", "SHSiren",
    "CheckerboardSphere", "fibonacci_lattice", "check_lonlat",
]

#: largest degree count accepted (L**2 features; the recursion is stable far beyond this)
MAX_L = 100


def check_lonlat(x: Any, what: str = "lonlat") -> torch.Tensor:
    """A ``(n, 2)`` floating tensor of (longitude, latitude) in degrees, latitude in [-90, 90]."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if x.dim() != 2 or x.shape[-1] != 2:
        raise ValueError(f"{what} must have shape (n, 2) = (longitude, latitude) in degrees, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} is empty; it must hold at least one location")
    if not x.is_floating_point():
        raise TypeError(f"{what} must be a floating-point tensor, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    lat = x[:, 1]
    if bool((lat.abs() > 90 + 1e-9).any()):
        raise ValueError(f"{what}: latitude (column 1) must lie in [-90, 90] degrees, got values up to {float(lat.abs().max()):.4g}")
    return x


def real_spherical_harmonics(lonlat: torch.Tensor, L: int) -> torch.Tensor:
    """Real orthonormal spherical harmonics of degrees ``0 .. L-1`` at ``(lon, lat)`` degrees.

    Returns ``(n, L**2)``; column ``l**2 + l + m`` holds ``Y_l^m`` with
    ``Y_l^0 = K_l^0 P_l^0``, ``Y_l^m = sqrt(2) K_l^m cos(m phi) P_l^m`` (m > 0),
    ``Y_l^m = sqrt(2) K_l^|m| sin(|m| phi) P_l^|m|`` (m < 0), ``K_l^m`` the normalisation
    ``sqrt((2l+1)(l-m)! / (4 pi (l+m)!))`` and ``P_l^m`` the associated Legendre functions
    (Condon-Shortley phase) at ``cos(theta)``. ``K_l^m P_l^m`` is computed by the stable
    three-term recursion of the normalised functions (no factorials)."""
    lonlat = check_lonlat(lonlat)
    if not isinstance(L, int) or isinstance(L, bool) or not 1 <= L <= MAX_L:
        raise ValueError(f"legendre_polys must be an integer in [1, {MAX_L}], got {L!r}")
    phi = torch.deg2rad(lonlat[:, 0] + 180)
    theta = torch.deg2rad(lonlat[:, 1] + 90)
    x, s = torch.cos(theta), torch.sin(theta).clamp_min(0)
    n = lonlat.shape[0]
    # table[(l, m)] = K_l^m P_l^m(x), m >= 0; diagonal Q_m^m = -sqrt((2m+1)/(2m)) s Q_{m-1}^{m-1}
    diag = [torch.full((n,), math.sqrt(1 / (4 * math.pi)), dtype=x.dtype, device=x.device)]
    for m in range(1, L):
        diag.append(-math.sqrt((2 * m + 1) / (2 * m)) * s * diag[-1])
    table: dict[tuple[int, int], torch.Tensor] = {}
    for m in range(L):
        table[(m, m)] = diag[m]
        if m + 1 < L:
            table[(m + 1, m)] = math.sqrt(2 * m + 3) * x * diag[m]
        for ell in range(m + 2, L):
            a = math.sqrt((4 * ell * ell - 1) / (ell * ell - m * m))
            b = math.sqrt(((ell - 1) ** 2 - m * m) / (4 * (ell - 1) ** 2 - 1))
            table[(ell, m)] = a * (x * table[(ell - 1, m)] - b * table[(ell - 2, m)])
    cols: list[torch.Tensor] = []
    r2 = math.sqrt(2.0)
    for ell in range(L):
        for m in range(-ell, ell + 1):
            if m == 0:
                cols.append(table[(ell, 0)])
            elif m > 0:
                cols.append(r2 * table[(ell, m)] * torch.cos(m * phi))
            else:
                cols.append(r2 * table[(ell, -m)] * torch.sin(-m * phi))
    return torch.stack(cols, dim=-1)


class SphericalHarmonics(Encoder):
    """Positional encoding: real spherical harmonics of degrees ``0 .. legendre_polys-1``.

    Input ``(n, 2)`` longitude, latitude in degrees; output ``(n, legendre_polys**2)``. No
    parameters; differentiable in the input. Orthonormal on the sphere:
    ``int_S2 Y_l^m Y_l'^m' dOmega = delta``.
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, legendre_polys: Size = 10) -> None:
        super().__init__()
        if legendre_polys > MAX_L:
            raise ValueError(f"legendre_polys must be at most {MAX_L}, got {legendre_polys}")
        self.legendre_polys = int(legendre_polys)
        self.embedding_dim = self.legendre_polys**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return real_spherical_harmonics(check_lonlat(x, "x"), self.legendre_polys)


class SirenLayer(nn.Module):
    """``sin(w0 (W h + b))`` (or the identity activation for the last layer).

    Initialisation of the SIREN paper as used by the reference: the first layer draws
    ``W, b ~ U(-1/n_in, 1/n_in)``; the others ``U(-sqrt(c/n_in)/w0, +sqrt(c/n_in)/w0)``, ``c = 6``.
    """

    def __init__(self, dim_in: int, dim_out: int, w0: float = 1.0, c: float = 6.0, is_first: bool = False, activation: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(dim_in, dim_out)
        self.w0 = float(w0)
        self.activation = activation
        bound = (1 / dim_in) if is_first else math.sqrt(c / dim_in) / w0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)
            self.linear.bias.uniform_(-bound, bound)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = self.linear(h)
        return torch.sin(self.w0 * z) if self.activation else z


class SirenNet(nn.Module):
    """``num_layers`` sine layers of width ``dim_hidden`` (first with ``w0_initial``) and a linear output layer."""

    def __init__(self, dim_in: int, dim_hidden: int, dim_out: int, num_layers: int, w0: float = 1.0, w0_initial: float = 30.0) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            SirenLayer(dim_in if i == 0 else dim_hidden, dim_hidden, w0=w0_initial if i == 0 else w0, is_first=i == 0)
            for i in range(num_layers)
        )
        self.last_layer = SirenLayer(dim_hidden if num_layers else dim_in, dim_out, w0=w0, activation=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h)
        return self.last_layer(h)


class SHSiren(Encoder):
    """Location encoder ``SirenNet(SH_L(lon, lat))`` (the paper's SH + SIREN).

    Parameters
    ----------
    out_features : int
        Output size (number of classes for classification; filled in by pipelines).
    legendre_polys : int
        ``L``: degrees ``0 .. L-1`` of the harmonics, ``L**2`` features (reference README: 10).
    dim_hidden : int
        Width of the sine layers (reference README: 64).
    num_layers : int
        Number of hidden sine layers (reference README: 2).
    w0, w0_initial : float
        Frequencies of the later / first sine layers (30 and 1 in the reference).
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(
        self,
        out_features: Size,
        legendre_polys: Size = 10,
        dim_hidden: Size = 64,
        num_layers: Size = 2,
        w0: PositiveFloat = 1.0,
        w0_initial: PositiveFloat = 30.0,
    ) -> None:
        super().__init__()
        self.pe = SphericalHarmonics(legendre_polys)
        self.net = SirenNet(self.pe.embedding_dim, dim_hidden, out_features, num_layers, w0=w0, w0_initial=w0_initial)
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.pe(check_lonlat(x, "x"))
        return self.net(f.to(self.net.last_layer.linear.weight.dtype))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The spherical-harmonic features of the locations."""
        return self.pe(x)


# ---------------------------------------------------------------------------- checkerboard data
def fibonacci_lattice(n: int, n_classes: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` (even) points of a Fibonacci lattice: (lon, lat) in degrees and labels ``i mod n_classes``
    (point ``i`` of ``-n/2 .. n/2-1``: ``lat = asin(2i/(n+1))``, ``lon = (i mod golden) * 360/golden``,
    wrapped to [-180, 180])."""
    half = n // 2
    golden = (1 + math.sqrt(5)) / 2
    i = np.arange(-half, half)
    lat = np.degrees(np.arcsin(2 * i / (2 * half + 1)))
    lon = np.mod(i, golden) * (360 / golden)
    lon = np.where(lon > 180, lon - 360, lon)
    return lon, lat, np.mod(i, n_classes)


def _nearest(lon: np.ndarray, lat: np.ndarray, slon: np.ndarray, slat: np.ndarray) -> np.ndarray:
    """Index of the nearest support point by great-circle (haversine) distance."""
    lon, lat, slon, slat = map(np.radians, (lon, lat, slon, slat))
    a = np.sin((slat[None] - lat[:, None]) / 2) ** 2 + np.cos(lat[:, None]) * np.cos(slat[None]) * np.sin((slon[None] - lon[:, None]) / 2) ** 2
    return np.argmin(np.arcsin(np.sqrt(np.clip(a, 0, 1))), axis=1)


class CheckerboardSphere(Dataset):
    """The paper's checkerboard on the sphere: ``num_support`` Fibonacci-lattice points carry
    labels ``i mod num_classes``; ``num_samples`` locations (uniform on the sphere, normalised
    Gaussians) take the label of their nearest support point. ``grid=True`` samples a Fibonacci
    grid instead (the reference's test set). X: ``(n, 2)`` longitude, latitude in degrees."""

    data_type: ClassVar[str] = "vector"
    task: ClassVar[str] = "classification"

    def __init__(self, num_samples: Size = 10000, num_support: Size = 200, num_classes: Size = 16, seed: int = 0, grid: bool = False) -> None:
        if num_support < 2 or num_support % 2:
            raise ValueError(f"num_support must be an even integer >= 2, got {num_support}")
        if num_classes > num_support:
            raise ValueError(f"num_classes ({num_classes}) must not exceed num_support ({num_support})")
        self.num_samples, self.num_support, self.num_classes, self.seed, self.grid = num_samples, num_support, num_classes, seed, grid

    def load(self) -> DataBundle:
        slon, slat, slab = fibonacci_lattice(self.num_support, self.num_classes)
        if self.grid:
            lon, lat, _ = fibonacci_lattice(self.num_samples + self.num_samples % 2)
        else:
            g = np.random.default_rng(self.seed).normal(size=(3, self.num_samples))
            lon = np.degrees(np.arctan2(g[1], g[0]))
            lat = np.degrees(np.arctan2(g[2], np.hypot(g[0], g[1])))
        y = slab[_nearest(lon, lat, slon, slat)]
        X = np.stack([lon, lat], axis=1).astype(np.float32)
        return DataBundle(X, y.astype(np.int64), "vector", "classification", {"n_classes": self.num_classes})
