import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyriemann.utils.distance import distance_riemann
from scipy.stats import ortho_group

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.frechet_cumulative_covariance.fccov import (
    check_distance_matrix,
    fccov,
    fccov_kernel,
    fccov_naive,
    fccov_permutation_test,
    fccov_torch,
    response_distances,
)


@given(seed=st.integers(0, 10_000), n=st.integers(3, 30), p=st.integers(1, 4))
@settings(max_examples=25, deadline=None)
def test_fast_equals_naive_equals_kernel(seed, n, p):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = np.round(rng.normal(size=(n, 2)), 1)  # rounding creates tied distances
    D = response_distances(Y)
    Xc = X - X.mean(0)
    a, b = fccov(X, D), fccov_naive(X, D)
    c = float((Xc * (fccov_kernel(D) @ Xc)).sum())
    assert abs(a - b) < 1e-12 * max(1.0, b) and abs(c - b) < 1e-12 * max(1.0, b)


def test_zero_under_independence_in_expectation_and_test_level():
    rng = np.random.default_rng(0)
    # the V-statistic is positive with an O(1/n) bias: its mean under independence shrinks like 1/n
    means = []
    for n in (25, 100):
        vals = []
        for _ in range(20):
            X, Y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
            vals.append(fccov(X, response_distances(Y)))
        means.append(np.mean(vals))
    assert means[1] < 0.4 * means[0]
    # permutation test: level close to alpha = 0.1 under independence
    rejections = 0
    for r in range(100):
        X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
        rejections += fccov_permutation_test(X, response_distances(Y), n_permutations=99, seed=r)[1] <= 0.1
    assert 0.03 <= rejections / 100 <= 0.2, rejections


def test_detects_dependence_for_sphere_and_spd_responses():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    Y = np.stack([np.cos(X[:, 0]), np.sin(X[:, 0]), 0.3 * np.ones(60)], 1)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    assert fccov_permutation_test(X, response_distances(Y, "sphere"), 99)[1] <= 0.02
    A = np.stack([np.diag(np.exp([x, -x, 0.5 * x])) for x in X[:, 1]])
    assert fccov_permutation_test(X, response_distances(A, "spd_affine"), 99)[1] <= 0.02


def test_invariances():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    Y = rng.normal(size=(40, 3)) + X
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    D = response_distances(Y, "sphere")
    base = fccov(X, D)
    Q = ortho_group.rvs(3, random_state=0)
    assert abs(fccov(X, response_distances(Y @ Q.T, "sphere")) - base) < 1e-12  # isometry of S^2
    assert abs(fccov(X, np.expm1(D)) - base) < 1e-12  # increasing transform of the metric
    assert abs(fccov(X, D**2) - base) < 1e-12
    R = ortho_group.rvs(3, random_state=1)
    assert abs(fccov(X @ R.T + 5.0, D) - base) < 1e-12  # orthogonal map + translation of X
    assert abs(fccov(3.0 * X, D) - 9.0 * base) < 1e-12


def test_response_metrics_against_libraries():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 3, 3))
    S = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(3)
    D = response_distances(S, "spd_affine")
    for i in range(5):
        for j in range(5):
            assert abs(D[i, j] - distance_riemann(S[i], S[j])) < 1e-8
    Qf = np.sort(rng.normal(size=(4, 50)), axis=1)  # quantile functions = sorted equal-weight samples
    Dw = response_distances(Qf, "wasserstein")
    for i in range(4):
        for j in range(4):
            assert abs(Dw[i, j] ** 2 - ot.wasserstein_1d(Qf[i], Qf[j], p=2)) < 1e-10


def test_torch_objective_and_gradcheck():
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(12, 2))
    K = torch.tensor(fccov_kernel(response_distances(Y)))
    F = torch.tensor(rng.normal(size=(12, 2)), requires_grad=True)
    assert abs(float(fccov_torch(F, K).detach()) - fccov(F.detach().numpy(), response_distances(Y))) < 1e-12
    assert torch.autograd.gradcheck(lambda f: fccov_torch(f, K), (F,))
    net = ga.create("encoder", "fccov_net", in_features=3, out_features=2, hidden=[8]).double()
    loss = net.training_step(torch.tensor(rng.normal(size=(12, 3))), Y)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_sdr_recovers_signal_on_sphere_data():
    b = ga.create("dataset", "sphere_response_regression", n_samples=200, seed=0).load()
    d = ga.create("descriptor", "fccov_sdr", hidden=[], metric="sphere", epochs=30, lr=3e-2)
    F = d.fit(b.X, b.y).transform(b.X)
    # the linear FCCov direction aligns with the true index e_1 (the e_2 index is symmetric: x^2)
    corr = abs(np.corrcoef(F[:, 0], b.X[:, 0])[0, 1]) + abs(np.corrcoef(F[:, 1], b.X[:, 0])[0, 1])
    assert corr > 0.8
    check_descriptor(ga.create("descriptor", "fccov_sdr", hidden=[4], metric="sphere", epochs=1), b.X[:40], b.y[:40])


def test_bad_input():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="positive definite"):
        response_distances(-np.stack([np.eye(2)] * 3), "spd_affine")
    with pytest.raises(ValueError, match="symmetric"):
        response_distances(np.stack([np.triu(np.ones((2, 2))) + np.eye(2)] * 3), "spd_affine")
    with pytest.raises(ValueError, match="unit vectors"):
        response_distances(rng.normal(size=(5, 3)), "sphere")
    with pytest.raises(ValueError, match="non-decreasing"):
        response_distances(-np.sort(rng.normal(size=(4, 5)), axis=1), "wasserstein")
    with pytest.raises(ValueError, match="symmetric, non-negative"):
        response_distances(rng.normal(size=(4, 4)), "precomputed")
    with pytest.raises(ValueError, match="NaN"):
        response_distances(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="metric"):
        response_distances(np.ones((3, 2)), "cosine")
    with pytest.raises(ValueError, match="distance matrix"):
        fccov(rng.normal(size=(5, 2)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="lam"):
        ga.create("encoder", "fccov_net", in_features=3, lam=-1)
    with pytest.raises(ValueError, match="supervised"):
        ga.create("descriptor", "fccov_sdr").fit(rng.normal(size=(10, 2)))
    with pytest.raises(RuntimeError, match="fitted"):
        ga.create("descriptor", "fccov_sdr").transform(rng.normal(size=(10, 2)))


def test_distance_matrices_are_validated():
    """Audit: D = -1 everywhere gave 4.9e-33 and n = 1 gave 0.0 without complaint."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, 2))
    D = response_distances(rng.normal(size=(5, 2)))
    assert check_distance_matrix(D) is not None
    asym = D.copy()
    asym[0, 1] += 0.5
    diag = D + np.eye(5)
    cases = [
        (-np.ones((5, 5)) + np.eye(5), "non-negative"),
        (asym, "symmetric"),
        (diag, "zero diagonal"),
        (np.where(D > 0, np.nan, 0.0), "NaN"),
        (D[:, :4], "square"),
        ([["a"] * 5] * 5, "real"),
    ]
    for fn in (fccov, fccov_naive, lambda X, D: fccov_permutation_test(X, D, n_permutations=3)):
        for bad, msg in cases:
            with pytest.raises(ValueError, match=msg):
                fn(X, bad)
        with pytest.raises(ValueError, match="n >= 2"):
            fn(X[:1], np.zeros((1, 1)))
        with pytest.raises(ValueError, match="NaN"):
            fn(np.full((5, 2), np.nan), D)
    for bad, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fccov_kernel(bad)
