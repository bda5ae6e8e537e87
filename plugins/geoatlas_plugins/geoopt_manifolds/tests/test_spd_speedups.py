"""Issue 22: the faster SPD paths (fused input checks, BW distance through one Cholesky and one
eigenvalue solve, Barzilai-Borwein Karcher flow, one-contraction weighted means) against the
outputs of the code before the change (pinned), against pyriemann, and their own contracts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pyriemann.geometry.distance import distance_logeuclid, distance_riemann, distance_wasserstein
from pyriemann.geometry.mean import mean_logeuclid, mean_riemann, mean_wasserstein

import geoatlas as ga
from geoatlas.validation import checks
from geoatlas_plugins.geoopt_manifolds import spd as spd_module

DT = torch.float64
torch.set_num_threads(1)
PINNED = json.loads((Path(__file__).parent / "spd_outputs_before_issue22.json").read_text())
METRICS = ["affine_invariant", "log_euclidean", "bures_wasserstein", "generalized_bures_wasserstein"]


def _spd(k: int, n: int, seed: int, cond: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(k, n, n, generator=g, dtype=DT)
    x = a @ a.transpose(-1, -2) / n + 0.3 * torch.eye(n, dtype=DT)
    if cond > 1.0:
        q, _ = torch.linalg.qr(torch.randn(k, n, n, generator=g, dtype=DT))
        lam = torch.logspace(0, np.log10(cond), n, dtype=DT)
        x = q @ torch.diag_embed(lam.expand(k, n)) @ q.transpose(-1, -2)
    return 0.5 * (x + x.transpose(-1, -2))


def _manifold(metric: str, n: int = 4):
    kw = {"theta": 0.5, "metric_matrix": _spd(1, 4, 99)[0]} if metric == "generalized_bures_wasserstein" else {}
    return ga.create("manifold", "spd", n=n, metric=metric, **kw)


def _rel(a: torch.Tensor, b: list[float]) -> float:
    ref = np.asarray(b)
    return float(np.max(np.abs(a.detach().numpy().ravel() - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("on", [True, False])
@pytest.mark.parametrize("metric", METRICS)
def test_pinned_outputs_unchanged(metric: str, on: bool) -> None:
    """Same numbers as the code before issue 22 (checks on and off): distances and the closed-form /
    fixed-point means to 1e-12; the affine-invariant mean, now reached by another path, within its
    stopping tolerance (Riemannian gradient norm < 1e-10 on both sides)."""
    m, ref = _manifold(metric), PINNED[metric]
    with checks(on):
        got = {
            "dist": m.dist(_spd(4, 4, 10), _spd(4, 4, 11, cond=1e3)),
            "mean": m.frechet_mean(_spd(6, 4, 12)),
            "wmean": m.frechet_mean(_spd(5, 4, 13, cond=1e3), torch.linspace(1, 2, 5, dtype=DT)),
            "bmean": m.frechet_mean(_spd(12, 4, 14).reshape(2, 6, 4, 4)),
        }
    np.testing.assert_allclose(got["dist"].numpy(), ref["dist"], rtol=1e-12)
    bound = 1e-10 if metric == "affine_invariant" else 1e-12
    for key in ("mean", "wmean", "bmean"):
        assert _rel(got[key], ref[key]) < bound, key


@pytest.mark.parametrize("n", [8, 32])
def test_against_pyriemann_to_1e10(n: int) -> None:
    """Every changed distance and mean against pyriemann in float64, batched, at 1e-10 relative."""
    a, b, s = _spd(20, n, 1).numpy(), _spd(20, n, 2).numpy(), _spd(30, n, 3).numpy()
    at, bt, st = (torch.from_numpy(v) for v in (a, b, s))
    cases = {
        "affine_invariant": (distance_riemann, lambda: mean_riemann(s, tol=1e-12, maxiter=300)),
        "log_euclidean": (distance_logeuclid, lambda: mean_logeuclid(s)),
        "bures_wasserstein": (distance_wasserstein, lambda: mean_wasserstein(s, tol=1e-12, maxiter=300)),
    }
    for metric, (dist_ref, mean_ref) in cases.items():
        m = ga.create("manifold", "spd", n=n, metric=metric)
        np.testing.assert_allclose(m.dist(at, bt).numpy(), dist_ref(a, b), rtol=1e-10, err_msg=metric)
        np.testing.assert_allclose(m.sqdist(at, bt).numpy(), dist_ref(a, b, squared=True), rtol=1e-10, err_msg=metric)
        ref = mean_ref()
        ours = m.frechet_mean(st, max_iter=300, tol=1e-12).numpy()
        assert np.max(np.abs(ours - ref)) / np.max(np.abs(ref)) < 1e-10, metric


def test_bw_distance_one_cholesky_equals_the_square_root_formula() -> None:
    """``tr A + tr B - 2 sum sqrt eig(L^T B L)`` equals ``... - 2 tr (A^1/2 B A^1/2)^1/2`` (the former
    formula), also for ill-conditioned pairs; singular PSD ``A`` takes the square-root path."""
    a, b = _spd(6, 5, 20, cond=1e6), _spd(6, 5, 21)
    ra = spd_module.sqrtm(a)
    old = (spd_module._trace(a) + spd_module._trace(b) - 2 * spd_module._trace(spd_module.sqrtm(ra @ b @ ra))).clamp_min(0)
    assert torch.allclose(spd_module.bw_sqdist(a, b), old, rtol=1e-11, atol=0)
    psd = torch.diag(torch.tensor([1.0, 4.0, 0.0, 0.0], dtype=DT))  # rank 2: no Cholesky factor
    d2 = spd_module.bw_sqdist(psd, torch.eye(4, dtype=DT))
    assert abs(float(d2) - (5.0 + 4.0 - 2 * 3.0)) < 1e-14  # tr A + tr I - 2 tr A^1/2


def test_tol_zero_is_the_unit_step_karcher_flow() -> None:
    """``tol <= 0`` (SPD batch norm's fixed ``mean_iters``) keeps the classic flow from the
    log-Euclidean mean: ``G <- G^1/2 exp(sum w log(G^-1/2 X G^-1/2)) G^1/2``, unit steps."""
    m = _manifold("affine_invariant")
    x = _spd(7, 4, 30)
    lx = torch.stack([spd_module.logm(xi) for xi in x]).mean(0)
    g = spd_module.expm(lx)
    for k in range(1, 4):
        rg, ig = spd_module.sqrtm(g), spd_module.invsqrtm(g)
        t = torch.stack([spd_module.logm(ig @ xi @ ig) for xi in x]).mean(0)
        g = spd_module.sym(rg @ spd_module.expm(t) @ rg)
        assert torch.allclose(m._frechet_mean(x, max_iter=k, tol=0.0), g, rtol=1e-13, atol=1e-13)


def test_barzilai_borwein_flow_converges_where_unit_steps_crawl() -> None:
    """Widely spread matrices: the unit-step flow needs ~50 iterations to reach a gradient norm of
    1e-10; the BB flow gets there within 20 and the result is stationary and equals pyriemann's."""
    rng = np.random.default_rng(3)
    a = 3 * rng.standard_normal((10, 8, 8))
    s = a @ a.transpose(0, 2, 1) / 8 + 0.1 * np.eye(8)
    m = ga.create("manifold", "spd", n=8)
    st = torch.from_numpy(s)
    mean = m.frechet_mean(st, max_iter=20, tol=1e-11)
    grad = m.logmap(mean.expand_as(st), st).mean(0)
    rg = spd_module.invsqrtm(mean)
    assert float((rg @ grad @ rg).norm()) < 1e-10  # the Riemannian gradient norm
    unit = m._frechet_mean(st, max_iter=20, tol=0.0)  # the former flow after the same 20 iterations
    ref = mean_riemann(s, tol=1e-13, maxiter=500)
    assert np.max(np.abs(mean.numpy() - ref)) / np.max(np.abs(ref)) < 1e-10
    assert np.max(np.abs(unit.numpy() - ref)) / np.max(np.abs(ref)) > 1e-8


def test_checks_reuse_the_factorisation(monkeypatch: pytest.MonkeyPatch) -> None:
    """With checks on, positive-definiteness comes from the operation's own Cholesky/eigenvalues:
    no extra ``cholesky_ex`` for log-Euclidean or affine-invariant distances and means."""
    calls = {"n": 0}
    real = torch.linalg.cholesky_ex

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.linalg, "cholesky_ex", counting)
    x, y = _spd(5, 4, 40), _spd(5, 4, 41)
    expected = {"log_euclidean": 0, "affine_invariant": 1, "bures_wasserstein": 1}
    for metric, n_chol in expected.items():
        m = ga.create("manifold", "spd", n=4, metric=metric)
        calls["n"] = 0
        m.dist(x, y)
        assert calls["n"] == n_chol, metric
        if metric != "bures_wasserstein":
            calls["n"] = 0
            m.frechet_mean(x)
            assert calls["n"] == 0, metric


