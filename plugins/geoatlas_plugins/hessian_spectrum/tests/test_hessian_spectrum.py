"""hessian_spectrum: exact spectrum vs torch.autograd.functional.hessian + eigh, Lanczos vs
exact, HVP vs finite differences, Gauss-Newton identities, Hutchinson trace, pyhessian, the
outlier rule, the k-class shape, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_measure

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


def _mixture(k: int, n: int = 240, d: int = 10, sep: float = 2.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    mu = g.normal(size=(k, d))
    mu = sep * mu / np.linalg.norm(mu, axis=1, keepdims=True)
    y = np.arange(n) % k
    return (mu[y] + g.normal(size=(n, d))).astype(np.float32), y


def _mlp(d: int, k: int, hidden: list[int], seed: int = 0, activation: str = "tanh") -> torch.nn.Module:
    torch.manual_seed(seed)
    return ga.create("encoder", "mlp", in_features=d, out_features=k, hidden=hidden, activation=activation)


def _train(m: torch.nn.Module, X: np.ndarray, y: np.ndarray, steps: int = 300, lr: float = 0.2) -> None:
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(Xt), yt).backward()
        opt.step()


def _measure(**kw):
    return ga.create("measure", f"{PLUGIN}/hessian_spectrum", **kw)


def test_registered_and_check_measure():
    X, y = _mixture(3)
    m = _mlp(10, 3, [8])
    res = check_measure(_measure(top_k=5), model=m, data={"X": X, "y": y, "data_type": "vector"})
    assert {"top_eigenvalues", "n_outliers", "trace", "n_params"} <= set(res["keys"])


def test_exact_spectrum_equals_autograd_functional_hessian_eigh():
    X, y = _mixture(3, n=60)
    m = _mlp(10, 3, [6])
    _train(m, X, y, steps=50)
    res = _measure(method="exact", return_spectrum=True)(m, {"X": X, "y": y})
    # independent: the Hessian of a hand-written loss of the parameter tuple, numpy eigh
    md = m.double()
    names = [n for n, _ in md.named_parameters()]
    params = tuple(p.detach().clone() for p in md.parameters())
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y)

    def f(*ps):
        out = torch.func.functional_call(md, dict(zip(names, ps, strict=True)), (Xt,))
        return torch.nn.functional.cross_entropy(out, yt)

    blocks = torch.autograd.functional.hessian(f, params)
    sizes = [p.numel() for p in params]
    H = np.block([[blocks[i][j].reshape(sizes[i], sizes[j]).numpy() for j in range(len(sizes))] for i in range(len(sizes))])
    ref = np.sort(np.linalg.eigh(0.5 * (H + H.T))[0])[::-1]
    ours = np.asarray(res["eigenvalues"])
    assert ours.shape == ref.shape == (sum(sizes),)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)
    assert res["trace"] == pytest.approx(float(np.trace(H)), abs=1e-10)


def test_lanczos_matches_exact_and_hvp_matches_finite_differences():
    from geoatlas_plugins.hessian_spectrum.hessian import loss_function

    X, y = _mixture(4, n=120)
    m = _mlp(10, 4, [12])
    _train(m, X, y, steps=100)
    ex = _measure(method="exact", top_k=5)(m, {"X": X, "y": y})
    lz = _measure(method="lanczos", top_k=5, lanczos_steps=60, hutchinson_samples=200)(m, {"X": X, "y": y})
    np.testing.assert_allclose(lz["top_eigenvalues"], ex["top_eigenvalues"], rtol=1e-8)
    # Hutchinson trace within 4 standard errors of the exact trace
    assert abs(lz["trace"] - ex["trace"]) < 4 * lz["trace_standard_error"]
    lf = loss_function(m, {"X": X, "y": y})
    v = torch.randn(lf.theta.numel(), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = 1e-4

    def grad(th):
        th = th.clone().requires_grad_(True)
        return torch.autograd.grad(lf.loss(th), th)[0]

    fd = (grad(lf.theta + h * v) - grad(lf.theta - h * v)) / (2 * h)
    hv = lf.hvp(v)
    assert float((hv - fd).norm() / hv.norm()) < 1e-6


def test_gauss_newton_equals_hessian_at_zero_residual_and_is_psd_for_cross_entropy():
    X, _ = _mixture(3, n=80)
    m = _mlp(10, 2, [8])
    with torch.no_grad():
        target = m(torch.tensor(X)).double().numpy()  # zero residual: H = J^T J exactly
    res = _measure(loss="mse", method="exact", top_k=6, ggn=True)(m, {"X": X, "y": target})
    np.testing.assert_allclose(res["ggn_top_eigenvalues"], res["top_eigenvalues"], rtol=1e-8)
    X, y = _mixture(3, n=80)
    res = _measure(method="exact", ggn=True, top_k=200, lanczos_steps=200)(_mlp(10, 3, [8]), {"X": X, "y": y})
    assert min(res["ggn_top_eigenvalues"]) > -1e-10


def test_pyhessian_agrees_on_top_eigenvalues():
    from pyhessian import hessian as pyhessian_hessian

    X, y = _mixture(3, n=120)
    m = _mlp(10, 3, [10])
    _train(m, X, y, steps=100)
    ours = _measure(method="lanczos", top_k=3, lanczos_steps=60)(m, {"X": X, "y": y})["top_eigenvalues"]
    torch.manual_seed(0)
    md = m.double()
    comp = pyhessian_hessian(md, torch.nn.CrossEntropyLoss(), data=(torch.tensor(X, dtype=torch.float64), torch.tensor(y)), cuda=False)
    theirs, _ = comp.eigenvalues(top_n=3, maxIter=500, tol=1e-8)
    np.testing.assert_allclose(sorted(theirs, reverse=True), ours, rtol=1e-3)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 8), scale=st.floats(0.1, 100.0), seed=st.integers(0, 1000))
def test_outlier_rule_recovers_planted_outliers(k, scale, seed):
    from geoatlas_plugins.hessian_spectrum.hessian import count_outliers

    g = np.random.default_rng(seed)
    bulk = 0.04 * g.random(200)  # bulk in [0, 0.04], under the floor 0.05 * lambda_1
    outliers = 1.0 + 0.4 * np.arange(k)[::-1] + 0.1 * g.random(k)  # spaced outliers in [1, 4]
    lam = scale * np.concatenate([outliers, bulk])
    assert count_outliers(lam, 20) == k


def test_k_class_mixture_gives_k_minus_one_outliers():
    # softmax cross-entropy is invariant to a common shift of the logits: k classes give k - 1
    # outliers in our runs (README); the paper's "about k"
    for k in (3, 5):
        X, y = _mixture(k, n=600, sep=2.0)
        m = _mlp(10, k, [16, 16], activation="relu")
        _train(m, X, y, steps=300, lr=0.1)
        res = _measure(method="exact", top_k=15)(m, {"X": X, "y": y})
        assert res["n_outliers"] == k - 1, (k, res["top_eigenvalues"][:8])


def test_bad_input_is_refused():
    X, y = _mixture(3, n=30)
    m = _mlp(10, 3, [4])
    meas = _measure()
    with pytest.raises(ValueError, match="needs a model"):
        meas(None, {"X": X, "y": y})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        meas(object(), {"X": X, "y": y})
    with pytest.raises(ValueError, match="'y'"):
        meas(m, {"X": X})
    with pytest.raises(ValueError, match="samples"):
        meas(m, {"X": X, "y": y[:-1]})
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        meas(m, {"X": bad, "y": y})
    with pytest.raises(ValueError, match="empty"):
        meas(m, {"X": X[:0], "y": y[:0]})
    with pytest.raises(ValueError, match="method"):
        _measure(method="power")
    with pytest.raises(ValueError, match="lanczos_steps"):
        _measure(top_k=30, lanczos_steps=10)
    with pytest.raises(ValueError, match="gap_ratio"):
        _measure(gap_ratio=1.0)
    with pytest.raises(ValueError, match="top_k"):
        _measure(top_k=0)


def test_pipeline_runs(tmp_path):
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        text = spec.read_text().replace("measure: hessian_spectrum", f"measure: {PLUGIN}/hessian_spectrum")
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        (hs,) = res.metrics["measures"].values()
        for label, r in hs.items():
            assert r["top_eigenvalues"][0] > 0 and 8 <= r["n_outliers"] <= 10, (label, r)  # 10 digit classes: 9 in our run
