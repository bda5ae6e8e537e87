"""Knowledge-graph datasets: synthetic_kg's relation patterns hold exactly; graph_edges matches
networkx; determinism under a seed; clear errors for bad parameters."""

import networkx as nx
import numpy as np
import pytest

import geoatlas as ga


def _facts(X, r):
    return {(int(h), int(t)) for h, rr, t in X if rr == r}


def test_synthetic_kg_shapes_meta_and_determinism():
    a = ga.create("dataset", "synthetic_kg", n_entities=120, n_relations=6, n_triples=1800, seed=3).load()
    b = ga.create("dataset", "synthetic_kg", n_entities=120, n_relations=6, n_triples=1800, seed=3).load()
    c = ga.create("dataset", "synthetic_kg", n_entities=120, n_relations=6, n_triples=1800, seed=4).load()
    assert a.data_type == "triples" and a.task == "link_prediction" and a.y is None
    assert a.X.dtype == np.int64 and a.X.ndim == 2 and a.X.shape[1] == 3
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)
    assert len(np.unique(a.X, axis=0)) == len(a.X) <= 1800 and len(a.X) > 0.8 * 1800
    assert a.X[:, [0, 2]].min() >= 0 and a.X[:, [0, 2]].max() < 120 and set(a.X[:, 1]) == set(range(6))
    m = a.meta
    assert m["num_entities"] == 120 and m["num_relations"] == 6 and m["n_triples"] == len(a.X)
    assert m["relation_names"] == ["sibling", "parent", "child", "grandparent", "random_4", "random_5"]
    assert m["patterns"] == {"symmetric": [0], "antisymmetric": [1, 2, 3], "inverse": [[1, 2]],
                             "composition": [[1, 1, 3]], "random": [4, 5]}
    assert not (a.X[:, 0] == a.X[:, 2]).any()  # no self-loops


def test_synthetic_kg_patterns_hold_exactly():
    b = ga.create("dataset", "synthetic_kg", n_entities=100, n_relations=4, n_triples=1600, seed=0).load()
    X = b.X
    sib, par, chi, grand = (_facts(X, r) for r in range(4))
    assert sib and sib == {(t, h) for h, t in sib}  # symmetric
    assert chi == {(t, h) for h, t in par}  # inverse pair
    assert not (par & {(t, h) for h, t in par})  # antisymmetric
    by_head = {}
    for h, t in par:
        by_head.setdefault(h, set()).add(t)
    paths = {(a, c) for a, m in par for c in by_head.get(m, ())}
    assert grand and grand <= paths  # composition: every grandparent fact is a parent-parent path
    assert not (sib & par)  # sibling and parent pairs are disjoint
    fam = {e: i for i, members in enumerate(b.meta["families"]) for e in members}
    assert all(fam[h] == fam[t] for h, t in sib | par)


@pytest.mark.parametrize("R,names", [(1, ["sibling"]), (2, ["sibling", "random_1"]), (3, ["sibling", "parent", "child"])])
def test_synthetic_kg_few_relations(R, names):
    b = ga.create("dataset", "synthetic_kg", n_entities=40, n_relations=R, n_triples=300, seed=1).load()
    assert b.meta["relation_names"] == names and set(b.X[:, 1]) == set(range(R))


@pytest.mark.parametrize("params,exc,match", [
    ({"n_entities": 3}, ValueError, "n_entities must be >= 4"),
    ({"n_relations": 0}, ValueError, "n_relations"),
    ({"n_triples": 2, "n_relations": 3}, ValueError, "n_triples"),
    ({"family_size": 500}, ValueError, "family_size"),
    ({"n_entities": 10.5}, TypeError, "n_entities.*integer"),
])
def test_synthetic_kg_bad_params(params, exc, match):
    with pytest.raises(exc, match=match):
        ga.create("dataset", "synthetic_kg", **params)


def test_graph_edges_karate_matches_networkx():
    b = ga.create("dataset", "graph_edges", graph="karate").load()
    G = nx.karate_club_graph()
    assert b.data_type == "triples" and b.meta["num_entities"] == 34 and b.meta["num_relations"] == 1
    assert b.meta["undirected"] is True and len(b.X) == G.number_of_edges() == 78
    assert (b.X[:, 1] == 0).all() and (b.X[:, 0] < b.X[:, 2]).all()
    assert {(int(u), int(v)) for u, _, v in b.X} == {(min(u, v), max(u, v)) for u, v in G.edges()}
    assert sum(b.meta["node_labels"]) == sum(G.nodes[i]["club"] != "Mr. Hi" for i in G.nodes)
    d = ga.create("dataset", "graph_edges", graph="karate", undirected=False).load()
    assert len(d.X) == 156 and d.meta["undirected"] is False
    assert {(int(u), int(v)) for u, _, v in d.X} == {(int(v), int(u)) for u, _, v in d.X}


def test_graph_edges_sbm_blocks_and_seed():
    kw = dict(graph="sbm", block_size=30, n_blocks=3, p_in=0.3, p_out=0.02)
    a = ga.create("dataset", "graph_edges", seed=5, **kw).load()
    assert np.array_equal(a.X, ga.create("dataset", "graph_edges", seed=5, **kw).load().X)
    assert not np.array_equal(a.X, ga.create("dataset", "graph_edges", seed=6, **kw).load().X)
    lab = np.asarray(a.meta["node_labels"])
    assert a.meta["num_entities"] == 90 and np.bincount(lab).tolist() == [30, 30, 30]
    within = (lab[a.X[:, 0]] == lab[a.X[:, 2]]).mean()
    assert within > 0.8  # expected 0.3 * 435 * 3 / (that + 0.02 * 2700) = 0.88


@pytest.mark.parametrize("params,exc,match", [
    ({"graph": "petersen"}, ValueError, "graph must be 'karate' or 'sbm'"),
    ({"p_in": 1.5}, ValueError, "p_in.*(must be in|less than or equal to 1)"),
    ({"undirected": "yes"}, TypeError, "undirected must be a bool"),
    ({"block_size": 0}, ValueError, "block_size"),
])
def test_graph_edges_bad_params(params, exc, match):
    with pytest.raises(exc, match=match):
        ga.create("dataset", "graph_edges", **params)


def test_graph_edges_empty_graph_is_an_error():
    with pytest.raises(ValueError, match="no edges"):
        ga.create("dataset", "graph_edges", graph="sbm", p_in=0.0, p_out=0.0).load()
