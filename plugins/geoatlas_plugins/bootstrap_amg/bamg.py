"""Bootstrap AMG embedding and modified k-means for clustering attributed graphs.

D'Ambra, Vassilevski, Cutillo, "Extending bootstrap AMG for clustering of attributed graphs",
Applied Mathematics and Computation 447 (2023) 127904 (and D'Ambra, Cutillo, Vassilevski,
"Bootstrap AMG for spectral clustering", CMAM 2019). Re-implemented from the papers and the
authors' description of BCMatch4Graphs (no code copied); each AMG hierarchy is coarsened by
compatible weighted matching (re-implemented) and run by pyamg's multilevel solver.

1. Attribute augmentation (SA-Cluster): one new vertex per (attribute, value); every original
   vertex is linked (weight 1) to the vertex of its value of every attribute.
2. Unweighted Laplacian ``L = E^T E`` of the augmented graph, made SPD by the rank-1 update
   ``L + s s^T`` with ``s = e_0 + e_j`` (``j`` the first neighbour of vertex 0).
3. Bootstrap AMG: from ``w_0 = 1``, repeatedly build an AMG hierarchy that interpolates the current
   smooth vector ``w`` exactly, add it to a multiplicative composite solver, and take as next
   smooth vector the error the composite solver leaves on ``A x = 0`` from a random start; stop
   when the estimated convergence factor reaches ``conv_ratio`` or after ``max_hrc`` hierarchies.
   Each hierarchy aggregates by two pairwise compatible-weighted-matching steps per level.
   The smooth vectors, orthonormalised by an SVD, are the embedding.
4. Modified k-means: each original vertex is a "super-node" whose coordinates are, for each
   embedding dimension, its own value and the values at its attribute vertices; Lloyd k-means from
   random rows (10 iterations), 100 restarts, the clustering of largest modularity is kept.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from geoatlas.interfaces import DataBundle, Dataset, Descriptor
from geoatlas.utils import adjacency_matrix


# ---------------------------------------------------------------------------- inputs
def _graph_and_attributes(X: Any) -> tuple[sp.csr_matrix, np.ndarray]:
    """Adjacency (unweighted, symmetric, no self-loops) and integer attributes ``(n, n_attr)`` of
    one attributed graph: a torch-geometric ``Data`` with ``edge_index`` and ``attr`` (or a pair
    ``(adjacency, attributes)``)."""
    if isinstance(X, tuple) and len(X) == 2:
        A, attr = X
        A = adjacency_matrix(A, weighted=False, name="adjacency")
        n = A.shape[0]
    elif hasattr(X, "edge_index"):
        attr = getattr(X, "attr", None)
        if attr is None:
            raise ValueError("data.attr (integer categorical attributes, shape (n_nodes, n_attributes)) is required")
        A = adjacency_matrix(X, weighted=False, name="data")
        n = A.shape[0]
    else:
        raise TypeError(f"X must be a torch-geometric Data with edge_index and attr, or a pair (adjacency, attributes); got {type(X).__name__}")
    attr = np.asarray(attr.detach().cpu() if hasattr(attr, "detach") else attr)
    if attr.ndim == 1:
        attr = attr[:, None]
    if attr.ndim != 2 or attr.shape[0] != n:
        raise ValueError(f"attributes must have shape ({n}, n_attributes), got {attr.shape}")
    if attr.dtype.kind == "f":
        if not np.isfinite(attr).all():
            raise ValueError("attributes contain NaN or Inf values")
        if not np.array_equal(attr, np.round(attr)):
            raise ValueError("attributes must be integer category codes")
    elif attr.dtype.kind not in "iub":
        raise TypeError(f"attributes must be integer category codes, got dtype {attr.dtype}")
    if n < 2:
        raise ValueError(f"the graph must have at least 2 nodes, got {n}")
    A = A.maximum(A.T).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    A.data[:] = 1.0
    return A, attr.astype(np.int64)


# ---------------------------------------------------------------------------- augmentation
def augment(A: sp.spmatrix, attr: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The attribute-augmented adjacency ``(n + n_values)``: original edges plus, for every
    attribute ``a`` and vertex ``i``, an edge (weight 1) from ``i`` to the vertex of value
    ``attr[i, a]``. Returns it and the ``(n, n_attr)`` indices of each vertex's attribute vertices.
    Values absent from the data get no vertex."""
    n, n_attr = attr.shape
    idx = np.empty_like(attr)
    offset = n
    for a in range(n_attr):
        _, inv = np.unique(attr[:, a], return_inverse=True)
        idx[:, a] = offset + inv
        offset += int(inv.max()) + 1
    rows = np.repeat(np.arange(n), n_attr)
    cols = idx.ravel()
    B = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(offset, offset))
    Aa = sp.csr_matrix(A, shape=(n, n))
    Aa.resize((offset, offset))
    G = (Aa + B + B.T).tocsr()
    G.data[:] = 1.0
    return G, idx


