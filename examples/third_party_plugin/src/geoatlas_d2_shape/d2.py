"""The D2 shape distribution (Osada et al., 2002)."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import Descriptor
from geoatlas.utils import check_finite


class D2ShapeDistribution(Descriptor):
    """Histogram of pairwise distances of a point cloud.

    Parameters
    ----------
    bins : int
        Number of histogram bins.
    max_distance : float
        Upper edge of the histogram, in units of the mean pairwise distance when ``normalize``.
    normalize : bool
        Divide distances by their mean (scale invariance).
    n_pairs : int or None
        Number of random pairs (seeded by ``seed``); ``None`` uses all pairs (exactly invariant).
    seed : int
        Seed for the pair sampling.
    """

    input_type = "point_cloud"
    per_sample = True

    def __init__(self, bins: int = 32, max_distance: float = 3.0, normalize: bool = True, n_pairs: int | None = None, seed: int = 0) -> None:
        self.bins = bins
        self.max_distance = max_distance
        self.normalize = normalize
        self.n_pairs = n_pairs
        self.seed = seed

    def _one(self, pts: Any) -> np.ndarray:
        pts = np.asarray(pts, dtype=np.float64)
        check_finite(pts, "point cloud")
        if pts.ndim != 2 or len(pts) < 2:
            raise ValueError(f"each point cloud must be an (n_points >= 2, dim) array, got shape {pts.shape}")
        if self.n_pairs is None:
            i, j = np.triu_indices(len(pts), 1)
        else:
            rng = np.random.default_rng(self.seed)
            i, j = rng.integers(0, len(pts), (2, self.n_pairs))
        d = np.linalg.norm(pts[i] - pts[j], axis=1)
        if self.normalize:
            d = d / max(d.mean(), 1e-12)
        h, _ = np.histogram(np.clip(d, 0, self.max_distance), bins=self.bins, range=(0, self.max_distance))
        return h / h.sum()

    def transform(self, X: Any) -> np.ndarray:
        if self.bins < 1 or not self.max_distance > 0:
            raise ValueError(f"bins must be >= 1 and max_distance > 0, got {self.bins}, {self.max_distance}")
        if len(X) == 0:
            raise ValueError("no point clouds given")
        return np.stack([self._one(x) for x in X])
