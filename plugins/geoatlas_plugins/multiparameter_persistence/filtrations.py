"""Bifiltrations built from raw samples (point clouds, graphs, images) on top of ``multipers``.

Every builder returns a :class:`Bifiltration`: a ``multipers`` complex whose filtration values are
plain floats (what ``multipers`` computes on), plus, for each parameter, a 1-D torch tensor
``sources[p]`` that contains every filtration value of that parameter *as a function of the input*
(distances and function values keep their autograd history). Invariants are computed by
``multipers`` on grid indices; their coordinates are then read back from the differentiable grid
(Scoccola et al., ICML 2024, "exact grid" strategy), which is how gradients reach the points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from geoatlas.interfaces import Descriptor

from ._checks import as_point_cloud, check_positive, iter_samples

__all__ = [
    "Bifiltration",
    "CubicalBifiltration",
    "DegreeRips",
    "DelaunayCore",
    "GraphDegreeRips",
    "FILTRATIONS",
    "GraphFunctionBifiltration",
    "RipsCodensity",
    "RipsFunction",
    "make_filtration",
    "unique_sorted",
]


def unique_sorted(values: torch.Tensor) -> torch.Tensor:
    """Sorted distinct values of a 1-D tensor, differentiable (``torch.unique`` is not)."""
    s, _ = torch.sort(values.reshape(-1))
    if s.numel() == 0:
        return s
    keep = torch.ones_like(s, dtype=torch.bool)
    keep[1:] = s.detach()[1:] != s.detach()[:-1]
    return s[keep]


@dataclass
class Bifiltration:
    """A multi-filtered complex plus the differentiable sources of its filtration values.

    Attributes
    ----------
    complex : multipers.SimplexTreeMulti or Slicer
        The complex with float filtration values (used by ``module_approximation``).
    sources : list of torch.Tensor
        ``sources[p]`` holds every value the ``p``-th filtration takes on the complex.
    bitmap : ndarray, optional
        For cubical complexes, the per-pixel values ``(*shape, n_parameters)``.
    """

    complex: Any
    sources: list[torch.Tensor]
    bitmap: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: degree-Rips only: the 1-skeleton (gudhi SimplexTree) and the degrees ``ks``
    degree_rips: tuple[Any, tuple[int, ...]] | None = None

    @property
    def n_parameters(self) -> int:
        return len(self.sources)

    def grids(self) -> list[torch.Tensor]:
        """The exact grid: sorted distinct filtration values per parameter (differentiable)."""
        return [unique_sorted(s) for s in self.sources]

    def squeezed(self, grids: Sequence[np.ndarray]) -> Any:
        """The complex with filtration values replaced by their integer grid coordinates."""
        if self.bitmap is not None:
            from multipers.slicer import from_bitmap

            coords = np.empty(self.bitmap.shape, dtype=np.int32)
            for p, g in enumerate(grids):
                coords[..., p] = np.searchsorted(g, self.bitmap[..., p])
            sl = from_bitmap(coords)
            sl.filtration_grid = [np.asarray(g, dtype=np.float64) for g in grids]
            return sl
        return self.complex.grid_squeeze([np.asarray(g, dtype=np.float64) for g in grids], coordinate_values=True)

    def bounds(self) -> np.ndarray:
        """``[[min_p], [max_p]]`` of the finite filtration values."""
        lo = [float(s.detach().min()) for s in self.sources]
        hi = [float(s.detach().max()) for s in self.sources]
        return np.array([lo, hi], dtype=np.float64)

    def degree_rips_measures(self, degrees: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Hilbert signed measures of a degree-Rips bifiltration in coordinates ``(r, -k)``.

        ``multipers.function_rips`` computes them on grid indices; the radius coordinate is read
        from the differentiable grid of distances.
        """
        from multipers.function_rips import function_rips_signed_measure, get_degree_rips

        if self.degree_rips is None:
            raise ValueError("not a degree-Rips bifiltration")
        st1, ks = self.degree_rips
        dst, _ = get_degree_rips(st1, list(ks), resolution=None)
        grid_r = np.asarray(dst.filtration_grid[0], dtype=np.float64)
        sms = function_rips_signed_measure(dst, list(degrees), reconvert=False)
        torch_grid = unique_sorted(self.sources[0])
        out = []
        ks_desc = np.sort(np.asarray(ks))[::-1]  # the second grid of multipers: k decreasing
        for idx, w in sms:
            idx = np.asarray(idx, dtype=np.int64).reshape(-1, 2)
            w = np.asarray(w, dtype=np.float64).reshape(-1)
            keep = (idx[:, 0] < len(grid_r)) & np.isfinite(grid_r[np.minimum(idx[:, 0], len(grid_r) - 1)]) & (w != 0)
            idx, w = idx[keep], w[keep]
            pos = np.searchsorted(torch_grid.detach().numpy(), grid_r[idx[:, 0]])
            r = torch_grid[torch.as_tensor(pos, dtype=torch.long)]
            negk = torch.as_tensor(-ks_desc[idx[:, 1]].astype(np.float64))
            out.append((torch.stack([r, negk], 1) if len(w) else torch.zeros((0, 2), dtype=torch.float64), torch.as_tensor(w)))
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["sources"] = [s.detach() for s in self.sources]
        return state