def spd_laplacian(G: sp.spmatrix) -> sp.csr_matrix:
    """``L = E^T E`` (unweighted incidence of the strictly upper triangle, entries +-1) plus the
    rank-1 update ``s s^T``, ``s = e_0 + e_j`` with ``j`` the first neighbour of vertex 0."""
    U = sp.triu(G, k=1).tocoo()
    m = U.nnz
    n = G.shape[0]
    E = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[np.arange(m), np.arange(m)], np.r_[U.row, U.col])), shape=(m, n))
    L = (E.T @ E).tocsr()
    nb = sp.csr_matrix(G)[0].indices
    nb = nb[nb != 0]
    j = int(nb.min()) if len(nb) else 1
    s = np.zeros(n)
    s[0] = s[j] = 1.0
    return (L + sp.csr_matrix(np.outer(s, s))).tocsr()


# ---------------------------------------------------------------------------- bootstrap AMG
def compatible_matching_weights(A: sp.csr_matrix, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``i < j`` of ``A`` and their compatible weights
    ``1 - 2 a_ij w_i w_j / (a_ii w_i^2 + a_jj w_j^2)`` (machine epsilon where the denominator is
    not positive), the weights BootCMatch matches on (``bcm_weightmat.c``)."""
    U = sp.triu(A, k=1).tocoo()
    d = A.diagonal()
    den = d[U.row] * w[U.row] ** 2 + d[U.col] * w[U.col] ** 2
    eps = np.finfo(float).eps
    safe = np.where(den > eps, den, 1.0)
    wt = np.where(den > eps, 1.0 - 2.0 * w[U.row] * w[U.col] * U.data / safe, eps)
    return U.row, U.col, wt


def greedy_matching(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Half-approximate maximum-weight matching: edges by decreasing weight (ties by index), an
    edge is taken when both ends are free. With distinct weights this is the locally-dominant
    matching that Preis' algorithm (the authors' default ``matchtype 0``) also returns.
    Returns ``mate`` (``-1`` for unmatched vertices)."""
    mate = np.full(n, -1, dtype=np.int64)
    for e in np.lexsort((cols, rows, -weights)):
        i, j = int(rows[e]), int(cols[e])
        if mate[i] < 0 and mate[j] < 0:
            mate[i], mate[j] = j, i
    return mate


def matching_prolongator(A: sp.csr_matrix, w: np.ndarray) -> sp.csr_matrix:
    """One pairwise aggregation step by compatible weighted matching: each matched pair ``{i, j}``
    is a coarse vertex with prolongator column ``(w_i e_i + w_j e_j) / ||(w_i, w_j)||``, each
    unmatched vertex a singleton with column ``sign(w_i) e_i``, so that ``P P^T w = w``."""
    n = A.shape[0]
    r, c, wt = compatible_matching_weights(A, w)
    mate = greedy_matching(r, c, wt, n)
    rows, cols, vals = [], [], []
    k = 0
    for i in range(n):
        j = int(mate[i])
        if j >= 0 and j < i:
            continue
        if j < 0:
            rows.append(i)
            cols.append(k)
            vals.append(1.0 if w[i] >= 0 else -1.0)
        else:
            nrm = float(np.hypot(w[i], w[j]))
            for v in (i, j):
                rows.append(v)
                cols.append(k)
                vals.append(w[v] / nrm if nrm > 0 else 1.0 / np.sqrt(2.0))
        k += 1
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, k))


def matching_hierarchy(A: sp.csr_matrix, w: np.ndarray, sweeps: int = 2, max_coarse: int = 10, max_levels: int = 39) -> Any:
    """An unsmoothed-aggregation AMG hierarchy (pyamg ``MultilevelSolver``) whose aggregates are
    built by ``sweeps`` successive pairwise compatible-weighted-matching steps per level (the
    authors' ``aggrsweeps 1`` = 2 steps, aggregates of up to 4 vertices) and whose prolongators
    interpolate the smooth vector ``w`` exactly."""
    from pyamg.multilevel import MultilevelSolver

    levels = []
    A = sp.csr_matrix(A)
    w = np.asarray(w, dtype=float)
    while len(levels) < max_levels - 1 and A.shape[0] > max_coarse:
        P = sp.identity(A.shape[0], format="csr")
        Ac, wc = A, w
        for _ in range(sweeps):
            Pk = matching_prolongator(Ac, wc)
            if Pk.shape[1] == Ac.shape[0]:
                break
            Ac, wc = (Pk.T @ Ac @ Pk).tocsr(), Pk.T @ wc
            P = (P @ Pk).tocsr()
        if P.shape[1] == A.shape[0]:  # no pair was matched: stop coarsening
            break
        lvl = MultilevelSolver.Level()
        lvl.A, lvl.P, lvl.R = A, P, P.T.tocsr()
        levels.append(lvl)
        A, w = Ac, wc
    lvl = MultilevelSolver.Level()
    lvl.A = A
    levels.append(lvl)
    return MultilevelSolver(levels, coarse_solver="pinv")


