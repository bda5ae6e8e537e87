"""HeatGeo: heat-geodesic distances (Varadhan-type) and their metric-MDS embedding.

Huguet, Tong, De Brouwer, Zhang, Wolf, Adelstein, Krishnaswamy, "A Heat Diffusion Perspective on
Geodesic Preserving Dimensionality Reduction", NeurIPS 2023 (arXiv 2305.19043).

Pipeline of the method (re-implemented from the paper and the authors' description; no code copied):

1. a graph on the samples (PHATE's alpha-decay kernel by default) and its Laplacian ``L``
   (symmetric normalised by default);
2. the heat kernel ``H_t = exp(-t L)`` by a Chebyshev expansion of order ``K`` on the spectrum
   interval ``[0, 2 phi]`` with ``phi = lambda_max(L) / 2``;
3. ``d_t(i, j)^2 = -4 t log H_t[i, j] + sigma 4 t log(1/2 (H_t[i, i] + H_t[j, j]))`` (negative
   values clipped to 0), ``sigma`` the Harnack regularisation;
4. metric MDS of ``d_t`` to ``emb_dim`` dimensions.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from scipy.special import ive

from geoatlas.interfaces import Descriptor, check_finite_array
from geoatlas.utils import adjacency_matrix

#: numerical floor inside the logarithms (as in the paper's implementation)
LOG_EPS = 1e-16


# ---------------------------------------------------------------------------- graphs
def alpha_decay_graph(X: np.ndarray, knn: int = 5, decay: float = 40.0, thresh: float = 1e-4) -> sp.csr_matrix:
    """PHATE's alpha-decay affinity: ``K_ij = exp(-(d_ij / eps_i)^decay)`` with ``eps_i`` the
    distance from ``i`` to its ``knn``-th nearest other sample, symmetrised as
    ``(K + K^T) / 2``; entries below ``thresh`` are dropped. The diagonal is 1 (self-affinity)."""
    from scipy.spatial.distance import cdist

    n = len(X)
    if knn >= n:
        raise ValueError(f"knn must be smaller than the number of samples ({n}), got {knn}")
    D = cdist(X, X)
    eps = np.sort(D, axis=1)[:, knn]  # column 0 is the sample itself
    eps = np.where(eps > 0, eps, np.finfo(float).tiny)
    K = np.exp(-np.power(D / eps[:, None], decay))
    K = 0.5 * (K + K.T)
    K[K < thresh] = 0.0
    return sp.csr_matrix(K)


def knn_graph(X: np.ndarray, knn: int = 5) -> sp.csr_matrix:
    """Unweighted symmetric kNN connectivity (an edge where either point is among the other's
    ``knn`` nearest)."""
    from sklearn.neighbors import kneighbors_graph

    if knn >= len(X):
        raise ValueError(f"knn must be smaller than the number of samples ({len(X)}), got {knn}")
    A = kneighbors_graph(X, knn, mode="connectivity", include_self=False)
    return sp.csr_matrix(A.maximum(A.T))


def laplacian(W: sp.spmatrix, lap_type: str = "normalized") -> sp.csr_matrix:
    """``L = D - W`` (combinatorial) or ``I - D^{-1/2} W D^{-1/2}`` (normalized)."""
    W = sp.csr_matrix(W, dtype=float)
    d = np.asarray(W.sum(axis=1)).ravel()
    if lap_type == "combinatorial":
        return sp.csr_matrix(sp.diags(d) - W)
    if lap_type == "normalized":
        dinv = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
        S = sp.diags(dinv) @ W @ sp.diags(dinv)
        return sp.csr_matrix(sp.eye(W.shape[0]) - S)
    raise ValueError(f"lap_type must be 'normalized' or 'combinatorial', got {lap_type!r}")


# ---------------------------------------------------------------------------- Chebyshev heat kernel
def chebyshev_coefficients(t: float, phi: float, order: int) -> np.ndarray:
    """Coefficients ``c_k`` of ``exp(-t phi (y + 1)) = sum_k c_k T_k(y)`` on ``y in [-1, 1]``:
    ``c_k = 2 ive(k, -t phi)`` (``ive`` the exponentially scaled modified Bessel function), ``c_0`` halved."""
    c = 2.0 * ive(np.arange(order + 1), -t * phi)
    c[0] /= 2.0
    return c


def chebyshev_tail(t: float, phi: float, order: int) -> float:
    """``sum_{k > order} |c_k|``: a bound on the sup-norm error of the truncated expansion on the
    spectrum interval (``|T_k| <= 1`` there), hence on every entry of ``H_t``'s error."""
    a = t * phi
    kmax = int(order + 50 + 4 * a + 20 * np.sqrt(a + 1))
    k = np.arange(order + 1, kmax + 1)
    return float(2.0 * np.abs(ive(k, -a)).sum())


