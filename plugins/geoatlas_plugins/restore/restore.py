"""RESTORE: intrinsic assessment of graph embeddings by k-hop neighbourhood reconstruction
(Yip et al., arXiv 2308.14659).

For every node ``v`` the other nodes are ranked by their embedding similarity to ``v``; the
ranking is scored against the nodes within ``k`` hops of ``v`` by average precision (AP), and
the AP is averaged over the nodes that have at least one such neighbour (mean average precision,
mAP, per hop ``k``). A perfect embedding for hop ``k`` ranks every node within ``k`` hops above
every other node (e.g. the rows of ``(I + A)^k`` used as similarities: mAP_k = 1); random
embeddings score about the density of the k-hop neighbourhoods.

AP follows scikit-learn's ``average_precision_score`` (the step-wise sum over distinct score
thresholds, ``sum_n (R_n - R_{n-1}) P_n``; tied scores form one threshold), computed for all
nodes at once.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from geoatlas.interfaces import Measure
from geoatlas.utils import adjacency_matrix

SIMILARITIES = ("cosine", "euclidean", "dot", "precomputed")


def as_adjacency(G: Any) -> sp.csr_matrix:
    """An ``(n, n)`` 0/1 adjacency matrix (CSR, symmetrised, no self-loops) of a torch-geometric
    ``Data``, a networkx graph, a scipy sparse or a dense square matrix: the core's
    :func:`geoatlas.utils.adjacency_matrix` with ``weighted=False, symmetric=True`` (it raises
    ``ValueError``/``TypeError`` naming ``graph`` for a malformed ``edge_index``, ids out of
    range, a non-square matrix, NaN/Inf or no nodes), then the diagonal dropped; RESTORE also
    needs at least 2 nodes."""
    A = adjacency_matrix(G, weighted=False, symmetric=True, name="graph")
    if A.shape[0] < 2:
        raise ValueError(f"the graph needs at least 2 nodes, got {A.shape[0]}")
    A = A.tolil()
    A.setdiag(0)
    A = sp.csr_matrix(A)
    A.eliminate_zeros()
    return A


def hop_distances(A: sp.spmatrix) -> np.ndarray:
    """``(n, n)`` shortest-path hop counts (``inf`` between components)."""
    return shortest_path(A, method="D", unweighted=True, directed=False)


def similarity_matrix(Z: np.ndarray, similarity: str) -> np.ndarray:
    """``(n, n)`` similarities of the embedding rows (larger = more similar)."""
    if similarity == "precomputed":
        return np.asarray(Z, dtype=np.float64)
    if similarity == "dot":
        return Z @ Z.T
    if similarity == "cosine":
        norms = np.linalg.norm(Z, axis=1)
        Zn = Z / np.where(norms > 0, norms, 1.0)[:, None]
        return Zn @ Zn.T
    sq = (Z * Z).sum(1)
    return -np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * Z @ Z.T, 0.0))


def average_precision_rows(S: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Average precision of each row of scores ``S`` against the 0/1 labels ``Y`` (same shape),
    as ``sklearn.metrics.average_precision_score`` defines it (ties = one threshold). Rows
    without positives give NaN."""
    m, k = S.shape
    order = np.argsort(-S, axis=1, kind="stable")
    s = np.take_along_axis(S, order, 1)
    y = np.take_along_axis(Y, order, 1).astype(np.float64)
    tp = np.cumsum(y, axis=1)
    pos = tp[:, -1]
    # the last position of every group of tied scores is where a threshold closes
    last = np.ones((m, k), dtype=bool)
    last[:, :-1] = s[:, :-1] != s[:, 1:]
    prec = tp / np.arange(1, k + 1)
    # recall increment at each threshold = positives gained since the previous threshold
    # (tp is non-decreasing, so a running maximum over closing positions is the previous one's tp)
    closed = np.maximum.accumulate(np.where(last, tp, 0.0), axis=1)
    prev = np.zeros((m, k))
    prev[:, 1:] = closed[:, :-1]
    gain = np.where(last, tp - prev, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pos > 0, (gain * prec).sum(1) / pos, np.nan)


