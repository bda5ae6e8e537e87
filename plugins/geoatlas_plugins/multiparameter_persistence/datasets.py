"""Synthetic point clouds with background outliers (seeded; nothing downloads)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset

__all__ = ["OutlierPointClouds", "sample_outlier_cloud"]

SHAPES = ("disk", "circle", "two_circles")


def sample_outlier_cloud(shape: str, n_points: int, outlier_fraction: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """One planar point cloud: ``shape`` samples plus uniform outliers in ``[-1.5, 1.5]^2``."""
    n_out = int(round(outlier_fraction * n_points))
    n_in = n_points - n_out
    if shape == "disk":
        r = np.sqrt(rng.uniform(0, 1, n_in))
        t = rng.uniform(0, 2 * np.pi, n_in)
        pts = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    elif shape == "circle":
        t = rng.uniform(0, 2 * np.pi, n_in)
        pts = np.stack([np.cos(t), np.sin(t)], 1)
    elif shape == "two_circles":
        t = rng.uniform(0, 2 * np.pi, n_in)
        side = np.where(rng.uniform(size=n_in) < 0.5, -1.0, 1.0)
        pts = np.stack([0.5 * np.cos(t) + 0.7 * side, 0.5 * np.sin(t)], 1)
    else:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {shape!r}")
    pts = pts + noise * rng.normal(size=pts.shape)
    out = rng.uniform(-1.5, 1.5, size=(n_out, 2))
    cloud = np.concatenate([pts, out])
    return cloud[rng.permutation(len(cloud))]


class OutlierPointClouds(Dataset):
    """Planar point clouds (disk / circle / two circles) drowned in uniform outliers; class = shape.

    With enough outliers the Rips persistence of the shape is destroyed (outliers fill the holes
    at small scales and create spurious cycles), while the points of high density still carry the
    shape: the case for the density bifiltration (Rips x codensity).

    Parameters
    ----------
    n_per_class, n_points : int
        Clouds per class, points per cloud.
    outlier_fraction : float
        Fraction of points drawn uniformly in ``[-1.5, 1.5]^2`` (in ``[0, 0.9]``).
    noise : float
        Gaussian noise on the shape points.
    shapes : list of str
        Subset of ``disk``, ``circle``, ``two_circles``.
    seed : int
    """

    data_type: ClassVar[str] = "point_cloud"

    def __init__(
        self,
        n_per_class: int = 40,
        n_points: int = 80,
        outlier_fraction: float = 0.4,
        noise: float = 0.05,
        shapes: list[str] | None = None,
        seed: int = 0,
    ) -> None:
        for name, v in (("n_per_class", n_per_class), ("n_points", n_points)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise ValueError(f"{name} must be an integer >= 2, got {v!r}")
        if not 0 <= outlier_fraction <= 0.9:
            raise ValueError(f"outlier_fraction must lie in [0, 0.9], got {outlier_fraction!r}")
        if not noise >= 0:
            raise ValueError(f"noise must be >= 0, got {noise!r}")
        shapes = list(shapes) if shapes is not None else list(SHAPES)
        for s in shapes:
            if s not in SHAPES:
                raise ValueError(f"shapes must be drawn from {', '.join(SHAPES)}; got {s!r}")
        self.n_per_class, self.n_points = n_per_class, n_points
        self.outlier_fraction, self.noise, self.shapes, self.seed = outlier_fraction, noise, shapes, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        X, y = [], []
        for label, shape in enumerate(self.shapes):
            for _ in range(self.n_per_class):
                X.append(sample_outlier_cloud(shape, self.n_points, self.outlier_fraction, self.noise, rng))
                y.append(label)
        perm = rng.permutation(len(X))
        Xa = np.stack(X)[perm].astype(np.float32)
        return DataBundle(Xa, np.asarray(y, dtype=np.int64)[perm], "point_cloud", meta={"classes": self.shapes})