class CompositeAMG:
    """A multiplicative composite of AMG hierarchies: ``x <- x + B_j (b - A x)`` for each hierarchy in turn.

    ``aggregation="matching"`` (default): the authors' coarsening by compatible weighted matching
    (:func:`matching_hierarchy`); ``"standard"``: pyamg's standard (Vanek) unsmoothed aggregation
    with the tentative prolongator fitted to ``w`` (the plugin's first version). Gauss-Seidel
    forward pre- and backward post-smoothing, one sweep each, V-cycle (the authors' sample input)."""

    def __init__(self, A: sp.csr_matrix, aggregation: str = "matching") -> None:
        if aggregation not in ("matching", "standard"):
            raise ValueError(f"aggregation must be 'matching' or 'standard', got {aggregation!r}")
        self.A = A
        self.aggregation = aggregation
        self.precs: list[Any] = []

    def add(self, w: np.ndarray, max_coarse: int = 10) -> int:
        import pyamg
        from pyamg.relaxation.smoothing import change_smoothers

        smoothers = dict(presmoother=("gauss_seidel", {"sweep": "forward"}),
                         postsmoother=("gauss_seidel", {"sweep": "backward"}))
        if self.aggregation == "matching":
            ml = matching_hierarchy(self.A, w, sweeps=2, max_coarse=max_coarse)
            change_smoothers(ml, **smoothers)
        else:
            ml = pyamg.smoothed_aggregation_solver(
                self.A, B=w[:, None], smooth=None, strength="symmetric", aggregate="standard", max_coarse=max_coarse,
                improve_candidates=None, keep=False, **smoothers)
        self.precs.append(ml.aspreconditioner(cycle="V"))
        return len(ml.levels)

    def error_step(self, x: np.ndarray) -> np.ndarray:
        """One application of the composite error propagation to ``A x = 0``."""
        for M in self.precs:
            x = x - M @ (self.A @ x)
        return x


def bootstrap_smooth_vectors(A: sp.csr_matrix, max_hrc: int = 40, conv_ratio: float = 1e-6, n_iter_est: int = 15,
                             seed: int = 0, max_coarse: int = 10, aggregation: str = "matching") -> tuple[np.ndarray, list[float]]:
    """Smooth vectors ``(n, n_hrc + 1)`` of the bootstrap and the estimated convergence factor after
    each hierarchy. ``w_0 = 1``; after adding hierarchy ``k`` built on ``w_k``, ``n_iter_est``
    composite iterations on ``A x = 0`` from a random ``x`` give the factor
    ``rho = (||x_it||_A / ||x_0||_A)^(1/it)`` and, normalised, the next smooth vector ``w_{k+1}``."""
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    w = np.ones(n) / np.sqrt(n)
    ws, rhos = [w], []
    comp = CompositeAMG(A, aggregation)

    def anorm(v: np.ndarray) -> float:
        return float(np.sqrt(max(v @ (A @ v), 0.0)))

    for _ in range(max_hrc):
        comp.add(w, max_coarse)
        x = rng.uniform(-1, 1, n)
        a0 = anorm(x)
        for _ in range(n_iter_est):
            x = comp.error_step(x)
        a1 = anorm(x)
        rho = (a1 / a0) ** (1.0 / n_iter_est) if a0 > 0 else 0.0
        rhos.append(rho)
        nx_ = np.linalg.norm(x)
        if nx_ == 0 or not np.isfinite(nx_):
            break
        w = x / nx_
        ws.append(w)
        if rho <= conv_ratio:
            break
    return np.stack(ws, axis=1), rhos


# ---------------------------------------------------------------------------- modified k-means
def block_features(U: np.ndarray, n: int, attr_idx: np.ndarray) -> np.ndarray:
    """Super-node coordinates: for each embedding dimension, the vertex's own value then the values
    at its attribute vertices: ``(n, (n_attr + 1) * dim)``."""
    own = U[:n][:, None, :]  # (n, 1, dim)
    att = U[attr_idx]  # (n, n_attr, dim)
    return np.concatenate([own, att], axis=1).transpose(0, 2, 1).reshape(n, -1)


