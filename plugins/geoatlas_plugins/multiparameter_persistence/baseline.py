"""One-parameter baseline: Rips persistence (gudhi) vectorised as a persistence image (gudhi)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Descriptor

from ._checks import as_point_cloud, check_degrees, check_positive, check_resolution, iter_samples

__all__ = ["PersistenceImage1P", "rips_diagrams"]


def rips_diagrams(points: Any, degrees: Sequence[int], threshold: float | None = None) -> list[np.ndarray]:
    """Finite Rips persistence diagrams ``(birth, death)`` per degree, computed by gudhi."""
    import gudhi as gd

    pts = as_point_cloud(points).detach().numpy()
    D = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    thr = float(np.min(D.max(1))) if threshold is None else float(threshold)
    st = gd.RipsComplex(distance_matrix=D, max_edge_length=thr).create_simplex_tree(max_dimension=1)
    # edge collapses (Boissonnat & Pritam) keep the persistence of the flag complex
    for _ in range(10):
        before = st.num_simplices()
        st.collapse_edges()
        if st.num_simplices() == before:
            break
    st.expansion(max(degrees) + 1)
    st.compute_persistence()
    out = []
    for d in degrees:
        dg = np.asarray(st.persistence_intervals_in_dimension(d), dtype=np.float64).reshape(-1, 2)
        out.append(dg[np.isfinite(dg).all(1)])
    return out


def _persistence_weight(x: np.ndarray) -> float:
    """Linear weight of a point ``(birth, persistence)`` of a persistence image."""
    return float(x[1])


class PersistenceImage1P(Descriptor):
    """Persistence images (Adams et al., JMLR 2017) of the Rips filtration, via gudhi.

    The one-parameter baseline of the outlier example: ``gudhi.RipsComplex`` persistence in each
    degree, then ``gudhi.representations.PersistenceImage`` (Gaussian of ``bandwidth``, linear
    persistence weight, ``resolution`` x ``resolution`` pixels over the training range).
    """

    input_type: ClassVar[str] = "point_cloud"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def __init__(
        self,
        degrees: Sequence[int] = (0, 1),
        bandwidth: float = 0.05,
        resolution: int = 16,
        threshold: float | None = None,
    ) -> None:
        self.degrees = degrees
        self.bandwidth = bandwidth
        self.resolution = resolution
        self.threshold = threshold

    def _validate(self) -> tuple[int, ...]:
        check_positive(self.bandwidth, "bandwidth")
        check_positive(self.threshold, "threshold", allow_none=True)
        check_resolution(self.resolution, 1)
        return check_degrees(self.degrees)

    def fit(self, X: Any, y: Any = None) -> PersistenceImage1P:
        """Fix the image range (birth x persistence) from the training diagrams."""
        degs = self._validate()
        samples = iter_samples(X)
        if not samples:
            raise ValueError("X is empty: fit needs at least one sample")
        ranges = []
        dgms = [rips_diagrams(s, degs, self.threshold) for s in samples]
        for j in range(len(degs)):
            allp = np.concatenate([dg[j] for dg in dgms])
            if len(allp) == 0:
                ranges.append([0.0, 1.0, 0.0, 1.0])
                continue
            b, p = allp[:, 0], allp[:, 1] - allp[:, 0]
            bl, bh = float(b.min()), float(b.max())
            if bh <= bl:
                bl, bh = bl - 0.5 * float(self.bandwidth) - 1e-9, bh + 0.5 * float(self.bandwidth) + 1e-9
            ranges.append([bl, bh, 0.0, float(max(p.max(), 1e-9))])
        self.im_range_ = np.asarray(ranges)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Concatenated persistence images ``(n_samples, len(degrees) * resolution**2)``."""
        from gudhi.representations import PersistenceImage

        degs = self._validate()
        if not hasattr(self, "im_range_"):
            raise RuntimeError("PersistenceImage1P is not fitted: call fit(X) first")
        r = int(self.resolution)
        pis = [
            PersistenceImage(bandwidth=float(self.bandwidth), weight=_persistence_weight, resolution=[r, r], im_range=list(self.im_range_[j]))
            for j in range(len(degs))
        ]
        rows = []
        for s in iter_samples(X):
            dg = rips_diagrams(s, degs, self.threshold)
            rows.append(np.concatenate([pis[j].fit_transform([dg[j]])[0] if len(dg[j]) else np.zeros(r * r) for j in range(len(degs))]))
        return np.stack(rows) if rows else np.zeros((0, len(degs) * r * r))
