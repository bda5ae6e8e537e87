import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.compositional_partial_correlation.partial_correlation import (
    clr_covariance,
    compositional_precision,
    partial_correlations,
    partial_variances,
    population_clr_precision,
)


def _compositions(n, D, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(D, D))
    Y = rng.normal(size=(n, D)) @ A.T * 0.5 + rng.normal(size=D)
    E = np.exp(Y)
    return E / E.sum(1, keepdims=True)


def _ols_residual(y, Z):
    Z1 = np.column_stack([np.ones(len(y)), Z]) if Z.size else np.ones((len(y), 1))
    beta, *_ = np.linalg.lstsq(Z1, y, rcond=None)
    return y - Z1 @ beta


def _residual(X, i, r, exclude=()):
    """Residual of log(x_i/x_r) regressed on log(x_k/x_r) for all k not in {i, r, *exclude}."""
    L = np.log(X)
    others = [k for k in range(X.shape[1]) if k not in (i, r, *exclude)]
    return _ols_residual(L[:, i] - L[:, r], L[:, others] - L[:, [r]])


@given(seed=st.integers(0, 10_000), D=st.integers(3, 7))
@settings(max_examples=25, deadline=None)
def test_residuals_are_reference_independent(seed, D):
    # Erb (2020), the key property: the residual of log(x_i/x_r) adjusting for all other parts
    # (including the reference) is the same vector for every reference r != i.
    X = _compositions(60, D, seed)
    for i in range(D):
        res = [_residual(X, i, r) for r in range(D) if r != i]
        for e in res[1:]:
            assert np.abs(e - res[0]).max() < 1e-9
        # and its variance is the partial variance 1/Omega_ii
        assert abs(res[0].var(ddof=1) - partial_variances(X)[i]) < 1e-9 * max(1.0, res[0].var())


def test_partial_correlations_equal_alr_and_residual_routes():
    X = _compositions(80, 6, 0)
    P = partial_correlations(X)
    L = np.log(X)
    for i in range(6):
        for j in range(i + 1, 6):
            for r in range(6):
                if r in (i, j):
                    continue
                # residual correlation, adjusting for all other log-ratios with reference r
                ei = _residual(X, i, r, exclude=(j,))
                ej = _residual(X, j, r, exclude=(i,))
                rho = np.corrcoef(ei, ej)[0, 1]
                assert abs(rho - P[i, j]) < 1e-10
                # alr precision route (Aitchison: inverse alr covariance = Gamma^+ minus row/col r)
                keep = [k for k in range(6) if k != r]
                A = L[:, keep] - L[:, [r]]
                Pr = np.linalg.inv(np.cov(A, rowvar=False))
                a, b = keep.index(i), keep.index(j)
                assert abs(-Pr[a, b] / np.sqrt(Pr[a, a] * Pr[b, b]) - P[i, j]) < 1e-10


def test_alr_inverse_is_submatrix_of_clr_pseudoinverse():
    X = _compositions(50, 5, 3)
    Om = compositional_precision(X)
    L = np.log(X)
    for r in range(5):
        keep = [k for k in range(5) if k != r]
        Pr = np.linalg.inv(np.cov(L[:, keep] - L[:, [r]], rowvar=False))
        assert np.abs(Pr - Om[np.ix_(keep, keep)]).max() < 1e-8 * np.abs(Pr).max()
    assert np.abs(Om.sum(1)).max() < 1e-8 * np.abs(Om).max()


def test_population_closed_form():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    theta = A @ A.T + 6 * np.eye(6)
    G = np.eye(6) - 1 / 6
    Gam = G @ np.linalg.inv(theta) @ G
    assert np.abs(np.linalg.pinv(Gam) - population_clr_precision(theta)).max() < 1e-10


def test_invariances_scaling_permutation():
    X = _compositions(40, 5, 7)
    P = partial_correlations(X)
    scaled = X * np.random.default_rng(1).uniform(0.1, 10, size=(40, 1))  # closure-invariance
    assert np.abs(partial_correlations(scaled) - P).max() < 1e-10
    perm = np.array([3, 0, 4, 1, 2])
    assert np.abs(partial_correlations(X[:, perm]) - P[np.ix_(perm, perm)]).max() < 1e-10
    assert np.all(np.abs(P) <= 1) and np.allclose(P, P.T)


def test_zeros_rank_deficiency_and_bad_input():
    X = _compositions(30, 4, 2)
    Z = X.copy()
    Z[0, 1] = 0
    with pytest.raises(ValueError, match="zeros"):
        partial_correlations(Z)
    P = partial_correlations(Z, zero_replacement=1e-3)
    assert np.isfinite(P).all()
    with pytest.raises(ValueError, match="zero_replacement"):
        partial_correlations(Z, zero_replacement=0.5)
    with pytest.raises(ValueError, match="rank-deficient"):
        partial_correlations(X[:3])  # n=3 <= D-1 = 3 ... rank < 3
    assert np.isfinite(partial_correlations(X[:3], ridge=0.1)).all()
    with pytest.raises(ValueError, match="ridge"):
        partial_correlations(X, ridge=-1)
    with pytest.raises(ValueError, match="negative"):
        partial_correlations(-X)
    with pytest.raises(ValueError, match="NaN"):
        partial_correlations(np.where(X > 0.5, np.nan, X))
    with pytest.raises(ValueError, match="shape"):
        partial_correlations(X[0])
    with pytest.raises(ValueError, match="at least 3 parts"):
        clr_covariance(X[:, :2])


def test_descriptor_and_dataset():
    ds = ga.create("dataset", "logistic_normal_networks", n_per_class=4, n_compositions=30, parts=5, n_edges=3)
    b = ds.load()
    assert b.X.shape == (12, 30, 5) and b.data_type == "sequence"
    b2 = ga.create("dataset", "logistic_normal_networks", n_per_class=4, n_compositions=30, parts=5, n_edges=3).load()
    assert np.array_equal(b.X, b2.X)
    for est in ("partial", "clr_correlation", "proportion_correlation"):
        d = ga.create("descriptor", "compositional_partial_correlation", estimator=est)
        rep = check_descriptor(d, b.X)
        assert rep["n_features"] == 10
    F = ga.create("descriptor", "compositional_partial_correlation").fit(b.X).transform(b.X)
    P0 = partial_correlations(b.X[0])
    assert np.abs(F[0] - P0[np.triu_indices(5, 1)]).max() < 1e-12
    with pytest.raises(ValueError, match="estimator"):
        ga.create("descriptor", "compositional_partial_correlation", estimator="nope").fit(b.X)
    with pytest.raises(ValueError, match="shape"):
        ga.create("descriptor", "compositional_partial_correlation").transform(b.X[0])