def modularity(A: sp.spmatrix, labels: np.ndarray) -> float:
    """Newman's modularity ``Q = sum_c (e_c / m - (d_c / 2m)^2)`` of an undirected graph."""
    A = sp.csr_matrix(A)
    m2 = A.sum()
    if m2 == 0:
        return 0.0
    deg = np.asarray(A.sum(1)).ravel()
    coo = A.tocoo()
    same = labels[coo.row] == labels[coo.col]
    inside = float(coo.data[same].sum())
    dsum = np.bincount(labels, weights=deg)
    return inside / m2 - float(((dsum / m2) ** 2).sum())


def lloyd(X: np.ndarray, centroids: np.ndarray, max_iter: int = 10) -> np.ndarray:
    """Lloyd iterations from the given centroids until assignments stop changing or ``max_iter``."""
    labels = None
    for _ in range(max_iter):
        d = ((X[:, None, :] - centroids[None]) ** 2).sum(-1)
        new = d.argmin(1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for c in range(len(centroids)):
            if (labels == c).any():
                centroids[c] = X[labels == c].mean(0)
    return labels


def modified_kmeans(X: np.ndarray, A: sp.spmatrix, n_clusters: int, n_restarts: int = 100, max_iter: int = 10,
                    seed: int = 0) -> tuple[np.ndarray, float]:
    """``n_restarts`` Lloyd runs from random rows of ``X`` as centroids; the labels of largest
    modularity on ``A`` and that modularity."""
    rng = np.random.default_rng(seed)
    best, best_q = None, -np.inf
    for _ in range(n_restarts):
        idx = rng.integers(0, len(X), n_clusters)
        lab = lloyd(X, X[idx].copy(), max_iter)
        q = modularity(A, lab)
        if q > best_q:
            best, best_q = lab, q
    return best, best_q


# ---------------------------------------------------------------------------- descriptor
class BootstrapAMG(Descriptor):
    """Bootstrap-AMG embedding of an attributed graph (a descriptor over its nodes).

    ``transform(data)`` returns the super-node coordinates ``(n_nodes, (n_attr + 1) * dim)``
    (``dim`` = number of smooth vectors): Euclidean k-means on them is the paper's modified k-means
    distance. With ``n_clusters`` set, ``fit`` also runs the paper's modified k-means (random
    restarts, modularity selection) and stores ``labels_`` and ``modularity_``.

    Parameters
    ----------
    max_hrc : int
        Most hierarchies (the authors' sample input: 40).
    conv_ratio : float
        Desired convergence factor of the composite solver (authors: 1e-6).
    n_iter_est : int
        Composite iterations for the convergence estimate (authors: 15).
    use_attributes : bool
        Augment with attribute vertices (``False``: structure only, the 2019 method).
    n_clusters : int or None
        Run the modified k-means in ``fit``.
    n_restarts : int
        Restarts of the modified k-means (authors: 100, each at most 10 iterations).
    seed : int
    aggregation : {"matching", "standard"}
        Coarsening of each hierarchy: ``"matching"`` the authors' compatible weighted matching
        (two pairwise steps per level, unsmoothed, prolongator interpolating the smooth vector);
        ``"standard"`` pyamg's standard unsmoothed aggregation fitted to the smooth vector.
    """

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, max_hrc: int = 40, conv_ratio: float = 1e-6, n_iter_est: int = 15, use_attributes: bool = True,
                 n_clusters: int | None = None, n_restarts: int = 100, seed: int = 0,
                 aggregation: Literal["matching", "standard"] = "matching") -> None:
        self.max_hrc, self.conv_ratio, self.n_iter_est = max_hrc, conv_ratio, n_iter_est
        self.aggregation = aggregation
        self.use_attributes, self.n_clusters, self.n_restarts, self.seed = use_attributes, n_clusters, n_restarts, seed

    def _check(self) -> None:
        for name, lo in (("max_hrc", 1), ("n_iter_est", 1), ("n_restarts", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
            if v < lo:
                raise ValueError(f"{name} must be >= {lo}, got {v}")
        if self.n_clusters is not None and (isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, (int, np.integer))):
            raise TypeError(f"n_clusters must be an integer or None, got {type(self.n_clusters).__name__}")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {self.n_clusters}")
        c = self.conv_ratio
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not (0 < c < 1):
            raise ValueError(f"conv_ratio must be a number in (0, 1), got {c!r}")
        if self.aggregation not in ("matching", "standard"):
            raise ValueError(f"aggregation must be 'matching' or 'standard', got {self.aggregation!r}")
        if not isinstance(self.use_attributes, bool):
            raise TypeError(f"use_attributes must be a bool, got {type(self.use_attributes).__name__}")

    def _embed(self, X: Any) -> tuple[np.ndarray, sp.csr_matrix]:
        A, attr = _graph_and_attributes(X)
        n = A.shape[0]
        if self.use_attributes:
            G, idx = augment(A, attr)
        else:
            G, idx = A, np.zeros((n, 0), dtype=np.int64)
        L = spd_laplacian(G)
        W, self.rhos_ = bootstrap_smooth_vectors(L, self.max_hrc, float(self.conv_ratio), self.n_iter_est, self.seed,
                                                 aggregation=self.aggregation)
        U, self.singular_values_, _ = np.linalg.svd(W, full_matrices=False)  # left singular vectors (as the authors)
        self.smooth_vectors_ = W
        self.n_hierarchies_ = len(self.rhos_)
        return block_features(U, n, idx), A

    def fit(self, X: Any, y: Any = None) -> BootstrapAMG:
        self._check()
        F, A = self._embed(X)
        self.features_ = F
        self._fit_key = self._key(X)
        if self.n_clusters is not None:
            if self.n_clusters > len(F):
                raise ValueError(f"n_clusters={self.n_clusters} exceeds the {len(F)} nodes")
            self.labels_, self.modularity_ = modified_kmeans(F, A, int(self.n_clusters), self.n_restarts, 10, self.seed)
        return self

    @staticmethod
    def _key(X: Any) -> bytes:
        A, attr = _graph_and_attributes(X)
        return A.indptr.tobytes() + A.indices.tobytes() + attr.tobytes()

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "features_"):
            raise RuntimeError("BootstrapAMG: call fit before transform")
        if self._key(X) != self._fit_key:
            raise ValueError("X: BootstrapAMG is transductive; it transforms the graph it was fitted on")
        return self.features_