def chebyshev_order_for(t: float, phi: float, tol: float = 1e-10, start: int = 1) -> int:
    """The smallest order ``K >= start`` whose truncation bound :func:`chebyshev_tail` is ``<= tol``."""
    K = max(1, int(start))
    while chebyshev_tail(t, phi, K) > tol:
        K += max(1, K // 8)
    return K


def chebyshev_heat(L: sp.spmatrix, B: np.ndarray, t: float, order: int, phi: float | None = None) -> np.ndarray:
    """``exp(-t L) B`` by the Chebyshev expansion of order ``order`` (three-term recurrence on
    ``Y = L / phi - I``)."""
    if phi is None:
        phi = float(eigsh(L, k=1, return_eigenvectors=False)[0]) / 2.0 if L.shape[0] > 2 else float(np.linalg.eigvalsh(np.asarray(sp.csr_matrix(L).todense())).max()) / 2.0
    phi = max(phi, 1e-12)
    c = chebyshev_coefficients(t, phi, order)
    L = sp.csr_matrix(L)

    def Y(V: np.ndarray) -> np.ndarray:
        return L @ V / phi - V

    T0 = np.asarray(B, dtype=float)
    out = c[0] * T0
    if order == 0:
        return out
    T1 = Y(T0)
    out = out + c[1] * T1
    for k in range(2, order + 1):
        T0, T1 = T1, 2.0 * Y(T1) - T0
        out = out + c[k] * T1
    return out


def heat_geodesic_distance(H: np.ndarray, t: float, harnack_regul: float = 0.0, scale_factor: float = 1.0) -> np.ndarray:
    """``d^2 = -4t log H_ij + sigma 4t log(1/2(H_ii + H_jj))`` clipped at 0, then
    ``d = (sqrt d^2)^scale_factor``. Negative heat-kernel values (approximation error) are set to 0 first."""
    H = np.where(H < 0, 0.0, H)
    diag = np.diag(H)
    d2 = -4.0 * t * np.log(H + LOG_EPS)
    if harnack_regul:
        d2 = d2 + harnack_regul * 4.0 * t * np.log(0.5 * (diag[:, None] + diag[None, :]) + LOG_EPS)
    d2 = np.maximum(d2, 0.0)
    return np.sqrt(d2) ** scale_factor


# ---------------------------------------------------------------------------- automatic diffusion time
def heat_entropy(H: np.ndarray) -> float:
    """``-sum_ij H_ij log(H_ij + 1e-10)`` of a heat kernel (negative entries set to 0)."""
    H = np.where(H < 0, 0.0, H)
    return float(-(H * np.log(H + 1e-10)).sum())


def kneedle(x: np.ndarray, y: np.ndarray, S: float = 0.5) -> int:
    """Index of the knee of an increasing concave curve, by the offline Kneedle rule of the
    ``kneed`` package (``KneeLocator(x, y, S, curve="concave")``, which the authors call):
    min-max normalise both axes, take the difference curve ``d = y_n - x_n``, its local maxima and
    minima (``scipy.signal.argrelextrema`` with ``>=`` / ``<=``); walking right from the first
    maximum, each maximum ``i`` sets the threshold ``d_i - S * |mean(diff(x_n))|`` and re-arms the
    detection, each minimum sets it to 0 and disarms it; the first armed step whose next value
    falls below the threshold returns the last maximum. Where kneed finds no knee (it returns
    None, and the authors' selection then has no ``tau``), the maximum of ``d`` is returned."""
    from scipy.signal import argrelextrema

    x, y = np.asarray(x, float), np.asarray(y, float)
    xn = (x - x.min()) / max(np.ptp(x), 1e-300)
    yn = (y - y.min()) / max(np.ptp(y), 1e-300)
    d = yn - xn
    maxima = argrelextrema(d, np.greater_equal)[0]
    minima = set(argrelextrema(d, np.less_equal)[0].tolist())
    if maxima.size == 0:
        return int(np.argmax(d))
    drop = S * abs(float(np.diff(xn).mean()))
    at_max = {int(i): float(d[i]) - drop for i in maxima}
    threshold, knee, armed = 0.0, int(maxima[0]), True
    for i in range(int(maxima[0]), len(d) - 1):
        if i in at_max:
            threshold, knee, armed = at_max[i], i, True
        if i in minima:
            threshold, armed = 0.0, False
        if armed and d[i + 1] < threshold:
            return knee
    return int(np.argmax(d))


# ---------------------------------------------------------------------------- MDS
def classical_mds(D: np.ndarray, n_components: int) -> np.ndarray:
    """Torgerson MDS: top eigenvectors of ``-1/2 J D^2 J``."""
    n = len(D)
    J = np.eye(n) - 1.0 / n
    B = -0.5 * J @ (D**2) @ J
    from scipy.linalg import eigh

    w, V = eigh(0.5 * (B + B.T), subset_by_index=[n - n_components, n - 1])
    idx = np.argsort(w)[::-1]
    V = V[:, idx] * np.sign(V[np.abs(V[:, idx]).argmax(0), idx])  # deterministic signs
    return V * np.sqrt(np.maximum(w[idx], 0.0))


def metric_mds(D: np.ndarray, n_components: int, solver: str = "smacof", seed: int = 0, max_iter: int = 3000) -> np.ndarray:
    """Metric MDS of the dissimilarities ``D``: classical MDS, refined by SMACOF stress majorisation
    (scikit-learn; ``max_iter`` 3000 and ``eps`` 1e-6 as the authors' ``heatgeo.mds.smacof``) unless
    ``solver == "classic"``."""
    Z = classical_mds(D, n_components)
    if solver == "smacof":
        from sklearn.manifold import smacof

        Z, _ = smacof(D, metric=True, n_components=n_components, init=Z, n_init=1, max_iter=max_iter, eps=1e-6,
                      random_state=seed, normalized_stress=False)
    elif solver != "classic":
        raise ValueError(f"mds_solver must be 'smacof' or 'classic', got {solver!r}")
    return Z


# ---------------------------------------------------------------------------- descriptor
def _as_graph_adjacency(X: Any) -> sp.csr_matrix | None:
    """Adjacency of a networkx graph or a torch-geometric ``Data`` (the core's
    :func:`geoatlas.utils.adjacency_matrix`, nodes of a networkx graph in sorted order), made
    undirected by the elementwise maximum with its transpose (an edge listed in both directions
    keeps its weight); ``None`` for arrays."""
    import networkx as nx

    if not (isinstance(X, nx.Graph) or (hasattr(X, "edge_index") and hasattr(X, "num_nodes"))):
        return None
    A = adjacency_matrix(X, weighted=True, symmetric=False, name="X")
    return sp.csr_matrix(A.maximum(A.T))


class HeatGeodesic(Descriptor):
    """HeatGeo: heat-geodesic distances and their MDS embedding (a descriptor).

    Parameters
    ----------
    knn : int
        Neighbours for the affinity graph (default 10, the authors' experiment config; their class has no default).
    decay : float
        Alpha-decay exponent of PHATE's kernel (``graph_type="alpha"``).
    tau : float or "auto"
        Diffusion time ``t`` (the authors' ``HeatGeo`` default 10). ``"auto"``: the knee of the
        heat-kernel entropy ``E(t) = -sum H_t log H_t`` over ``linspace(0.05, tau_max, n_tau)``
        (the authors' rule; chosen ``t`` in ``tau_``).
    tau_max, n_tau : float, int
        Grid of the automatic choice: ``tau_max`` 200 is the authors' ``HeatGeo`` class default and
        their experiment config (``config/model/heat_geo.yaml``); 10 points is their default for ``"auto"``.
    order : int
        Chebyshev order ``K`` (the authors' default 32). When ``auto_order`` is on and ``K`` is too
        low for ``t phi`` (the truncation bound exceeds ``cheb_tol``), the order actually used
        (``order_used_``) is raised to the smallest sufficient one.
    auto_order : bool
        Raise the order where 32 cannot be accurate (large ``t``); see the README's deviations.
    cheb_tol : float
        Tolerance of the truncation bound for ``auto_order``.
    lap_type : {"normalized", "combinatorial"}
    graph_type : {"alpha", "knn"}
    harnack_regul : float
        Harnack regularisation ``sigma`` in ``[0, 1]`` (default 0; 1 gives a zero diagonal).
    scale_factor : float
        Power applied to the distances (default 1).
    emb_dim : int
        Embedding dimension.
    mds_solver : {"smacof", "classic"}
        Metric MDS by stress majorisation (initialised by classical MDS) or classical MDS only.
    seed : int
        Seed of the MDS solver.

    Input: an ``(n_samples, n_features)`` array (a graph is built on the samples), or one graph
    (networkx or torch-geometric ``Data``; its adjacency is used, and rows are its nodes).
    ``fit`` stores ``distances_``, ``heat_kernel_``, ``embedding_``; ``transform`` of the fitted
    samples returns ``embedding_``; of new samples, it recomputes the method on the fitted and new
    samples together and aligns that embedding to ``embedding_`` on the fitted rows (orthogonal
    Procrustes) before returning the new rows.
    """

    input_type: ClassVar[str] = "vector"
    per_sample: ClassVar[bool] = False

    def __init__(self, knn: int = 10, decay: float = 40.0, tau: float | Literal["auto"] = 10.0, order: int = 32, auto_order: bool = True,
                 cheb_tol: float = 1e-10, lap_type: Literal["normalized", "combinatorial"] = "normalized",
                 graph_type: Literal["alpha", "knn"] = "alpha", harnack_regul: float = 0.0, scale_factor: float = 1.0,
                 emb_dim: int = 2, mds_solver: Literal["smacof", "classic"] = "smacof", seed: int = 0,
                 tau_max: float = 200.0, n_tau: int = 10) -> None:
        self.tau_max, self.n_tau = tau_max, n_tau
        self.knn, self.decay, self.tau, self.order, self.auto_order = knn, decay, tau, order, auto_order
        self.cheb_tol, self.lap_type, self.graph_type = cheb_tol, lap_type, graph_type
        self.harnack_regul, self.scale_factor, self.emb_dim = harnack_regul, scale_factor, emb_dim
        self.mds_solver, self.seed = mds_solver, seed

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        def integer(name: str, lo: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
            if v < lo:
                raise ValueError(f"{name} must be >= {lo}, got {v}")

        def real(name: str, lo: float, strict: bool, hi: float | None = None) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise TypeError(f"{name} must be a number, got {type(v).__name__}")
            if not np.isfinite(v) or (v <= lo if strict else v < lo) or (hi is not None and v > hi):
                rng = f"{'>' if strict else '>='} {lo}" + (f" and <= {hi}" if hi is not None else "")
                raise ValueError(f"{name} must be finite and {rng}, got {v}")

        integer("knn", 1)
        integer("order", 1)
        integer("emb_dim", 1)
        integer("seed", 0)
        real("decay", 0.0, True)
        if not (isinstance(self.tau, str) and self.tau == "auto"):
            real("tau", 0.0, True)
        real("tau_max", 0.05, True)
        integer("n_tau", 3)
        real("cheb_tol", 0.0, True)
        real("harnack_regul", 0.0, False, 1.0)
        real("scale_factor", 0.0, True)
        if not isinstance(self.auto_order, bool):
            raise TypeError(f"auto_order must be a bool, got {type(self.auto_order).__name__}")
        if self.lap_type not in ("normalized", "combinatorial"):
            raise ValueError(f"lap_type must be 'normalized' or 'combinatorial', got {self.lap_type!r}")
        if self.graph_type not in ("alpha", "knn"):
            raise ValueError(f"graph_type must be 'alpha' or 'knn', got {self.graph_type!r}")
        if self.mds_solver not in ("smacof", "classic"):
            raise ValueError(f"mds_solver must be 'smacof' or 'classic', got {self.mds_solver!r}")

    @staticmethod
    def _check_X(X: Any, what: str = "X") -> np.ndarray:
        arr = np.asarray(X)
        if arr.dtype == object or arr.dtype.kind not in "fiub":
            raise TypeError(f"{what} must be a numeric (n_samples, n_features) array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"{what} must be a 2-D (n_samples, n_features) array, got shape {arr.shape}")
        if arr.shape[0] < 3 or arr.shape[1] < 1:
            raise ValueError(f"{what} must have at least 3 samples and 1 feature, got shape {arr.shape}")
        check_finite_array(arr, what)
        return arr.astype(float)

    # ------------------------------------------------------------------ core
    def _distances(self, W: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, int, float]:
        L = laplacian(W, self.lap_type)
        n = L.shape[0]
        if n > 2:
            lmax = float(eigsh(L, k=1, which="LA", return_eigenvectors=False, tol=1e-10,
                              v0=np.random.default_rng(0).uniform(0.5, 1.5, n))[0])
        else:
            lmax = float(np.linalg.eigvalsh(L.toarray()).max())
        phi = max(lmax / 2.0, 1e-12)

        def heat(t: float) -> tuple[np.ndarray, int]:
            order = int(self.order)
            if self.auto_order and chebyshev_tail(t, phi, order) > self.cheb_tol:
                order = chebyshev_order_for(t, phi, self.cheb_tol, start=order)
            H = chebyshev_heat(L, np.eye(n), t, order, phi)
            return 0.5 * (H + H.T), order

        if isinstance(self.tau, str):
            taus = np.linspace(0.05, float(self.tau_max), int(self.n_tau))
            kernels = [heat(float(t)) for t in taus]
            self.entropies_ = np.array([heat_entropy(H) for H, _ in kernels])
            k = kneedle(taus, self.entropies_, S=0.5)
            self.tau_ = float(taus[k])
            H, order = kernels[k]
        else:
            self.tau_ = float(self.tau)
            H, order = heat(self.tau_)
        D = heat_geodesic_distance(H, self.tau_, float(self.harnack_regul), float(self.scale_factor))
        return D, H, order, phi

    def _graph(self, X: Any) -> tuple[sp.csr_matrix, np.ndarray | None]:
        A = _as_graph_adjacency(X)
        if A is not None:
            if A.shape[0] < 3:
                raise ValueError(f"X must be a graph with at least 3 nodes, got {A.shape[0]}")
            if A.nnz and not np.isfinite(A.data).all():
                raise ValueError("X: edge weights contain NaN or Inf values")
            if A.nnz and (A.data < 0).any():
                raise ValueError("X: edge weights must be non-negative")
            return A, None
        arr = self._check_X(X)
        if self.knn >= len(arr):
            raise ValueError(f"knn must be smaller than the number of samples ({len(arr)}), got {self.knn}")
        W = alpha_decay_graph(arr, self.knn, self.decay) if self.graph_type == "alpha" else knn_graph(arr, self.knn)
        return W, arr

    def _embed(self, D: np.ndarray) -> np.ndarray:
        if self.emb_dim >= len(D):
            raise ValueError(f"emb_dim must be smaller than the number of samples ({len(D)}), got {self.emb_dim}")
        return metric_mds(D, int(self.emb_dim), self.mds_solver, int(self.seed))

    def fit(self, X: Any, y: Any = None) -> HeatGeodesic:
        self._check_params()
        W, arr = self._graph(X)
        self.distances_, self.heat_kernel_, self.order_used_, self.phi_ = self._distances(W)
        self.embedding_ = self._embed(self.distances_)
        self._fit_X = arr
        self._fit_graph = X if arr is None else None
        return self

    def fit_transform(self, X: Any, y: Any = None, **kw: Any) -> np.ndarray:
        return self.fit(X, y).embedding_

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "embedding_"):
            raise RuntimeError("HeatGeodesic: call fit before transform")
        if self._fit_X is None:
            if X is self._fit_graph or (_as_graph_adjacency(X) is not None
                                        and (_as_graph_adjacency(X) != _as_graph_adjacency(self._fit_graph)).nnz == 0):
                return self.embedding_
            raise ValueError("X: a graph-fitted HeatGeodesic only transforms the graph it was fitted on")
        arr = self._check_X(X)
        if arr.shape[1] != self._fit_X.shape[1]:
            raise ValueError(f"X has {arr.shape[1]} features, the descriptor was fitted on {self._fit_X.shape[1]}")
        if arr.shape == self._fit_X.shape and np.array_equal(arr, self._fit_X):
            return self.embedding_
        joint = np.vstack([self._fit_X, arr])
        W = alpha_decay_graph(joint, self.knn, self.decay) if self.graph_type == "alpha" else knn_graph(joint, self.knn)
        D, _, _, _ = self._distances(W)
        Z = self._embed(D)
        n = len(self._fit_X)
        # orthogonal Procrustes (with translation) of the joint embedding onto the fitted one
        A, B = Z[:n], self.embedding_
        ma, mb = A.mean(0), B.mean(0)
        U, _, Vt = np.linalg.svd((A - ma).T @ (B - mb))
        R = U @ Vt
        return (Z[n:] - ma) @ R + mb
