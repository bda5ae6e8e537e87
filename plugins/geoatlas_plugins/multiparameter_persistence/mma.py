"""MMA: multiparameter module approximation and its image / landscape vectorisations.

Loiseaux, Carrière, Blumberg, "A Framework for Fast and Stable Representations of Multiparameter
Persistent Homology Decompositions", NeurIPS 2023 (arXiv 2306.11170). The decomposition into
interval summands is computed by ``multipers.module_approximation`` (lines of slope 1 over a box,
vineyards, matched bars); the vectorisations are the paper's:

- image: ``V_p(x) = sum_I w(I)^p K(I, x)`` with ``w(I)`` the side of the largest cube in the
  box-clipped support of ``I``; ``kernel="linear"`` uses the local weight
  ``nu_delta(I)(x) = w(I ∩ [x - delta, x + delta]) / (2 delta)``, the other kernels
  ``K(d(x, I) / delta)`` of the l_inf distance to the summand;
- landscape: ``lambda_k(x)`` = k-th largest ``max_{b <= x <= d} min(min_i(x_i - b_i), min_i(d_i - x_i))``
  over summands (Vipond's multiparameter landscape of an interval-decomposable module).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from geoatlas.interfaces import Descriptor

from ._checks import (
    check_box,
    check_choice,
    check_degrees,
    check_positive,
    check_resolution,
    iter_samples,
)
from .filtrations import Bifiltration, make_filtration

__all__ = ["MMA", "MMAImage", "MMALandscape", "canonical_point_order"]


def canonical_point_order(sample: Any) -> Any:
    """The points of one cloud in lexicographic order of their coordinates (a function of the set).

    ``multipers.module_approximation`` is exact only for interval-decomposable modules; otherwise the
    summands it returns (bars matched along its lines, ties between simplices of equal grade broken
    by the simplex order) depend on the vertex numbering, and the filtration-domination edge collapse
    removes different edges for different numberings. Relabelling the points of a 60-point Gaussian
    cloud changed the MMA image by up to 7 % (16 % in the review) although the module is the same.
    Building the complex on the points sorted lexicographically makes the descriptor a function of the
    point set: a permuted cloud gives bit-identical input to multipers. Equal points are
    interchangeable, so their relative order does not matter.
    """
    if isinstance(sample, torch.Tensor):
        pts = sample.detach()
        arr = pts.to(torch.float64).numpy() if pts.dim() == 2 else None
    else:
        try:
            arr = np.asarray(sample, dtype=np.float64)
        except (TypeError, ValueError):
            return sample  # let the filtration raise its own error
        pts = arr
    if arr is None or arr.ndim != 2 or arr.shape[0] < 2 or not np.isfinite(arr).all():
        return sample  # invalid clouds are reported by the filtration
    order = np.lexsort(arr.T[::-1])
    return pts[torch.as_tensor(order)] if isinstance(pts, torch.Tensor) else np.ascontiguousarray(arr[order])


def _vine_slicer(cx: Any) -> Any:
    """The vineyard slicer ``multipers.module_approximation`` builds from a simplex tree, built faster.

    For a (1-critical, unsqueezed) ``SimplexTreeMulti`` multipers 2.3.2 makes
    ``Slicer(st, vineyard=True, backend="matrix")`` from the blocks ``st._to_scc()`` (one per
    dimension, highest first) through ``_blocks2boundary_dimension_grades``, which deep-copies the
    blocks it has just made and turns every boundary into a numpy array (``list + np.int64``) that
    the slicer then reads back element by element: ~1 ms of Python per 80-point cloud, ~8 % of the
    MMA step. Here the same boundaries (indices shifted by the number of simplices of dimension
    < d - 1, as there), dimensions and grades are passed as plain lists, so the slicer and the
    module are the same (pinned bit for bit against ``mp.Slicer(st)`` and
    ``mp.module_approximation(st)`` in ``test_multiparameter_persistence_mma_fastpath.py``). Any
    other input (slicers, squeezed or k-critical trees, empty trees) is passed through unchanged.
    """
    from multipers.simplex_tree_multi import is_simplextree_multi

    if not is_simplextree_multi(cx) or cx.is_squeezed or cx.is_kcritical or len(cx) == 0:
        return cx
    import multipers.slicer as mps

    blocks = cx._to_scc()[::-1]  # dimension 0 first
    sizes = [len(g) for g, _ in blocks]
    grades = np.concatenate([g for g, _ in blocks], dtype=np.float64)
    dimensions = np.repeat(np.arange(len(blocks)), sizes)
    boundary: list[Any] = []
    offset = 0
    for d, (_, bd) in enumerate(blocks):
        if d >= 2:
            offset += sizes[d - 2]
        boundary.extend(bd if offset == 0 else [[v + offset for v in face] for face in bd])
    slicer_type = mps.get_matrix_slicer(is_vineyard=True, is_k_critical=False, dtype=cx.dtype, col="INTRUSIVE_SET", pers_backend="matrix")
    return slicer_type(tuple(boundary), dimensions, grades)


class MMA(Descriptor):
    """Module approximation of each sample's bifiltration, vectorised as images or landscapes.

    Parameters
    ----------
    filtration, filtration_params : the bifiltration (see ``SignedMeasure``).
    degrees : list of int
        Homological degrees.
    vectorization : {"image", "landscape"}
    kernel : {"linear", "gaussian", "exponential", "linear2"}
        Image kernel (``linear``: the paper's local-weight image).
    bandwidth : float
        Image bandwidth ``delta`` (same units as the filtration values).
    p : float
        Exponent of the summand weights ``w(I)^p``.
    normalize : bool
        Divide the linear image by ``sum_I w(I)^p``.
    resolution : int or list of int
        Pixels per axis (image: ``linspace(lo, hi, res)``; landscape: ``lo + j (hi - lo) / res``).
    ks : list of int
        Landscape indices (0 = the largest).
    box : [[lo...], [hi...]], optional
        Box of the approximation and of the vectorisation; default: the training range (``fit``).
    max_error : float, optional
        Approximation precision ``delta`` of MMA (line spacing); default: from ``nlines``.
    nlines : int
        Target number of lines when ``max_error`` is not given.
    """

    input_type: ClassVar[str] = "point_cloud"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def __init__(
        self,
        filtration: str = "rips_codensity",
        filtration_params: dict[str, Any] | None = None,
        degrees: Sequence[int] = (0, 1),
        vectorization: str = "image",
        kernel: str = "linear",
        bandwidth: float = 0.1,
        p: float = 1.0,
        normalize: bool = True,
        resolution: int | Sequence[int] = 16,
        ks: Sequence[int] = (0, 1, 2),
        box: Sequence[Sequence[float]] | None = None,
        max_error: float | None = None,
        nlines: int = 200,
    ) -> None:
        self.filtration = filtration
        self.filtration_params = filtration_params
        self.degrees = degrees
        self.vectorization = vectorization
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.p = p
        self.normalize = normalize
        self.resolution = resolution
        self.ks = ks
        self.box = box
        self.max_error = max_error
        self.nlines = nlines
        self.input_type = make_filtration(filtration, filtration_params).input_type

    def _validate(self) -> None:
        check_degrees(self.degrees)
        check_choice(self.vectorization, "vectorization", ("image", "landscape"))
        check_choice(self.kernel, "kernel", ("linear", "gaussian", "exponential", "linear2"))
        check_positive(self.bandwidth, "bandwidth")
        check_positive(self.max_error, "max_error", allow_none=True)
        if isinstance(self.p, bool) or not isinstance(self.p, (int, float)) or not self.p >= 0:
            raise ValueError(f"p must be a number >= 0, got {self.p!r}")
        if isinstance(self.nlines, bool) or not isinstance(self.nlines, (int, np.integer)) or self.nlines < 2:
            raise ValueError(f"nlines must be an integer >= 2, got {self.nlines!r}")
        if self.vectorization == "landscape":
            ks = self.ks
            if not isinstance(ks, (list, tuple)) or not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in ks):
                raise ValueError(f"ks must be a non-empty list of integers >= 0, got {ks!r}")

    def _bifiltration(self, sample: Any, **kw: Any) -> Any:
        if isinstance(sample, Bifiltration):  # output of a filtration step, used as built
            return sample
        filt = make_filtration(self.filtration, self.filtration_params)
        if filt.input_type == "point_cloud":
            sample = canonical_point_order(sample)
        return filt.build(sample, **kw)

    def fit(self, X: Any, y: Any = None) -> MMA:
        """Fix the box: the range of the training filtration values (or ``box``)."""
        self._validate()
        samples = iter_samples(X)
        if not samples:
            raise ValueError("X is empty: fit needs at least one sample")
        box = check_box(self.box)
        if box is None:
            b = np.stack([s.bounds() if isinstance(s, Bifiltration) else make_filtration(self.filtration, self.filtration_params).bounds(s) for s in samples])
            box = np.stack([b[:, 0].min(0), b[:, 1].max(0)])
            same = box[1] <= box[0]
            box[1, same] = box[0, same] + 1.0
            # 1% margin: no pixel sits exactly on the extreme filtration values of the training set
            # (multipers' image is discontinuous where a pixel coordinate equals a birth coordinate)
            margin = 0.01 * (box[1] - box[0])
            box = np.stack([box[0] - margin, box[1] + margin])
        self.box_ = box
        return self

    def module(self, sample: Any) -> Any:
        """The ``multipers`` module approximation (a ``PyModule``) of one sample."""
        import multipers as mp

        if not hasattr(self, "box_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X) first")
        degs = check_degrees(self.degrees)
        bif = self._bifiltration(sample, max_dim=max(degs) + 1, collapse=True)
        if bif.complex is None:
            raise ValueError("MMA needs a 1-critical bifiltration; degree-Rips is multi-critical (use signed_measure)")
        kw: dict[str, Any] = {"box": self.box_, "n_jobs": 1, "ignore_warnings": True}
        if self.max_error is not None:
            kw["max_error"] = float(self.max_error)
        else:
            kw["nlines"] = int(self.nlines)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\(copy warning\)")  # cubical slicers are copied to vine form
            return mp.module_approximation(_vine_slicer(bif.complex), **kw)

    def vectorize(self, mod: Any) -> np.ndarray:
        """The image / landscape of a module, flattened (degrees first)."""
        degs = list(check_degrees(self.degrees))
        n = self.box_.shape[1]
        res = check_resolution(self.resolution, n)
        if self.vectorization == "image":
            img = mod.representation(
                degrees=degs, bandwidth=float(self.bandwidth), resolution=list(res), kernel=self.kernel,
                p=float(self.p), normalize=bool(self.normalize), box=self.box_, n_jobs=1, flatten=True,
            )
            # multipers lists pixels with the first parameter varying fastest: reorder to
            # (degree, res_0, ..., res_{n-1}) with [i, j] = value at (axis_0[i], axis_1[j])
            img = np.asarray(img, dtype=np.float64).reshape(len(degs), *res[::-1])
            out = np.transpose(img, (0, *range(n, 0, -1))).reshape(-1)
        else:
            parts = []
            for d in degs:
                L = np.asarray(mod.landscapes(degree=d, ks=list(self.ks), box=self.box_, resolution=list(res)), dtype=np.float64)
                parts.append(L.reshape(-1))
            out = np.concatenate(parts)
        # multipers already returns 0 for a degree whose summands all have weight 0 (the 0/0 of
        # ``normalize``), so a non-finite value here is a defect upstream: never mask it as 0
        bad = ~np.isfinite(out)
        if bad.any():
            raise ValueError(
                f"the MMA {self.vectorization} has {int(bad.sum())} NaN/Inf values out of {out.size} "
                f"(box {self.box_.tolist()}, bandwidth {self.bandwidth!r}); check the box and the filtration values"
            )
        return out

    def transform(self, X: Any) -> np.ndarray:
        """``(n_samples, n_features)`` images or landscapes."""
        self._validate()
        rows = [self.vectorize(self.module(s)) for s in iter_samples(X)]
        if not rows:
            return np.zeros((0, 0))
        return np.stack(rows)


class MMAImage(MMA):
    """MMA image representation (``vectorization="image"``); see :class:`MMA`."""

    def __init__(
        self,
        filtration: str = "rips_codensity",
        filtration_params: dict[str, Any] | None = None,
        degrees: Sequence[int] = (0, 1),
        kernel: str = "linear",
        bandwidth: float = 0.1,
        p: float = 1.0,
        normalize: bool = True,
        resolution: int | Sequence[int] = 16,
        box: Sequence[Sequence[float]] | None = None,
        max_error: float | None = None,
        nlines: int = 200,
    ) -> None:
        super().__init__(filtration, filtration_params, degrees, "image", kernel, bandwidth, p, normalize, resolution, (0,), box, max_error, nlines)
        del self.vectorization, self.ks

    vectorization = "image"  # type: ignore[assignment]
    ks = (0,)  # type: ignore[assignment]


class MMALandscape(MMA):
    """MMA multiparameter landscapes (``vectorization="landscape"``); see :class:`MMA`."""

    def __init__(
        self,
        filtration: str = "rips_codensity",
        filtration_params: dict[str, Any] | None = None,
        degrees: Sequence[int] = (0, 1),
        ks: Sequence[int] = (0, 1, 2),
        resolution: int | Sequence[int] = 16,
        box: Sequence[Sequence[float]] | None = None,
        max_error: float | None = None,
        nlines: int = 200,
    ) -> None:
        super().__init__(filtration, filtration_params, degrees, "landscape", "linear", 0.1, 1.0, True, resolution, ks, box, max_error, nlines)
        del self.vectorization, self.kernel, self.bandwidth, self.p, self.normalize

    vectorization = "landscape"  # type: ignore[assignment]
    kernel = "linear"
    bandwidth = 0.1
    p = 1.0
    normalize = True
