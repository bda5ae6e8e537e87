"""RESTORE: per-node AP equals sklearn's average_precision_score, the adjacency powers score 1,
random embeddings score the neighbourhood density, the measure in a pipeline, clear errors."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.restore.restore import (
    average_precision_rows,
    hop_distances,
    restore_map,
    similarity_matrix,
)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 6), k=st.integers(2, 30), levels=st.integers(2, 6))
def test_rowwise_ap_equals_sklearn_with_ties(seed, m, k, levels):
    rng = np.random.default_rng(seed)
    S = rng.integers(0, levels, size=(m, k)).astype(float)  # few levels: many ties
    Y = rng.random((m, k)) < 0.4
    ap = average_precision_rows(S, Y)
    for i in range(m):
        if Y[i].any():
            assert abs(ap[i] - average_precision_score(Y[i], S[i])) < 1e-12
        else:
            assert np.isnan(ap[i])


@pytest.mark.parametrize("similarity", ["cosine", "euclidean", "dot"])
def test_map_equals_sklearn_per_node_on_a_graph(similarity):
    G = nx.gnp_random_graph(40, 0.1, seed=1)
    Z = np.random.default_rng(0).normal(size=(40, 5))
    out = restore_map(Z, G, hops=(1, 2, 3), similarity=similarity)
    D = hop_distances(nx.to_scipy_sparse_array(G))
    S = similarity_matrix(Z, similarity)
    for k in (1, 2, 3):
        aps = []
        for v in range(40):
            others = np.arange(40) != v
            y = (D[v, others] >= 1) & (D[v, others] <= k)
            if y.any():
                aps.append(average_precision_score(y, S[v, others]))
        assert abs(out[f"map_hop_{k}"] - np.mean(aps)) < 1e-12
        assert out[f"nodes_hop_{k}"] == len(aps)


@pytest.mark.parametrize("graph", ["karate", "gnp", "two_components"])
def test_adjacency_powers_score_one(graph):
    if graph == "karate":
        G = nx.karate_club_graph()
    elif graph == "gnp":
        G = nx.gnp_random_graph(60, 0.05, seed=3)
    else:
        G = nx.disjoint_union(nx.path_graph(7), nx.cycle_graph(9))
    A = nx.to_numpy_array(G, weight=None)
    n = len(A)
    P = np.eye(n)
    for k in (1, 2, 3, 4):
        P = P @ (np.eye(n) + A)  # (I + A)^k > 0 exactly within k hops
        assert restore_map(P, G, hops=(k,), similarity="precomputed")[f"map_hop_{k}"] == pytest.approx(1.0, abs=1e-12)
    # exactly-k-hop ground truth: A^k restricted to distance k is perfect, (I + A)^k is not (closer nodes rank high)
    D = hop_distances(sp.csr_matrix(A))
    A2 = np.linalg.matrix_power(A, 2) * (D == 2)
    assert restore_map(A2, G, hops=(2,), similarity="precomputed", cumulative=False)["map_hop_2"] == pytest.approx(1.0, abs=1e-12)
    I_A2 = np.linalg.matrix_power(np.eye(n) + A, 2)
    assert restore_map(I_A2, G, hops=(2,), similarity="precomputed", cumulative=False)["map_hop_2"] < 1.0


def test_random_embeddings_score_the_neighbourhood_density():
    G = nx.gnp_random_graph(300, 0.02, seed=0)
    vals = {1: [], 2: []}
    for seed in range(5):
        out = restore_map(np.random.default_rng(seed).normal(size=(300, 16)), G, hops=(1, 2))
        for k in vals:
            vals[k].append(out[f"map_hop_{k}"] - out[f"random_map_hop_{k}"])
    for k in vals:
        assert abs(np.mean(vals[k])) < 0.03  # chance level within 0.03


def test_informative_embedding_beats_random_and_falls_with_hops():
    G = nx.karate_club_graph()
    Z = ga.create("descriptor", "fastrp", dim=32, weights=[0.0, 1.0, 1.0], normalization_strength=-0.5).transform(nx.Graph(G.edges()))
    out = restore_map(Z, nx.Graph(G.edges()), hops=(1, 2))
    assert out["map_hop_1"] > out["random_map_hop_1"] + 0.1


def test_measure_on_data_with_embedding_and_check_measure():
    data = ga.create("dataset", "karate_club", source="networkx").load().X
    emb = ga.create("descriptor", "fastrp", dim=16, output="graph_nodes").transform(data)
    m = ga.create("measure", "restore", hops=[1, 2])
    out = m(data={"X": emb})
    ref = restore_map(emb.x.numpy(), data, hops=(1, 2))
    assert out == ref
    check_measure(m, data={"X": emb})
    assert m(data={"X": emb.x.numpy(), "graph": data}) == ref


def test_bad_input_raises_clear_errors():
    G = nx.path_graph(6)
    with pytest.raises(ValueError, match="hops"):
        ga.create("measure", "restore", hops=[])
    with pytest.raises(ValueError, match="hops"):
        ga.create("measure", "restore", hops=[0, 1])
    with pytest.raises(ValueError, match="similarity"):
        ga.create("measure", "restore", similarity="jaccard")
    with pytest.raises(TypeError, match="cumulative"):
        ga.create("measure", "restore", cumulative=1)
    m = ga.create("measure", "restore")
    with pytest.raises(ValueError, match="one row per node"):
        m(data={"X": np.zeros((5, 3)), "graph": G})
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(data={"X": np.full((6, 3), np.nan), "graph": G})
    with pytest.raises(ValueError, match="the graph"):
        m(data={"X": np.zeros((6, 3))})
    with pytest.raises(ValueError, match="needs data"):
        m(data=None)
    with pytest.raises(ValueError, match="square"):
        m(data={"X": np.zeros((6, 3)), "graph": np.zeros((6, 5))})
    with pytest.raises(ValueError, match="at least 2 nodes"):
        m(data={"X": np.zeros((1, 3)), "graph": np.zeros((1, 1))})
    with pytest.raises(ValueError, match="graph has no nodes"):
        m(data={"X": np.zeros((0, 3)), "graph": np.zeros((0, 0))})
    import torch
    from torch_geometric.data import Data

    with pytest.raises(ValueError, match="square"):  # sparse input is checked too (core adjacency_matrix)
        m(data={"X": np.zeros((6, 3)), "graph": sp.csr_matrix(np.zeros((6, 5)))})
    with pytest.raises(ValueError, match="graph.edge_index"):
        m(data={"X": np.zeros((3, 3)), "graph": Data(edge_index=torch.tensor([[0, 5], [1, 0]]), num_nodes=3)})
    with pytest.raises(ValueError, match="precomputed"):
        restore_map(np.zeros((6, 3)), G, similarity="precomputed")
