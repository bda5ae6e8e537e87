"""Random-walk statistics of IRWE [recon]: anonymous-walk distributions and uniform random walks.

An *anonymous walk* (Ivanov & Burnaev, ICML 2018) of a walk ``(w_0, ..., w_{l-1})`` replaces
each node by the index of its first occurrence: ``(a, b, a, c)`` becomes ``(0, 1, 0, 2)``. On a
simple graph (no self-loops) consecutive labels differ, so the anonymous walks with ``l`` nodes
are the restricted-growth strings with no two equal neighbours; there are ``Bell(l - 1)`` of them.
For a node ``v`` and the uniform random walk ``P(w_{i+1} = u | w_i) = 1 / deg(w_i)`` started at
``v``, the identity statistic of ``v`` is the distribution

    p_v(a) = sum over walks w from v with anon(w) = a of prod_i 1 / deg(w_i).

It depends only on the rooted isomorphism class of ``v``'s ``(l - 1)``-hop neighbourhood, so it
needs no node ids and transfers to unseen graphs. That IRWE uses exactly these statistics is a
reconstruction [recon]: the paper's abstract says only that "some RW statistics" characterise
identities and positions.
"""

from __future__ import annotations

import numbers
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoatlas.utils import adjacency_matrix


def graph_adjacency(X: Any, name: str = "X") -> sp.csr_matrix:
    """The binary, symmetric, loop-free ``(n, n)`` CSR adjacency of a graph (torch-geometric
    ``Data``, networkx graph, scipy sparse or square array), via the core's
    :func:`geoatlas.utils.adjacency_matrix` (which rejects malformed input naming ``name``).
    Raises ``ValueError`` for an empty graph or isolated nodes (a random walk cannot leave them)."""
    if X is None:
        raise TypeError(f"{name} must be a graph (torch-geometric Data, networkx graph, scipy sparse or square array), got None")
    A = adjacency_matrix(X, weighted=False, symmetric=True, name=name)
    A = sp.csr_matrix(A, dtype=np.float64)
    A.setdiag(0)
    A.eliminate_zeros()
    A.data[:] = 1.0
    n = A.shape[0]
    if n == 0:
        raise ValueError(f"{name} has no nodes")
    deg = np.diff(A.indptr)
    if (deg == 0).any():
        iso = np.flatnonzero(deg == 0)
        raise ValueError(f"{name} has {len(iso)} isolated node(s) (e.g. node {int(iso[0])}): random walks cannot start "
                         "there; remove them or add edges")
    A.sort_indices()
    return A


def check_walk_nodes(length: Any, name: str = "aw_length") -> int:
    """``length`` as an int >= 2 (number of nodes of a walk), else ``ValueError`` naming ``name``."""
    if isinstance(length, bool) or not isinstance(length, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(length).__name__}")
    if length < 2:
        raise ValueError(f"{name} must be >= 2 (nodes per walk), got {length}")
    return int(length)


@cache
def anonymous_walks(length: int) -> tuple[tuple[int, ...], ...]:
    """All anonymous walks with ``length`` nodes on simple graphs, in lexicographic order:
    restricted-growth strings starting at 0, each label at most 1 + the largest so far, no two
    equal neighbours. Their number is ``Bell(length - 1)``."""
    length = check_walk_nodes(length, "length")
    out: list[tuple[int, ...]] = []

    def grow(prefix: tuple[int, ...], top: int) -> None:
        if len(prefix) == length:
            out.append(prefix)
            return
        for lab in range(top + 2):
            if lab != prefix[-1]:
                grow(prefix + (lab,), max(top, lab))

    grow((0,), 0)
    return tuple(out)


def _index(length: int) -> dict[tuple[int, ...], int]:
    return {a: i for i, a in enumerate(anonymous_walks(length))}