# ---------------------------------------------------------------------------- data
class AttributedSBM(Dataset):
    """A stochastic block model with categorical node attributes correlated with the blocks.

    ``n_blocks`` blocks of ``block_size`` nodes, edge probabilities ``p_in`` / ``p_out``;
    ``n_attributes`` attributes with ``n_values`` values each: a node takes the value of its block
    (``block % n_values``) with probability ``attr_signal``, else a uniform value. One
    torch-geometric ``Data``: ``edge_index``, ``attr`` (integer codes), ``x`` (one-hot attributes),
    ``y`` (blocks)."""

    data_type = "graph_nodes"
    task = "clustering"

    def __init__(self, n_blocks: int = 3, block_size: int = 100, p_in: float = 0.06, p_out: float = 0.03,
                 n_attributes: int = 2, n_values: int = 5, attr_signal: float = 0.7, seed: int = 0) -> None:
        for name, v in (("n_blocks", n_blocks), ("block_size", block_size), ("n_attributes", n_attributes), ("n_values", n_values)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name, v in (("p_in", p_in), ("p_out", p_out), ("attr_signal", attr_signal)):
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
        self.n_blocks, self.block_size, self.p_in, self.p_out = n_blocks, block_size, p_in, p_out
        self.n_attributes, self.n_values, self.attr_signal, self.seed = n_attributes, n_values, attr_signal, seed

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        rng = np.random.default_rng(self.seed)
        n = self.n_blocks * self.block_size
        y = np.repeat(np.arange(self.n_blocks), self.block_size)
        P = np.where(y[:, None] == y[None, :], self.p_in, self.p_out)
        U = np.triu(rng.random((n, n)) < P, k=1)
        r, c = np.nonzero(U)
        attr = np.empty((n, self.n_attributes), dtype=np.int64)
        for a in range(self.n_attributes):
            keep = rng.random(n) < self.attr_signal
            attr[:, a] = np.where(keep, (y + a) % self.n_values, rng.integers(0, self.n_values, n))
        onehot = np.concatenate([np.eye(self.n_values)[attr[:, a]] for a in range(self.n_attributes)], axis=1)
        data = Data(x=torch.tensor(onehot, dtype=torch.float32), attr=torch.tensor(attr),
                    edge_index=torch.tensor(np.vstack([np.r_[r, c], np.r_[c, r]]), dtype=torch.long),
                    y=torch.tensor(y), num_nodes=n)
        return DataBundle(data, y, "graph_nodes", task="clustering", meta={"n_classes": self.n_blocks})
