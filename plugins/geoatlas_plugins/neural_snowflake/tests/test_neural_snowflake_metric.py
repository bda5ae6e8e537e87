"""Neural snowflake: metric axioms (hypothesis), constraints under training, closed forms, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.neural_snowflake.snowflake import NeuralSnowflake, snowflake_activation

torch.set_num_threads(1)


def _random_snowflake(seed: int, depth: int, width: int, alphas: list[float], betas: list[float], ps: list[float], zero_frac: float) -> NeuralSnowflake:
    m = NeuralSnowflake(dim=3, depth=depth, width=width, quasi=True, seed=seed).double()
    rng = np.random.default_rng(seed)
    d_in = 1
    for j in range(depth):
        A = rng.exponential(size=(width, d_in)) * (rng.random((width, d_in)) >= zero_frac)
        A[0, 0] = max(A[0, 0], 0.1)  # keep one positive path so rho(x, y) > 0 for x != y
        B = rng.exponential(size=(width, 3 * width)) * (rng.random((width, 3 * width)) >= zero_frac)
        B[0, rng.integers(0, 3)] = max(B[0, 0], 0.1)
        m.set_layer(j, A=torch.tensor(A), B=torch.tensor(B), alpha=alphas[j], beta=betas[j], p=ps[j])
        d_in = width
    C = rng.exponential(size=(1, width))
    C[0, 0] = max(C[0, 0], 0.1)
    m.set_output(torch.tensor(C))
    return m


def _points(seed: int, n: int, scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = scale * torch.randn(n, 3, generator=g, dtype=torch.float64)
    z = scale * torch.randn(n, 3, generator=g, dtype=torch.float64)
    # collinear triples, y between x and z: ||x - z|| = ||x - y|| + ||y - z|| (the tight case)
    v = torch.randn(n, 3, generator=g, dtype=torch.float64)
    lam = torch.rand(n, 1, generator=g, dtype=torch.float64)
    x2, z2 = x, x + v * scale
    y2 = x2 + lam * (z2 - x2)
    return torch.cat([x, x2]), torch.cat([y, y2]), torch.cat([z, z2])


unit = st.floats(0.05, 1.0)
params = st.tuples(
    st.integers(0, 10_000),  # seed
    st.integers(1, 3),  # depth
    st.sampled_from([1, 2, 4]),  # width
    st.lists(unit, min_size=3, max_size=3),
    st.lists(unit, min_size=3, max_size=3),
    st.lists(st.floats(0.0, 2.0), min_size=3, max_size=3),
    st.sampled_from([0.0, 0.5]),  # fraction of zero weights
    st.sampled_from([1e-3, 1.0, 30.0]),  # scale of the points
)


@settings(max_examples=25, deadline=None)
@given(params)
def test_identity_symmetry_relaxed_triangle(args: tuple) -> None:
    seed, depth, width, alphas, betas, ps, zero_frac, scale = args
    m = _random_snowflake(seed, depth, width, alphas, betas, ps, zero_frac)
    assert m.constraints_satisfied()
    x, y, z = _points(seed, 32, scale)
    with torch.no_grad():
        # identity, exactly
        assert torch.equal(m(x, x), torch.zeros(len(x), dtype=torch.float64))
        assert torch.equal(torch.diagonal(m.pairwise(x)), torch.zeros(len(x), dtype=torch.float64))
        # symmetry, exactly (bit for bit)
        assert torch.equal(m(x, y), m(y, x))
        D = m.pairwise(x)
        assert torch.equal(D, D.T)
        # positivity for distinct points
        assert (m(x, y) > 0).all()
        # relaxed triangle inequality with the derived constant
        K = m.quasi_metric_constant()
        lhs, rhs = m(x, z), K * (m(x, y) + m(y, z))
        assert (lhs <= rhs * (1 + 1e-9) + 1e-300).all(), float((lhs / rhs).max())


@settings(max_examples=25, deadline=None)
@given(params)
def test_triangle_inequality_when_p_is_zero(args: tuple) -> None:
    seed, depth, width, alphas, betas, _, zero_frac, scale = args
    m = _random_snowflake(seed, depth, width, alphas, betas, [0.0, 0.0, 0.0], zero_frac)
    assert m.quasi_metric_constant() == 1.0
    x, y, z = _points(seed, 32, scale)
    with torch.no_grad():
        lhs, rhs = m(x, z), m(x, y) + m(y, z)
    assert (lhs <= rhs * (1 + 1e-9)).all(), float((lhs / rhs).max())


def test_quasi_part_really_needs_the_constant() -> None:
    # log(1 + t)^2 (beta = 1, p = 1) breaks the plain triangle inequality, not the relaxed one (K = 2)
    m = NeuralSnowflake(dim=1, depth=1, width=1).double()
    m.set_layer(0, A=torch.ones(1, 1), B=torch.tensor([[0.0, 0.0, 1.0]]), alpha=0.5, beta=1.0, p=1.0)
    m.set_output(torch.ones(1, 1))
    x, y, z = torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), 0.01, dtype=torch.float64), torch.full((1, 1), 0.02, dtype=torch.float64)
    with torch.no_grad():
        lhs, rhs = m(x, z), m(x, y) + m(y, z)
    assert float(lhs) > float(rhs)  # ratio -> 2 as t -> 0
    assert m.quasi_metric_constant() == pytest.approx(2.0)
    assert float(lhs) <= 2.0 * float(rhs)


def test_closed_form_single_power_component() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 4, generator=g, dtype=torch.float64), torch.randn(50, 4, generator=g, dtype=torch.float64)
    t = (x - y).norm(dim=-1)
    m = NeuralSnowflake(dim=4, depth=1, width=1).double()
    m.set_output(torch.ones(1, 1))
    for alpha in (0.5, 0.3, 1.0):
        m.set_layer(0, A=torch.ones(1, 1), B=torch.tensor([[0.0, 1.0, 0.0]]), alpha=alpha)
        with torch.no_grad():
            assert torch.allclose(m(x, y), t**alpha, rtol=1e-14, atol=0)
    # the other two components
    m.set_layer(0, B=torch.tensor([[1.0, 0.0, 0.0]]))
    with torch.no_grad():
        assert torch.allclose(m(x, y), 1 - torch.exp(-t), rtol=1e-14, atol=0)
    m.set_layer(0, B=torch.tensor([[0.0, 0.0, 1.0]]), beta=0.5, p=0.7)
    with torch.no_grad():
        assert torch.allclose(m(x, y), torch.log(1 + t**0.5) ** 1.7, rtol=1e-13, atol=0)
    # scaling by A and C: C * (a t)^alpha
    m.set_layer(0, A=torch.full((1, 1), 2.0), B=torch.tensor([[0.0, 1.0, 0.0]]), alpha=0.5)
    m.set_output(torch.full((1, 1), 3.0))
    with torch.no_grad():
        assert torch.allclose(m(x, y), 3.0 * (2.0 * t) ** 0.5, rtol=1e-14, atol=0)


def test_constraints_hold_after_every_optimiser_step() -> None:
    m = ga.create("encoder", "neural_snowflake", dim=3, depth=2, width=4).double()
    opt = torch.optim.Adam(m.parameters(), lr=0.5)  # large steps push raw values through zero
    g = torch.Generator().manual_seed(1)
    X = torch.randn(20, 3, generator=g, dtype=torch.float64)
    target = torch.rand(20, 20, generator=g, dtype=torch.float64) * 3
    target = (target + target.T) / 2
    x, y, z = _points(3, 16, 1.0)
    for _ in range(40):
        opt.zero_grad()
        loss = ((m.pairwise(X) - target) ** 2).mean()
        loss.backward()
        opt.step()
        assert m.constraints_satisfied()
        A, B, C = m.weights()
        assert all(bool((w >= 0).all()) for w in [*A, *B, C])
        assert bool(((m.alphas > 0) & (m.alphas <= 1)).all()) and bool((m.ps >= 0).all())
        with torch.no_grad():
            assert torch.equal(m(x, x), torch.zeros(len(x), dtype=torch.float64))
            assert torch.equal(m(x, y), m(y, x))
            assert (m(x, z) <= m.quasi_metric_constant() * (m(x, y) + m(y, z)) * (1 + 1e-9)).all()


def test_metric_mode_keeps_p_zero_under_training() -> None:
    m = NeuralSnowflake(dim=2, quasi=False).double()
    opt = torch.optim.Adam(m.parameters(), lr=0.3)
    X = torch.randn(10, 2, dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        (m.pairwise(X) ** 2).mean().backward()
        opt.step()
    assert torch.equal(m.ps, torch.zeros(m.depth, dtype=torch.float64))
    assert m.quasi_metric_constant() == 1.0


def test_gradcheck_float64() -> None:
    m = NeuralSnowflake(dim=3, depth=2, width=3, seed=2).double()
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Y = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: m(a, b), (X, Y))
    # gradients at coincident points are finite (the diagonal of a distance matrix)
    D = m.pairwise(X)
    D.sum().backward()
    assert torch.isfinite(X.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_activation_components() -> None:
    s = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    out = snowflake_activation(s, 0.5, 0.5, 1.0)
    assert out.shape == (3, 3)
    assert torch.equal(out[0], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(out[2], torch.tensor([1 - math.exp(-2), 2**0.5, math.log(1 + 2**0.5) ** 2], dtype=torch.float64))


def test_bad_input() -> None:
    m = ga.create("encoder", "neural_snowflake", dim=3)
    with pytest.raises(ValueError, match="x"):
        m(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((2, 3), float("nan")), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="empty"):
        m.pairwise(torch.zeros(0, 3))
    with pytest.raises(TypeError, match="X"):
        m.pairwise(np.zeros((3, 3)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        m.phi(torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="dim"):
        NeuralSnowflake(dim=0)
    with pytest.raises(ValueError, match="depth"):
        NeuralSnowflake(dim=2, depth=0)
    with pytest.raises(ValueError, match="A must be entrywise non-negative"):
        m.set_layer(0, A=-torch.ones(8, 1))
    with pytest.raises(ValueError, match="exponent"):
        m.set_layer(0, alpha=1.5)
    with pytest.raises(ValueError, match="p must be"):
        NeuralSnowflake(dim=2, quasi=False).set_layer(0, p=0.5)
