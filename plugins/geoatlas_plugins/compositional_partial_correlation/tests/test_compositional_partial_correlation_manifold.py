import geoopt
import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_manifold
from geoatlas_plugins.compositional_partial_correlation.simplex import (
    clr,
    helmert_basis,
    ilr,
    ilr_inv,
)


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_check_manifold(parts):
    M = ga.create("manifold", "aitchison_simplex", parts=parts)
    rep = check_manifold(M, n=32)
    assert rep["dist_exp_vs_norm"] < 1e-10 and rep["log_exp"] < 1e-10


def test_ilr_is_isometry_and_inverse():
    g = torch.Generator().manual_seed(0)
    M = ga.create("manifold", "aitchison_simplex", parts=6)
    x, y = M.random_point(20, generator=g), M.random_point(20, generator=g)
    V = helmert_basis(6)
    assert torch.allclose(V.T @ V, torch.eye(5, dtype=V.dtype), atol=1e-12)
    assert torch.allclose(V.T @ torch.ones(6, dtype=V.dtype), torch.zeros(5, dtype=V.dtype), atol=1e-12)
    assert torch.allclose(M.dist(x, y), (ilr(x) - ilr(y)).norm(dim=-1), atol=1e-12)
    assert torch.allclose(ilr_inv(ilr(x)), x, atol=1e-12)
    # clr against its definition with numpy
    xn = x.numpy()
    ref = np.log(xn) - np.log(xn).mean(axis=1, keepdims=True)
    assert np.abs(clr(x).numpy() - ref).max() < 1e-12


def test_distance_scale_and_perturbation_invariance():
    # Aitchison distance is invariant to perturbation (x*p closed) and to scaling of the raw vectors
    g = torch.Generator().manual_seed(1)
    M = ga.create("manifold", "aitchison_simplex", parts=5)
    x, y, p = (M.random_point(10, generator=g) for _ in range(3))
    close = lambda v: v / v.sum(-1, keepdim=True)  # noqa: E731
    assert torch.allclose(M.dist(close(x * p), close(y * p)), M.dist(x, y), atol=1e-12)


def test_riemannian_gradient_matches_directional_derivative():
    g = torch.Generator().manual_seed(2)
    M = ga.create("manifold", "aitchison_simplex", parts=5)
    x = M.random_point(1, generator=g)[0]
    w = torch.randn(5, generator=g, dtype=torch.float64)
    f = lambda z: (torch.sin(z) * w).sum()  # noqa: E731
    xr = x.clone().requires_grad_(True)
    (egrad,) = torch.autograd.grad(f(xr), xr)
    rg = M.egrad2rgrad(x, egrad)
    for _ in range(5):
        u = M.proju(x, torch.randn(5, generator=g, dtype=torch.float64))
        h = 1e-6
        fd = (f(M.expmap(x, h * u)) - f(M.expmap(x, -h * u))) / (2 * h)
        assert abs(float(M.inner(x, rg, u)) - float(fd)) < 1e-7


def test_riemannian_adam_finds_frechet_mean():
    torch.manual_seed(0)
    M = ga.create("manifold", "aitchison_simplex", parts=4)
    data = M.random_point(30, generator=torch.Generator().manual_seed(3))
    p = geoopt.ManifoldParameter(M.random_point(1, generator=torch.Generator().manual_seed(4))[0], manifold=M)
    opt = geoopt.optim.RiemannianAdam([p], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss = M.dist2(p.unsqueeze(0), data).mean()
        loss.backward()
        opt.step()
    target = M.frechet_mean(data)
    assert float(M.dist(p.detach(), target)) < 1e-3
    assert abs(float(p.detach().sum()) - 1) < 1e-10 and bool((p.detach() > 0).all())


def test_bad_input():
    M = ga.create("manifold", "aitchison_simplex", parts=3)
    with pytest.raises(ValueError, match="strictly positive"):
        M.check_point(torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64))
    with pytest.raises(ValueError, match="sum to 1"):
        M.check_point(torch.tensor([[0.2, 0.5, 0.5]], dtype=torch.float64))
    with pytest.raises(ValueError, match="3 parts"):
        M.check_point(torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        M.check_point(torch.tensor([[float("nan"), 0.5, 0.5]], dtype=torch.float64))
    with pytest.raises(ValueError, match="parts"):
        ga.create("manifold", "aitchison_simplex", parts=1)
    with pytest.raises(ValueError, match="tangent"):
        M.check_vector(M.random_point(1), torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
