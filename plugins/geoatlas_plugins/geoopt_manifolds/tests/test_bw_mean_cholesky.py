"""Issue 22 (BW mean at n = 8): the no-gradient Bures-Wasserstein fixed point now runs in the
Cholesky frame ``G = L L^T`` (one Cholesky and a triangular solve per iteration instead of an
``eigh`` of ``G`` and its two reconstructions). Same iterates and stopping rule, so the output must
equal the previous routine's (kept verbatim below as the reference) to 1e-12, and pyriemann's
``mean_wasserstein`` to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyriemann.geometry.mean import mean_wasserstein

import geoatlas as ga
from geoatlas_plugins.geoopt_manifolds import spd as spd_module
from geoatlas_plugins.geoopt_manifolds.spd import _sqrt_invsqrt, _weighted_sum_fn, _weights, sym

DT = torch.float64
torch.set_num_threads(1)


def _bw_barycenter_before(x, weights=None, *, max_iter=100, tol=1e-10, init=None, symmetric=False):
    """``bw_barycenter`` as of git de1efef (before this change), verbatim: the reference."""
    w = _weights(x, weights)
    g = (w[..., None, None] * x).sum(-3) if init is None else init
    for _ in range(max_iter):
        rg, irg = _sqrt_invsqrt(g)
        h = _weighted_sum_fn(x, w, "sqrt", symmetric, a=rg)
        new = sym(irg @ h @ h @ irg)
        step = (new - g).flatten(-2).norm(dim=-1).max() / g.flatten(-2).norm(dim=-1).max()
        g = new
        if float(step) < tol:
            break
    return g


def _spd(shape: tuple[int, ...], n: int, seed: int, cond: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(*shape, n, n, generator=g, dtype=DT)
    x = a @ a.transpose(-1, -2) / n + 0.1 * torch.eye(n, dtype=DT)
    if cond > 1.0:  # rescale the spectrum of each matrix to condition number ~cond
        lam, u = torch.linalg.eigh(x)
        lam = lam.min(-1, keepdim=True).values * torch.logspace(0, np.log10(cond), n, dtype=DT)
        x = (u * lam.unsqueeze(-2)) @ u.transpose(-1, -2)
    return sym(x)


def _rel(a: torch.Tensor, b: torch.Tensor | np.ndarray) -> float:
    b = torch.as_tensor(b, dtype=DT)
    return float((a - b).abs().max() / b.abs().max())


@settings(max_examples=12, deadline=None)
@given(
    n=st.sampled_from([2, 3, 8]),
    k=st.integers(2, 40),
    seed=st.integers(0, 2**16),
    cond=st.sampled_from([1.0, 1e2, 1e4]),
    weighted=st.booleans(),
    symmetric=st.booleans(),
)
def test_cholesky_frame_equals_previous_routine_and_pyriemann(n, k, seed, cond, weighted, symmetric) -> None:
    x = _spd((k,), n, seed, cond)
    w = torch.linspace(1.0, 3.0, k, dtype=DT) if weighted else None
    new = spd_module.bw_barycenter(x, w, max_iter=200, tol=1e-10, symmetric=symmetric)
    old = _bw_barycenter_before(x, w, max_iter=200, tol=1e-10, symmetric=symmetric)
    assert _rel(new, old) <= 1e-12
    if cond > 1e2:  # pyriemann stops on |J|_F <= tol (absolute), we on the relative step: at
        return  # condition 1e4 the two stopped points differ by ~1e-10, before this change as well
    ref = mean_wasserstein(x.numpy(), tol=1e-10, maxiter=200, sample_weight=None if w is None else w.numpy())
    assert _rel(new, ref) <= 1e-10


@pytest.mark.parametrize("shape", [(100,), (3, 20)])
@pytest.mark.parametrize("n", [8, 64])
def test_benchmark_sizes_and_batched_sets_equal_previous_routine(shape, n) -> None:
    """Benchmark-like sizes (at n = 64 the batch is worked through in chunks of 32) and a leading
    batch axis (three sets of 20)."""
    x = _spd(shape, n, 5)
    new = spd_module.bw_barycenter(x, max_iter=200, tol=1e-10, symmetric=True)
    old = _bw_barycenter_before(x, max_iter=200, tol=1e-10, symmetric=True)
    assert new.shape == old.shape == (*shape[:-1], n, n)
    assert _rel(new, old) <= 1e-12
    assert torch.equal(new, new.transpose(-1, -2))  # symmetric output, as before


def test_same_number_of_iterations_and_max_iter_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same stopping rule: the iteration stops after the same number of steps as before, and a
    truncated run (max_iter = 3) equals the old routine's three steps."""
    x = _spd((50,), 8, 6)
    calls = {"eigh": 0}
    eigh = torch.linalg.eigh

    def counting(z, *a, **kw):
        calls["eigh"] += 1
        return eigh(z, *a, **kw)

    monkeypatch.setattr(torch.linalg, "eigh", counting)
    spd_module.bw_barycenter(x, max_iter=200, tol=1e-10, symmetric=True)
    new_steps = calls["eigh"]  # one batched eigh of the whitened set per step
    calls["eigh"] = 0
    _bw_barycenter_before(x, max_iter=200, tol=1e-10, symmetric=True)
    old_steps = calls["eigh"] // 2  # plus one eigh of G per step
    monkeypatch.undo()
    assert new_steps == old_steps >= 5
    a = spd_module.bw_barycenter(x, max_iter=3, tol=1e-10)
    b = _bw_barycenter_before(x, max_iter=3, tol=1e-10)
    assert _rel(a, b) <= 1e-12


def test_gradient_path_and_manifold_mean_unchanged() -> None:
    """With gradients the spectral loop runs as before; the manifold's frechet_mean (checks on)
    goes through the new path and still equals the old routine."""
    x = _spd((10,), 4, 7).requires_grad_(True)
    g = spd_module.bw_barycenter(x, max_iter=50, tol=1e-10)
    g.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        assert _rel(g.detach(), _bw_barycenter_before(x.detach(), max_iter=50, tol=1e-10)) <= 1e-12
    m = ga.create("manifold", "spd", n=8, metric="bures_wasserstein")
    y = _spd((30,), 8, 8)
    assert _rel(m.frechet_mean(y, max_iter=200, tol=1e-10), _bw_barycenter_before(y, max_iter=200, tol=1e-10, symmetric=True)) <= 1e-12


def test_failed_cholesky_hands_over_to_the_spectral_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the Cholesky of an iterate fails (G not numerically PD), the spectral loop goes on from
    that iterate with the steps left: simulated by failing the third factorisation."""
    x = _spd((20,), 4, 9)
    chol, calls = torch.linalg.cholesky_ex, {"n": 0}

    def failing(g, *a, **kw):
        calls["n"] += 1
        low, info = chol(g, *a, **kw)
        return (low, torch.ones_like(info)) if calls["n"] == 3 else (low, info)

    monkeypatch.setattr(torch.linalg, "cholesky_ex", failing)
    new = spd_module.bw_barycenter(x, max_iter=200, tol=1e-10)
    monkeypatch.undo()
    assert calls["n"] == 3
    assert _rel(new, _bw_barycenter_before(x, max_iter=200, tol=1e-10)) <= 1e-12
