"""FastRP: node embeddings by very sparse random projection (Chen, Sultan, Tian, Chen, Skiena, CIKM 2019).

With ``A`` the adjacency matrix of a graph, ``D`` its degree matrix and ``M = D^{-1} A`` (the
transition matrix, ``input_matrix="trans"``) or ``M = A`` (``"adj"``), FastRP computes

    N_1 = M D^beta R,   N_i = M N_{i-1}  (i = 2..q),   N = scale(sum_i alpha_i norm(N_i))

where ``R`` is an ``n x d`` very sparse random projection (Li, Hastie, Church 2006: entries
``+-sqrt(s / d)`` with probability ``1 / (2 s)`` each, else 0, ``s = sqrt(n)``), ``beta`` the
normalization strength (down-weights high-degree nodes for ``beta < 0``), ``alpha_i`` the
weights of the powers, ``norm`` an optional row-wise L2 normalisation and ``scale`` column
standardisation. Like the authors' reference (``GTmac/FastRP``, ``fastrp.py``), ``R`` is
``sklearn.random_projection.SparseRandomProjection(n_components=d, random_state=seed)`` fitted on
``M``, so a seed gives exactly the reference's projection. Nothing is trained; the embedding of
``n`` nodes costs ``q`` sparse-dense products, ``O(q * nnz(A) * d)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from geoatlas.interfaces import Descriptor
from geoatlas.utils import adjacency_matrix, with_node_features

INPUT_MATRICES = ("trans", "adj")
PROJECTIONS = ("sparse", "gaussian")
OUTPUTS = ("features", "graph_nodes")


def adjacency(X: Any) -> sp.csr_matrix:
    """The ``(n, n)`` adjacency matrix (float64 CSR) of a torch-geometric ``Data`` (its
    ``edge_index``, with ``edge_weight`` when present), a networkx graph (its ``weight``
    attribute), a scipy sparse matrix or a square array: the core's
    :func:`geoatlas.utils.adjacency_matrix` (repeated edges summed, no symmetrisation), which
    raises ``ValueError``/``TypeError`` naming ``X`` for a malformed ``edge_index``, ids out of
    range, a non-square matrix, NaN/Inf or no nodes; FastRP also rejects negative weights."""
    A = adjacency_matrix(X, weighted=True, symmetric=False, name="X")
    if (A.data < 0).any():
        raise ValueError("X: the adjacency matrix has negative edge weights")
    return A


def sparse_projection(M: sp.spmatrix, dim: int, seed: int, projection: str = "sparse") -> np.ndarray:
    """The ``(n, dim)`` random projection matrix ``R``: scikit-learn's very sparse (density
    ``1/sqrt(n)``) or Gaussian random projection fitted on ``M`` with ``random_state=seed``, as
    the reference code draws it (``components_.T``)."""
    import warnings

    from sklearn.exceptions import DataDimensionalityWarning
    from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

    cls = SparseRandomProjection if projection == "sparse" else GaussianRandomProjection
    with warnings.catch_warnings():  # dim > n is allowed here (small graphs)
        warnings.simplefilter("ignore", DataDimensionalityWarning)
        comp = cls(n_components=dim, random_state=seed).fit(M).components_
    return (comp.toarray() if sp.issparse(comp) else np.asarray(comp)).T


def fastrp_powers(A: sp.spmatrix, dim: int, q: int, beta: float | None, input_matrix: str, seed: int,
                  projection: str = "sparse") -> list[np.ndarray]:
    """``[N_1, ..., N_q]`` with ``N_1 = M D^beta R`` and ``N_i = M N_{i-1}``. Isolated nodes
    (degree 0) get zero rows in ``D^{-1}`` and ``D^beta``."""
    A = sp.csr_matrix(A, dtype=np.float64)
    deg = np.asarray(A.sum(axis=1)).ravel()
    nz = deg > 0
    if input_matrix == "trans":
        inv = np.zeros_like(deg)
        inv[nz] = 1.0 / deg[nz]
        M = sp.diags(inv) @ A
    else:
        M = A
    M = sp.csr_matrix(M)
    R = sparse_projection(M, dim, seed, projection)
    if beta is not None:
        db = np.zeros_like(deg)
        db[nz] = deg[nz] ** beta
        R = db[:, None] * R
    cur = M @ R
    out = [np.asarray(cur)]
    for _ in range(1, q):
        cur = M @ cur
        out.append(np.asarray(cur))
    return out


def merge(powers: Sequence[np.ndarray], weights: Sequence[float] | None, row_normalize: bool, standardize: bool = True) -> np.ndarray:
    """``scale(sum_i w_i norm(N_i))`` (``weights=None``: the normalised powers side by side, as
    the reference's ``fastrp_merge`` does)."""
    from sklearn.preprocessing import normalize, scale

    parts = [normalize(P, norm="l2", axis=1) for P in powers] if row_normalize else [np.asarray(P) for P in powers]
    if weights is None:
        return np.concatenate(parts, axis=1)
    U = np.zeros_like(parts[0])
    for P, w in zip(parts, weights, strict=True):
        U += w * P
    return scale(U) if standardize else U


class FastRP(Descriptor):
    """FastRP node embeddings of one graph (transductive, training-free).

    ``transform(X)`` takes one graph -- a torch-geometric ``Data`` (``graph_nodes`` data), a
    networkx graph, a scipy sparse or a square dense adjacency matrix -- and returns the
    ``(n_nodes, dim)`` embedding (``output="features"``), or, for a ``Data``, a copy whose node
    features ``x`` are the embedding (``output="graph_nodes"``: then a pipeline's later models,
    classifiers or clusterers, see the graph's own train/test masks).

    Parameters
    ----------
    dim : int
        Embedding dimension ``d`` (authors: 512 on BlogCatalog).
    weights : list of float
        ``alpha_1..alpha_q``, the weight of each power ``N_i``; its length is ``q``.
        Default ``[0, 0, 1, 6.67]``: the authors' BlogCatalog setting.
    normalization_strength : float or None
        ``beta`` of ``D^beta`` (authors: ``-0.64``); ``None`` or ``0`` leaves ``R`` unweighted.
    input_matrix : str
        ``"trans"`` (``D^{-1} A``, authors' runs) or ``"adj"`` (``A``).
    row_normalize : bool
        L2-normalise the rows of each ``N_i`` before the weighted sum (authors: True).
    projection : str
        ``"sparse"`` (very sparse, the paper) or ``"gaussian"``.
    standardize : bool
        Standardise the columns of the weighted sum (``sklearn.preprocessing.scale``), as the
        reference does.
    seed : int
        ``random_state`` of the projection (the reference uses 42).
    output : str
        ``"features"`` (an array) or ``"graph_nodes"`` (a ``Data`` with the embedding as ``x``).
    """

    input_type: ClassVar[str] = "graph_nodes"
    per_sample: ClassVar[bool] = False

    def __init__(self, dim: int = 512, weights: Sequence[float] = (0.0, 0.0, 1.0, 6.67),  # type: ignore[assignment]
                 normalization_strength: float | None = -0.64, input_matrix: str = "trans", row_normalize: bool = True,
                 projection: str = "sparse", standardize: bool = True, seed: int = 42, output: str = "features") -> None:
        self.dim = dim
        self.weights = weights
        self.normalization_strength = normalization_strength
        self.input_matrix = input_matrix
        self.row_normalize = row_normalize
        self.projection = projection
        self.standardize = standardize
        self.seed = seed
        self.output = output
        self._validate()

    @property
    def output_type(self) -> str:
        return "graph_nodes" if self.output == "graph_nodes" else "features"

    def _validate(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, numbers.Integral) or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if isinstance(self.weights, (str, bytes)) or not isinstance(self.weights, Sequence) or len(self.weights) == 0:
            raise ValueError(f"weights must be a non-empty list of numbers (one per power), got {self.weights!r}")
        for w in self.weights:
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w):
                raise ValueError(f"weights must hold finite numbers, got {self.weights!r}")
        b = self.normalization_strength
        if b is not None and (isinstance(b, bool) or not isinstance(b, numbers.Real) or not np.isfinite(b)):
            raise ValueError(f"normalization_strength must be a finite number or None, got {b!r}")
        if self.input_matrix not in INPUT_MATRICES:
            raise ValueError(f"input_matrix must be one of {', '.join(INPUT_MATRICES)}, got {self.input_matrix!r}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {', '.join(PROJECTIONS)}, got {self.projection!r}")
        for name in ("row_normalize", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")

    def fit(self, X: Any, y: Any = None) -> FastRP:
        self._validate()
        return self

    def embed(self, X: Any) -> np.ndarray:
        """The ``(n_nodes, dim)`` embedding of the graph ``X`` (float64)."""
        self._validate()
        A = adjacency(X)
        beta = None if self.normalization_strength in (None, 0) else float(self.normalization_strength)
        powers = fastrp_powers(A, int(self.dim), len(self.weights), beta, self.input_matrix, int(self.seed), self.projection)
        return merge(powers, [float(w) for w in self.weights], self.row_normalize, self.standardize)

    def transform(self, X: Any) -> Any:
        Z = self.embed(X)
        return Z if self.output == "features" else with_node_features(X, Z)
