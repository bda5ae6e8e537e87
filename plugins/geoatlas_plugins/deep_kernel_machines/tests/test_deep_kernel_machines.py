"""deep_kernel_machines: the objective against sklearn's GP log marginal likelihood, the KL term
against torch.distributions (Gaussian and Wishart), the infinite-width (NNGP) limit, bad input,
the pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.deep_kernel_machines.dkm import (
    dkm_objective,
    gaussian_kl,
    gaussian_log_likelihood,
    kernel_from_gram,
    nngp_grams,
)

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name
D = torch.float64


def _data(n: int = 40, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(2 * X[:, 0]) + 0.3 * X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y


def test_zero_layers_equals_sklearn_gp_log_marginal_likelihood():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel

    X, y = _data()
    d = X.shape[1]
    for ell, noise in [(1.0, 0.1), (0.7, 0.5)]:
        Xt, Yt = torch.tensor(X, dtype=D), torch.tensor(y, dtype=D)[:, None]
        obj, ll, kls = dkm_objective(Yt, Xt @ Xt.T / d, [], [], noise=noise, lengthscale=ell, jitter=0.0)
        # K(G_0) with G_0 = X X^T / d is the RBF kernel of x / sqrt(d): length-scale ell * sqrt(d) in x
        gp = GaussianProcessRegressor(RBF(ell * math.sqrt(d)) + WhiteKernel(noise), optimizer=None, alpha=0.0).fit(X, y)
        ref = gp.log_marginal_likelihood_value_
        assert float(obj) == pytest.approx(ref, rel=1e-10) and kls == []
        # the encoder with 0 layers has the same objective
        m = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=0, noise=noise, lengthscale=ell, jitter=1e-12).fit(X, y, steps=0)
        assert float(m.objective()[0]) == pytest.approx(ref, rel=1e-8)


def test_one_layer_likelihood_term_equals_sklearn_on_features():
    """With G_1 = F F^T, log P(Y | G_1) is the GP log marginal likelihood of an RBF GP on F."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel

    X, y = _data(30)
    F = np.random.default_rng(1).normal(size=(30, 5))
    Ft, Xt = torch.tensor(F, dtype=D), torch.tensor(X, dtype=D)
    G1 = Ft @ Ft.T
    obj, ll, kls = dkm_objective(torch.tensor(y, dtype=D)[:, None], Xt @ Xt.T / 3, [G1 + 1e-9 * torch.eye(30, dtype=D)],
                                 [2.0], noise=0.2, lengthscale=1.3, jitter=1e-9)
    ref = GaussianProcessRegressor(RBF(1.3) + WhiteKernel(0.2), optimizer=None, alpha=0.0).fit(F, y).log_marginal_likelihood_value_
    assert float(ll) == pytest.approx(ref, rel=1e-7)
    assert float(obj) == pytest.approx(float(ll) - 2.0 * float(kls[0]), rel=1e-12)


def test_kl_equals_torch_distributions():
    from torch.distributions import MultivariateNormal, kl_divergence

    g = torch.Generator().manual_seed(0)
    for n in (2, 7, 20):
        A, B = torch.randn(n, n, generator=g, dtype=D), torch.randn(n, n, generator=g, dtype=D)
        G, K = A @ A.T + 0.1 * torch.eye(n, dtype=D), B @ B.T + 0.1 * torch.eye(n, dtype=D)
        ref = kl_divergence(MultivariateNormal(torch.zeros(n, dtype=D), G), MultivariateNormal(torch.zeros(n, dtype=D), K))
        assert float(gaussian_kl(G, K)) == pytest.approx(float(ref), rel=1e-9)
        assert float(gaussian_kl(K, K)) == pytest.approx(0.0, abs=1e-9)


def test_nu_times_kl_is_the_wishart_kl():
    """N * KL(N(0,G) || N(0,K)) is the KL between the Wisharts W(G/N, N) and W(K/N, N) of a width-N
    layer's Gram matrix (the paper's origin of the nu-weighted KL): Monte Carlo with
    torch.distributions.Wishart.log_prob, within 4 standard errors."""
    from torch.distributions import Wishart

    torch.manual_seed(0)
    G = torch.tensor([[1.0, 0.3, 0.1], [0.3, 0.8, -0.2], [0.1, -0.2, 1.2]], dtype=D)
    K = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 0.9]], dtype=D)
    N = 12
    W1, W2 = Wishart(df=torch.tensor(float(N), dtype=D), covariance_matrix=G / N), Wishart(df=torch.tensor(float(N), dtype=D), covariance_matrix=K / N)
    S = W1.sample((20000,))
    diff = W1.log_prob(S) - W2.log_prob(S)
    mc, se = float(diff.mean()), float(diff.std() / math.sqrt(len(diff)))
    assert abs(mc - N * float(gaussian_kl(G, K))) < 4 * se
    assert se < 0.05


