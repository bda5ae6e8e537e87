"""IRWE [reconstructed]: anonymous-walk statistics against brute-force enumeration, Bell numbers,
sampling convergence, relabelling invariance (hypothesis), automorphic nodes; the encoder's
inductive identity/position separation at toy scale; descriptor conventions; clear errors."""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.irwe.data import HouseRing
from geoatlas_plugins.irwe.walks import (
    anonymise,
    anonymous_walks,
    exact_aw_distribution,
    graph_adjacency,
    sampled_aw_distribution,
)

BELL = [1, 1, 2, 5, 15, 52, 203]


def _brute_force(G: nx.Graph, length: int) -> dict[int, dict[tuple, float]]:
    """All walks with ``length`` nodes from every node, anonymised by hand, with their
    probabilities under the uniform random walk (independent of the plugin's code)."""
    nodes = sorted(G.nodes)
    out: dict[int, dict[tuple, float]] = {}
    for v in nodes:
        dist: dict[tuple, float] = {}
        stack = [([v], 1.0)]
        while stack:
            walk, p = stack.pop()
            if len(walk) == length:
                seen: dict[int, int] = {}
                key = tuple(seen.setdefault(u, len(seen)) for u in walk)
                dist[key] = dist.get(key, 0.0) + p
                continue
            nb = list(G.neighbors(walk[-1]))
            for u in nb:
                stack.append((walk + [u], p / len(nb)))
        out[nodes.index(v)] = dist
    return out


def _random_graph(n: int, p: float, seed: int) -> nx.Graph:
    G = nx.gnp_random_graph(n, p, seed=seed)
    for v in list(G.nodes):  # no isolated nodes
        if G.degree(v) == 0:
            G.add_edge(v, (v + 1) % n)
    return G


@pytest.mark.parametrize("seed,length", [(0, 3), (1, 4), (2, 5), (3, 5)])
def test_exact_matches_brute_force(seed, length):
    G = _random_graph(9, 0.4, seed)
    P = exact_aw_distribution(graph_adjacency(G), length)
    walks = anonymous_walks(length)
    ref = _brute_force(G, length)
    Q = np.array([[ref[i].get(a, 0.0) for a in walks] for i in range(9)])
    assert set().union(*[set(d) for d in ref.values()]) <= set(walks)
    np.testing.assert_allclose(P, Q, atol=1e-12)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-12)


@pytest.mark.parametrize("length", [2, 3, 4, 5, 6])
def test_bell_numbers_on_complete_graph(length):
    assert len(anonymous_walks(length)) == BELL[length - 1]
    P = exact_aw_distribution(graph_adjacency(nx.complete_graph(length + 1)), length)
    assert int((P[0] > 0).sum()) == BELL[length - 1]  # every anonymous walk is realised


def test_sampled_converges_to_exact():
    G = _random_graph(12, 0.35, 7)
    A = graph_adjacency(G)
    P = exact_aw_distribution(A, 4)
    n_s = 4000
    Q = sampled_aw_distribution(A, 4, n_s, np.random.default_rng(0))
    se = np.sqrt(P * (1 - P) / n_s)
    assert np.all(np.abs(Q - P) <= 5 * se + 1e-12)
    assert np.abs(Q - P).max() < 0.03
    np.testing.assert_allclose(Q.sum(1), 1.0, atol=1e-12)


def test_anonymise():
    W = np.array([[5, 3, 5, 9], [1, 2, 3, 4], [7, 8, 7, 8]])
    np.testing.assert_array_equal(anonymise(W), [[0, 1, 0, 2], [0, 1, 2, 3], [0, 1, 0, 1]])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 10))
def test_relabelling_invariance(seed, n):
    G = _random_graph(n, 0.45, seed)
    perm = np.random.default_rng(seed).permutation(n)
    H = nx.relabel_nodes(G, {i: int(perm[i]) for i in range(n)})
    P = exact_aw_distribution(graph_adjacency(G), 4)
    Q = exact_aw_distribution(graph_adjacency(H), 4)
    np.testing.assert_allclose(Q[perm], P, atol=1e-12)


@pytest.mark.parametrize("G,groups", [
    (nx.cycle_graph(7), [list(range(7))]),
    (nx.star_graph(5), [[0], [1, 2, 3, 4, 5]]),
    (nx.path_graph(5), [[0, 4], [1, 3], [2]]),
])
def test_automorphic_nodes_equal(G, groups):
    P = exact_aw_distribution(graph_adjacency(G), 5)
    for grp in groups:
        for v in grp:
            np.testing.assert_allclose(P[v], P[grp[0]], atol=1e-12)
    if len(groups) > 1:  # different orbits differ here
        assert not np.allclose(P[groups[0][0]], P[groups[1][0]])


def test_house_ring_roles_are_orbits():
    e, y = HouseRing(ring_size=12, spacing=3, seed=0).graph()
    G = nx.Graph()
    G.add_edges_from(e.tolist())
    P = exact_aw_distribution(graph_adjacency(G), 5)
    for c in np.unique(y):  # nodes of one role share the statistics exactly
        assert np.allclose(P[y == c], P[y == c][0], atol=1e-12)


def _sbm(seed):
    G = nx.stochastic_block_model([40, 40], [[0.2, 0.01], [0.01, 0.2]], seed=seed)
    return G, np.repeat([0, 1], 40)


