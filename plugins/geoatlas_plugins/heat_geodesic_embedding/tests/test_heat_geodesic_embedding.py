"""HeatGeo tests: the heat kernel against scipy's expm, Varadhan-type ordering on path and grid
graphs, the distance formula's properties, descriptor conventions and bad input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path
from scipy.stats import spearmanr

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.heat_geodesic_embedding.heatgeo import (
    HeatGeodesic,
    chebyshev_heat,
    chebyshev_order_for,
    chebyshev_tail,
    heat_geodesic_distance,
    laplacian,
)


def _grid(n: int = 8):
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n))
    return G, nx.to_scipy_sparse_array(G, format="csr").astype(float)


def test_registered_and_created():
    d = ga.create("descriptor", "heat_geodesic", knn=4)
    assert isinstance(d, HeatGeodesic)
    assert ga.info("heat_geodesic_embedding")["papers"][0]["arxiv"] == "2305.19043"


@pytest.mark.parametrize("lap_type", ["normalized", "combinatorial"])
@pytest.mark.parametrize("t", [1.0, 10.0, 50.0])
def test_chebyshev_heat_kernel_matches_expm(lap_type, t):
    _, A = _grid(8)
    L = laplacian(A, lap_type)
    Ld = L.toarray()
    phi = np.linalg.eigvalsh(Ld).max() / 2
    K = chebyshev_order_for(t, phi, 1e-10, start=32)
    H = chebyshev_heat(L, np.eye(64), t, K, phi)
    E = sl.expm(-t * Ld)
    assert np.linalg.norm(H - E) / np.linalg.norm(E) < 1e-9


def test_truncation_bound_bounds_the_error_and_order_32_fails_at_large_t():
    _, A = _grid(8)
    L = laplacian(A, "combinatorial")
    Ld = L.toarray()
    phi = np.linalg.eigvalsh(Ld).max() / 2
    for t in (1.0, 10.0, 50.0):
        E = sl.expm(-t * Ld)
        for K in (8, 16, 32):
            err = np.abs(chebyshev_heat(L, np.eye(64), t, K, phi) - E).max()
            assert err <= chebyshev_tail(t, phi, K) * (1 + 1e-6) + 1e-14
    # the notes' caveat: order 32 is not enough at t = 50 on this graph (t*phi ~ 200)
    E = sl.expm(-50.0 * Ld)
    assert np.linalg.norm(chebyshev_heat(L, np.eye(64), 50.0, 32, phi) - E) / np.linalg.norm(E) > 1e-3


def test_descriptor_raises_the_order_when_needed():
    G, _ = _grid(6)
    d = HeatGeodesic(tau=50.0, lap_type="combinatorial", mds_solver="classic").fit(G)
    assert d.order_used_ > 32
    d2 = HeatGeodesic(tau=50.0, lap_type="combinatorial", auto_order=False, mds_solver="classic").fit(G)
    assert d2.order_used_ == 32


@pytest.mark.parametrize("lap_type", ["normalized", "combinatorial"])
def test_path_graph_distances_increase_along_the_path(lap_type):
    d = HeatGeodesic(tau=1.0, lap_type=lap_type, mds_solver="classic").fit(nx.path_graph(15))
    r = d.distances_[0]
    assert np.all(np.diff(r) > 0)
    assert spearmanr(r, np.arange(15)).statistic == pytest.approx(1.0)


def test_grid_graph_distances_ordered_like_geodesics():
    G, A = _grid(10)
    d = HeatGeodesic(tau=1.0, mds_solver="classic").fit(G)
    sp_d = shortest_path(A, unweighted=True)
    iu = np.triu_indices(100, 1)
    rho = spearmanr(d.distances_[iu], sp_d[iu]).statistic
    assert rho > 0.95, rho


def test_harnack_one_gives_zero_diagonal_and_symmetry():
    G, _ = _grid(6)
    d = HeatGeodesic(tau=2.0, harnack_regul=1.0, mds_solver="classic").fit(G)
    D = d.distances_
    assert np.abs(np.diag(D)).max() < 1e-10
    assert np.abs(D - D.T).max() < 1e-10
    d0 = HeatGeodesic(tau=2.0, harnack_regul=0.0, mds_solver="classic").fit(G)
    assert np.diag(d0.distances_).min() > 0  # sigma = 0: -4t log H_ii is not zero (as in the paper's formula)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.1, 20.0), st.floats(0.0, 1.0),
       st.lists(st.floats(1e-12, 1.0), min_size=9, max_size=9))
def test_distance_formula(t, sigma, vals):
    H = np.asarray(vals).reshape(3, 3)
    H = 0.5 * (H + H.T)
    D = heat_geodesic_distance(H, t, sigma)
    ref = -4 * t * np.log(H + 1e-16) + sigma * 4 * t * np.log(0.5 * (np.diag(H)[:, None] + np.diag(H)[None, :]) + 1e-16)
    np.testing.assert_allclose(D, np.sqrt(np.maximum(ref, 0)), rtol=1e-12, atol=1e-12)
    assert (D >= 0).all()


def test_descriptor_conventions_and_out_of_sample():
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 3 * np.pi, 60)
    X = np.c_[s * np.cos(s), rng.uniform(0, 5, 60), s * np.sin(s)]
    d = HeatGeodesic(knn=6, emb_dim=2)
    check_descriptor(d, X)
    d.fit(X[:50])
    Z = d.transform(X[50:])
    assert Z.shape == (10, 2) and np.isfinite(Z).all()


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="knn"):
        HeatGeodesic(knn=25).fit(X)
    with pytest.raises(ValueError, match="tau"):
        HeatGeodesic(tau=-1.0).fit(X)
    with pytest.raises(ValueError, match="harnack_regul"):
        HeatGeodesic(harnack_regul=2.0).fit(X)
    with pytest.raises(TypeError, match="order"):
        HeatGeodesic(order=3.5).fit(X)
    with pytest.raises(ValueError, match="lap_type"):
        HeatGeodesic(lap_type="random_walk").fit(X)
    with pytest.raises(ValueError, match="emb_dim"):
        HeatGeodesic(knn=3, emb_dim=30).fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        HeatGeodesic().fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        HeatGeodesic().fit(X[:, 0])
    with pytest.raises(ValueError, match="at least 3"):
        HeatGeodesic(knn=1).fit(X[:2])
    with pytest.raises(ValueError, match="features"):
        HeatGeodesic(knn=3).fit(X).transform(X[:, :2])
    with pytest.raises(RuntimeError, match="fit"):
        HeatGeodesic().transform(X)


def test_kneedle_finds_an_obvious_corner_and_auto_tau():
    from geoatlas_plugins.heat_geodesic_embedding.heatgeo import kneedle

    x = np.arange(11.0)
    assert kneedle(x, np.minimum(x, 3.0)) == 3
    assert kneedle(x, np.minimum(x, 7.0)) == 7
    # two corners: the offline rule returns the first one whose drop crosses its threshold
    assert kneedle(x, np.minimum(x, 2.0) + 0.3 * np.clip(x - 2.0, 0, 4)) == 2
    # a straight line has no knee (kneed returns None): documented fallback, the maximum of d (index 0)
    assert kneedle(x, 2.0 * x) == 0
    G, _ = _grid(6)
    d = HeatGeodesic(tau="auto", tau_max=20.0, n_tau=6, mds_solver="classic").fit(G)
    grid = np.linspace(0.05, 20.0, 6)
    assert np.isclose(grid, d.tau_).any()
    assert np.all(np.diff(d.entropies_) > 0)  # entropy of the heat kernel grows with t
    with pytest.raises(TypeError, match="tau"):
        HeatGeodesic(tau="sometimes").fit(G)


def test_torch_geometric_data_matches_networkx_graph_and_bad_edge_index():
    """Graph input goes through geoatlas.utils.adjacency_matrix: a Data with every edge in both
    directions gives the networkx graph's distances (not doubled weights); bad edge_index is named."""
    import torch
    from torch_geometric.data import Data

    G = nx.grid_2d_graph(4, 5)
    G = nx.convert_node_labels_to_integers(G)
    ei = torch.tensor(list(G.edges()), dtype=torch.long).T
    data = Data(edge_index=torch.cat([ei, ei.flip(0)], 1), num_nodes=G.number_of_nodes())
    one_way = Data(edge_index=ei, num_nodes=G.number_of_nodes())
    d_nx = HeatGeodesic(tau=2.0, mds_solver="classic").fit(G).distances_
    for g in (data, one_way):
        np.testing.assert_allclose(HeatGeodesic(tau=2.0, mds_solver="classic").fit(g).distances_, d_nx, atol=1e-10)
    bad = Data(edge_index=torch.tensor([[0, 1], [1, 99]]), num_nodes=20)
    with pytest.raises(ValueError, match="X.edge_index"):
        HeatGeodesic(tau=2.0).fit(bad)