# ----------------------------------------------------------------------------- point clouds
def _pairwise(points: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """Upper-triangle distances (differentiable, safe at 0) and the dense numpy matrix."""
    n = points.shape[0]
    iu = torch.triu_indices(n, n, 1)
    sq = ((points[iu[0]] - points[iu[1]]) ** 2).sum(-1)
    d = torch.where(sq > 0, sq.clamp_min(1e-300).sqrt(), torch.zeros_like(sq))
    D = np.zeros((n, n), dtype=np.float64)
    dn = d.detach().numpy()
    D[iu[0].numpy(), iu[1].numpy()] = dn
    D += D.T
    return d, D


def _enclosing_radius(D: np.ndarray, threshold: float | None) -> float:
    """``threshold`` or, by default, the enclosing radius ``min_i max_j D_ij`` (> 0 unless all points coincide)."""
    if threshold is not None:
        thr = float(threshold)
        check_positive(thr, "threshold")
        return thr
    thr = float(np.min(np.max(D, axis=1)))
    if not thr > 0:
        raise ValueError(f"points: all {len(D)} points coincide (enclosing radius 0); a Rips bifiltration needs at least two distinct points")
    return thr


def rips_lowerstar(
    points: torch.Tensor,
    function: torch.Tensor,
    *,
    threshold: float | None = None,
    max_dim: int = 2,
    collapse: bool = True,
    order_vertices: bool = True,
) -> Bifiltration:
    """Rips radius x lower-star of ``function`` (``(P,)`` or ``(P, m)``) on a point cloud.

    ``threshold`` defaults to the enclosing radius ``min_i max_j |x_i - x_j|`` (beyond it the
    Rips complex is a cone, so nothing topological happens), as in ``multipers.RipsLowerstar``.
    ``order_vertices`` (default) numbers the vertices by function value, so that order-dependent
    approximations (MMA) are functions of the point set; ``False`` keeps the caller's numbering,
    which no signed measure depends on.
    """
    import gudhi as gd
    import multipers as mp

    if function.dim() == 1:
        function = function[:, None]
    if function.shape[0] != points.shape[0]:
        raise ValueError(f"function has {function.shape[0]} values for {points.shape[0]} points (mismatched function length)")
    if not bool(torch.isfinite(function.detach()).all()):
        raise ValueError("function values contain NaN or Inf")
    # order_vertices: vertex numbering by function value (stable: ties keep the caller's order). The
    # bifiltration does not depend on it, but an MMA approximation of a module that is not
    # interval-decomposable does (see mma.canonical_point_order); the function is rigid-motion
    # invariant, so this numbering is too. Signed measures (Hilbert function, Euler characteristic)
    # do not depend on the numbering at all, and the edge collapse of a cloud numbered by density is
    # ~14% slower than of the same cloud in its input order (issue 22): they keep the caller's.
    order = np.lexsort(function.detach().numpy().T[::-1]) if order_vertices else None
    if order is not None and (order != np.arange(len(order))).any():
        idx = torch.as_tensor(order)
        points, function = points[idx], function[idx]
    d, D = _pairwise(points)
    thr = _enclosing_radius(D, threshold)
    st = gd.SimplexTree.create_from_array(D, max_filtration=thr)
    n_params = 1 + function.shape[1]
    stm = mp.SimplexTreeMulti(st, num_parameters=n_params)
    fn = function.detach().numpy().astype(np.float64)
    for i in range(function.shape[1]):
        stm.fill_lowerstar(np.ascontiguousarray(fn[:, i]), parameter=1 + i)
    if collapse and n_params == 2 and max_dim >= 1:
        stm.collapse_edges(-1)
    if max_dim > 1:
        stm.expansion(max_dim)
    kept = d[d.detach() <= thr]
    sources = [torch.cat([torch.zeros(1, dtype=d.dtype), kept])] + [function[:, i] for i in range(function.shape[1])]
    return Bifiltration(stm, sources, meta={"threshold": thr})


def _rips_bounds(points: torch.Tensor, function: torch.Tensor, threshold: float | None) -> np.ndarray:
    """Bounds of ``rips_lowerstar(points, function, threshold)`` without building the complex."""
    _, D = _pairwise(points.detach())
    thr = _enclosing_radius(D, threshold)
    f = function.detach().reshape(points.shape[0], -1).numpy()
    kept = D[np.triu_indices(len(D), 1)]
    hi0 = float(kept[kept <= thr].max()) if (kept <= thr).any() else 0.0
    return np.array([[0.0, *f.min(0)], [hi0, *f.max(0)]], dtype=np.float64)


def gaussian_codensity(points: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """``-log`` of the Gaussian kernel density estimate at each point (differentiable).

    Same normalisation as ``sklearn.neighbors.KernelDensity(kernel="gaussian")``:
    ``p(x) = (1/n) sum_j (2 pi h^2)^{-d/2} exp(-|x - x_j|^2 / (2 h^2))``.
    """
    n, dim = points.shape
    sq = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    log_p = torch.logsumexp(-sq / (2 * bandwidth**2), dim=1) - np.log(n) - 0.5 * dim * np.log(2 * np.pi * bandwidth**2)
    return -log_p


class _FiltrationDescriptor(Descriptor):
    """Base class: ``transform`` returns one :class:`Bifiltration` per sample (a list)."""

    output_type: ClassVar[str] = "bifiltration"
    differentiable: ClassVar[bool] = True
    per_sample: ClassVar[bool] = True
    #: whether the bifiltration is rigid-motion invariant (point clouds)
    n_parameters: ClassVar[int] = 2

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        """The bifiltration of one sample, a flag complex up to dimension ``max_dim``, edge-collapsed
        with ``collapse`` (2 parameters). ``order_vertices``: Rips complexes of point clouds number
        their vertices by function value (what MMA needs, see :func:`rips_lowerstar`); with
        ``False`` the caller's numbering is kept. Other filtrations ignore it."""
        raise NotImplementedError

    def bounds(self, sample: Any) -> np.ndarray:
        """``[[min_p], [max_p]]`` of the filtration values of one sample."""
        return self.build(sample, max_dim=1, collapse=False).bounds()

    def transform(self, X: Any) -> list[Bifiltration]:
        """One :class:`Bifiltration` per sample of ``X`` (not edge-collapsed, so every invariant,
        the Euler characteristic included, is exact on it)."""
        return [self.build(x, collapse=False) for x in iter_samples(X)]

    def _max_dim(self, max_dim: int | None) -> int:
        m = getattr(self, "max_dim", 2) if max_dim is None else max_dim
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
            raise ValueError(f"max_dim must be an integer >= 0, got {m!r}")
        return int(m)


class RipsCodensity(_FiltrationDescriptor):
    """Rips x Gaussian-KDE codensity bifiltration of a point cloud (the density bifiltration).

    Parameters
    ----------
    bandwidth : float
        Bandwidth ``h`` of the Gaussian kernel density estimate.
    threshold : float, optional
        Largest Rips radius (default: the enclosing radius).
    max_dim : int
        Dimension of the flag complex built (2 gives homology in degrees 0 and 1).
    """

    input_type: ClassVar[str] = "point_cloud"

    def __init__(self, bandwidth: float = 0.1, threshold: float | None = None, max_dim: int = 2) -> None:
        self.bandwidth = bandwidth
        self.threshold = threshold
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        check_positive(self.bandwidth, "bandwidth")
        check_positive(self.threshold, "threshold", allow_none=True)
        pts = as_point_cloud(sample)
        f = gaussian_codensity(pts, float(self.bandwidth))
        return rips_lowerstar(pts, f, threshold=self.threshold, max_dim=self._max_dim(max_dim), collapse=collapse,
                              order_vertices=order_vertices)

    def bounds(self, sample: Any) -> np.ndarray:
        """Range of the filtration values, without building the complex."""
        check_positive(self.bandwidth, "bandwidth")
        pts = as_point_cloud(sample).detach()
        return _rips_bounds(pts, gaussian_codensity(pts, float(self.bandwidth)), self.threshold)


_NAMED_FUNCTIONS = ("distance_to_mean", "knn_distance", "dtm", "eccentricity", "last_column")


class RipsFunction(_FiltrationDescriptor):
    """Rips x lower-star of a user function on a point cloud.

    Parameters
    ----------
    function : str or callable
        ``"distance_to_mean"`` (``|x_i - mean|``), ``"knn_distance"`` (distance to the ``k``-th
        neighbour), ``"dtm"`` (distance to measure, ``sqrt(mean of the k smallest |x_i-x_j|^2)``),
        ``"eccentricity"`` (mean distance to the other points), ``"last_column"`` (the sample's last
        column is the function value and the other columns the coordinates), or a callable
        ``f(points: Tensor (P, d)) -> Tensor (P,)`` (torch ops keep gradients; must pickle for
        parallel execution, i.e. a module-level function).
    k : int
        Neighbour count for ``knn_distance`` and ``dtm``.
    threshold, max_dim : see :class:`RipsCodensity`.
    """

    input_type: ClassVar[str] = "point_cloud"

    def __init__(
        self,
        function: str | Callable[[torch.Tensor], torch.Tensor] = "distance_to_mean",
        k: int = 5,
        threshold: float | None = None,
        max_dim: int = 2,
    ) -> None:
        self.function = function
        self.k = k
        self.threshold = threshold
        self.max_dim = max_dim

    def _values(self, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.function
        if callable(f):
            vals = f(pts)
            if not isinstance(vals, torch.Tensor):
                vals = torch.as_tensor(np.asarray(vals, dtype=np.float64))
            vals = vals.to(torch.float64)
            if vals.dim() == 2 and vals.shape[1] == 1:
                vals = vals[:, 0]
            if vals.dim() != 1 or vals.shape[0] != pts.shape[0]:
                raise ValueError(f"function returned shape {tuple(vals.shape)} for {pts.shape[0]} points (mismatched function length); expected ({pts.shape[0]},)")
            return pts, vals
        if not isinstance(f, str) or f not in _NAMED_FUNCTIONS:
            raise ValueError(f"function must be a callable or one of {', '.join(_NAMED_FUNCTIONS)}; got {f!r}")
        if f == "last_column":
            if pts.shape[1] < 2:
                raise ValueError("function='last_column' needs samples with at least 2 columns (coordinates + function value)")
            return pts[:, :-1], pts[:, -1]
        if f == "distance_to_mean":
            return pts, (pts - pts.mean(0, keepdim=True)).norm(dim=1)
        sq = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
        if f == "eccentricity":
            dist = torch.where(sq > 0, sq.clamp_min(1e-300).sqrt(), torch.zeros_like(sq))
            return pts, dist.sum(1) / (pts.shape[0] - 1)
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or not 1 <= self.k:
            raise ValueError(f"k must be an integer >= 1, got {self.k!r}")
        if self.k >= pts.shape[0]:
            raise ValueError(f"k={self.k} needs more than k points; the point cloud has {pts.shape[0]}")
        knn_sq, _ = torch.topk(sq, self.k + 1, dim=1, largest=False)  # includes the point itself
        if f == "knn_distance":
            return pts, knn_sq[:, self.k].clamp_min(1e-300).sqrt()
        return pts, knn_sq[:, 1:].mean(1).clamp_min(1e-300).sqrt()  # dtm

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        check_positive(self.threshold, "threshold", allow_none=True)
        pts = as_point_cloud(sample)
        coords, vals = self._values(pts)
        if coords.shape[1] == 0:
            raise ValueError("points have no coordinates left after removing the function column")
        return rips_lowerstar(coords, vals, threshold=self.threshold, max_dim=self._max_dim(max_dim), collapse=collapse,
                              order_vertices=order_vertices)

    def bounds(self, sample: Any) -> np.ndarray:
        """Range of the filtration values, without building the complex."""
        coords, vals = self._values(as_point_cloud(sample).detach())
        return _rips_bounds(coords, vals, self.threshold)


class DelaunayCore(_FiltrationDescriptor):
    """Delaunay core bifiltration (alpha radius x k-nearest-neighbour core), ``multipers.CoreDelaunay``.

    A (multi-critical) Delaunay-based alternative to Rips x codensity for low-dimensional
    point clouds. Not differentiable (gradients do not flow to the points).

    Parameters
    ----------
    beta : float
        Weight of the k-NN radius in ``max(alpha, beta * r_k)``.
    k_max : int
        ``ks = 1, ..., min(k_max, P)`` (the second parameter is ``-k``).
    """

    input_type: ClassVar[str] = "point_cloud"
    differentiable: ClassVar[bool] = False

    def __init__(self, beta: float = 1.0, k_max: int = 10, max_dim: int = 2) -> None:
        self.beta = beta
        self.k_max = k_max
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        import multipers as mp
        from multipers.grids import compute_grid

        check_positive(self.beta, "beta")
        if isinstance(self.k_max, bool) or not isinstance(self.k_max, (int, np.integer)) or self.k_max < 1:
            raise ValueError(f"k_max must be an integer >= 1, got {self.k_max!r}")
        pts = as_point_cloud(sample).detach().numpy()
        ks = np.arange(1, min(int(self.k_max), len(pts)) + 1)
        st = mp.filtrations.CoreDelaunay(pts, beta=float(self.beta), ks=ks)
        md = self._max_dim(max_dim)
        if st.dimension > md:
            st.prune_above_dimension(md)
        grid = compute_grid(st)
        sources = [torch.as_tensor(np.asarray(g, dtype=np.float64)) for g in grid]
        return Bifiltration(st, sources, meta={"ks": ks})


def _check_ks(ks: Any) -> tuple[int, ...]:
    if not isinstance(ks, (list, tuple)) or not ks:
        raise ValueError(f"ks must be a non-empty list of integers >= 1, got {ks!r}")
    out = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"ks must hold integers >= 1 (neighbour counts), got {k!r}")
        out.append(int(k))
    if len(set(out)) != len(out):
        raise ValueError(f"ks has repeated values: {ks!r}")
    return tuple(sorted(out))


def _degree_rips(d: torch.Tensor, D: np.ndarray, ks: tuple[int, ...], threshold: float | None) -> Bifiltration:
    import gudhi as gd

    thr = np.inf if threshold is None else float(threshold)
    st = gd.SimplexTree.create_from_array(D, max_filtration=thr)
    st.prune_above_dimension(1)
    kept = d[d.detach() <= thr]
    sources = [torch.cat([torch.zeros(1, dtype=kept.dtype), kept]), -torch.as_tensor(ks, dtype=torch.float64)]
    return Bifiltration(None, sources, degree_rips=(st, ks), meta={"ks": ks})


class DegreeRips(_FiltrationDescriptor):
    """Degree-Rips bifiltration of a point cloud (Lesnick & Wright), via ``multipers.function_rips``.

    ``DR(r, k)`` is the flag complex of the ``r``-neighbourhood graph restricted to the points with
    at least ``k`` neighbours within ``r``; coordinates are ``(r, -k)`` so the complex grows with
    both. Multi-critical: only Hilbert signed measures (no Euler, no MMA). Gradients reach the
    points through the radius coordinate.

    Parameters
    ----------
    ks : list of int
        Neighbour counts ``k >= 1``.
    threshold : float, optional
        Largest radius (default: none).
    """

    input_type: ClassVar[str] = "point_cloud"

    def __init__(self, ks: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8), threshold: float | None = None, max_dim: int = 2) -> None:
        self.ks = ks
        self.threshold = threshold
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        check_positive(self.threshold, "threshold", allow_none=True)
        ks = _check_ks(list(self.ks))
        pts = as_point_cloud(sample)
        d, D = _pairwise(pts)
        return _degree_rips(d, D, ks, self.threshold)


class GraphDegreeRips(_FiltrationDescriptor):
    """Degree-Rips bifiltration of a graph's shortest-path metric (hop count, or ``data.edge_weight``).

    See :class:`DegreeRips`; not differentiable.
    """

    input_type: ClassVar[str] = "graph"
    differentiable: ClassVar[bool] = False

    def __init__(self, ks: Sequence[int] = (1, 2, 3, 4, 5, 6), threshold: float | None = None, max_dim: int = 2) -> None:
        self.ks = ks
        self.threshold = threshold
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import shortest_path

        check_positive(self.threshold, "threshold", allow_none=True)
        ks = _check_ks(list(self.ks))
        n, edges = _graph_edges(sample)
        A = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        D = shortest_path(A, directed=False, unweighted=True)
        finite = np.isfinite(D)
        D = np.where(finite, D, D[finite].max() + 1.0)  # different components: one hop past the diameter
        iu = np.triu_indices(n, 1)
        return _degree_rips(torch.as_tensor(D[iu]), D, ks, self.threshold)


# ----------------------------------------------------------------------------- graphs
def _graph_edges(data: Any) -> tuple[int, np.ndarray]:
    if not hasattr(data, "edge_index"):
        raise TypeError(f"graph samples must be torch_geometric Data objects with edge_index, got {type(data).__name__}")
    n = int(data.num_nodes) if data.num_nodes is not None else 0
    if n == 0:
        raise ValueError("graph has no nodes")
    ei = data.edge_index
    ei = ei.detach().cpu().numpy() if isinstance(ei, torch.Tensor) else np.asarray(ei)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise ValueError(f"edge_index refers to nodes outside [0, {n})")
    u, v = np.minimum(ei[0], ei[1]), np.maximum(ei[0], ei[1])
    mask = u != v
    edges = np.unique(np.stack([u[mask], v[mask]], 1), axis=0) if mask.any() else np.zeros((0, 2), dtype=np.int64)
    if len(edges) == 0:
        raise ValueError("graph has no edges (after removing self-loops); a graph bifiltration needs at least one edge")
    return n, edges


def _hks(n: int, edges: np.ndarray, t: float) -> torch.Tensor:
    A = np.zeros((n, n))
    A[edges[:, 0], edges[:, 1]] = 1.0
    A += A.T
    deg = A.sum(1)
    dinv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
    L = np.eye(n) - dinv[:, None] * A * dinv[None, :]
    lam, phi = np.linalg.eigh(L)
    return torch.as_tensor((np.exp(-t * lam)[None, :] * phi**2).sum(1))


def _node_function(spec: Any, data: Any, n: int, edges: np.ndarray) -> torch.Tensor:
    if callable(spec):
        vals = spec(data)
    else:
        if not isinstance(spec, str):
            raise ValueError(f"node function must be a string or a callable, got {spec!r}")
        sign = -1.0 if spec.startswith("-") else 1.0
        name = spec.lstrip("-")
        if name == "degree":
            deg = np.bincount(edges.ravel(), minlength=n).astype(np.float64)
            vals = torch.as_tensor(deg)
        elif name.startswith("hks:"):
            t = float(name.split(":", 1)[1])
            check_positive(t, f"heat-kernel time in {spec!r}")
            vals = _hks(n, edges, t)
        elif name.startswith("x:"):
            j = int(name.split(":", 1)[1])
            if getattr(data, "x", None) is None or data.x.dim() != 2 or not -data.x.shape[1] <= j < data.x.shape[1]:
                raise ValueError(f"node function {spec!r} needs node features x with a column {j}")
            vals = data.x[:, j]
        elif name.startswith("attr:"):
            key = name.split(":", 1)[1]
            if key not in data:
                raise ValueError(f"node function {spec!r}: the graph has no attribute {key!r}")
            vals = data[key]
        else:
            raise ValueError(f"unknown node function {spec!r}; use degree, hks:<t>, x:<column>, attr:<name> (prefix '-' to negate) or a callable")
        vals = sign * torch.as_tensor(vals)
    vals = torch.as_tensor(vals).to(torch.float64)
    if vals.dim() == 2 and vals.shape[1] == 1:
        vals = vals[:, 0]
    if vals.dim() != 1 or vals.shape[0] != n:
        raise ValueError(f"node function {spec!r} has shape {tuple(vals.shape)} for a graph with {n} nodes (mismatched function length)")
    if not bool(torch.isfinite(vals.detach()).all()):
        raise ValueError(f"node function {spec!r} contains NaN or Inf")
    return vals


def _edge_function(spec: Any, data: Any, n: int, edges: np.ndarray) -> torch.Tensor:
    if callable(spec):
        vals = torch.as_tensor(spec(data, torch.as_tensor(edges)))
    else:
        if not isinstance(spec, str):
            raise ValueError(f"edge function must be a string or a callable, got {spec!r}")
        sign = -1.0 if spec.startswith("-") else 1.0
        name = spec.lstrip("-")
        if name == "length":
            pos = getattr(data, "pos", None)
            if pos is None:
                raise ValueError("edge function 'length' needs node positions data.pos")
            pos = torch.as_tensor(pos).to(torch.float64)
            e = torch.as_tensor(edges)
            vals = (pos[e[:, 0]] - pos[e[:, 1]]).norm(dim=1)
        elif name.startswith("edge_attr:"):
            j = int(name.split(":", 1)[1])
            ea = getattr(data, "edge_attr", None)
            if ea is None:
                raise ValueError(f"edge function {spec!r} needs data.edge_attr")
            ea = ea if ea.dim() == 2 else ea[:, None]
            # map (u, v) -> first occurrence in edge_index
            ei = data.edge_index.detach().cpu().numpy()
            key = {}
            for c in range(ei.shape[1]):
                a, b = int(min(ei[0, c], ei[1, c])), int(max(ei[0, c], ei[1, c]))
                key.setdefault((a, b), c)
            idx = torch.as_tensor([key[(int(a), int(b))] for a, b in edges])
            vals = ea[idx, j]
        else:
            raise ValueError(f"unknown edge function {spec!r}; use length, edge_attr:<column> (prefix '-' to negate) or a callable")
        vals = sign * vals
    vals = torch.as_tensor(vals).to(torch.float64)
    if vals.dim() != 1 or vals.shape[0] != len(edges):
        raise ValueError(f"edge function {spec!r} has shape {tuple(vals.shape)} for {len(edges)} edges (mismatched function length)")
    if not bool(torch.isfinite(vals.detach()).all()):
        raise ValueError(f"edge function {spec!r} contains NaN or Inf")
    return vals


class GraphFunctionBifiltration(_FiltrationDescriptor):
    """Bifiltration of a graph's clique complex by node functions (lower-star) and edge functions.

    A node function ``f`` gives a simplex the value ``max_{v in simplex} f(v)``; an edge function
    ``w`` gives an edge its value, a vertex the minimum over its incident edges (the vertex
    enters with its first edge; isolated vertices take the global minimum) and a higher simplex the
    maximum over its edges.

    Parameters
    ----------
    node_functions : list of str or callable
        ``"degree"``, ``"hks:<t>"`` (heat kernel signature of the normalised Laplacian),
        ``"x:<j>"`` (node feature column; keeps gradients), ``"attr:<name>"`` (a node attribute of
        the Data), prefixed with ``-`` to negate; or ``f(data) -> (num_nodes,)``.
    edge_functions : list of str or callable
        ``"length"`` (from ``data.pos``), ``"edge_attr:<j>"``, prefixed with ``-`` to negate; or
        ``f(data, edges (E, 2)) -> (E,)``.
    max_dim : int
        Dimension of the clique complex built.
    """

    input_type: ClassVar[str] = "graph"

    def __init__(
        self,
        node_functions: Sequence[Any] = ("degree", "hks:1.0"),
        edge_functions: Sequence[Any] = (),
        max_dim: int = 2,
    ) -> None:
        self.node_functions = node_functions
        self.edge_functions = edge_functions
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        import multipers as mp

        nf, ef = list(self.node_functions or []), list(self.edge_functions or [])
        if len(nf) + len(ef) < 1:
            raise ValueError("give at least one node or edge function (node_functions / edge_functions)")
        n, edges = _graph_edges(sample)
        node_vals = [_node_function(s, sample, n, edges) for s in nf]
        edge_vals = [_edge_function(s, sample, n, edges) for s in ef]
        e_t = torch.as_tensor(edges)
        vert_cols, edge_cols, sources = [], [], []
        for f in node_vals:
            vert_cols.append(f)
            edge_cols.append(torch.maximum(f[e_t[:, 0]], f[e_t[:, 1]]))
            sources.append(f)
        for w in edge_vals:
            big = torch.full((n,), float("inf"), dtype=torch.float64)
            vmin = big.scatter_reduce(0, e_t[:, 0], w, reduce="amin").scatter_reduce(0, e_t[:, 1], w, reduce="amin")
            vmin = torch.where(torch.isinf(vmin.detach()), w.min().expand(n), vmin)
            vert_cols.append(vmin)
            edge_cols.append(w)
            sources.append(w)
        V = torch.stack(vert_cols, 1).detach().numpy()
        E = torch.stack(edge_cols, 1).detach().numpy()
        st = mp.SimplexTreeMulti(num_parameters=len(sources), dtype=np.float64)
        st.insert_batch(np.arange(n, dtype=np.int32)[None, :], np.ascontiguousarray(V))
        st.insert_batch(np.ascontiguousarray(edges.T.astype(np.int32)), np.ascontiguousarray(E))
        md = self._max_dim(max_dim)
        if collapse and len(sources) == 2 and md >= 1:
            st.collapse_edges(-1)
        if md > 1:
            st.expansion(md)
        return Bifiltration(st, sources, meta={"num_nodes": n, "num_edges": len(edges)})


# ----------------------------------------------------------------------------- images
_IMAGE_FUNCTIONS = ("intensity", "-intensity", "gradient")


def _image_values(img: torch.Tensor, spec: str) -> torch.Tensor:
    if not isinstance(spec, str):
        raise ValueError(f"image functions must be strings, got {spec!r}")
    sign = -1.0 if spec.startswith("-") else 1.0
    name = spec.lstrip("-")
    if name == "intensity":
        return sign * img.mean(0)
    if name.startswith("channel:"):
        j = int(name.split(":", 1)[1])
        if not -img.shape[0] <= j < img.shape[0]:
            raise ValueError(f"image function {spec!r}: the image has {img.shape[0]} channels")
        return sign * img[j]
    if name == "gradient":
        g = img.mean(0)
        gy = torch.zeros_like(g)
        gx = torch.zeros_like(g)
        gy[1:-1] = (g[2:] - g[:-2]) / 2
        gx[:, 1:-1] = (g[:, 2:] - g[:, :-2]) / 2
        return sign * (gx**2 + gy**2 + 1e-12).sqrt()
    raise ValueError(f"unknown image function {spec!r}; use intensity, gradient, channel:<j> (prefix '-' to negate)")


class CubicalBifiltration(_FiltrationDescriptor):
    """Bifiltered cubical complex of an image (``multipers.filtrations.Cubical``).

    Parameters
    ----------
    functions : list of str, optional
        One per parameter: ``"intensity"`` (mean over channels), ``"gradient"`` (central-difference
        gradient magnitude), ``"channel:<j>"``, each optionally prefixed with ``-`` (superlevel
        filtration). Default: the channels when the image has >= 2, else
        ``["-intensity", "gradient"]``.
    """

    input_type: ClassVar[str] = "image"

    def __init__(self, functions: Sequence[str] | None = None, max_dim: int = 2) -> None:
        self.functions = functions
        self.max_dim = max_dim

    def build(self, sample: Any, *, max_dim: int | None = None, collapse: bool = True, order_vertices: bool = True) -> Bifiltration:
        from multipers.slicer import from_bitmap

        img = sample if isinstance(sample, torch.Tensor) else torch.as_tensor(np.asarray(sample, dtype=np.float64))
        img = img.to(torch.float64)
        if img.dim() == 2:
            img = img[None]
        if img.dim() != 3 or min(img.shape[1:]) < 2:
            raise ValueError(f"image must have shape (C, H, W) or (H, W) with H, W >= 2, got {tuple(sample.shape)}")
        if not bool(torch.isfinite(img.detach()).all()):
            raise ValueError("image contains NaN or Inf values")
        funcs = list(self.functions) if self.functions is not None else (
            [f"channel:{j}" for j in range(img.shape[0])] if img.shape[0] >= 2 else ["-intensity", "gradient"]
        )
        if len(funcs) < 1:
            raise ValueError("functions must name at least one image function")
        vals = torch.stack([_image_values(img, f) for f in funcs], -1)  # (H, W, n)
        bitmap = vals.detach().numpy().astype(np.float64)
        cx = from_bitmap(np.ascontiguousarray(bitmap))
        sources = [vals[..., p].reshape(-1) for p in range(vals.shape[-1])]
        return Bifiltration(cx, sources, bitmap=bitmap)


FILTRATIONS: dict[str, type[_FiltrationDescriptor]] = {
    "rips_codensity": RipsCodensity,
    "rips_function": RipsFunction,
    "delaunay_core": DelaunayCore,
    "degree_rips": DegreeRips,
    "graph_degree_rips": GraphDegreeRips,
    "graph_function_bifiltration": GraphFunctionBifiltration,
    "cubical_bifiltration": CubicalBifiltration,
}


def make_filtration(name: str | _FiltrationDescriptor, params: dict[str, Any] | None = None) -> _FiltrationDescriptor:
    """A filtration builder from its registered name and parameters (or pass one through)."""
    if isinstance(name, _FiltrationDescriptor):
        if params:
            raise ValueError("filtration_params must be empty when filtration is already a filtration object")
        return name
    if not isinstance(name, str) or name not in FILTRATIONS:
        raise ValueError(f"filtration must be one of {', '.join(FILTRATIONS)}; got {name!r}")
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"filtration_params must be a mapping, got {type(params).__name__}")
    try:
        return FILTRATIONS[name](**(params or {}))
    except TypeError as exc:
        raise TypeError(f"bad filtration_params for {name!r}: {exc}") from exc
