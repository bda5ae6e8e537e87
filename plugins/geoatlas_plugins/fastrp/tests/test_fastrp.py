"""FastRP: exact agreement with a transcription of the authors' reference path (scikit-learn's
SparseRandomProjection at a fixed seed), the very sparse projection's distribution, linearity,
Johnson-Lindenstrauss distance preservation, input formats, node classification/clustering,
clear errors."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import random_projection
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import LeaveOneOut, cross_val_score
from sklearn.preprocessing import normalize, scale

import geoatlas as ga
from geoatlas.testing import check_descriptor


def _reference(A, dim, weights, alpha, input_matrix, normalization, seed=42):
    """The reference's fastrp_projection + fastrp_merge, transcribed (GTmac/FastRP, MIT): the
    projection's components_ are right-multiplied by diag(deg^alpha) and applied with
    transformer.transform, as the reference does."""
    A = sp.csc_matrix(A, dtype=np.float64)
    N = A.shape[0]
    deg = np.asarray(A.sum(axis=1)).ravel()
    M = sp.diags(1.0 / deg) @ A if input_matrix == "trans" else A
    tr = random_projection.SparseRandomProjection(n_components=dim, random_state=seed)
    Y = tr.fit(M)
    if alpha is not None:
        Y.components_ = Y.components_ @ sp.diags(np.power(deg, alpha), 0, shape=(N, N))
    cur = tr.transform(M)
    U_list = [cur]
    for _ in range(2, len(weights) + 1):
        cur = M @ cur
        U_list.append(cur)
    dense = [u.toarray() if sp.issparse(u) else np.asarray(u) for u in U_list]
    if normalization:
        dense = [normalize(u, norm="l2", axis=1) for u in dense]
    U = np.zeros_like(dense[0])
    for u, w in zip(dense, weights, strict=True):
        U += u * w
    return scale(U)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(8, 60), dim=st.integers(2, 40), alpha=st.floats(-1.0, 0.0),
       trans=st.booleans(), norm=st.booleans(), q=st.integers(1, 4))
def test_equals_the_reference_path_exactly(seed, n, dim, alpha, trans, norm, q):
    G = nx.gnp_random_graph(n, 0.3, seed=seed)
    G.add_edges_from((i, i + 1) for i in range(n - 1))  # connected: the reference divides by degrees
    A = nx.to_scipy_sparse_array(G, format="csr", dtype=np.float64)
    weights = list(np.random.default_rng(seed).uniform(0, 5, q))
    d = ga.create("descriptor", "fastrp", dim=dim, weights=weights, normalization_strength=alpha,
                  input_matrix="trans" if trans else "adj", row_normalize=norm)
    ours = d.fit_transform(A)
    ref = _reference(A, dim, weights, alpha, "trans" if trans else "adj", norm)
    assert ours.shape == (n, dim)
    assert np.abs(ours - ref).max() < 1e-10


def test_projection_is_sklearns_very_sparse_projection():
    from geoatlas_plugins.fastrp.fastrp import sparse_projection

    n, d = 400, 64
    M = sp.random(n, n, density=0.05, random_state=0, format="csr")
    R = sparse_projection(M, d, 42)
    comp = random_projection.SparseRandomProjection(n_components=d, random_state=42).fit(M).components_
    assert np.array_equal(R, comp.toarray().T)  # bit for bit
    nz = R[R != 0]
    s = np.sqrt(n)  # Li, Hastie, Church: s = sqrt(n), entries +-sqrt(s / d) with probability 1 / (2 s)
    assert np.allclose(np.abs(nz), np.sqrt(s / d), rtol=1e-12)
    frac = nz.size / R.size
    assert abs(frac - 1 / s) < 4 * np.sqrt((1 / s) / R.size)  # within 4 standard errors
    assert abs((nz > 0).mean() - 0.5) < 0.05


def test_linear_in_the_adjacency_for_one_power_without_normalisation():
    rng = np.random.default_rng(0)
    A1 = sp.random(50, 50, density=0.1, random_state=1, format="csr")
    A2 = sp.random(50, 50, density=0.1, random_state=2, format="csr")
    d = ga.create("descriptor", "fastrp", dim=16, weights=[1.0], normalization_strength=None, input_matrix="adj",
                  row_normalize=False, standardize=False)
    lhs = d.transform(A1 + A2)
    assert np.abs(lhs - d.transform(A1) - d.transform(A2)).max() < 1e-10
    c = float(rng.uniform(0.5, 2))
    assert np.abs(d.transform(c * A1) - c * d.transform(A1)).max() < 1e-10


def test_johnson_lindenstrauss_distances_preserved():
    G = nx.gnp_random_graph(200, 0.1, seed=0)
    A = nx.to_scipy_sparse_array(G, format="csr", dtype=np.float64)
    d = ga.create("descriptor", "fastrp", dim=256, weights=[1.0], normalization_strength=None, input_matrix="adj",
                  row_normalize=False, standardize=False)
    Z = d.transform(A)
    X = A.toarray()
    i, j = np.triu_indices(200, 1)
    ratio = np.linalg.norm(Z[i] - Z[j], axis=1) / np.linalg.norm(X[i] - X[j], axis=1)
    assert np.mean(np.abs(ratio - 1) < 0.3) > 0.95


def test_input_formats_agree_and_isolated_nodes_are_finite():
    G = nx.karate_club_graph()
    H = nx.Graph()
    H.add_nodes_from(G.nodes())
    H.add_edges_from(G.edges())  # unweighted copy (karate's networkx edges carry weights)
    A = nx.to_scipy_sparse_array(H, format="csr", dtype=np.float64)
    data = ga.create("dataset", "karate_club", source="networkx").load().X
    d = ga.create("descriptor", "fastrp", dim=32)
    Z = d.transform(A)
    for X in (A.toarray(), H, data):
        assert np.abs(d.transform(X) - Z).max() < 1e-12
    out = ga.create("descriptor", "fastrp", dim=32, output="graph_nodes").transform(data)
    assert out.x.shape == (34, 32) and torch.equal(out.y, data.y) and torch.equal(out.train_mask, data.train_mask)
    B = sp.block_diag([A, sp.csr_matrix((2, 2))]).tocsr()  # two isolated nodes
    ZB = d.transform(B)
    assert np.isfinite(ZB).all() and ZB.shape == (36, 32)


def test_check_descriptor_conventions():
    A = nx.to_numpy_array(nx.gnp_random_graph(30, 0.2, seed=0))
    bad = A.copy()
    bad[0, 1] = np.nan
    check_descriptor(ga.create("descriptor", "fastrp", dim=8), A, bad_input=bad)


def test_karate_factions_and_sbm_blocks():
    G = nx.karate_club_graph()
    y = np.array([G.nodes[i]["club"] == "Mr. Hi" for i in G.nodes], dtype=int)
    Z = ga.create("descriptor", "fastrp", dim=64, weights=[0.0, 1.0, 1.0], normalization_strength=-0.5).transform(nx.Graph(G.edges()))
    acc = cross_val_score(LogisticRegression(max_iter=2000), Z, y, cv=LeaveOneOut()).mean()  # rows: sorted node ids
    assert acc >= 0.85
    S = nx.stochastic_block_model([60, 60, 60], [[0.2, 0.01, 0.01], [0.01, 0.2, 0.01], [0.01, 0.01, 0.2]], seed=0)
    lab = np.array([S.nodes[i]["block"] for i in S.nodes])
    Zs = ga.create("descriptor", "fastrp", dim=64, weights=[0.0, 1.0, 1.0], normalization_strength=-0.5).transform(S)
    nmi = normalized_mutual_info_score(lab, KMeans(3, n_init=10, random_state=0).fit_predict(Zs))
    assert nmi > 0.9


def test_bad_input_raises_clear_errors():
    A = nx.to_numpy_array(nx.path_graph(5))
    for kw, match in [({"dim": 0}, "dim"), ({"weights": []}, "weights"), ({"weights": "abc"}, "weights"),
                      ({"weights": [1.0, float("nan")]}, "weights"), ({"normalization_strength": float("inf")}, "normalization_strength"),
                      ({"input_matrix": "laplacian"}, "input_matrix"), ({"projection": "dense"}, "projection"),
                      ({"seed": -1}, "seed"), ({"output": "table"}, "output")]:
        with pytest.raises(ValueError, match=match):
            ga.create("descriptor", "fastrp", **kw)
    with pytest.raises(TypeError, match="row_normalize"):
        ga.create("descriptor", "fastrp", row_normalize="yes")
    d = ga.create("descriptor", "fastrp", dim=4)
    with pytest.raises(ValueError, match="square"):
        d.transform(np.ones((3, 4)))
    bad = A.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        d.transform(bad)
    with pytest.raises(ValueError, match="negative"):
        d.transform(-A)
    with pytest.raises(ValueError, match="X has no nodes"):
        d.transform(np.zeros((0, 0)))
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="square"):  # sparse input is checked too (core adjacency_matrix)
        d.transform(sp.csr_matrix(np.ones((3, 4))))
    with pytest.raises(TypeError, match="Data"):
        d.transform(object())
    from torch_geometric.data import Data

    with pytest.raises(ValueError, match="edge_index"):
        d.transform(Data(edge_index=torch.tensor([[0, 7], [1, 0]]), num_nodes=3))
    with pytest.raises(ValueError, match="edge_weight"):
        d.transform(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.ones(3), num_nodes=3))
    with pytest.raises(ValueError, match="graph_nodes"):
        ga.create("descriptor", "fastrp", dim=4, output="graph_nodes").transform(A)
