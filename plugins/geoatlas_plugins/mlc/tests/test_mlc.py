import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.mlc.mlc import (
    coding_rate,
    hard_membership,
    membership_coding_rate,
    sinkhorn_doubly_stochastic,
    spectral_clusters,
)


def _data(n=60, d=8, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    Z = torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    y = torch.arange(n) % k
    return Z, y


def test_hard_membership_reduces_to_classical_mcr2_and_the_mcr2_package():
    from mcr2.primitives.coding_rate import R as mcr2_R
    from mcr2.primitives.coding_rate import Rc as mcr2_Rc

    eps = 0.1
    Z, y = _data()
    y[:7] = 0  # unequal cluster sizes
    G = hard_membership(y)
    assert torch.allclose(G.sum(1), torch.ones(len(y), dtype=torch.float64))
    assert torch.allclose(G.sum(0), torch.ones(len(y), dtype=torch.float64))
    rc = membership_coding_rate(Z, G, eps)
    n, d = Z.shape
    classical = sum(
        (int((y == c).sum()) / (2 * n)) * torch.logdet(torch.eye(d, dtype=Z.dtype) + d / (int((y == c).sum()) * eps) * Z[y == c].T @ Z[y == c])
        for c in range(3)
    )
    assert abs(float(rc - classical)) < 1e-10
    onehot = torch.nn.functional.one_hot(y, 3).double()
    assert abs(float(rc) - float(mcr2_Rc(Z, onehot, math.sqrt(eps)))) < 1e-6  # mcr2 counts classes in float32
    assert abs(float(coding_rate(Z, eps)) - float(mcr2_R(Z, math.sqrt(eps)))) < 1e-8


def test_orthogonal_subspaces_closed_form():
    # k clusters, each spanning its own r-dimensional coordinate block, Z_c^T Z_c = (n_c / r) P_c
    eps, k, r, m = 0.1, 3, 2, 4  # m points per direction pair: n_c = 2 r m
    d = 8
    rows, labels = [], []
    for c in range(k):
        for j in range(r):
            for s in (1.0, -1.0):
                for _ in range(m):
                    v = torch.zeros(d, dtype=torch.float64)
                    v[c * r + j] = s
                    rows.append(v)
                    labels.append(c)
    Z, y = torch.stack(rows), torch.tensor(labels)
    n, n_c = len(y), 2 * r * m
    rc = membership_coding_rate(Z, hard_membership(y), eps)
    want_rc = k * (n_c / (2 * n)) * r * math.log(1 + d / (eps * r))
    assert abs(float(rc) - want_rc) < 1e-8
    # R(Z): eigenvalues n_c / (n r) on the k r directions
    want_r = 0.5 * k * r * math.log(1 + d / (n * eps) * n_c / r)
    assert abs(float(coding_rate(Z, eps)) - want_r) < 1e-8


def test_sinkhorn_marginals_symmetry_and_pot():
    import ot

    g = torch.Generator().manual_seed(1)
    C = torch.nn.functional.normalize(torch.randn(30, 5, generator=g, dtype=torch.float64), dim=1)
    S = (C @ C.T).abs()
    G5 = sinkhorn_doubly_stochastic(S, 0.175, 5)
    one = torch.ones(30, dtype=torch.float64)
    # 5 half-steps (row, column, row, column, row), as the authors' SinkhornDistance(max_iter=5)
    assert torch.allclose(G5.sum(1), one, atol=1e-12)
    col_err = float((G5.sum(0) - 1).abs().max())
    assert 1e-6 < col_err < 5e-2, col_err  # columns only approximately, after 2 column steps
    G4 = sinkhorn_doubly_stochastic(S, 0.175, 4)  # even count: ends on a column step
    assert torch.allclose(G4.sum(0), one, atol=1e-12)
    G = sinkhorn_doubly_stochastic(S, 0.175, 200)
    assert torch.allclose(G.sum(0), one, atol=1e-8) and torch.allclose(G.sum(1), one, atol=1e-8)
    assert torch.allclose(G, G.T, atol=1e-8)
    ref = ot.sinkhorn(np.full(30, 1 / 30), np.full(30, 1 / 30), -S.numpy(), 0.175, numItermax=5000, stopThr=1e-14)
    assert np.allclose(G.numpy(), 30 * ref, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 12), st.floats(0.05, 2.0), st.integers(1, 8))
