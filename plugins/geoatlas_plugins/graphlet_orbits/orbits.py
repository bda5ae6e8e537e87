"""Graphlet orbit counts and orbit adjacencies (Pržulj 2007 numbering; Windels, Malod-Dognin,
Pržulj, arXiv 2405.14194).

A *graphlet* is a small connected induced subgraph (30 of them on 2-5 nodes, G0-G29); its nodes
fall into automorphism *orbits* (73 in all, 0-72, in the standard numbering of Pržulj 2007:
0 = an end of an edge, 1/2 = end/middle of a 3-path, 3 = a triangle node, ... 72 = a K5 node).
A node's *graphlet degree vector* (GDV) counts, for every orbit, the induced graphlets it touches
at that orbit. An *orbit adjacency* ``A^{(h, o1, o2)}[u, v]`` counts the induced graphlets in
which ``u`` is at orbit ``o1``, ``v`` at orbit ``o2`` and the two are ``h`` hops apart inside the
graphlet (the objects of Windels et al., counted by their GRADCO up to 4-node graphlets).

Counting: every connected induced subgraph of 2..``max_size`` nodes is enumerated exactly once
(ESU, Wernicke 2006), its adjacency pattern looked up in a table built once from the reference
graphlets below (``networkx`` isomorphism), and its nodes' orbits accumulated. Exact, in pure
Python: fine for graphs of hundreds of nodes and moderate degree (the number of 5-node connected
subgraphs grows quickly with the degree).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoatlas.utils import adjacency_matrix

#: orbits per graphlet size: 2 nodes -> orbit 0; <= 3 -> 0-3; <= 4 -> 0-14; <= 5 -> 0-72
N_ORBITS = {2: 1, 3: 4, 4: 15, 5: 73}

#: reference graphlets G0..G29: (edges, orbit of each node) in the standard numbering
GRAPHLETS: tuple[tuple[tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    (((0, 1),), (0, 0)),  # G0 edge
    (((0, 1), (1, 2)), (1, 2, 1)),  # G1 3-path
    (((0, 1), (1, 2), (0, 2)), (3, 3, 3)),  # G2 triangle
    (((0, 1), (1, 2), (2, 3)), (4, 5, 5, 4)),  # G3 4-path
    (((0, 1), (0, 2), (0, 3)), (7, 6, 6, 6)),  # G4 claw
    (((0, 1), (1, 2), (2, 3), (0, 3)), (8, 8, 8, 8)),  # G5 4-cycle
    (((0, 1), (1, 2), (0, 2), (2, 3)), (10, 10, 11, 9)),  # G6 paw
    (((0, 1), (1, 2), (2, 3), (0, 3), (0, 2)), (13, 12, 13, 12)),  # G7 diamond
    (((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)), (14, 14, 14, 14)),  # G8 K4
    (((0, 1), (0, 4), (1, 2), (2, 3)), (16, 17, 16, 15, 15)),  # G9 5-path
    (((0, 4), (1, 3), (2, 3), (3, 4)), (18, 19, 19, 21, 20)),  # G10
    (((0, 4), (1, 4), (2, 4), (3, 4)), (22, 22, 22, 22, 23)),  # G11 4-star
    (((0, 1), (0, 2), (0, 4), (1, 2), (2, 3)), (26, 25, 26, 24, 24)),  # G12
    (((0, 4), (1, 2), (1, 3), (2, 3), (3, 4)), (27, 29, 29, 30, 28)),  # G13
    (((0, 4), (1, 4), (2, 3), (2, 4), (3, 4)), (31, 31, 32, 32, 33)),  # G14
    (((0, 1), (0, 4), (1, 2), (2, 3), (3, 4)), (34, 34, 34, 34, 34)),  # G15 5-cycle
    (((0, 1), (1, 3), (1, 4), (2, 3), (2, 4)), (35, 38, 36, 37, 37)),  # G16
    (((0, 1), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4)), (39, 42, 41, 40, 40)),  # G17
    (((0, 1), (0, 4), (1, 4), (2, 3), (2, 4), (3, 4)), (43, 43, 43, 43, 44)),  # G18 bowtie
    (((0, 1), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (45, 47, 46, 48, 48)),  # G19
    (((0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4)), (50, 50, 49, 49, 49)),  # G20 K2,3
    (((0, 1), (0, 3), (0, 4), (1, 2), (2, 3), (3, 4)), (53, 51, 51, 53, 52)),  # G21
    (((0, 3), (0, 4), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (54, 54, 54, 55, 55)),  # G22
    (((0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (56, 57, 57, 57, 58)),  # G23
    (((0, 1), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (3, 4)), (59, 61, 59, 60, 60)),  # G24
    (((0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 4)), (63, 63, 64, 62, 64)),  # G25
    (((0, 1), (0, 3), (0, 4), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (66, 66, 65, 67, 67)),  # G26
    (((0, 1), (0, 3), (0, 4), (1, 2), (1, 4), (2, 3), (2, 4), (3, 4)), (68, 68, 68, 68, 69)),  # G27
    (((0, 1), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (70, 71, 70, 71, 71)),  # G28
    (((0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)), (72, 72, 72, 72, 72)),  # G29 K5
)


def _pairs(k: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(k), 2))


@functools.cache
def pattern_table(k: int) -> dict[int, tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]]:
    """For ``k`` ordered nodes: adjacency bit pattern (bit ``i`` = the ``i``-th pair of
    ``itertools.combinations(range(k), 2)``) of every connected graph -> (orbit of each position,
    hop distance matrix)."""
    import networkx as nx
    from networkx.algorithms.isomorphism import GraphMatcher

    refs = [(nx.Graph(e), o) for e, o in GRAPHLETS if len(o) == k]
    pairs = _pairs(k)
    table = {}
    for mask in range(1 << len(pairs)):
        g = nx.Graph()
        g.add_nodes_from(range(k))
        g.add_edges_from(p for i, p in enumerate(pairs) if mask >> i & 1)
        if not nx.is_connected(g):
            continue
        for ref, orb in refs:
            gm = GraphMatcher(g, ref)
            if gm.is_isomorphic():
                m = next(gm.isomorphisms_iter())
                dist = dict(nx.all_pairs_shortest_path_length(g))
                hops = tuple(tuple(dist[i][j] for j in range(k)) for i in range(k))
                table[mask] = (tuple(orb[m[i]] for i in range(k)), hops)
                break
    return table


def adjacency_sets(X: Any) -> list[set[int]]:
    """Neighbour sets of an undirected simple graph given as a torch-geometric ``Data``, a
    networkx graph (nodes in sorted order), a scipy sparse or a dense square matrix. The
    conversion is the core's :func:`geoatlas.utils.adjacency_matrix` (``weighted=False``: every
    non-zero entry is an edge; it raises ``ValueError``/``TypeError`` naming ``X`` for a
    malformed ``edge_index``, ids out of range, a non-square matrix, NaN/Inf or no nodes); each
    stored entry ``(u, v)`` links ``u`` and ``v`` both ways, self-loops are dropped."""
    A = adjacency_matrix(X, weighted=False, symmetric=False, name="X").tocoo()
    adj: list[set[int]] = [set() for _ in range(A.shape[0])]
    for u, v in zip(A.row.tolist(), A.col.tolist(), strict=True):
        if u != v:  # undirected, no self-loops
            adj[u].add(v)
            adj[v].add(u)
    return adj


def connected_subgraphs(adj: list[set[int]], max_size: int) -> Any:
    """Every connected induced subgraph with 2..``max_size`` nodes, once (ESU, Wernicke 2006), as
    a tuple of nodes."""

    def extend(sub: tuple[int, ...], ext: set[int], v: int, nbhd: set[int]) -> Any:
        yield sub
        if len(sub) == max_size:
            return
        ext = set(ext)
        while ext:
            w = ext.pop()
            new = {u for u in adj[w] if u > v and u not in nbhd}
            yield from extend(sub + (w,), ext | new, v, nbhd | adj[w])

    for v in range(len(adj)):
        ext = {u for u in adj[v] if u > v}
        nb = adj[v] | {v}
        for sub in extend((v,), ext, v, nb):
            if len(sub) >= 2:
                yield sub


def _mask(sub: tuple[int, ...], adj: list[set[int]]) -> int:
    m = 0
    for i, (a, b) in enumerate(itertools.combinations(range(len(sub)), 2)):
        if sub[b] in adj[sub[a]]:
            m |= 1 << i
    return m


def orbit_counts(X: Any, max_size: int = 5) -> np.ndarray:
    """``(n_nodes, n_orbits)`` graphlet degree vectors (orbits of graphlets on 2..``max_size``
    nodes, standard numbering)."""
    adj = adjacency_sets(X)
    out = np.zeros((len(adj), N_ORBITS[max_size]), dtype=np.int64)
    tables = {k: pattern_table(k) for k in range(2, max_size + 1)}
    for sub in connected_subgraphs(adj, max_size):
        orb = tables[len(sub)][_mask(sub, adj)][0]
        for node, o in zip(sub, orb, strict=True):
            out[node, o] += 1
    return out


def orbit_adjacencies(X: Any, max_size: int = 4) -> dict[tuple[int, int, int], sp.csr_matrix]:
    """``{(hop, o1, o2): A}`` with ``A[u, v]`` = number of induced graphlets on 2..``max_size``
    nodes in which ``u`` is at orbit ``o1``, ``v`` at orbit ``o2`` and ``hop`` edges apart inside
    the graphlet (``o1 <= o2``; ``A^{(h, o2, o1)}`` is the transpose)."""
    adj = adjacency_sets(X)
    n = len(adj)
    tables = {k: pattern_table(k) for k in range(2, max_size + 1)}
    acc: dict[tuple[int, int, int], dict[tuple[int, int], int]] = {}
    for sub in connected_subgraphs(adj, max_size):
        orb, hops = tables[len(sub)][_mask(sub, adj)]
        k = len(sub)
        for i in range(k):
            for j in range(k):
                if i != j and orb[i] <= orb[j]:
                    key = (hops[i][j], orb[i], orb[j])
                    cell = acc.setdefault(key, {})
                    cell[(sub[i], sub[j])] = cell.get((sub[i], sub[j]), 0) + 1
    out = {}
    for key in sorted(acc):
        cells = acc[key]
        r = np.fromiter((u for u, _ in cells), dtype=np.int64, count=len(cells))
        c = np.fromiter((v for _, v in cells), dtype=np.int64, count=len(cells))
        out[key] = sp.csr_matrix((np.fromiter(cells.values(), dtype=np.float64, count=len(cells)), (r, c)), shape=(n, n))
    return out