@pytest.mark.parametrize("metric", ["affine_invariant", "log_euclidean", "bures_wasserstein"])
def test_deferred_checks_still_refuse_bad_input(metric: str) -> None:
    m = ga.create("manifold", "spd", n=3, metric=metric)
    good = _spd(4, 3, 0)
    neg = good.clone()
    neg[2] = torch.diag(torch.tensor([1.0, -1e-3, 2.0], dtype=DT))
    nan = good.clone()
    nan[0, 1, 1] = float("inf")
    for op in ("dist", "sqdist"):
        with pytest.raises(ValueError, match=f"spd.{op}: x is not positive-definite: matrix 2"):
            getattr(m, op)(neg, good)
        with pytest.raises(ValueError, match=f"spd.{op}: y contains NaN or Inf"):
            getattr(m, op)(good, nan)
    with pytest.raises(ValueError, match="spd.frechet_mean: x is not positive-definite: matrix 2"):
        m.frechet_mean(neg)
    with pytest.raises(ValueError, match="spd.frechet_mean: x contains NaN or Inf"):
        m.frechet_mean(nan)


def test_nearly_symmetric_input_is_symmetrised_as_before() -> None:
    """Inputs symmetric only to 1e-9 (accepted) still go through (x + x^T)/2, as before; exactly
    symmetric inputs skip it (same bits)."""
    x, y = _spd(3, 4, 50), _spd(3, 4, 51)
    bump = torch.zeros(4, 4, dtype=DT)
    bump[0, 1] = 1e-9
    for metric in ("log_euclidean", "affine_invariant", "bures_wasserstein"):
        m = ga.create("manifold", "spd", n=4, metric=metric)
        yb = y + bump
        assert torch.allclose(m.dist(x, yb), m.dist(x, spd_module.sym(yb)), rtol=1e-13, atol=0)
        # means: within the stopping tolerance (1e-10); ignoring the bump's half would be off by ~1e-10 x 5
        mb, ms = m.frechet_mean(torch.cat([x, yb]), tol=1e-13), m.frechet_mean(torch.cat([x, spd_module.sym(yb)]), tol=1e-13)
        assert float((mb - ms).abs().max()) < 2e-11


