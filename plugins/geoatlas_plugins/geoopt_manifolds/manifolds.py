"""geoopt manifolds with geoatlas metadata. Only thin subclasses: the geometry is geoopt's."""

from __future__ import annotations

import geoopt
import torch

from geoatlas.interfaces import Manifold


class Euclidean(Manifold, geoopt.Euclidean):
    """Flat space R^dim."""

    name = "euclidean"

    def __init__(self, dim: int = 2) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        super().__init__(ndim=1)
        self._ga_dimension = dim

    @property
    def curvature(self) -> float:
        return 0.0

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        return torch.randn(n, self._ga_dimension, generator=generator, dtype=dtype)


class Sphere(Manifold, geoopt.Sphere):
    """Unit sphere S^{dim} embedded in R^{dim+1}."""

    name = "sphere"

    def __init__(self, dim: int = 2) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        super().__init__()
        self._ga_dimension = dim

    @property
    def curvature(self) -> float:
        return 1.0

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        x = torch.randn(n, self._ga_dimension + 1, generator=generator, dtype=dtype)
        return x / x.norm(dim=-1, keepdim=True)


class PoincareBall(Manifold, geoopt.PoincareBall):
    """Poincaré ball of dimension ``dim`` and curvature ``-c``."""

    name = "poincare_ball"

    def __init__(self, dim: int = 2, c: float = 1.0, learnable: bool = False) -> None:
        if not c > 0:
            raise ValueError(f"curvature parameter c must be > 0, got {c}")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        super().__init__(c=c, learnable=learnable)
        self._ga_dimension = dim

    @property
    def curvature(self) -> float:
        return -float(self.c)

    def _ga_check_domain(self, x: torch.Tensor, what: str, dim: int = -1) -> bool:
        # points must lie strictly inside the ball of radius 1/sqrt(c); outside it geoopt's
        # formulas still return finite (meaningless) numbers. One pass: a largest squared norm
        # below the radius squared also proves the points finite (NaN and Inf fail it).
        radius = float(self.c.detach()) ** -0.5
        sq = x.detach().pow(2).sum(dim=dim)
        if sq.numel() and not bool(sq.max() < radius * radius):
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"{what} contains NaN or Inf values")
            norm = sq.sqrt()
            raise ValueError(
                f"{what} is not inside the Poincaré ball of radius 1/sqrt(c) = {radius:.6g} "
                f"(largest norm {float(norm.max()):.6g}); map Euclidean vectors in with expmap0 or projx"
            )
        return True

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        v = 0.5 * torch.randn(n, self._ga_dimension, generator=generator, dtype=dtype)
        return self.expmap0(v)


class Lorentz(Manifold, geoopt.Lorentz):
    """Hyperboloid model of dimension ``dim`` (points in R^{dim+1}), curvature ``-1/k``."""

    name = "lorentz"

    def __init__(self, dim: int = 2, k: float = 1.0, learnable: bool = False) -> None:
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k}")
        super().__init__(k=k, learnable=learnable)
        self._ga_dimension = dim

    @property
    def curvature(self) -> float:
        return -1.0 / float(self.k)

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        v = 0.5 * torch.randn(n, self._ga_dimension + 1, generator=generator, dtype=dtype)
        v[..., 0] = 0
        return self.expmap0(v)


class Stiefel(Manifold, geoopt.CanonicalStiefel):
    """Stiefel manifold of orthonormal ``n x p`` frames, canonical metric."""

    name = "stiefel"

    def __new__(cls, *args: object, **kwargs: object) -> Stiefel:
        # geoopt.Stiefel.__new__ takes only `canonical`; our constructor has n and p
        return super(geoopt.Stiefel, cls).__new__(cls)

    def __init__(self, n: int = 3, p: int = 2) -> None:
        if not 1 <= p <= n:
            raise ValueError(f"need 1 <= p <= n, got n={n}, p={p}")
        super().__init__()
        self.n, self.p = n, p
        self._ga_dimension = n * p - p * (p + 1) // 2

    def random_point(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        a = torch.randn(n, self.n, self.p, generator=generator, dtype=dtype)
        q, r = torch.linalg.qr(a)
        return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


# SPD: symmetric positive-definite matrices with selectable metrics (affine-invariant by
# default, as geoopt's SymmetricPositiveDefinite; log-Euclidean, Bures-Wasserstein and the
# generalized Bures-Wasserstein metric). Implemented in spd.py and re-exported here.
from .spd import SPD  # noqa: E402

__all__ = ["SPD", "Euclidean", "Lorentz", "PoincareBall", "Sphere", "Stiefel"]
