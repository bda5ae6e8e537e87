"""Augmented covariance against pyriemann, MDM against pyriemann, selection, encoder, errors."""

from __future__ import annotations

import geoopt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyriemann.classification import MDM as PyriemannMDM
from pyriemann.estimation import Covariances, TimeDelayCovariances
from pyriemann.tangentspace import TangentSpace

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.augmented_covariance.acm import (
    augmented_covariances,
    average_mutual_information,
    false_nearest_neighbours,
    select_order_lag_embedding,
)
from geoatlas_plugins.augmented_covariance.mdm import MDM

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def signals() -> tuple[np.ndarray, np.ndarray]:
    b = ga.create("dataset", "synthetic_ar_signals", n_samples=80, seed=0).load()
    return b.X, b.y


@pytest.mark.parametrize(("order", "lag"), [(1, 1), (3, 1), (4, 2), (2, 5)])
def test_against_pyriemann_time_delay_covariances(signals, order: int, lag: int) -> None:
    X, _ = signals
    Xc = X[:10].transpose(0, 2, 1)  # pyriemann: (N, C, T)
    tdc = TimeDelayCovariances(delays=[k * lag for k in range(1, order)], estimator="scm") if order > 1 else Covariances("scm")
    ref = tdc.fit_transform(Xc)
    ours = augmented_covariances(X[:10], order, lag, "scm", boundary="circular")
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    # truncated embedding = pyriemann covariances of pyriemann's embedding with the wrapped samples cropped
    if order > 1:
        cropped = tdc.Xtd_[..., (order - 1) * lag :]
        np.testing.assert_allclose(augmented_covariances(X[:10], order, lag, "scm"), Covariances("scm").fit_transform(cropped), rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(ours).min() > 0


def test_order_one_is_spatial_covariance_and_block_toeplitz(signals) -> None:
    X, _ = signals
    c1 = augmented_covariances(X[:5], 1, 1, "cov")
    np.testing.assert_allclose(c1, np.stack([np.cov(x.T) for x in X[:5]]), rtol=1e-10)
    # circular embedding: exactly block-Toeplitz (Yule-Walker structure)
    c = augmented_covariances(X[:3], 3, 2, "scm", boundary="circular")
    C = X.shape[2]
    blk = lambda m, i, j: m[:, i * C : (i + 1) * C, j * C : (j + 1) * C]  # noqa: E731
    np.testing.assert_allclose(blk(c, 0, 1), blk(c, 1, 2), atol=1e-12)
    np.testing.assert_allclose(blk(c, 0, 0), blk(c, 2, 2), atol=1e-12)


def test_mdm_matches_pyriemann(signals) -> None:
    X, y = signals
    C = augmented_covariances(X, 3, 2)
    ours = MDM().fit(C[:60], y[:60])
    ref = PyriemannMDM(metric="riemann").fit(C[:60], y[:60])
    np.testing.assert_allclose(ours.covmeans_, np.stack(ref.covmeans_), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.transform(C[60:]), ref.transform(C[60:]), rtol=1e-6)
    assert np.array_equal(ours.predict(C[60:]), ref.predict(C[60:]))
    lem = MDM(metric="log_euclidean").fit(C[:60], y[:60])
    ref_l = PyriemannMDM(metric="logeuclid").fit(C[:60], y[:60])
    np.testing.assert_allclose(lem.covmeans_, np.stack(ref_l.covmeans_), rtol=1e-8, atol=1e-10)


def test_tangent_output_matches_pyriemann(signals) -> None:
    X, y = signals
    d = ga.create("descriptor", "augmented_covariance", order=2, lag=3, output="tangent").fit(X[:40], y[:40])
    C = augmented_covariances(X, 2, 3)
    ts = TangentSpace(metric="riemann").fit(C[:40])
    np.testing.assert_allclose(d.reference_, ts.reference_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(d.transform(X[40:]), ts.transform(C[40:]), rtol=1e-5, atol=1e-7)
    assert d.output_type == "features"


def test_check_descriptor(signals) -> None:
    X, y = signals
    report = check_descriptor(ga.create("descriptor", "augmented_covariance", order=3, lag=2), X[:12], y[:12])
    assert report["determinism"] == 0.0


def test_plain_covariance_fails_and_acm_works(signals) -> None:
    X, y = signals
    b = ga.create("dataset", "synthetic_ar_signals", n_samples=80, seed=1).load()
    Xt, yt = b.X, b.y
    plain = ga.create("descriptor", "augmented_covariance", order=1).fit(X, y)
    acm = ga.create("descriptor", "augmented_covariance", order=3, lag=2).fit(X, y)
    acc_plain = MDM().fit(plain.transform(X), y).score(plain.transform(Xt), yt)
    acc_acm = MDM().fit(acm.transform(X), y).score(acm.transform(Xt), yt)
    assert acc_plain < 0.7 and acc_acm > 0.9


def test_dataset_classes_share_instantaneous_covariance() -> None:
    ds = ga.create("dataset", "synthetic_ar_signals", n_channels=3)
    procs, target = ds.processes()
    for a1, a2, t in procs:  # exact stationary covariance of each recoloured VAR(2)
        c = 3
        comp = np.zeros((2 * c, 2 * c))
        comp[:c, :c], comp[:c, c:], comp[c:, :c] = a1, a2, np.eye(c)
        q = np.zeros((2 * c, 2 * c))
        q[:c, :c] = t @ t.T
        from scipy.linalg import solve_discrete_lyapunov

        np.testing.assert_allclose(solve_discrete_lyapunov(comp, q)[:c, :c], target, rtol=1e-8, atol=1e-10)
    b = ds.load()
    assert b.X.shape == (200, 128, 3) and b.data_type == "sequence"


def test_selection_grid(signals) -> None:
    X, y = signals
    d = ga.create("descriptor", "augmented_covariance", selection="grid", orders=[1, 2, 3], lags=[1, 3], cv=2).fit(X, y)
    assert d.order_ > 1 and (d.order_, d.lag_) in d.scores_
    assert d.scores_[(d.order_, d.lag_)] == max(d.scores_.values()) > d.scores_[(1, 1)]
    default = ga.create("descriptor", "augmented_covariance")
    assert list(default.orders) == list(range(1, 11)) and list(default.lags) == list(range(1, 11))  # the paper's grid


def _henon_x(n: int, seed: int) -> np.ndarray:
    """x-coordinate of the Henon map (a 2-D attractor: embedding dimension 2 with lag 1)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-0.1, 0.1, 2)
    out = np.empty(n + 100)
    for t in range(n + 100):
        x, y = 1 - 1.4 * x * x + y, 0.3 * x
        out[t] = x
    return out[100:]


def test_cao_e1_against_brute_force_and_a_known_attractor() -> None:
    from geoatlas_plugins.augmented_covariance.acm import cao_e1

    x = _henon_x(600, 0)
    e1 = cao_e1(x, 1, 5)
    # independent O(N^2) evaluation of Cao's E(d) (max-norm nearest neighbour, itself excluded)
    m = len(x) - 6
    full = np.stack([x[k : k + m] for k in range(7)], axis=1)
    E = []
    for d in range(1, 7):
        low = full[:, :d]
        dist = np.abs(low[:, None, :] - low[None, :, :]).max(-1)
        np.fill_diagonal(dist, np.inf)
        nb = dist.argmin(1)
        E.append(np.mean(np.abs(full[:, : d + 1] - full[nb, : d + 1]).max(1) / dist[np.arange(m), nb]))
    np.testing.assert_allclose(e1, np.array(E[1:]) / np.array(E[:-1]), rtol=1e-10)
    # Cao's criterion: E1 far below 1 at d = 1 (the map is 2-D), close to 1 from d = 2 on
    assert e1[0] < 0.5 and np.all(np.abs(e1[1:] - 1) < 0.25), e1


def test_afnn_selection_recovers_the_embedding_dimension() -> None:
    from geoatlas_plugins.augmented_covariance.acm import _ami_series, cao_e1, select_order_lag_afnn

    # quasi-periodic signal on a 2-torus: periods 24 and 24 sqrt(2), little noise
    rng = np.random.default_rng(0)
    t = np.arange(512)
    X = np.stack([
        (np.sin(2 * np.pi * (t + rng.integers(0, 24)) / 24) + 0.7 * np.sin(2 * np.pi * (t + rng.integers(0, 50)) / (24 * np.sqrt(2))))[:, None]
        for _ in range(6)
    ]) + 0.01 * rng.normal(size=(6, 512, 1))
    order, lag, ami, e1 = select_order_lag_afnn(X, max_order=8, max_lag=10)
    # the procedure: curves averaged over trials and channels, E1 at each series' own AMI minimum
    amis = [_ami_series(x[:, 0], 10, 16) for x in X]
    e1s = [cao_e1(x[:, 0], int(np.argmin(a[: next((k for k in range(1, 9) if a[k] < a[k - 1] and a[k] <= a[k + 1]), 9) + 1])) + 1, 8) for x, a in zip(X, amis, strict=True)]
    np.testing.assert_allclose(ami, np.mean(amis, 0), rtol=1e-12)
    np.testing.assert_allclose(e1, np.mean(e1s, 0), rtol=1e-12)
    # known answers: lag = a quarter of the faster period (6); Cao's E1 saturates (jumps close to 1)
    # at d = 4, within Takens' bound 2 * 2 + 1 = 5 for a 2-torus
    assert abs(lag - 6) <= 1, ami
    assert e1[2] < 0.6 and e1[3] > 0.9 and np.all(e1[3:] > 0.9), e1
    # the authors' rule (first local maximum of E1) cannot see a monotone saturation inside 1..8:
    # it then takes the largest candidate (documented in the README)
    assert order == (next((k for k in range(1, 7) if e1[k] >= e1[k - 1] and e1[k] >= e1[k + 1]), int(np.argmax(e1))) + 1)
    d = ga.create("descriptor", "augmented_covariance", selection="afnn", orders=list(range(1, 9))).fit(X)
    assert (d.order_, d.lag_) == (order, lag)
    with pytest.raises(ValueError, match="renamed"):
        ga.create("descriptor", "augmented_covariance", selection="embedding").fit(X)


def test_ami_fnn_heuristic_finds_a_sinusoid_quarter_period(signals) -> None:
    # AMI of a noisy sinusoid of period 24 is smallest near a quarter period (6 samples)
    rng = np.random.default_rng(0)
    t = np.arange(512)
    X = np.stack([np.sin(2 * np.pi * (t + rng.integers(0, 24)) / 24)[:, None] for _ in range(6)]) + 0.3 * rng.normal(size=(6, 512, 1))
    ami = average_mutual_information(X, 12)
    assert abs(int(np.argmin(ami[:9])) + 1 - 6) <= 1, ami
    fnn = false_nearest_neighbours(_henon_x(800, 1)[None, :, None], 1, 4, n_points=500)
    assert fnn[0] > 0.2 and fnn[1] < 0.05, fnn  # the Henon map unfolds in 2 dimensions
    Xs, _ = signals
    e = ga.create("descriptor", "augmented_covariance", selection="ami_fnn", orders=[1, 2, 3, 4], lags=[1, 2, 3, 4, 5, 6]).fit(Xs)
    assert (e.order_, e.lag_) == select_order_lag_embedding(Xs, 4, 6)


def test_mdm_encoder_trains_with_riemannian_adam(signals) -> None:
    X, y = signals
    C = torch.tensor(augmented_covariances(X, 3, 2))
    yt = torch.tensor(y)
    enc = ga.create("encoder", "mdm", in_features=C.shape[-1], num_classes=2)
    assert isinstance(enc.means, geoopt.ManifoldParameter)
    opt = geoopt.optim.RiemannianAdam(enc.parameters(), lr=2e-2)
    losses = []
    for i in range(0, 80, 20):
        opt.zero_grad()
        loss = enc.training_step(C[i : i + 20].float(), yt[i : i + 20], torch.nn.functional.cross_entropy)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert bool(enc.initialised.all())
    acc = float((enc(C).argmax(1) == yt).double().mean())
    assert acc > 0.9
    assert torch.allclose(enc(C.reshape(len(C), -1)), enc(C))  # flattened input accepted
    lam = torch.linalg.eigvalsh(enc.means.detach())
    assert float(lam.min()) > 0


def test_bad_input(signals) -> None:
    X, y = signals
    d = ga.create("descriptor", "augmented_covariance", order=3, lag=2)
    with pytest.raises(ValueError, match="order"):
        ga.create("descriptor", "augmented_covariance", order=0).fit(X)
    with pytest.raises(ValueError, match="lag"):
        ga.create("descriptor", "augmented_covariance", lag=-1).fit(X)
    with pytest.raises(ValueError, match="shape"):
        d.fit(X[0])
    with pytest.raises(ValueError, match="empty"):
        d.fit(X[:0])
    bad = X[:3].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        d.fit(bad)
    with pytest.raises(ValueError, match="too short"):
        ga.create("descriptor", "augmented_covariance", order=10, lag=20).fit(X)
    with pytest.raises(ValueError, match="positive-definite"):
        # 4 channels x order 6 = 24 dims from 20 samples: rank-deficient
        ga.create("descriptor", "augmented_covariance", order=6, lag=1).fit(X[:, :25])
    with pytest.raises(ValueError, match="labels"):
        ga.create("descriptor", "augmented_covariance", selection="grid").fit(X)
    with pytest.raises(ValueError, match="estimator"):
        ga.create("descriptor", "augmented_covariance", estimator="mcd").fit(X)
    with pytest.raises(ValueError, match="channels"):
        d.fit(X).transform(X[:, :, :2])
    with pytest.raises(ValueError, match="positive-definite"):
        MDM().fit(np.stack([np.diag([1.0, -1.0])] * 4), [0, 0, 1, 1])
    enc = ga.create("encoder", "mdm", in_features=4, num_classes=2)
    with pytest.raises(ValueError, match="shape"):
        enc(torch.eye(3).expand(2, 3, 3))
    # non-SPD and non-symmetric input: a clear error (before: torch's Cholesky _LinAlgError, or
    # silent symmetrisation)
    with pytest.raises(ValueError, match="positive-definite matrices: matrix 1 has smallest eigenvalue -2"):
        enc(torch.stack([torch.eye(4), torch.diag(torch.tensor([1.0, -2.0, 1.0, 1.0]))]))
    asym = torch.eye(4).repeat(2, 1, 1)
    asym[0, 0, 3] = 0.5
    with pytest.raises(ValueError, match="symmetric"):
        enc(asym)
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("encoder", "mdm", in_features=4, num_classes=1)
    with pytest.raises(ValueError, match="f0"):
        ga.create("dataset", "synthetic_ar_signals", f0=0.7)


@settings(max_examples=25, deadline=None)
@given(order=st.integers(1, 4), lag=st.integers(1, 4), channels=st.integers(1, 3), seed=st.integers(0, 1000))
def test_acm_structure_property(order: int, lag: int, channels: int, seed: int) -> None:
    """Diagonal blocks of the circular ACM are the spatial covariance; the ACM is SPD."""
    X = np.random.default_rng(seed).standard_normal((2, 60, channels))
    c = augmented_covariances(X, order, lag, "scm", boundary="circular")
    spatial = augmented_covariances(X, 1, 1, "scm")
    for k in range(order):
        np.testing.assert_allclose(c[:, k * channels : (k + 1) * channels, k * channels : (k + 1) * channels], spatial, atol=1e-12)
    assert np.linalg.eigvalsh(c).min() > 0