def test_float32_mean_does_not_drift() -> None:
    """float32 cannot reach tol = 1e-10, so the flow runs all max_iter steps: the frame's inverse is
    recomputed (not accumulated), so the mean stays within float32 rounding of the float64 mean (a
    product of 100 inverse updates drifted to ~1e-5; the former unit-step flow: ~2e-5)."""
    m = ga.create("manifold", "spd", n=5)
    x = m.random_point(40, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    ref = m.frechet_mean(x.double(), tol=1e-13)
    assert float((m.frechet_mean(x).double() - ref).abs().max()) < 5e-6
    assert float((m.frechet_mean(x[:1]) - x[0]).abs().max()) < 5e-6


@pytest.mark.parametrize("n", [3, 8, 32])
def test_log_euclidean_distance_in_the_eigenframes_equals_the_difference_of_logarithms(n: int) -> None:
    """Issue 22: d^2 = sum_ij (log l_i(X) - log l_j(Y))^2 (U_X^T U_Y)_ij^2 replaced
    ||U_X log(L_X) U_X^T - U_Y log(L_Y) U_Y^T||_F (the previous code, recomputed here): equal to
    1e-12 over several chunks of the batch, conditioned and near pairs, and 0 for identical points."""
    k = 3 * spd_module._chunk(n) // 2 if n > 8 else 40  # more than one chunk at n = 32
    x, y = _spd(k, n, 21), _spd(k, n, 22, cond=1e4)
    y[: k // 4] = x[: k // 4] + 1e-6 * _spd(k // 4, n, 23)  # near pairs
    y[-3:] = x[-3:]  # identical pairs
    m = ga.create("manifold", "spd", n=n, metric="log_euclidean")

    def logm(z: torch.Tensor) -> torch.Tensor:
        lam, u = torch.linalg.eigh(z)
        return (u * lam.log().unsqueeze(-2)) @ u.transpose(-1, -2)

    before = torch.linalg.matrix_norm(logm(x) - logm(y))
    for on in (True, False):
        with checks(on):
            got = m.dist(x, y)
        far = slice(k // 4, k - 3)
        np.testing.assert_allclose(got[far].numpy(), before[far].numpy(), rtol=1e-12)
        # near pairs: both are limited by the eigendecompositions (an error ~ n eps |log X|, absolute)
        np.testing.assert_allclose(got[: k // 4].numpy(), before[: k // 4].numpy(), rtol=0, atol=1e-12)
        assert (got[-3:] == 0).all() and (before[-3:] == 0).all()
        np.testing.assert_allclose(m.sqdist(x, y)[far].numpy(), before[far].numpy() ** 2, rtol=1e-12)


def test_affine_invariant_distance_in_chunks_equals_the_whole_batch() -> None:
    """Issue 22: without gradients the affine-invariant distance works through the batch in
    cache-sized chunks; the same numbers as the whole-batch computation (the previous code,
    recomputed here), broadcasting kept, and a non-PD matrix in a later chunk still named."""
    n = 16
    k = 3 * spd_module._chunk(n) + 5
    x, y = _spd(k, n, 31), _spd(k, n, 32, cond=1e3)
    m = ga.create("manifold", "spd", n=n, metric="affine_invariant")

    def whole(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = torch.broadcast_tensors(a, b)
        chol = torch.linalg.cholesky(a)
        w = torch.linalg.solve_triangular(chol, torch.linalg.solve_triangular(chol, b, upper=False).transpose(-1, -2), upper=False)
        return (torch.linalg.eigvalsh(0.5 * (w + w.transpose(-1, -2))).log() ** 2).sum(-1).sqrt()

    for on in (True, False):
        with checks(on):
            np.testing.assert_allclose(m.dist(x, y).numpy(), whole(x, y).numpy(), rtol=1e-12)
            np.testing.assert_allclose(m.dist(x[:1], y).numpy(), whole(x[:1], y).numpy(), rtol=1e-12)
            got = m.dist(x.reshape(k, 1, n, n), y[:3]).numpy()  # (k, 3) by broadcasting
            assert got.shape == (k, 3)
            np.testing.assert_allclose(got, whole(x.reshape(k, 1, n, n), y[:3]).numpy(), rtol=1e-12)
    bad = x.clone()
    bad[-2] = -bad[-2]  # negative-definite, in the last chunk
    with pytest.raises(ValueError, match="x is not"):
        m.dist(bad, y)
    bad_y = y.clone()
    bad_y[-1] = -bad_y[-1]
    with pytest.raises(ValueError, match="y is not"):
        m.dist(x, bad_y)