def test_encoder_inductive_identity_and_position():
    torch.set_num_threads(1)
    enc = ga.create("encoder", "irwe", dim_identity=8, dim_position=8, hidden=16, walks_per_node=4, aw_length=4,
                    epochs=25, lr=5e-3, seed=0)
    G0, y = _sbm(0)
    G1, _ = _sbm(1)
    enc.fit(G0)
    with torch.no_grad():
        out = enc(G1)
        h_id, h_pos = enc.embed(G1)
    assert out.shape == (80, 16)
    torch.testing.assert_close(out, torch.cat([h_id, h_pos], 1))
    nmi = {k: normalized_mutual_info_score(y, KMeans(2, n_init=5, random_state=0).fit_predict(Z.numpy()))
           for k, Z in (("pos", h_pos), ("id", h_id))}
    assert nmi["pos"] > 0.5 and nmi["pos"] > nmi["id"] + 0.3, nmi
    # identity: train on one house ring, classify roles on an unseen, larger one
    H0, H1 = HouseRing(ring_size=24, seed=0).load(), HouseRing(ring_size=36, seed=1).load()
    enc.fit(H0.X)
    with torch.no_grad():
        a, b = enc.embed(H0.X), enc.embed(H1.X)
    acc = [make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(a[i].numpy(), H0.y).score(b[i].numpy(), H1.y)
           for i in (0, 1)]
    assert acc[0] > 0.9 and acc[0] > acc[1] + 0.3, acc


def test_encoder_deterministic_and_parts():
    G, _ = _sbm(2)
    kw = dict(dim_identity=4, dim_position=6, hidden=8, walks_per_node=2, aw_length=3, epochs=2, seed=3)
    a = ga.create("encoder", "irwe", **kw).fit(G)
    b = ga.create("encoder", "irwe", **kw).fit(G)
    with torch.no_grad():
        torch.testing.assert_close(a(G), b(G))
        a.part = "position"
        assert a(G).shape == (80, 6)
        torch.testing.assert_close(a(G), a.position(G))


def test_descriptors_conventions():
    G = _random_graph(15, 0.3, 1)
    A = nx.to_numpy_array(G)
    bad = A.copy()
    bad[0, 1] = np.nan
    check_descriptor(ga.create("descriptor", "anonymous_walks", aw_length=4), A, bad_input=bad)
    d = ga.create("descriptor", "irwe", dim_identity=4, dim_position=4, hidden=8, walks_per_node=2, aw_length=3,
                  epochs=2, part="identity")
    check_descriptor(d, A, bad_input=bad)
    assert d.fit(A).transform(A).shape == (15, 4)


def test_descriptor_graph_nodes_output():
    data = HouseRing(ring_size=9, seed=0).load().X
    d = ga.create("descriptor", "irwe", dim_identity=4, dim_position=4, hidden=8, walks_per_node=2, aw_length=3,
                  epochs=1, output="graph_nodes").fit(data)
    out = d.transform(data)
    assert out.x.shape == (data.num_nodes, 8) and torch.equal(out.train_mask, data.train_mask)
    with pytest.raises(ValueError, match="graph_nodes"):
        d.transform(nx.to_numpy_array(nx.cycle_graph(5)))


def test_errors():
    with pytest.raises(ValueError, match="no nodes"):
        graph_adjacency(np.zeros((0, 0)))
    G = nx.path_graph(4)
    G.add_node(9)
    with pytest.raises(ValueError, match="isolated"):
        graph_adjacency(G)
    with pytest.raises(ValueError, match="X"):
        graph_adjacency(np.array([[0, np.nan], [1, 0]]))
    with pytest.raises(TypeError, match="X"):
        graph_adjacency(None)
    with pytest.raises(ValueError, match="length"):
        anonymous_walks(1)
    with pytest.raises(TypeError, match="length"):
        exact_aw_distribution(graph_adjacency(nx.cycle_graph(4)), 2.5)
    for kw, match in [({"walk_length": 1}, "walk_length"), ({"aw_length": 2}, "aw_length"), ({"aw_length": 9}, "aw_length"),
                      ({"hidden": 10, "heads": 3}, "hidden|heads"), ({"statistics": "magic"}, "statistics"),
                      ({"part": "half"}, "part"), ({"temperature": 0.0}, "temperature"), ({"epochs": -1}, "epochs"),
                      ({"identity_weight": float("nan")}, "identity_weight")]:
        with pytest.raises((ValueError, TypeError), match=match):
            ga.create("encoder", "irwe", **kw)
    with pytest.raises((ValueError, TypeError), match="output"):
        ga.create("descriptor", "irwe", output="table")
    with pytest.raises(RuntimeError, match="fit"):
        ga.create("descriptor", "irwe").transform(nx.cycle_graph(4))
    with pytest.raises(ValueError, match="spacing"):
        HouseRing(ring_size=4, spacing=5)


def test_auto_switches_to_sampling_and_formats_agree():
    from geoatlas_plugins.irwe.model import aw_statistics

    data = HouseRing(ring_size=9, seed=2).load().X
    e = data.edge_index.numpy()
    G = nx.Graph()
    G.add_edges_from(e.T.tolist())
    A_pyg, A_nx = graph_adjacency(data), graph_adjacency(G)
    exact = aw_statistics(A_pyg, 4, "auto")
    np.testing.assert_allclose(exact, aw_statistics(A_nx, 4, "exact"), atol=1e-12)  # Data == networkx input
    sampled = aw_statistics(A_pyg, 4, "auto", aw_samples=3000, max_exact_walks=1, seed=0)
    assert not np.array_equal(sampled, exact) and np.abs(sampled - exact).max() < 0.05