def test_nngp_limit_gradient_vanishes_and_fit_stays():
    X, y = _data(30)
    Xt = torch.tensor(X, dtype=D)
    G0 = Xt @ Xt.T / 3
    grams = [g.clone().requires_grad_(True) for g in nngp_grams(G0, 2, jitter=1e-6)]
    _, _, kls = dkm_objective(torch.tensor(y, dtype=D)[:, None], G0, grams, [1.0, 1.0], noise=0.1, jitter=1e-6)
    gr = torch.autograd.grad(sum(kls), grams)
    assert max(float(g.abs().max()) for g in gr) < 1e-8  # KL terms stationary at G_l = K(G_{l-1})
    dist = {}
    for nu in (1.0, 1e6):
        m = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=2, nu=nu, noise=0.1).fit(X, y, steps=5)
        ref = nngp_grams(G0, 2, jitter=1e-6)
        dist[nu] = max(float(torch.linalg.norm(G - R) / torch.linalg.norm(R)) for G, R in zip(m.grams(), ref, strict=True))
    assert dist[1e6] < 1e-3 < 1e-2 < dist[1.0]


def test_test_propagation_at_nngp_grams_equals_joint_kernel_recursion():
    X, y = _data(25)
    Xs = np.random.default_rng(3).normal(size=(7, 3))
    m = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=2, nu=1.0, noise=0.1, jitter=1e-10).fit(X, y, steps=0)
    ktt, Kti = m.propagate(torch.tensor(Xs, dtype=D))
    A = torch.tensor(np.concatenate([X, Xs]), dtype=D)
    G = A @ A.T / 3
    for _ in range(3):
        G = kernel_from_gram(G)
    assert torch.allclose(Kti, G[25:, :25], atol=1e-6) and torch.allclose(ktt, torch.diagonal(G[25:, 25:]), atol=1e-6)
    # the predictive mean is the GP posterior mean of that kernel
    mean, var = m.predict_mean_var(Xs)
    Kii = G[:25, :25] + 0.1 * torch.eye(25, dtype=D)
    ref = G[25:, :25] @ torch.linalg.solve(Kii, torch.tensor(y, dtype=D)[:, None])
    assert torch.allclose(mean, ref, atol=1e-5) and bool((var > -1e-8).all())


def test_objective_increases_from_the_nngp_start():
    X, y = _data(40)
    m = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=1, nu=1.0, noise=0.1)
    m.fit(X, y, steps=0)
    start = float(m.objective()[0])
    m.fit(X, y, steps=3)
    assert float(m.objective()[0]) > start + 1.0


def test_relu_kernel_is_arccos():
    g = torch.randn(6, 8, dtype=D, generator=torch.Generator().manual_seed(0))
    G = g @ g.T / 8
    K = kernel_from_gram(G, "relu")
    assert torch.allclose(torch.diagonal(K), torch.diagonal(G))
    # Monte Carlo: 2 E[relu(f_i) relu(f_j)] for f ~ N(0, G)
    f = torch.distributions.MultivariateNormal(torch.zeros(6, dtype=D), G).sample((200000,))
    r = torch.relu(f)
    assert torch.allclose(2 * r.T @ r / len(r), K, atol=0.05 * float(G.diagonal().max()))


def test_log_likelihood_sums_channels():
    K = torch.eye(4, dtype=D) * 0.5
    Y = torch.ones(4, 2, dtype=D)
    one = gaussian_log_likelihood(Y[:, :1], K, 0.5)
    assert float(gaussian_log_likelihood(Y, K, 0.5)) == pytest.approx(2 * float(one))


