"""The `spd` manifold's metrics against pyriemann / POT / geoopt, manifold identities, gradients."""

from __future__ import annotations

import geoopt
import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyriemann.geometry.distance import distance_logeuclid, distance_riemann
from pyriemann.geometry.mean import mean_logeuclid, mean_riemann

import geoatlas as ga
from geoatlas.testing import check_manifold

METRICS = ["affine_invariant", "log_euclidean", "bures_wasserstein", "generalized_bures_wasserstein"]
DT = torch.float64
torch.set_num_threads(1)


def _spd(k: int, n: int, seed: int, cond: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(k, n, n, generator=g, dtype=DT)
    x = a @ a.transpose(-1, -2) / n + 0.3 * torch.eye(n, dtype=DT)
    if cond > 1.0:
        q, _ = torch.linalg.qr(torch.randn(k, n, n, generator=g, dtype=DT))
        lam = torch.logspace(0, np.log10(cond), n, dtype=DT)
        x = q @ torch.diag_embed(lam.expand(k, n)) @ q.transpose(-1, -2)
    return 0.5 * (x + x.transpose(-1, -2))


def _manifold(metric: str, n: int = 4, **kw):
    if metric == "generalized_bures_wasserstein" and not kw:
        kw = {"theta": 0.5, "metric_matrix": _spd(1, n, 99)[0]}
    return ga.create("manifold", "spd", n=n, metric=metric, **kw)


# ---------------------------------------------------------------------------- references
def test_default_is_geoopt_affine_invariant() -> None:
    m = ga.create("manifold", "spd", n=4)
    assert m.metric == "affine_invariant" and isinstance(m, geoopt.SymmetricPositiveDefinite)
    ref = geoopt.SymmetricPositiveDefinite()
    x, y = _spd(6, 4, 0), _spd(6, 4, 1)
    u = 0.3 * (y - x)
    for ours, theirs in [
        (m.dist(x, y), ref.dist(x, y)),
        (m.expmap(x, u), ref.expmap(x, u)),
        (m.logmap(x, y), ref.logmap(x, y)),
        (m.inner(x, u), ref.inner(x, u)),
        (m.transp(x, y, u), ref.transp(x, y, u)),
        (m.retr(x, u), ref.retr(x, u)),
    ]:
        assert torch.allclose(ours, theirs, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("cond", [1.0, 1e5])
def test_airm_and_lem_against_pyriemann(cond: float) -> None:
    x, y = _spd(8, 5, 2, cond), _spd(8, 5, 3, cond)
    airm = _manifold("affine_invariant", 5)
    lem = _manifold("log_euclidean", 5)
    ref_a = np.array([distance_riemann(a, b) for a, b in zip(x.numpy(), y.numpy(), strict=True)])
    ref_l = np.array([distance_logeuclid(a, b) for a, b in zip(x.numpy(), y.numpy(), strict=True)])
    np.testing.assert_allclose(airm.dist(x, y).numpy(), ref_a, rtol=1e-8)
    np.testing.assert_allclose(lem.dist(x, y).numpy(), ref_l, rtol=1e-8)
    w = np.linspace(1, 2, 8)
    np.testing.assert_allclose(airm.frechet_mean(x, torch.tensor(w), tol=1e-12).numpy(), mean_riemann(x.numpy(), sample_weight=w, tol=1e-12, maxiter=1000), rtol=1e-6, atol=1e-8 * cond)
    np.testing.assert_allclose(lem.frechet_mean(x, torch.tensor(w)).numpy(), mean_logeuclid(x.numpy(), sample_weight=w), rtol=1e-8, atol=1e-10 * cond)


@pytest.mark.parametrize("cond", [1.0, 1e5])
def test_bures_wasserstein_against_pot(cond: float) -> None:
    x, y = _spd(6, 4, 4, cond), _spd(6, 4, 5, cond)
    bw = _manifold("bures_wasserstein", 4)
    zero = np.zeros(4)
    ref = np.array([float(ot.gaussian.bures_wasserstein_distance(zero, zero, a, b)) for a, b in zip(x.numpy(), y.numpy(), strict=True)])
    np.testing.assert_allclose(bw.dist(x, y).numpy(), ref, rtol=1e-7)
    w = np.linspace(1, 3, 6)
    w = w / w.sum()
    _, ref_bar = ot.gaussian.bures_wasserstein_barycenter(np.zeros((6, 4)), x.numpy(), weights=w, num_iter=2000, eps=1e-12)
    ours = bw.frechet_mean(x, torch.tensor(w), max_iter=2000, tol=1e-13)
    np.testing.assert_allclose(ours.numpy(), ref_bar, rtol=1e-6, atol=1e-9 * cond)


def test_gbw_reduces_to_bw_and_matches_closed_form() -> None:
    x, y = _spd(5, 4, 6), _spd(5, 4, 7)
    bw = _manifold("bures_wasserstein")
    plain = _manifold("generalized_bures_wasserstein", theta=1.0)
    for op in ("dist", "logmap"):
        assert torch.allclose(getattr(plain, op)(x, y), getattr(bw, op)(x, y), atol=1e-11)
    # Han et al.'s closed form: tr(M^-1 X) + tr(M^-1 Y) - 2 tr (X^1/2 M^-1 Y M^-1 X^1/2)^1/2
    mm = _spd(1, 4, 99)[0]
    gbw = _manifold("generalized_bures_wasserstein", theta=1.0, metric_matrix=mm)
    mi = torch.linalg.inv(mm)
    ev, vec = torch.linalg.eigh(x)
    rx = vec @ torch.diag_embed(ev.sqrt()) @ vec.transpose(-1, -2)
    inner = torch.linalg.eigvalsh(rx @ mi @ y @ mi @ rx).clamp_min(0).sqrt().sum(-1)
    closed = torch.einsum("ij,bji->b", mi, x) + torch.einsum("ij,bji->b", mi, y) - 2 * inner
    assert torch.allclose(gbw.sqdist(x, y), closed, atol=1e-10)
    # the power deformation: d_theta(X, Y) = d_BW(X^theta, Y^theta) / theta (M = I)
    pw = _manifold("generalized_bures_wasserstein", theta=0.5)
    xe, ye = (torch.linalg.eigh(z) for z in (x, y))
    xp = xe[1] @ torch.diag_embed(xe[0] ** 0.5) @ xe[1].transpose(-1, -2)
    yp = ye[1] @ torch.diag_embed(ye[0] ** 0.5) @ ye[1].transpose(-1, -2)
    assert torch.allclose(pw.dist(x, y), bw.dist(xp, yp) / 0.5, atol=1e-10)


# ---------------------------------------------------------------------------- identities
@pytest.mark.parametrize("metric", METRICS)
def test_check_manifold(metric: str) -> None:
    report = check_manifold(_manifold(metric))
    assert report["log_exp"] < 1e-9 and report["dist_exp_vs_norm"] < 1e-9


@pytest.mark.parametrize("metric", METRICS)
def test_rgrad_is_the_metric_dual_and_means_are_stationary(metric: str) -> None:
    m = _manifold(metric)
    x = _spd(4, 4, 8)
    g = torch.Generator().manual_seed(3)
    e = torch.randn(4, 4, 4, generator=g, dtype=DT)
    e = e + e.transpose(-1, -2)
    v = torch.randn(4, 4, 4, generator=g, dtype=DT)
    v = v + v.transpose(-1, -2)
    lhs = m.inner(x, m.egrad2rgrad(x, e), v)
    assert torch.allclose(lhs, torch.einsum("bij,bij->b", e, v), rtol=1e-8, atol=1e-10)
    # the Fréchet mean is a zero of the weighted sum of logs
    pts = _spd(7, 4, 9)
    w = torch.linspace(1, 2, 7, dtype=DT)
    mean = m.frechet_mean(pts, w, max_iter=500, tol=1e-13)
    grad = (w[:, None, None] / w.sum() * m.logmap(mean.expand_as(pts), pts)).sum(0)
    assert float(grad.abs().max()) < 1e-8
    # geodesic endpoints and midpoint equidistance
    a, b = pts[0], pts[1]
    assert torch.allclose(m.geodesic(a, b, 0.0), a, atol=1e-10) and torch.allclose(m.geodesic(a, b, 1.0), b, atol=1e-9)
    mid = m.geodesic(a, b, 0.5)
    assert abs(float(m.dist(a, mid) - m.dist(mid, b))) < 1e-9


def test_batched_means_and_near_boundary() -> None:
    m = _manifold("bures_wasserstein")
    x = _spd(12, 4, 10).reshape(3, 4, 4, 4)
    batched = m.frechet_mean(x)
    single = torch.stack([m.frechet_mean(x[i]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-10)
    for metric in METRICS:
        mm = _manifold(metric)
        ill = _spd(4, 4, 11, cond=1e8) * 1e-4  # eigenvalues down to 1e-12
        d = mm.dist(ill[:2], ill[2:])
        assert torch.isfinite(d).all() and (d > 0).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), metric=st.sampled_from(METRICS))
def test_metric_axioms_property(seed: int, metric: str) -> None:
    m = _manifold(metric, 3)
    x, y, z = _spd(3, 3, seed).unbind(0)
    dxy, dyz, dxz = m.dist(x, y), m.dist(y, z), m.dist(x, z)
    assert float(dxz) <= float(dxy + dyz) + 1e-9
    assert abs(float(dxy - m.dist(y, x))) < 1e-9
    assert float(m.dist(x, x)) < 1e-6


# ---------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("metric", METRICS)
def test_gradcheck_float64(metric: str) -> None:
    m = _manifold(metric, 3)
    x, y = _spd(2, 3, 12), _spd(2, 3, 13)
    x.requires_grad_(True)
    y.requires_grad_(True)
    # functions of symmetric inputs: symmetrise first so finite differences stay in Sym(n)
    def s(a: torch.Tensor) -> torch.Tensor:
        return 0.5 * (a + a.transpose(-1, -2))

    assert torch.autograd.gradcheck(lambda a, b: m.dist(s(a), s(b)), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: m.logmap(s(a), s(b)), (x, y))
    assert torch.autograd.gradcheck(lambda a: m.frechet_mean(torch.stack([s(a[0]), s(a[1])]), max_iter=200, tol=1e-14), (x,))


def test_gradients_finite_at_repeated_eigenvalues() -> None:
    from geoatlas_plugins.geoopt_manifolds.spd import invsqrtm, lyapunov, powm, sqrtm

    eye = torch.eye(4, dtype=DT, requires_grad=True)
    v = _spd(1, 4, 14)[0]
    out = (sqrtm(eye) * v).sum() + (invsqrtm(eye) * v).sum() + (powm(eye, 0.3) * v).sum() + (lyapunov(eye, v) * v).sum()
    out.backward()
    assert torch.isfinite(eye.grad).all()
    # d/dX tr(X^1/2 V) at X = I is V/2
    g = torch.eye(4, dtype=DT, requires_grad=True)
    (sqrtm(g) * v).sum().backward()
    assert torch.allclose(g.grad, 0.5 * v, atol=1e-12)


def test_learnable_metric_matrix_with_riemannian_adam() -> None:
    m = _manifold("generalized_bures_wasserstein", theta=1.0, learnable=True)
    assert isinstance(m.metric_matrix, geoopt.ManifoldParameter)
    opt = geoopt.optim.RiemannianAdam([m.metric_matrix], lr=0.05)
    x, y = _spd(8, 4, 15), _spd(8, 4, 16)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = m.sqdist(x, y).mean()
        first = float(loss) if first is None else first
        loss.backward()
        opt.step()
    assert float(loss) < first
    ok, _ = m.metric_matrix.manifold._check_point_on_manifold(m.metric_matrix.detach())
    assert ok


@pytest.mark.parametrize("metric", METRICS)
def test_riemannian_adam_on_points(metric: str) -> None:
    m = _manifold(metric)
    target = _spd(1, 4, 17)[0]
    p = geoopt.ManifoldParameter(torch.eye(4, dtype=DT), manifold=m)
    opt = geoopt.optim.RiemannianAdam([p], lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        loss = m.sqdist(p, target)
        loss.backward()
        opt.step()
    assert float(m.dist(p.detach(), target)) < 0.05


# ---------------------------------------------------------------------------- errors
def test_bad_input_errors() -> None:
    m = ga.create("manifold", "spd", n=3)
    with pytest.raises(ValueError, match="not symmetric"):
        m.check_point(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive-definite"):
        m.check_point(torch.diag(torch.tensor([1.0, -1.0, 2.0])))
    with pytest.raises(ValueError, match="positive-definite"):
        m.check_point(torch.diag(torch.tensor([1.0, 0.0, 2.0])))
    with pytest.raises(ValueError, match="NaN"):
        m.check_point(torch.full((3, 3), float("nan")))
    with pytest.raises(ValueError, match="size 3 x 3"):
        m.check_point(torch.eye(4))
    with pytest.raises(TypeError):
        m.check_point(np.eye(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="metric"):
        ga.create("manifold", "spd", n=3, metric="stein")
    with pytest.raises(ValueError, match="theta"):
        ga.create("manifold", "spd", n=3, metric="generalized_bures_wasserstein", theta=0.0)
    with pytest.raises(ValueError, match="metric_matrix"):
        ga.create("manifold", "spd", n=3, metric="generalized_bures_wasserstein", metric_matrix=-torch.eye(3))
    with pytest.raises(ValueError, match="only to metric"):
        ga.create("manifold", "spd", n=3, theta=0.5)
    with pytest.raises(ValueError, match="n must be"):
        ga.create("manifold", "spd", n=0)
    with pytest.raises(ValueError, match="empty"):
        m.frechet_mean(torch.zeros(0, 3, 3))
    with pytest.raises(ValueError, match="weights"):
        m.frechet_mean(_spd(3, 3, 0), torch.tensor([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("metric", METRICS)
def test_public_operations_refuse_non_spd_input(metric: str) -> None:
    """Non-SPD, non-symmetric, NaN, mis-sized or non-float input: a ValueError/TypeError naming the
    operation and the argument (before: torch's _LinAlgError, NaN, or a silent 3x3 on an n = 4 manifold)."""
    m = _manifold(metric, n=3)
    good = _spd(4, 3, 0)
    neg = good.clone()
    neg[1] = torch.diag(torch.tensor([1.0, -1.0, 2.0], dtype=DT))
    asym = good.clone()
    asym[2, 0, 1] += 0.5
    nan = good.clone()
    nan[3, 2, 2] = float("nan")
    cases = [
        (neg, ValueError, "y is not positive-definite: matrix 1"),
        (asym, ValueError, "y is not symmetric"),
        (nan, ValueError, "y contains NaN"),
        (_spd(4, 4, 0), ValueError, r"y must have shape \(\.\.\., 3, 3\)"),
        (good.to(torch.int64), TypeError, "y must be a floating-point"),
    ]
    for bad, exc, msg in cases:
        for op in ("dist", "sqdist", "logmap", "geodesic"):
            args = (good, bad, 0.5) if op == "geodesic" else (good, bad)
            with pytest.raises(exc, match=f"spd.{op}: " + msg):
                getattr(m, op)(*args)
    with pytest.raises(ValueError, match="spd.frechet_mean: x is not positive-definite"):
        m.frechet_mean(neg)
    with pytest.raises(ValueError, match="spd.frechet_variance: x is not symmetric"):
        m.frechet_variance(asym)
    with pytest.raises(ValueError, match="spd.expmap: x is not positive-definite"):
        m.expmap(neg, torch.zeros_like(neg))
    with pytest.raises(ValueError, match="spd.expmap: u contains NaN"):
        m.expmap(good, nan)
    with pytest.raises(ValueError, match="spd.inner: x contains NaN"):
        m.inner(nan, good)
    with pytest.raises(TypeError, match="torch.Tensor"):
        m.dist(good, np.eye(3))  # type: ignore[arg-type]
    # near-singular but PD input is accepted (condition number 1e10)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=DT, generator=torch.Generator().manual_seed(1)))
    ill = q @ torch.diag(torch.tensor([1e-10, 1.0, 1.0], dtype=DT)) @ q.T
    ill = 0.5 * (ill + ill.T)
    assert torch.isfinite(m.dist(good[0], ill))


def test_log_euclidean_no_longer_returns_nan_and_checks_can_be_switched_off() -> None:
    from geoatlas.validation import checks

    m = ga.create("manifold", "spd", n=3, metric="log_euclidean")
    bad = torch.diag(torch.tensor([1.0, -1.0, 2.0], dtype=DT))
    with pytest.raises(ValueError, match="not positive-definite"):
        m.dist(torch.eye(3, dtype=DT), bad)
    with checks(False):  # the user trusts the data: no check, and garbage in gives NaN out
        assert torch.isnan(m.dist(torch.eye(3, dtype=DT), bad))
