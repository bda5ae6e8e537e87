"""gaussian_density: log-density against scipy, maximum likelihood against the closed form, sampling."""

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

import geoatlas as ga


def _data(n=400, d=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ A.T + rng.normal(size=d) * 3


def test_log_prob_equals_scipy():
    m = ga.create("encoder", "gaussian_density", in_features=3).double()
    with torch.no_grad():
        m.mean.copy_(torch.tensor([1.0, -2.0, 0.5]))
        m.log_diag.copy_(torch.tensor([0.3, -0.2, 0.1]))
        m.lower.copy_(torch.randn(3, 3, generator=torch.Generator().manual_seed(0)))
    X = _data(50)
    cov = m.covariance().detach().numpy()
    ref = multivariate_normal(mean=m.mean.detach().numpy(), cov=cov).logpdf(X)
    ours = m(torch.from_numpy(X)).detach().numpy()
    assert ours.shape == (50,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)
    L = m.scale_tril().detach().numpy()
    assert np.allclose(L, np.tril(L)) and (np.diag(L) > 0).all()


def test_nll_training_reaches_closed_form_mle():
    X = _data()
    x = torch.from_numpy(X)
    m = ga.create("encoder", "gaussian_density", in_features=3).double()
    loss = ga.create("loss", "nll")
    opt = torch.optim.LBFGS(m.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        v = loss(m(x), {"x": x})
        v.backward()
        return v

    for _ in range(5):
        opt.step(closure)
    mu_hat = X.mean(0)
    cov_hat = np.cov(X.T, bias=True)  # the MLE divides by n
    np.testing.assert_allclose(m.mean.detach().numpy(), mu_hat, atol=1e-6)
    np.testing.assert_allclose(m.covariance().detach().numpy(), cov_hat, atol=1e-6)
    # the fitted NLL equals the closed-form maximum of the likelihood
    nll_closed = -multivariate_normal(mean=mu_hat, cov=cov_hat).logpdf(X).mean()
    assert float(loss(m(x), {}).detach()) == pytest.approx(nll_closed, abs=1e-9)


def test_sampling_is_seeded_and_matches_parameters():
    m = ga.create("encoder", "gaussian_density", in_features=2)
    with torch.no_grad():
        m.mean.copy_(torch.tensor([2.0, -1.0]))
        m.lower.copy_(torch.tensor([[0.0, 0.0], [0.8, 0.0]]))
        m.log_diag.copy_(torch.log(torch.tensor([1.5, 0.5])))
    a = m.sample(20_000, torch.Generator().manual_seed(4))
    b = m.sample(20_000, torch.Generator().manual_seed(4))
    assert a.shape == (20_000, 2) and torch.equal(a, b) and not a.requires_grad
    assert not torch.equal(a, m.sample(20_000, torch.Generator().manual_seed(5)))
    np.testing.assert_allclose(a.mean(0).numpy(), [2.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(a.numpy().T), m.covariance().detach().numpy(), atol=0.05)


def test_bad_input():
    with pytest.raises(ValueError, match="in_features"):
        ga.create("encoder", "gaussian_density", in_features=0)
    with pytest.raises(TypeError, match="in_features"):
        ga.create("encoder", "gaussian_density", in_features=2.5)
    m = ga.create("encoder", "gaussian_density", in_features=3)
    with pytest.raises(ValueError, match="expects 3 features"):
        m(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="non-empty"):
        m(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="n must be"):
        m.sample(0)