def test_bad_input():
    with pytest.raises(ValueError, match="n_layers"):
        ga.create("encoder", f"{PLUGIN}/dkm", n_layers=-1)
    with pytest.raises((ValueError, TypeError), match="nu"):
        ga.create("encoder", f"{PLUGIN}/dkm", nu=0.0)
    with pytest.raises((ValueError, TypeError), match="kernel"):
        ga.create("encoder", f"{PLUGIN}/dkm", kernel="matern")
    m = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=1)
    X, y = _data(10)
    with pytest.raises(ValueError, match="NaN"):
        m.fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="rows"):
        m.fit(X, y[:5])
    with pytest.raises(ValueError, match="X must be"):
        m.fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="max_train"):
        ga.create("encoder", f"{PLUGIN}/dkm", max_train=5).fit(X, y)
    with pytest.raises(RuntimeError, match="not been fitted"):
        ga.create("encoder", f"{PLUGIN}/dkm")(torch.zeros(2, 3))
    m.fit(X, y, steps=0)
    with pytest.raises(ValueError, match="features"):
        m(torch.zeros(2, 4))
    xb, yb = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    m2 = ga.create("encoder", f"{PLUGIN}/dkm", n_layers=1)
    m2.training_step(xb, yb)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    m2.training_step(xb[perm], yb[perm])  # a shuffled full batch is the same training set
    with pytest.raises(ValueError, match="full-batch"):
        m2.training_step(xb[:5], yb[:5])
    with pytest.raises(ValueError, match="n_samples"):
        ga.create("dataset", f"{PLUGIN}/sklearn_diabetes", n_samples=1000).load()


def test_pipeline_runs(tmp_path):
    spec = HERE / "pipelines" / "dkm_diabetes.yaml"
    res = ga.Pipeline.from_yaml(spec).run(run_dir=tmp_path / "run")
    m = res.metrics["models"]
    assert set(m) >= {"dkm", "nngp", "gp"}
    for label in ("dkm", "nngp"):
        assert np.isfinite(m[label]["mse"]) and m[label]["r2"] > 0.2


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_an_interrupted_run_resumes_to_the_same_grams(tmp_path, optimizer):
    """A checkpoint after 2 of 4 epochs (state dict through torch.save / weights_only load, as the
    trainer writes it) re-creates the training-set-sized parameters and the inner optimiser's
    state: the resumed run's Grams and predictions equal an uninterrupted run's exactly."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    xb = torch.as_tensor(X[:60], dtype=torch.float64)
    yb = torch.as_tensor((y[:60] - y[:60].mean()) / y[:60].std(), dtype=torch.float64)[:, None]
    kw = {"n_layers": 2, "nu": 5.0, "optimizer": optimizer, "lr": 1.0 if optimizer == "lbfgs" else 1e-2}
    full = ga.create("encoder", "dkm", **kw)
    for _ in range(4):
        full.training_step(xb, yb)
    part = ga.create("encoder", "dkm", **kw)
    for _ in range(2):
        part.training_step(xb, yb)
    torch.save({"model": part.state_dict()}, tmp_path / "ckpt.pt")
    resumed = ga.create("encoder", "dkm", **kw)
    resumed.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True)["model"])
    for _ in range(2):
        resumed.training_step(xb, yb)
    for a, b in zip(full.grams(), resumed.grams(), strict=True):
        assert torch.equal(a, b)
    xt = torch.as_tensor(X[60:70], dtype=torch.float64)
    assert torch.equal(full(xt), resumed(xt))
    nested = torch.nn.Sequential(ga.create("encoder", "dkm", **kw))  # a DKM inside another module
    nested.load_state_dict(torch.nn.Sequential(part).state_dict())
    assert torch.equal(nested[0](xt), part(xt))
    # without the inner optimiser's state the continuation differs (the check can fail)
    if optimizer == "lbfgs":
        state = part.state_dict()
        state["_extra_state"] = {"inner_optimizer": None}
        fresh = ga.create("encoder", "dkm", **kw)
        fresh.load_state_dict(state)
        for _ in range(2):
            fresh.training_step(xb, yb)
        assert not torch.equal(full(xt), fresh(xt))


def test_pipeline_resume_of_a_finished_run_gives_its_metrics(tmp_path):
    spec = HERE / "pipelines" / "dkm_diabetes.yaml"
    first = ga.Pipeline.from_yaml(spec).run(run_dir=tmp_path / "run", progress=False).metrics
    (tmp_path / "run" / "metrics.json").unlink()
    again = ga.Pipeline.from_yaml(spec).run(run_dir=tmp_path / "run", resume=True, progress=False).metrics
    assert again == first
    assert "resumed from dkm.pt" in (tmp_path / "run" / "log.txt").read_text()  # the checkpoint was loaded
