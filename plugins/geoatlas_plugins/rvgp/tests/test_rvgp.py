"""RVGP tests: gpytorch posterior oracle, sphere spectrum multiplicities, L_c reductions,
tangency, rotation equivariance, training, bad input."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import geoatlas as ga
from geoatlas_plugins.rvgp.rvgp import (
    RVGP,
    SphereVectorField,
    VectorBundleGeometry,
    connection_laplacian,
    fibonacci_sphere,
    knn_graph,
    sphere_field,
)

N = 300


def _data(n=N, seed=0, frac=0.3, X=None):
    X = fibonacci_sphere(n) if X is None else X
    rng = np.random.default_rng(seed)
    tr = np.zeros(n, dtype=bool)
    tr[rng.permutation(n)[: int(frac * n)]] = True
    return SimpleNamespace(pos=X, y=torch.tensor(sphere_field(X)), train_mask=torch.tensor(tr))


def test_registered():
    m = ga.create("encoder", "rvgp", n_eigenpairs=20)
    assert isinstance(m, RVGP)
    b = ga.create("dataset", "sphere_vector_field", n_points=50).load()
    assert b.data_type == "graph_nodes" and b.X.y.shape == (50, 3)


def test_posterior_equals_gpytorch_exact_gp():
    import gpytorch

    data = _data()
    m = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=30, nu=1.5, kappa=5.0, noise_variance=1e-2)
    geo = m.geometry(data)
    with torch.no_grad():
        mean, var = m.posterior(data)
        nll = m.neg_log_marginal_likelihood(data)
        P = torch.as_tensor(geo.P, dtype=torch.float64)
        S = m.spectral_density(torch.as_tensor(geo.evals), geo.n * geo.D)
    Xall = P.reshape(-1, P.shape[-1])
    mask = data.train_mask.repeat_interleave(3)
    Xtr, ytr = Xall[mask], data.y.reshape(-1)[mask].double()

    class SpectralKernel(gpytorch.kernels.Kernel):
        def forward(self, x1, x2, diag=False, **kw):
            K = (x1 * S) @ x2.transpose(-1, -2)
            return torch.diagonal(K, dim1=-2, dim2=-1) if diag else K

    class GP(gpytorch.models.ExactGP):
        def __init__(self, x, y, lik):
            super().__init__(x, y, lik)
            self.mean_module = gpytorch.means.ZeroMean()
            self.covar_module = SpectralKernel()

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))

    lik = gpytorch.likelihoods.GaussianLikelihood(noise_constraint=gpytorch.constraints.GreaterThan(1e-8)).double()
    lik.noise = 1e-2
    gp = GP(Xtr, ytr, lik).double()
    gp.eval()
    lik.eval()
    with torch.no_grad(), gpytorch.settings.fast_computations(False, False, False), \
            gpytorch.settings.max_cholesky_size(10**6):
        post = gp(Xall)
        ref_mean, ref_var = post.mean, post.variance
        gp.train()
        lik.train()
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, gp)(gp(Xtr), ytr)
    err_mean = (mean.reshape(-1) - ref_mean).abs().max() / ref_mean.abs().max()
    err_var = (var.reshape(-1) - ref_var).abs().max() / ref_var.abs().max()
    assert err_mean < 1e-6, float(err_mean)
    assert err_var < 1e-6, float(err_var)
    assert abs(float(nll) + float(mll)) < 1e-6 * max(1.0, abs(float(mll)))


def _clusters(w, n_big):
    gaps = w[1:] / np.maximum(w[:-1], 1e-12)
    return sorted(int(i) + 1 for i in np.argsort(gaps)[::-1][:n_big])


def test_sphere_connection_laplacian_multiplicities():
    X = fibonacci_sphere(500)
    geo = VectorBundleGeometry(X, n_neighbors=10, manifold_dim=2, n_eigenpairs=31)
    w = geo.evals
    assert _clusters(w, 3) == [6, 16, 30]  # cluster sizes 6, 10, 14
    means = np.array([w[:6].mean(), w[6:16].mean(), w[16:30].mean()])
    np.testing.assert_allclose(means / means[0], [1, 5, 11], rtol=0.1)  # l(l+1) - 1
    # scalar Laplacian of the same graph: 1, 3, 5 (eigenvalues l(l+1) = 0, 2, 6)
    A = geo.A
    L = (sp.diags(np.asarray(A.sum(1)).ravel()) - A).toarray()
    ws = np.linalg.eigvalsh(L)[:10]
    assert _clusters(ws, 3) == [1, 4, 9]


def test_trivial_connection_gives_graph_laplacian():
    X = np.random.default_rng(0).normal(size=(40, 3))
    A = knn_graph(X, 5)
    ones = np.ones((40, 40, 1, 1))
    Lc = connection_laplacian(A, ones).toarray()
    L = (sp.diags(np.asarray(A.sum(1)).ravel()) - A).toarray()
    np.testing.assert_array_equal(Lc, L)
    assert np.linalg.eigvalsh(connection_laplacian(A, VectorBundleGeometry(X, 5, 2, 10).conn).toarray()).min() > -1e-10


def test_predictions_are_tangent_and_rotate_with_the_cloud():
    data = _data()
    m = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=30)
    with torch.no_grad():
        mean, _ = m.posterior(data)
    T = torch.as_tensor(m.geometry(data).frames)
    resid = mean - torch.einsum("nDm,nEm,nE->nD", T, T, mean)
    assert float(resid.norm(dim=1).max() / mean.norm(dim=1).max()) < 1e-8
    Q = torch.as_tensor(np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))[0])
    X = np.asarray(data.pos)
    rot = SimpleNamespace(pos=X @ Q.numpy().T, y=data.y @ Q.T, train_mask=data.train_mask)
    with torch.no_grad():
        mean_rot, _ = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=30).posterior(rot)
    assert float((mean_rot - mean @ Q.T).abs().max()) < 1e-6


def test_marginal_likelihood_training_and_accuracy():
    data = _data()
    m = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=30)
    hist = m.fit_hyperparameters(data, max_iter=15)
    assert hist[-1] < hist[0]
    with torch.no_grad():
        mean, var = m.posterior(data)
    te = ~data.train_mask
    rel = float((mean[te] - data.y[te]).norm() / data.y[te].norm())
    assert rel < 0.1, rel
    assert (var >= 0).all()


def test_dataset_and_bad_input():
    with pytest.raises(ValueError, match="train_fraction"):
        SphereVectorField(train_fraction=1.5)
    with pytest.raises(ValueError, match="kernel"):
        RVGP(kernel="rbf")
    with pytest.raises(ValueError, match="n_neighbors"):
        RVGP(n_neighbors=0)
    m = RVGP(n_neighbors=5, manifold_dim=2, n_eigenpairs=10)
    d = _data(40)
    with pytest.raises(ValueError, match="train_mask"):
        m(SimpleNamespace(pos=d.pos, y=d.y, train_mask=torch.zeros(40, dtype=torch.bool)))
    with pytest.raises(ValueError, match="train_mask"):
        m(SimpleNamespace(pos=d.pos, y=d.y))
    with pytest.raises(ValueError, match="data.y"):
        m(SimpleNamespace(pos=d.pos, y=d.y[:, :2], train_mask=d.train_mask))
    bad = np.array(d.pos)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m(SimpleNamespace(pos=bad, y=d.y, train_mask=d.train_mask))
    with pytest.raises(ValueError, match="n_neighbors"):
        RVGP(n_neighbors=50)(d)
    with pytest.raises(TypeError, match="pos"):
        m(SimpleNamespace(y=d.y, train_mask=d.train_mask))
    with pytest.raises(ValueError, match="manifold_dim"):
        RVGP(n_neighbors=5, manifold_dim=4, n_eigenpairs=10)(d)


def test_frames_use_graph_geodesic_neighbourhoods():
    """The authors' frames: local PCA over each node and its 1.5k nearest nodes in the kNN graph
    (hop counts, BFS oracle from networkx); nearer hop rings are always complete."""
    import networkx as nx

    from geoatlas_plugins.rvgp.rvgp import geodesic_neighbourhoods

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    A = knn_graph(X, 4)
    G = nx.from_scipy_sparse_array(A)
    idx = geodesic_neighbourhoods(X, A, 9)
    for i in range(len(X)):
        hops = nx.single_source_shortest_path_length(G, i)
        assert idx[i, 0] == i and len(set(idx[i])) == 10
        h_sel = [hops[j] for j in idx[i]]
        assert h_sel == sorted(h_sel)
        inner = {j for j, h in hops.items() if h < max(h_sel)}
        assert inner <= set(idx[i].tolist())
    # the two neighbourhood rules give different frames on a random cloud
    geo = VectorBundleGeometry(X, n_neighbors=4, manifold_dim=2, n_eigenpairs=5)
    geo_e = VectorBundleGeometry(X, n_neighbors=4, manifold_dim=2, n_eigenpairs=5, frame_neighbourhood="euclidean")
    assert not np.allclose(np.abs(geo.frames), np.abs(geo_e.frames))
    with pytest.raises(ValueError, match="frame_neighbourhood"):
        VectorBundleGeometry(X, n_neighbors=4, frame_neighbourhood="ambient")