def exact_aw_distribution(A: sp.csr_matrix, length: int) -> np.ndarray:
    """``(n, Bell(length - 1))`` exact anonymous-walk distributions of every node.

    Dynamic programming over the anonymisation state: a state is (start node, the distinct
    nodes in order of first visit, the anonymous prefix) with its probability; one step to each
    neighbour ``u`` of the current node appends ``u``'s first-visit label (or a new label) and
    multiplies by ``1 / deg``. States of one prefix are held as numpy arrays, so the cost is
    ``O(n * mean_deg^(length-1))`` vectorised operations (the states are the walks: a prefix and
    its distinct-node tuple determine the walk, so no two walks merge)."""
    length = check_walk_nodes(length, "length")
    n = A.shape[0]
    indptr, indices = A.indptr, A.indices
    deg = np.diff(indptr)
    idx = _index(length)
    P = np.zeros((n, len(idx)))
    # frontier: prefix -> (nodes (m, k) distinct nodes by first visit; prob (m,))
    frontier: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {(0,): (np.arange(n)[:, None], np.ones(n))}
    for _ in range(length - 1):
        nxt: dict[tuple[int, ...], list[tuple[np.ndarray, np.ndarray]]] = {}
        for prefix, (nodes, prob) in frontier.items():
            cur = nodes[:, prefix[-1]]
            d = deg[cur]
            rows = np.repeat(np.arange(len(cur)), d)
            starts = indptr[cur]
            offs = np.arange(int(d.sum())) - np.repeat(np.cumsum(d) - d, d)
            nb = indices[np.repeat(starts, d) + offs]
            p = prob[rows] / d[rows]
            k = nodes.shape[1]
            match = nodes[rows] == nb[:, None]  # (m', k)
            lab = np.where(match.any(1), match.argmax(1), k)
            for la in np.unique(lab):
                sel = lab == la
                nd = nodes[rows[sel]]
                if la == k:
                    nd = np.concatenate([nd, nb[sel][:, None]], 1)
                nxt.setdefault(prefix + (int(la),), []).append((nd, p[sel]))
        frontier = {k_: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v])) for k_, v in nxt.items()}
    for prefix, (nodes, prob) in frontier.items():
        P[:, idx[prefix]] += np.bincount(nodes[:, 0], weights=prob, minlength=n)
    return P


def exact_walk_count(A: sp.csr_matrix, length: int) -> int:
    """Number of walks with ``length`` nodes from all starts (the states of the exact DP)."""
    v = np.ones(A.shape[0])
    for _ in range(length - 1):
        v = A @ v
    return int(round(v.sum()))


def random_walks(A: sp.csr_matrix, starts: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """``(len(starts), length)`` uniform random walks (``length`` nodes) from ``starts``."""
    indptr, indices = A.indptr, A.indices
    deg = np.diff(indptr)
    W = np.empty((len(starts), length), dtype=np.int64)
    W[:, 0] = starts
    for t in range(1, length):
        cur = W[:, t - 1]
        W[:, t] = indices[indptr[cur] + (rng.random(len(cur)) * deg[cur]).astype(np.int64)]
    return W


def anonymise(W: np.ndarray) -> np.ndarray:
    """Anonymous labels of walks ``W`` (rows): the rank of each node's first occurrence."""
    W = np.asarray(W)
    m, L = W.shape
    eq = W[:, :, None] == W[:, None, :]  # (m, L, L): eq[r, i, j] = w_i == w_j
    first = eq.argmax(2)  # first j with w_j == w_i
    new = first == np.arange(L)[None, :]
    rank = np.cumsum(new, 1) - 1
    return np.take_along_axis(rank, first, 1)


def sampled_aw_distribution(A: sp.csr_matrix, length: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Monte-Carlo estimate of :func:`exact_aw_distribution` from ``n_samples`` walks per node."""
    length = check_walk_nodes(length, "length")
    n = A.shape[0]
    idx = _index(length)
    walks = anonymous_walks(length)
    base = length ** np.arange(length)[::-1]
    code = {int(np.dot(a, base)): i for i, a in enumerate(walks)}
    starts = np.repeat(np.arange(n), n_samples)
    lab = anonymise(random_walks(A, starts, length, rng))
    keys = lab @ base
    uniq, inv = np.unique(keys, return_inverse=True)
    col = np.array([code[int(k)] for k in uniq])[inv]
    P = np.zeros((n, len(idx)))
    np.add.at(P, (starts, col), 1.0 / n_samples)
    return P
