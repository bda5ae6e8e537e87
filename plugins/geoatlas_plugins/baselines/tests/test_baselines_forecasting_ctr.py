"""linear_forecaster (Zeng et al. 2023 "Linear"), ctr_logistic and ctr_embedding_mlp."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.tasks.forecasting import windows


def _windows(x, L, H):
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    return windows(x, np.arange(len(x) - L - H + 1), L, H)


def _companion_rows(a, H):
    """Rows of the h-step predictor of a noise-free AR(p) x_t = sum_i a_i x_{t-i}, for h = 1..H,
    as coefficients on the window (x_{t-p+1}, ..., x_t) (oldest first)."""
    p = len(a)
    A = np.zeros((p, p))
    A[0] = a  # state (x_t, x_{t-1}, ..., x_{t-p+1})
    A[1:, :-1] = np.eye(p - 1)
    rows, M = [], np.eye(p)
    for _ in range(H):
        M = A @ M
        rows.append(M[0][::-1])
    return np.array(rows)


# ---------------------------------------------------------------------------- linear forecaster
def test_linear_forecaster_shapes_and_sharing():
    torch.manual_seed(0)
    shared = ga.create("encoder", "linear_forecaster", input_length=12, horizon=4, n_channels=3)
    x = torch.randn(5, 12, 3)
    y = shared(x)
    assert y.shape == (5, 4, 3)
    # shared: each channel is the same map of its own input column
    for c in range(3):
        np.testing.assert_allclose(y[:, :, c].detach(), (x[:, :, c] @ shared.weight[0].T + shared.bias[0]).detach(), atol=1e-6)
    assert sum(p.numel() for p in shared.parameters()) == 4 * 12 + 4
    ind = ga.create("encoder", "linear_forecaster", input_length=12, horizon=4, n_channels=3, individual=True)
    y2 = ind(x)
    assert y2.shape == (5, 4, 3) and sum(p.numel() for p in ind.parameters()) == 3 * (4 * 12 + 4)
    for c in range(3):
        np.testing.assert_allclose(y2[:, :, c].detach(), (x[:, :, c] @ ind.weight[c].T + ind.bias[c]).detach(), atol=1e-6)


@pytest.mark.parametrize("params,x,match", [
    ({"input_length": 12, "horizon": 4}, torch.randn(5, 12), "windows"),
    ({"input_length": 12, "horizon": 4}, torch.randn(5, 10, 1), "input_length 12"),
    ({"input_length": 12, "horizon": 4, "n_channels": 2, "individual": True}, torch.randn(5, 12, 3), "channels"),
])
def test_linear_forecaster_bad_input(params, x, match):
    with pytest.raises(ValueError, match=match):
        ga.create("encoder", "linear_forecaster", **params)(x)


@pytest.mark.parametrize("params,match", [({"horizon": 0}, "horizon"), ({"input_length": -3}, "input_length"),
                                          ({"horizon": 2.5}, "horizon"), ({"individual": "yes"}, "individual")])
def test_linear_forecaster_bad_params(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ga.create("encoder", "linear_forecaster", **params)


@settings(max_examples=25, deadline=None)
@given(omega=st.floats(0.1, 3.0), phase=st.floats(0, 6.28), H=st.integers(1, 6))
def test_least_squares_recovers_noise_free_ar2_exactly(omega, phase, H):
    """A sinusoid is the AR(2) x_t = 2 cos(w) x_{t-1} - x_{t-2}; with L = 2 the h-step least-squares
    map is the first row of the companion matrix to the power h (closed form), with no bias."""
    x = np.sin(omega * np.arange(200) + phase)
    X, y = _windows(x, 2, H)
    m = ga.create("encoder", "linear_forecaster", input_length=2, horizon=H).double()
    m.fit_least_squares(X, y)
    np.testing.assert_allclose(m.weight[0].detach().numpy(), _companion_rows([2 * np.cos(omega), -1.0], H), atol=1e-7)
    assert abs(m.bias).max() < 1e-7
    np.testing.assert_allclose(m(torch.as_tensor(X)).detach().numpy(), y, atol=1e-8)


def test_least_squares_individual_recovers_each_channel():
    """Three channels with different AR(3) laws (noise-free, on the unit circle): each channel's map
    is its own closed form; a shared map cannot fit all three."""
    t = np.arange(300)
    omegas = [(0.3, 1.1), (0.5, 2.0), (0.7, 1.4)]
    cols, coefs = [], []
    for w1, w2 in omegas:  # a sum of two sinusoids is an AR(4); use L = 4
        cols.append(np.sin(w1 * t) + 0.5 * np.cos(w2 * t))
        p = np.polymul([1, -2 * np.cos(w1), 1], [1, -2 * np.cos(w2), 1])  # characteristic polynomial
        coefs.append(-p[1:])
    X, y = _windows(np.stack(cols, 1), 4, 2)
    m = ga.create("encoder", "linear_forecaster", input_length=4, horizon=2, n_channels=3, individual=True).double()
    m.fit_least_squares(X, y)
    for c in range(3):
        np.testing.assert_allclose(m.weight[c].detach().numpy(), _companion_rows(coefs[c], 2), atol=1e-6)
    shared = ga.create("encoder", "linear_forecaster", input_length=4, horizon=2).double().fit_least_squares(X, y)
    err = float(((shared(torch.as_tensor(X)).detach().numpy() - y) ** 2).mean())
    assert err > 1e-3


def test_gradient_training_reaches_the_least_squares_solution():
    """Adam on a noisy stable AR(2) (x_t = 0.6 x_{t-1} - 0.3 x_{t-2} + e_t): the trained map equals the
    closed-form least-squares map, which is close to the true coefficients."""
    rng = np.random.default_rng(0)
    x = np.zeros(3000)
    e = rng.standard_normal(3000)
    for t in range(2, 3000):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + e[t]
    X, y = _windows(x, 2, 1)
    ref = ga.create("encoder", "linear_forecaster", input_length=2, horizon=1).double().fit_least_squares(X, y)
    np.testing.assert_allclose(ref.weight[0, 0].detach().numpy(), [-0.3, 0.6], atol=0.05)
    torch.manual_seed(0)
    m = ga.create("encoder", "linear_forecaster", input_length=2, horizon=1)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    for _ in range(300):
        opt.zero_grad()
        loss = ((m(Xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(m.weight.detach().numpy(), ref.weight.detach().numpy(), atol=1e-3)
    np.testing.assert_allclose(m.bias.detach().numpy(), ref.bias.detach().numpy(), atol=1e-3)


def test_least_squares_ridge_matches_sklearn():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((60, 8, 1)), rng.standard_normal((60, 3, 1))
    m = ga.create("encoder", "linear_forecaster", input_length=8, horizon=3).double().fit_least_squares(X, y, ridge=2.0)
    sk = Ridge(alpha=2.0).fit(X[:, :, 0], y[:, :, 0])
    np.testing.assert_allclose(m.weight[0].detach().numpy(), sk.coef_, atol=1e-10)
    np.testing.assert_allclose(m.bias[0].detach().numpy(), sk.intercept_, atol=1e-10)
    with pytest.raises(ValueError, match="ridge"):
        m.fit_least_squares(X, y, ridge=-1.0)


# ---------------------------------------------------------------------------- CTR
def _ctr(n=6000, **kw):
    b = ga.create("dataset", "synthetic_ctr", n_samples=n, **kw).load()
    return b.X, b.y, b.meta["cardinalities"]


def _train(model, X, y, epochs, lr=0.02, bs=256, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(Xt), bs):
            idx = perm[i : i + bs]
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return model


def test_ctr_models_shapes_and_errors():
    cards = [3, 5, 7]
    lg = ga.create("encoder", "ctr_logistic", cardinalities=cards)
    mlp = ga.create("encoder", "ctr_embedding_mlp", cardinalities=cards, embedding_dim=4, hidden=[16])
    x = torch.tensor([[0, 4, 6], [2, 0, 1]])
    assert lg(x).shape == (2,) and mlp(x).shape == (2,) and mlp.embed(x).shape == (2, 3, 4)
    assert sum(p.numel() for p in lg.parameters()) == 3 + 5 + 7 + 1
    assert torch.equal(lg(x), torch.zeros(2))  # zero-initialised
    with pytest.raises(ValueError, match="field 1 has ids outside 0..4"):
        mlp(torch.tensor([[0, 5, 0]]))
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        lg(torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="integer"):
        lg(torch.tensor([[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match="cardinalities"):
        ga.create("encoder", "ctr_logistic")
    with pytest.raises(ValueError, match="embedding_dim"):
        ga.create("encoder", "ctr_embedding_mlp", cardinalities=cards, embedding_dim=0)


def test_ctr_logistic_matches_sklearn_logistic_regression():
    """Full-batch L-BFGS on the per-value biases gives the maximum-likelihood probabilities, which are
    unique: equal to scikit-learn's unpenalised LogisticRegression on the one-hot encoding."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder

    X, y, cards = _ctr(2000, n_fields=3, cardinality=5, zipf=0.5, interactions=[], seed=3)
    enc = OneHotEncoder(categories=[np.arange(c) for c in cards])
    sk = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10000).fit(enc.fit_transform(X), y)
    p_sk = sk.predict_proba(enc.transform(X))[:, 1]
    m = ga.create("encoder", "ctr_logistic", cardinalities=cards).double()
    opt = torch.optim.LBFGS(m.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float64)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(m(Xt), yt)
        loss.backward()
        return loss

    opt.step(closure)
    p = torch.sigmoid(m(Xt)).detach().numpy()
    np.testing.assert_allclose(p, p_sk, atol=1e-5)


def test_embedding_mlp_beats_logistic_when_the_interaction_matters():
    from sklearn.metrics import roc_auc_score

    X, y, cards = _ctr(12000, n_fields=4, cardinality=12, zipf=0.8, main_effect=0.3, interaction_strength=3.0, seed=1)
    tr, te = slice(0, 9000), slice(9000, None)
    lg = _train(ga.create("encoder", "ctr_logistic", cardinalities=cards), X[tr], y[tr], epochs=8)
    mlp = _train(ga.create("encoder", "ctr_embedding_mlp", cardinalities=cards, embedding_dim=8, hidden=[32]), X[tr], y[tr],
                 epochs=12, lr=0.01)
    with torch.no_grad():
        auc_lg = roc_auc_score(y[te], lg(torch.as_tensor(X[te])).numpy())
        auc_mlp = roc_auc_score(y[te], mlp(torch.as_tensor(X[te])).numpy())
    assert auc_mlp > auc_lg + 0.05, (auc_mlp, auc_lg)
