"""Bifiltrations and signed measures against direct multipers calls and brute force (gudhi, networkx)."""

from collections import Counter

import gudhi as gd
import multipers as mp
import networkx as nx
import numpy as np
import pytest
import torch
from sklearn.neighbors import KernelDensity
from torch_geometric.data import Data

from geoatlas_plugins.multiparameter_persistence.filtrations import (
    CubicalBifiltration,
    DelaunayCore,
    GraphFunctionBifiltration,
    RipsCodensity,
    RipsFunction,
    gaussian_codensity,
)
from geoatlas_plugins.multiparameter_persistence.signed_measures import compute_signed_measures


def _as_counter(pts, w, decimals=12) -> Counter:
    pts = pts.detach().numpy() if isinstance(pts, torch.Tensor) else np.asarray(pts)
    w = w.detach().numpy() if isinstance(w, torch.Tensor) else np.asarray(w)
    c: Counter = Counter()
    for p, v in zip(np.round(pts, decimals), w, strict=True):
        c[tuple(p)] += int(v)
    return Counter({k: v for k, v in c.items() if v != 0})


def test_codensity_equals_sklearn_kde() -> None:
    x = np.random.default_rng(1).normal(size=(30, 3))
    ours = gaussian_codensity(torch.as_tensor(x), 0.4).numpy()
    ref = -KernelDensity(bandwidth=0.4, kernel="gaussian").fit(x).score_samples(x)
    assert np.abs(ours - ref).max() < 1e-10


@pytest.mark.parametrize("collapse", [False, True])
def test_rips_codensity_signed_measure_equals_multipers(collapse: bool) -> None:
    x = np.random.default_rng(2).normal(size=(30, 2))
    bif = RipsCodensity(bandwidth=0.3).build(x, max_dim=2, collapse=collapse)
    ours = compute_signed_measures(bif, "hilbert", (0, 1))
    f = -KernelDensity(bandwidth=0.3).fit(x).score_samples(x)
    st = mp.filtrations.RipsLowerstar(points=x, function=f)
    st.expansion(2)
    ref = mp.signed_measure(st, degrees=[0, 1], invariant="hilbert")
    for (p, w), (rp, rw) in zip(ours, ref, strict=True):
        assert _as_counter(p, w, 9) == _as_counter(rp, rw, 9)


def test_euler_measure_is_alternating_sum_of_simplices() -> None:
    x = np.random.default_rng(3).normal(size=(14, 2))
    bif = RipsFunction("distance_to_mean").build(x, max_dim=2, collapse=False)
    (p, w), = compute_signed_measures(bif, "euler")
    brute: Counter = Counter()
    for simplex, f in bif.complex.get_simplices():
        brute[tuple(np.round(np.asarray(f, dtype=float), 12))] += (-1) ** (len(simplex) - 1)
    brute = Counter({k: v for k, v in brute.items() if v != 0})
    assert _as_counter(p, w) == brute


def test_hilbert_measure_equals_brute_force_moebius_inversion() -> None:
    x = np.random.default_rng(4).normal(size=(12, 2))
    bif = RipsFunction("eccentricity").build(x, max_dim=2, collapse=False)
    sms = compute_signed_measures(bif, "hilbert", (0, 1))
    g1, g2 = (g.numpy() for g in bif.grids())
    simplices = [(s, np.asarray(f, dtype=float)) for s, f in bif.complex.get_simplices()]
    for deg, (p, w) in enumerate(sms):
        H = np.zeros((len(g1), len(g2)), dtype=int)
        for i, a in enumerate(g1):
            for j, b in enumerate(g2):
                st = gd.SimplexTree()
                for s, f in simplices:
                    if f[0] <= a and f[1] <= b:
                        st.insert(s)
                st.compute_persistence(persistence_dim_max=True)
                betti = st.betti_numbers()
                H[i, j] = betti[deg] if deg < len(betti) else 0
        M = H.copy()
        M[1:] -= H[:-1]
        M[:, 1:] -= H[:, :-1]
        M[1:, 1:] += H[:-1, :-1]
        brute = Counter({(round(float(g1[i]), 12), round(float(g2[j]), 12)): int(M[i, j]) for i, j in zip(*np.nonzero(M), strict=True)})
        assert _as_counter(p, w) == brute


