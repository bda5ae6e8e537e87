"""bootstrap_amg tests: augmentation counts, Laplacian vs networkx, modified k-means vs sklearn,
modularity vs networkx, bootstrap convergence and smooth vectors vs eigsh, bad input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans

import geoatlas as ga
from geoatlas_plugins.bootstrap_amg.bamg import (
    AttributedSBM,
    BootstrapAMG,
    _graph_and_attributes,
    augment,
    bootstrap_smooth_vectors,
    lloyd,
    modularity,
    spd_laplacian,
)


@pytest.fixture(scope="module")
def sbm():
    return AttributedSBM(n_blocks=3, block_size=40, p_in=0.2, p_out=0.03, seed=1).load()


def test_registered(sbm):
    assert isinstance(ga.create("descriptor", "bootstrap_amg"), BootstrapAMG)
    assert ga.create("dataset", "attributed_sbm", block_size=10).load().X.num_nodes == 30


def test_augmentation_counts_and_laplacian(sbm):
    A, attr = _graph_and_attributes(sbm.X)
    n, n_attr = attr.shape
    G, idx = augment(A, attr)
    n_values = sum(len(np.unique(attr[:, a])) for a in range(n_attr))
    assert G.shape[0] == n + n_values
    assert sp.triu(G, 1).nnz == sp.triu(A, 1).nnz + n * n_attr
    assert all(G[i, idx[i, a]] == 1 for i in range(n) for a in range(n_attr))
    L = spd_laplacian(G)
    U = sp.triu(G, 1).tocoo()
    Lnx = nx.laplacian_matrix(nx.from_scipy_sparse_array(G)).toarray()
    s = np.zeros(G.shape[0])
    s[0] = 1.0
    s[int(G[0].indices[G[0].indices != 0].min())] = 1.0
    np.testing.assert_array_equal(L.toarray() - np.outer(s, s), Lnx)
    np.linalg.cholesky(L.toarray())  # SPD after the rank-1 update
    assert U.nnz > 0


def test_modularity_matches_networkx(sbm):
    A, _ = _graph_and_attributes(sbm.X)
    lab = np.random.default_rng(0).integers(0, 3, A.shape[0])
    Gx = nx.from_scipy_sparse_array(A)
    ref = nx.algorithms.community.modularity(Gx, [set(np.where(lab == c)[0]) for c in range(3)])
    assert abs(modularity(A, lab) - ref) < 1e-12


def test_block_kmeans_equals_sklearn_lloyd(sbm):
    d = BootstrapAMG(max_hrc=6).fit(sbm.X)
    F = d.features_
    init = F[[0, 50, 100]].copy()
    ours = lloyd(F, init.copy(), max_iter=10)
    ref = KMeans(3, init=init, n_init=1, max_iter=10, algorithm="lloyd", tol=0.0).fit(F).labels_
    np.testing.assert_array_equal(ours, ref)
    # block layout: (n_attr + 1) coordinates per smooth vector
    assert F.shape == (120, 3 * d.smooth_vectors_.shape[1])


def test_bootstrap_converges_and_smooth_vectors_capture_low_modes(sbm):
    A, attr = _graph_and_attributes(sbm.X)
    G, _ = augment(A, attr)
    L = spd_laplacian(G)
    W, rhos = bootstrap_smooth_vectors(L, max_hrc=40, conv_ratio=1e-6, n_iter_est=15, seed=0)
    assert rhos[-1] <= 1e-6 and len(rhos) < 40
    assert rhos[0] < 1 and rhos[-1] < rhos[0]
    Q, _ = np.linalg.qr(W)
    _, V = eigsh(L.tocsc(), k=1, sigma=-1e-6)
    assert np.linalg.norm(Q.T @ V[:, 0]) > 0.999


def test_attributes_help_and_labels(sbm):
    from sklearn.metrics import adjusted_rand_score

    y = np.asarray(sbm.y)
    with_attr = BootstrapAMG(n_clusters=3, n_restarts=20).fit(sbm.X)
    assert with_attr.labels_.shape == (120,)
    assert adjusted_rand_score(y, with_attr.labels_) > 0.5
    assert with_attr.modularity_ == pytest.approx(modularity(_graph_and_attributes(sbm.X)[0], with_attr.labels_))
    np.testing.assert_array_equal(with_attr.transform(sbm.X), with_attr.features_)


def test_bad_input(sbm):
    from types import SimpleNamespace

    with pytest.raises(ValueError, match="conv_ratio"):
        BootstrapAMG(conv_ratio=2.0).fit(sbm.X)
    with pytest.raises(ValueError, match="max_hrc"):
        BootstrapAMG(max_hrc=0).fit(sbm.X)
    with pytest.raises(TypeError, match="n_clusters"):
        BootstrapAMG(n_clusters=2.5).fit(sbm.X)
    with pytest.raises(ValueError, match="n_clusters"):
        BootstrapAMG(n_clusters=500, max_hrc=2).fit(sbm.X)
    with pytest.raises(TypeError, match="Data"):
        BootstrapAMG().fit(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="attr"):
        BootstrapAMG().fit(SimpleNamespace(edge_index=sbm.X.edge_index, num_nodes=120))
    bad = SimpleNamespace(edge_index=sbm.X.edge_index, num_nodes=120, attr=np.full((120, 2), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        BootstrapAMG().fit(bad)
    with pytest.raises(ValueError, match="shape"):
        BootstrapAMG().fit(SimpleNamespace(edge_index=sbm.X.edge_index, num_nodes=120, attr=np.zeros((10, 2), int)))
    with pytest.raises(RuntimeError, match="fit"):
        BootstrapAMG().transform(sbm.X)
    other = AttributedSBM(n_blocks=3, block_size=40, seed=5).load().X
    with pytest.raises(ValueError, match="transductive"):
        BootstrapAMG(max_hrc=3).fit(sbm.X).transform(other)
    with pytest.raises(ValueError, match="p_in"):
        AttributedSBM(p_in=1.5)
    with pytest.raises(ValueError, match="block_size"):
        AttributedSBM(block_size=0)


def test_compatible_weighted_matching_aggregation(sbm):
    """The authors' coarsening: weights 1 - 2 a_ij w_i w_j / (a_ii w_i^2 + a_jj w_j^2) (direct
    transcription), a maximal matching taken greedily by weight, prolongators interpolating w
    with orthonormal columns, aggregates of at most 4 vertices after the 2 pairwise steps."""
    from geoatlas_plugins.bootstrap_amg.bamg import (
        compatible_matching_weights,
        greedy_matching,
        matching_hierarchy,
        matching_prolongator,
    )

    A, attr = _graph_and_attributes(sbm.X)
    L = spd_laplacian(augment(A, attr)[0])
    w = np.random.default_rng(0).uniform(-1, 1, L.shape[0])
    r, c, wt = compatible_matching_weights(L, w)
    Ld = L.toarray()
    for e in range(0, len(r), 37):
        i, j = r[e], c[e]
        assert i < j and Ld[i, j] != 0
        assert wt[e] == pytest.approx(1 - 2 * Ld[i, j] * w[i] * w[j] / (Ld[i, i] * w[i] ** 2 + Ld[j, j] * w[j] ** 2), rel=1e-12)
    mate = greedy_matching(r, c, wt, L.shape[0])
    matched = mate >= 0
    np.testing.assert_array_equal(mate[mate[matched]], np.flatnonzero(matched))
    assert not (~matched[r] & ~matched[c]).any()  # maximal: no edge with both ends free
    best = np.argmax(wt)
    assert mate[r[best]] == c[best]  # the heaviest edge is always matched
    P = matching_prolongator(L, w)
    np.testing.assert_allclose(P @ (P.T @ w), w, atol=1e-14)
    np.testing.assert_allclose((P.T @ P).toarray(), np.eye(P.shape[1]), atol=1e-14)
    ml = matching_hierarchy(L, w, sweeps=2, max_coarse=10)
    P1 = ml.levels[0].P
    assert (P1 != 0).sum(0).max() <= 4 and P1.shape[1] < L.shape[0] / 2
    np.testing.assert_allclose(P1 @ (P1.T @ w), w, atol=1e-12)
    assert ml.levels[-1].A.shape[0] <= 10
    with pytest.raises(ValueError, match="aggregation"):
        BootstrapAMG(aggregation="smoothed").fit(sbm.X)