def restore_map(Z: Any, graph: Any, hops: Sequence[int] = (1, 2, 3), similarity: str = "cosine", cumulative: bool = True) -> dict[str, Any]:
    """mAP of k-hop neighbourhood reconstruction for each ``k`` in ``hops`` (see the module)."""
    A = as_adjacency(graph)
    n = A.shape[0]
    Z = np.asarray(Z, dtype=np.float64)
    if similarity == "precomputed":
        if Z.shape != (n, n):
            raise ValueError(f"a precomputed similarity must be ({n}, {n}) for a graph of {n} nodes, got {Z.shape}")
    elif Z.ndim != 2 or Z.shape[0] != n:
        raise ValueError(f"the embedding must have one row per node: ({n}, d), got shape {Z.shape}")
    if Z.size == 0 or (Z.ndim == 2 and Z.shape[1] == 0):
        raise ValueError("the embedding is empty")
    if not np.isfinite(Z).all():
        raise ValueError("the embedding contains NaN or Inf values")
    S = similarity_matrix(Z, similarity)
    D = hop_distances(A)
    off = ~np.eye(n, dtype=bool)
    Soff = S[off].reshape(n, n - 1)
    out: dict[str, Any] = {}
    for k in hops:
        Y = (D >= 1) & (D <= k) if cumulative else (D == k)
        Yoff = Y[off].reshape(n, n - 1)
        ap = average_precision_rows(Soff, Yoff)
        keep = ~np.isnan(ap)
        out[f"map_hop_{k}"] = float(ap[keep].mean()) if keep.any() else float("nan")
        out[f"random_map_hop_{k}"] = float((Yoff.sum(1)[keep] / (n - 1)).mean()) if keep.any() else float("nan")
        out[f"nodes_hop_{k}"] = int(keep.sum())
    return out


class Restore(Measure):
    """RESTORE's node-level reconstruction score of a graph embedding: mAP per hop.

    ``data["X"]`` is either a torch-geometric ``Data`` whose node features ``x`` are the
    embedding (what a descriptor step with ``output: graph_nodes``, e.g. ``fastrp``, hands on)
    -- its ``edge_index`` is the graph -- or an ``(n, d)`` embedding with the graph in
    ``data["graph"]`` (a ``Data``, a networkx graph or an adjacency matrix).

    Parameters
    ----------
    hops : list of int
        The neighbourhood radii ``k`` (paper: 1, 2, 3).
    similarity : str
        How nodes are ranked: ``"cosine"`` (default), ``"euclidean"`` (negative distance),
        ``"dot"``, or ``"precomputed"`` (``X`` is an ``(n, n)`` similarity matrix).
    cumulative : bool
        The ground truth of hop ``k``: nodes within ``k`` hops (default) or exactly ``k`` hops away.

    Returns ``map_hop_k`` (the score), ``random_map_hop_k`` (the expected AP of a random ranking,
    about the fraction of nodes within ``k`` hops) and ``nodes_hop_k`` (nodes averaged over).
    """

    needs_model = False

    def __init__(self, hops: list[int] = (1, 2, 3), similarity: str = "cosine", cumulative: bool = True) -> None:  # type: ignore[assignment]
        if isinstance(hops, (str, bytes)) or not isinstance(hops, Sequence) or len(hops) == 0:
            raise ValueError(f"hops must be a non-empty list of positive integers, got {hops!r}")
        for k in hops:
            if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
                raise ValueError(f"hops must hold positive integers, got {hops!r}")
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")
        if not isinstance(cumulative, bool):
            raise TypeError(f"cumulative must be a bool, got {type(cumulative).__name__}")
        self.hops = [int(k) for k in hops]
        self.similarity = similarity
        self.cumulative = cumulative

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not data or "X" not in data:
            raise ValueError("restore needs data={'X': embedding or graph with x, ...}")
        X = data["X"]
        graph = data.get("graph")
        if graph is None:
            if not (hasattr(X, "edge_index") and getattr(X, "x", None) is not None):
                raise ValueError("restore needs the graph: pass data['graph'], or X as a torch-geometric Data whose x is the embedding "
                                 "(a descriptor step with output: graph_nodes)")
            graph = X
            X = X.x.detach().cpu().numpy() if hasattr(X.x, "detach") else np.asarray(X.x)
        elif hasattr(X, "detach"):
            X = X.detach().cpu().numpy()
        return restore_map(X, graph, self.hops, self.similarity, self.cumulative)