def _graph(n_nodes: int = 10, seed: int = 0) -> Data:
    G = nx.gnp_random_graph(n_nodes, 0.35, seed=seed)
    e = torch.tensor(list(G.edges()), dtype=torch.long).T
    return Data(x=torch.randn(n_nodes, 3, generator=torch.Generator().manual_seed(seed)), edge_index=torch.cat([e, e.flip(0)], 1), num_nodes=n_nodes)


def test_graph_h0_measure_equals_networkx_components() -> None:
    data = _graph(12, 1)
    bif = GraphFunctionBifiltration(node_functions=["degree", "x:0"]).build(data, max_dim=1, collapse=False)
    (p, w), = compute_signed_measures(bif, "hilbert", (0,))
    g1, g2 = (g.numpy() for g in bif.grids())
    deg = np.bincount(data.edge_index[0].numpy(), minlength=12)
    f = np.stack([deg, data.x[:, 0].numpy()], 1)
    edges = {tuple(sorted(e)) for e in data.edge_index.T.tolist() if e[0] != e[1]}
    H = np.zeros((len(g1), len(g2)), dtype=int)
    for i, a in enumerate(g1):
        for j, b in enumerate(g2):
            keep = [v for v in range(12) if f[v, 0] <= a and f[v, 1] <= b]
            sub = nx.Graph()
            sub.add_nodes_from(keep)
            sub.add_edges_from((u, v) for u, v in edges if u in sub and v in sub)
            H[i, j] = nx.number_connected_components(sub) if keep else 0
    M = H.copy()
    M[1:] -= H[:-1]
    M[:, 1:] -= H[:, :-1]
    M[1:, 1:] += H[:-1, :-1]
    brute = Counter({(round(float(g1[i]), 12), round(float(g2[j]), 12)): int(M[i, j]) for i, j in zip(*np.nonzero(M), strict=True)})
    assert _as_counter(p, w) == brute


def test_graph_edge_function_and_collapse_keep_hilbert() -> None:
    data = _graph(10, 2)
    data.pos = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    filt = GraphFunctionBifiltration(node_functions=["hks:1.0"], edge_functions=["length"])
    a = compute_signed_measures(filt.build(data, max_dim=2, collapse=False), "hilbert", (0, 1))
    b = compute_signed_measures(filt.build(data, max_dim=2, collapse=True), "hilbert", (0, 1))
    for (p, w), (q, v) in zip(a, b, strict=True):
        assert _as_counter(p, w) == _as_counter(q, v)


def test_cubical_equals_multipers_cubical() -> None:
    img = np.random.default_rng(5).random((2, 7, 6))
    bif = CubicalBifiltration().build(img)
    ours = compute_signed_measures(bif, "hilbert", (0, 1))
    ref = mp.signed_measure(mp.filtrations.Cubical(np.moveaxis(img, 0, -1)), degrees=[0, 1], invariant="hilbert")
    for (p, w), (rp, rw) in zip(ours, ref, strict=True):
        assert _as_counter(p, w) == _as_counter(rp, rw)


def test_delaunay_core_equals_multipers() -> None:
    x = np.random.default_rng(6).normal(size=(25, 2))
    ours = compute_signed_measures(DelaunayCore(k_max=5).build(x, max_dim=2), "hilbert", (0, 1))
    ref = mp.signed_measure(mp.filtrations.CoreDelaunay(x, ks=np.arange(1, 6)), degrees=[0, 1], invariant="hilbert")
    for (p, w), (rp, rw) in zip(ours, ref, strict=True):
        assert _as_counter(p, w) == _as_counter(rp, rw)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "points, match",
    [
        (np.zeros((0, 2)), "empty"),
        (np.zeros((1, 2)), "single point"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN"),
        (np.zeros(5), "shape"),
    ],
)
def test_bad_point_clouds(points, match) -> None:
    with pytest.raises(ValueError, match=match):
        RipsCodensity().build(points)


def test_bad_parameters_and_functions() -> None:
    x = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="bandwidth"):
        RipsCodensity(bandwidth=-1.0).build(x)
    with pytest.raises(ValueError, match="mismatched function length"):
        RipsFunction(function=lambda p: p[:5, 0]).build(x)
    with pytest.raises(ValueError, match="function must be"):
        RipsFunction(function="nope").build(x)
    with pytest.raises(ValueError, match="k=20"):
        RipsFunction(function="dtm", k=20).build(x)