def test_sinkhorn_is_nonnegative_with_unit_last_marginal(n, eta, iters):
    g = torch.Generator().manual_seed(n)
    S = torch.rand(n, n, generator=g, dtype=torch.float64)
    G = sinkhorn_doubly_stochastic(S, eta, iters)
    assert (G >= 0).all()
    last = 1 if iters % 2 == 1 else 0  # odd: ends on a row step; even: on a column step
    assert torch.allclose(G.sum(last), torch.ones(n, dtype=torch.float64), atol=1e-10)


def test_spectral_clustering_of_true_membership_is_exact():
    from sklearn.metrics import adjusted_rand_score

    y = np.repeat(np.arange(4), [5, 9, 7, 6])
    labels = spectral_clusters(hard_membership(y), 4)
    assert adjusted_rand_score(y, labels) == 1.0


def test_loss_value_and_warmup_and_kit():
    loss = ga.create("loss", "mlc", warmup_epochs=2)
    Z, _ = _data(n=20)
    C = Z.flip(1).clone().requires_grad_()
    Zg = Z.clone().requires_grad_()
    assert torch.allclose(loss((Zg, C), {"epoch": 0}), -coding_rate(Zg, 0.1))
    v = loss({"z": Zg, "c": C}, {"epoch": 2})
    G = sinkhorn_doubly_stochastic((C @ C.T).abs(), 0.175, 5)
    want = -coding_rate(Zg, 0.1) + membership_coding_rate(Zg, G, 0.1) + 0.025 * G.pow(2).sum()
    assert torch.allclose(v, want, atol=1e-10)
    rep = check_loss(ga.create("loss", "mlc"), {"z": Zg, "c": C}, {"epoch": 0})
    assert rep["grad_finite"]


def test_head_training_and_clustering_outputs():
    torch.manual_seed(0)
    b = ga.create("dataset", "union_of_curves", n_per_curve=20, ambient_dim=10).load()
    X = torch.tensor(b.X)
    enc = ga.create("encoder", "mlc_head", in_features=10, num_classes=3, hidden=[16], z_dim=6, c_dim=6, warmup_epochs=1)
    enc.train()
    out = enc(X)
    assert set(out) == {"z", "c"} and torch.allclose(out["z"].norm(dim=1), torch.ones(60), atol=1e-6)
    enc.on_epoch_end(0)  # one-shot initialisation
    assert torch.equal(enc.cluster.weight, enc.subspace.weight)
    enc.eval()
    scores = enc(X)
    assert scores.shape == (60, 3) and bool(enc.fitted)
    assert (scores >= 0).all() and (scores <= 1 + 1e-5).all()  # squared projection norms of unit vectors


def test_union_of_curves_dataset():
    b = ga.create("dataset", "union_of_curves", n_per_curve=50, ambient_dim=20, noise=0.0, seed=3).load()
    assert b.X.shape == (150, 20) and set(np.unique(b.y)) == {0, 1, 2}
    for k in range(3):  # noiseless: each curve spans a 3-d (circle, sine: 2-d) subspace
        s = np.linalg.svd(b.X[b.y == k], compute_uv=False)
        assert s[3] < 1e-4 * s[0]
    b2 = ga.create("dataset", "union_of_curves", n_per_curve=50, ambient_dim=20, noise=0.0, seed=3).load()
    assert np.array_equal(b.X, b2.X)


def test_bad_inputs():
    loss = ga.create("loss", "mlc")
    Z, _ = _data(n=10)
    with pytest.raises(TypeError, match="subspace and cluster"):
        loss(Z, {})
    with pytest.raises(TypeError, match="'z' and 'c'"):
        loss({"z": Z}, {})
    with pytest.raises(ValueError, match="same number of rows"):
        loss((Z, Z[:5]), {})
    with pytest.raises(ValueError, match="NaN"):
        loss((Z * float("nan"), Z), {})
    with pytest.raises(ValueError, match="at least 2"):
        loss((Z[:1], Z[:1]), {})
    with pytest.raises(ValueError, match="eps"):
        ga.create("loss", "mlc", eps=0.0)
    with pytest.raises(ValueError, match="square"):
        sinkhorn_doubly_stochastic(torch.rand(3, 4))
    with pytest.raises(ValueError, match="z_dim == c_dim"):
        ga.create("encoder", "mlc_head", in_features=4, num_classes=2, z_dim=4, c_dim=6, warmup_epochs=2)
    enc = ga.create("encoder", "mlc_head", in_features=4, num_classes=2)
    with pytest.raises(ValueError, match="expects vectors"):
        enc(torch.rand(3, 5))
    with pytest.raises(ValueError, match="ambient_dim"):
        ga.create("dataset", "union_of_curves", ambient_dim=2)
