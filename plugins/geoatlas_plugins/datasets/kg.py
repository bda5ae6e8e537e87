"""Knowledge graphs and graph edges as ``(head, relation, tail)`` triples for link prediction.

Both datasets return ``DataBundle(X, None, "triples", task="link_prediction")`` with ``X`` an
``(N, 3)`` int64 array and ``meta`` holding ``num_entities``, ``num_relations`` and
``relation_names`` (the ``link_prediction`` task fills the models' ``num_entities`` /
``num_relations`` from them). Nothing downloads; both are deterministic under ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import Probability, Size


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_prob(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _take(pairs: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``budget`` rows of ``pairs``, chosen uniformly without replacement (order kept)."""
    if len(pairs) <= budget:
        return pairs
    return pairs[np.sort(rng.choice(len(pairs), size=budget, replace=False))]


class SyntheticKG(Dataset):
    """A family-style knowledge graph whose relations follow known logical patterns.

    Entities are split at random into families of about ``family_size`` members, each family in
    a random generational order. Relations are created in this order (as many as
    ``n_relations`` allows):

    0. ``sibling`` -- **symmetric**: pairs within a family, both directions;
    1. ``parent`` -- **antisymmetric**: ``(a, parent, b)`` for ``a`` before ``b`` in its family;
    2. ``child`` -- the **inverse** of ``parent``: ``(b, child, a)`` for every ``(a, parent, b)``;
    3. ``grandparent`` -- the **composition** ``parent o parent``: ``(a, grandparent, c)`` for
       (a sample of) the paths ``a -parent-> b -parent-> c``;
    4. ``random_4``, ... -- uniformly random facts (no pattern).

    ``meta["patterns"]`` records them: ``symmetric`` / ``antisymmetric`` / ``random`` (lists of
    relation ids), ``inverse`` (pairs ``[r, r_inv]``) and ``composition`` (triples
    ``[r1, r2, r3]``: ``(a, r1, b)`` and ``(b, r2, c)`` imply ``(a, r3, c)``);
    ``meta["relation_patterns"]`` names each relation's pattern. Each relation gets about
    ``n_triples / n_relations`` facts (the inverse relation exactly as many as ``parent``), so
    ``n_triples`` is an upper bound: fewer are returned when the families cannot hold that many
    (``meta["n_triples"]`` is the actual number). Knowledge-graph embedding papers use the
    patterns to check which a model captures (e.g. DistMult scores every relation
    symmetrically, so it cannot tell ``parent`` from ``child``).

    Parameters
    ----------
    n_entities : int
        Number of entities (>= 4).
    n_relations : int
        Number of relations (>= 1); see above for which patterns each count includes.
    n_triples : int
        Target (maximum) number of distinct triples.
    family_size : int
        Average family size (>= 3).
    seed : int
        Seed of the generator.
    """

    data_type = "triples"
    task = "link_prediction"

    def __init__(self, n_entities: Size = 200, n_relations: Size = 5, n_triples: Size = 3000, family_size: Size = 10, seed: int = 0) -> None:
        self.n_entities = _check_int("n_entities", n_entities, 4)
        self.n_relations = _check_int("n_relations", n_relations, 1)
        self.n_triples = _check_int("n_triples", n_triples, self.n_relations)
        self.family_size = _check_int("family_size", family_size, 3)
        if self.family_size > self.n_entities:
            raise ValueError(f"family_size ({family_size}) cannot exceed n_entities ({n_entities})")
        self.seed = _check_int("seed", seed, 0)

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        n, R = self.n_entities, self.n_relations
        n_fam = max(1, n // self.family_size)
        perm = rng.permutation(n)  # members of family f: perm[f::n_fam], in generational order
        families = [perm[f::n_fam] for f in range(n_fam)]
        budget = self.n_triples // R
        # ordered within-family pairs (a before b), the candidate sibling and parent pairs
        ordered = np.concatenate([np.array([(m[i], m[j]) for i in range(len(m)) for j in range(i + 1, len(m))], dtype=np.int64).reshape(-1, 2)
                                  for m in families])
        parts: list[np.ndarray] = []
        names: list[str] = []
        kinds: list[str] = []
        patterns: dict[str, list[Any]] = {"symmetric": [], "antisymmetric": [], "inverse": [], "composition": [], "random": []}

        def add(pairs: np.ndarray, name: str, kind: str) -> None:
            r = len(names)
            parts.append(np.column_stack([pairs[:, 0], np.full(len(pairs), r), pairs[:, 1]]).astype(np.int64))
            names.append(name)
            kinds.append(kind)

        # sibling and parent pairs are disjoint: a shuffled pool, siblings first
        pool = ordered[rng.permutation(len(ordered))]
        n_sib = min(max(1, budget // 2), len(pool) // 2 if R >= 3 else len(pool))
        sib = pool[:n_sib]
        add(np.concatenate([sib, sib[:, ::-1]]), "sibling", "symmetric")
        patterns["symmetric"].append(0)
        parent = None
        if R >= 3:
            parent = pool[n_sib : n_sib + budget]
            parent = parent[np.lexsort(parent.T[::-1])]
            add(parent, "parent", "antisymmetric")
            add(parent[:, ::-1], "child", "inverse")
            patterns["antisymmetric"] += [1, 2]
            patterns["inverse"].append([1, 2])
        if R >= 4 and parent is not None:
            by_head: dict[int, list[int]] = {}
            for a, b in parent.tolist():
                by_head.setdefault(a, []).append(b)
            paths = {(a, c) for a, b in parent.tolist() for c in by_head.get(b, ())}
            comp = np.array(sorted(paths), dtype=np.int64).reshape(-1, 2)
            add(_take(comp, budget, rng), "grandparent", "composition")
            patterns["antisymmetric"].append(3)
            patterns["composition"].append([1, 1, 3])
        while len(names) < R:
            r = len(names)
            h = rng.integers(0, n, size=budget)
            t = (h + rng.integers(1, n, size=budget)) % n  # never a self-loop
            pairs = np.unique(np.column_stack([h, t]), axis=0)
            add(pairs[rng.permutation(len(pairs))], f"random_{r}", "random")
            patterns["random"].append(r)
        X = np.concatenate(parts)
        _, first = np.unique(X, axis=0, return_index=True)
        X = X[np.sort(first)]
        meta = {
            "num_entities": n,
            "num_relations": R,
            "n_triples": int(len(X)),
            "relation_names": names,
            "relation_patterns": dict(zip(names, kinds, strict=True)),
            "patterns": patterns,
            "families": [m.tolist() for m in families],
            "undirected": False,
        }
        return DataBundle(X, None, "triples", task="link_prediction", meta=meta)


class GraphEdges(Dataset):
    """The edges of one graph as triples ``(u, 0, v)`` with a single relation ``edge``.

    Parameters
    ----------
    graph : str
        ``"karate"`` (Zachary's karate club from networkx: 34 nodes, 78 edges) or ``"sbm"``
        (a stochastic block model of ``n_blocks`` equal blocks of ``block_size`` nodes, edge
        probability ``p_in`` within a block and ``p_out`` between blocks).
    block_size, n_blocks, p_in, p_out : SBM parameters (ignored for ``karate``).
    undirected : bool
        ``True`` (default): each edge once as ``(u, 0, v)`` with ``u < v`` and
        ``meta["undirected"] = True``, which tells the ``link_prediction`` task that the relation
        is symmetric (it trains on both directions and filters both, and a held-out edge has no
        reverse copy left in training). ``False``: both directions as separate facts.
    seed : int
        Seed of the SBM generator.

    ``meta["node_labels"]`` holds the faction (karate) or block (SBM) of each node.
    """

    data_type = "triples"
    task = "link_prediction"

    def __init__(self, graph: str = "karate", block_size: Size = 20, n_blocks: Size = 3, p_in: Probability = 0.3,
                 p_out: Probability = 0.02, undirected: bool = True, seed: int = 0) -> None:
        if graph not in ("karate", "sbm"):
            raise ValueError(f"graph must be 'karate' or 'sbm', got {graph!r}")
        self.graph = graph
        self.block_size = _check_int("block_size", block_size, 1)
        self.n_blocks = _check_int("n_blocks", n_blocks, 1)
        self.p_in, self.p_out = _check_prob("p_in", p_in), _check_prob("p_out", p_out)
        if not isinstance(undirected, bool):
            raise TypeError(f"undirected must be a bool, got {type(undirected).__name__}")
        self.undirected = undirected
        self.seed = _check_int("seed", seed, 0)

    def load(self) -> DataBundle:
        import networkx as nx

        if self.graph == "karate":
            G = nx.karate_club_graph()
            labels = [0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in G.nodes]
        else:
            sizes = [self.block_size] * self.n_blocks
            probs = [[self.p_in if i == j else self.p_out for j in range(self.n_blocks)] for i in range(self.n_blocks)]
            G = nx.stochastic_block_model(sizes, probs, seed=self.seed)
            labels = [int(G.nodes[i]["block"]) for i in G.nodes]
        n = G.number_of_nodes()
        edges = np.array(sorted((min(u, v), max(u, v)) for u, v in G.edges() if u != v), dtype=np.int64).reshape(-1, 2)
        if len(edges) == 0:
            raise ValueError(f"the {self.graph} graph has no edges; raise p_in / p_out")
        if not self.undirected:
            edges = np.concatenate([edges, edges[:, ::-1]])
        X = np.column_stack([edges[:, 0], np.zeros(len(edges), dtype=np.int64), edges[:, 1]]).astype(np.int64)
        meta = {"num_entities": n, "num_relations": 1, "relation_names": ["edge"], "undirected": self.undirected,
                "node_labels": labels, "n_triples": int(len(X))}
        return DataBundle(X, None, "triples", task="link_prediction", meta=meta)