def test_bad_graphs() -> None:
    no_edges = Data(x=torch.zeros(4, 1), edge_index=torch.zeros((2, 0), dtype=torch.long), num_nodes=4)
    with pytest.raises(ValueError, match="no edges"):
        GraphFunctionBifiltration().build(no_edges)
    g = _graph(8, 0)
    g.score = torch.zeros(5)
    with pytest.raises(ValueError, match="mismatched function length"):
        GraphFunctionBifiltration(node_functions=["degree", "attr:score"]).build(g)
    with pytest.raises(ValueError, match="unknown node function"):
        GraphFunctionBifiltration(node_functions=["bogus"]).build(g)
    with pytest.raises(ValueError, match="length"):
        GraphFunctionBifiltration(node_functions=["degree"], edge_functions=["length"]).build(g)


def test_bad_images() -> None:
    with pytest.raises(ValueError, match="NaN"):
        CubicalBifiltration().build(np.full((1, 4, 4), np.nan))
    with pytest.raises(ValueError, match="shape"):
        CubicalBifiltration().build(np.zeros(5))


def test_fast_bounds_equal_built_bounds() -> None:
    x = np.random.default_rng(7).normal(size=(20, 2))
    for filt in (RipsCodensity(0.3), RipsFunction("dtm", k=3), RipsFunction("distance_to_mean", threshold=0.8)):
        assert np.allclose(filt.bounds(x), filt.build(x, max_dim=1, collapse=False).bounds(), atol=1e-12)


def test_one_parameter_filtration_is_refused_for_signed_measures() -> None:
    g = _graph(8, 0)
    bif = GraphFunctionBifiltration(node_functions=["degree"]).build(g)
    with pytest.raises(ValueError, match=">= 2 parameters"):
        compute_signed_measures(bif, "hilbert", (0,))


def _degree_rips_brute(D: np.ndarray, ks, radii, deg: int) -> Counter:
    """Hilbert measure of DR(r, k) (flag complex of the r-graph on points with >= k neighbours)."""
    n = len(D)
    ks_desc = sorted(ks, reverse=True)
    H = np.zeros((len(radii), len(ks_desc)), dtype=int)
    for i, r in enumerate(radii):
        A = (D <= r) & ~np.eye(n, dtype=bool)
        nb = A.sum(1)
        for j, k in enumerate(ks_desc):
            keep = [v for v in range(n) if nb[v] >= k]
            st = gd.SimplexTree()
            for v in keep:
                st.insert([v])
            for a in keep:
                for b in keep:
                    if a < b and A[a, b]:
                        st.insert([a, b])
            st.expansion(deg + 1)
            st.compute_persistence(persistence_dim_max=True)
            betti = st.betti_numbers() if keep else []
            H[i, j] = betti[deg] if deg < len(betti) else 0
    M = H.copy()
    M[1:] -= H[:-1]
    M[:, 1:] -= H[:, :-1]
    M[1:, 1:] += H[:-1, :-1]
    return Counter({(round(float(radii[i]), 12), float(-ks_desc[j])): int(M[i, j]) for i, j in zip(*np.nonzero(M), strict=True)})


def test_degree_rips_equals_brute_force() -> None:
    from geoatlas_plugins.multiparameter_persistence.filtrations import DegreeRips

    x = np.random.default_rng(8).normal(size=(11, 2))
    D = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    ks = [1, 2, 3, 4]
    sms = compute_signed_measures(DegreeRips(ks=ks).build(x), "hilbert", (0, 1))
    radii = np.unique(D)
    for deg in (0, 1):
        assert _as_counter(*sms[deg]) == _degree_rips_brute(D, ks, radii, deg), deg


def test_graph_degree_rips_and_refusals() -> None:
    from geoatlas_plugins.multiparameter_persistence.filtrations import GraphDegreeRips

    data = _graph(10, 3)
    bif = GraphDegreeRips(ks=[1, 2, 3]).build(data)
    G = nx.Graph()
    G.add_nodes_from(range(10))
    G.add_edges_from(data.edge_index.T.tolist())
    sp = dict(nx.all_pairs_shortest_path_length(G))
    D = np.array([[sp[i].get(j, 0) for j in range(10)] for i in range(10)], dtype=float)
    assert nx.is_connected(G)
    (p, w), = compute_signed_measures(bif, "hilbert", (0,))
    assert _as_counter(p, w) == _degree_rips_brute(D, [1, 2, 3], np.unique(D), 0)
    with pytest.raises(ValueError, match="hilbert"):
        compute_signed_measures(bif, "euler")
    with pytest.raises(ValueError, match="ks"):
        GraphDegreeRips(ks=[0, 1]).build(data)
