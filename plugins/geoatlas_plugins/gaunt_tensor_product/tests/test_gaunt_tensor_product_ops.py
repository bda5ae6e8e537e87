"""Gaunt tensor product: sympy Gaunt coefficients, quadrature, e3nn Wigner-D and tensor products."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import legendre
from sympy.physics.wigner import gaunt, real_gaunt, wigner_3j

import geoatlas as ga
from geoatlas.testing import check_equivariance, check_group
from geoatlas_plugins.gaunt_tensor_product.fourier import (
    GauntFFT,
    degree_order,
    e3nn_sh,
    gaunt_tensor,
)


def complex_sh(theta: np.ndarray, phi: np.ndarray, L: int) -> np.ndarray:
    """Condon-Shortley complex harmonics (z polar axis) as trigonometric polynomials on the torus.

    Independent of e3nn: ``Y_l^m = N (-1)^m sin^m(theta) P_l^{(m)}(cos theta) e^{i m phi}``, using
    the signed ``sin(theta)`` so the formula continues to ``theta in (pi, 2 pi)``.
    """
    out = []
    for deg in range(L + 1):
        for m in range(-deg, deg + 1):
            k = abs(m)
            d = legendre.Legendre.basis(deg).deriv(k)(np.cos(theta)) if k <= deg else 0 * theta
            norm = math.sqrt((2 * deg + 1) / (4 * math.pi) * math.factorial(deg - k) / math.factorial(deg + k))
            y = norm * (-1) ** k * np.sin(theta) ** k * d * np.exp(1j * k * phi)
            out.append(y if m >= 0 else (-1) ** k * np.conj(y))
    return np.stack(out, -1)


def sympy_real_sh(theta: np.ndarray, phi: np.ndarray, L: int) -> np.ndarray:
    """sympy's real harmonics ``Z_l^mu`` from the complex ones through sympy's unitary ``U``."""
    Y = complex_sh(theta, phi, L)
    out = []
    idx = {(deg, m): i for i, (deg, m) in enumerate(zip(*degree_order(L), strict=True))}
    for deg in range(L + 1):
        for mu in range(-deg, deg + 1):
            if mu == 0:
                z = Y[..., idx[deg, 0]]
            elif mu > 0:
                z = (Y[..., idx[deg, mu]] + (-1) ** mu * Y[..., idx[deg, -mu]]) / math.sqrt(2)
            else:
                z = 1j * ((-1) ** mu * Y[..., idx[deg, mu]] - Y[..., idx[deg, -mu]]) / math.sqrt(2)
            out.append(z.real)
    return np.stack(out, -1)


def _d(R: torch.Tensor, L: int) -> torch.Tensor:
    return ga.create("group", "so3_sh").wigner_d(R, L)


def test_complex_gaunt_matches_sympy() -> None:
    L1, L2, Lo = 2, 2, 3
    G = gaunt_tensor(L1, L2, Lo, sh=complex_sh)
    ls1, ms1 = degree_order(L1)
    ls3, ms3 = degree_order(Lo)
    err, nonzero = 0.0, 0
    for i3, (l3, m3) in enumerate(zip(ls3, ms3, strict=True)):
        for i1, (l1, m1) in enumerate(zip(ls1, ms1, strict=True)):
            for i2, (l2, m2) in enumerate(zip(ls1, ms1, strict=True)):
                if m1 + m2 + m3 != 0:  # sympy is exactly 0 there; checked below in bulk
                    continue
                ref = float(gaunt(int(l1), int(l2), int(l3), int(m1), int(m2), int(m3)))
                err = max(err, abs(G[i3, i1, i2] - ref))
                nonzero += ref != 0
    sel = (ms3[:, None, None] + ms1[None, :, None] + ms1[None, None, :]) != 0
    assert np.abs(G[sel]).max() < 1e-12
    assert nonzero > 50 and err < 1e-12, (nonzero, err)


def test_real_gaunt_matches_sympy() -> None:
    L = 2
    G = gaunt_tensor(L, L, 2 * L, sh=sympy_real_sh).real
    ls, ms = degree_order(L)
    ls3, ms3 = degree_order(2 * L)
    rng = np.random.default_rng(0)
    err = 0.0
    for i3 in rng.choice(len(ls3), 12, replace=False):
        for i1 in range(len(ls)):
            for i2 in range(len(ls)):
                ref = float(real_gaunt(int(ls[i1]), int(ls[i2]), int(ls3[i3]), int(ms[i1]), int(ms[i2]), int(ms3[i3])))
                err = max(err, abs(G[i3, i1, i2] - ref))
    assert err < 1e-12


def test_fft_product_equals_dense_gaunt_and_quadrature() -> None:
    L1, L2, Lo = 3, 2, 5
    G = gaunt_tensor(L1, L2, Lo)
    assert np.abs(G.imag).max() < 1e-12
    # Gauss-Legendre x uniform quadrature of int Y Y Y, exact for these degrees
    ct, w = legendre.leggauss(12)
    ph = np.arange(24) * 2 * np.pi / 24
    T, P = np.meshgrid(np.arccos(ct), ph, indexing="ij")
    W = np.outer(w, np.full(24, 2 * np.pi / 24))
    Y = e3nn_sh(T, P, Lo)
    Gq = np.einsum("tp,tpk,tpi,tpj->kij", W, Y, Y[..., : (L1 + 1) ** 2], Y[..., : (L2 + 1) ** 2])
    assert np.abs(Gq - G.real).max() < 1e-12
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 16, generator=gen, dtype=torch.float64)
    y = torch.randn(5, 9, generator=gen, dtype=torch.float64)
    z = GauntFFT(L1, L2, Lo)(x, y)
    zref = torch.einsum("kij,bi,bj->bk", torch.as_tensor(G.real), x, y)
    assert (z - zref).abs().max() < 1e-12
    # truncation L_out < L1 + L2 keeps the leading coefficients
    z2 = GauntFFT(L1, L2, 2)(x, y)
    assert (z2 - zref[:, :9]).abs().max() < 1e-12


def test_pointwise_product_on_sphere() -> None:
    """x (x)_G y is the SH projection of the pointwise product f_x * f_y (degree <= L1+L2: exact)."""
    L = 3
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, generator=gen, dtype=torch.float64)
    y = torch.randn(16, generator=gen, dtype=torch.float64)
    z = GauntFFT(L, L)(x, y)
    v = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    Y3 = o3.spherical_harmonics(list(range(L + 1)), v, normalize=True, normalization="integral")
    Y6 = o3.spherical_harmonics(list(range(2 * L + 1)), v, normalize=True, normalization="integral")
    assert ((Y3 @ x) * (Y3 @ y) - Y6 @ z).abs().max() < 1e-12


@pytest.mark.parametrize("L1,L2,Lo", [(1, 1, 2), (2, 3, 5), (6, 6, 6)])
def test_equivariance_wigner_d(L1: int, L2: int, Lo: int) -> None:
    gen = torch.Generator().manual_seed(2)
    op = GauntFFT(L1, L2, Lo)
    x = torch.randn(3, (L1 + 1) ** 2, generator=gen, dtype=torch.float64)
    y = torch.randn(3, (L2 + 1) ** 2, generator=gen, dtype=torch.float64)
    z = op(x, y)
    for R in ga.create("group", "so3_sh").sample(3, gen, dtype=torch.float64):
        err = (op(x @ _d(R, L1).T, y @ _d(R, L2).T) - z @ _d(R, Lo).T).abs().max()
        assert err < 1e-11 * max(1.0, float(z.abs().max()))


@pytest.mark.parametrize("l1,l2", [(1, 1), (1, 2), (2, 2), (2, 3)])
def test_agrees_with_e3nn_full_tensor_product(l1: int, l2: int) -> None:
    """On paths with l1+l2+l3 even the Gaunt product is e3nn's TP path times a constant.

    Constant: ``z_G / z_e3nn = +- sqrt((2l1+1)(2l2+1)/(4 pi)) (l1 l2 l3; 0 0 0)`` with e3nn's
    default "component" irrep normalisation. Odd paths (e.g. 1o x 1o -> 1e) are absent.
    """
    p1, p2 = (-1) ** l1, (-1) ** l2
    tp = o3.FullTensorProduct(o3.Irreps([(1, (l1, p1))]), o3.Irreps([(1, (l2, p2))]))
    gen = torch.Generator().manual_seed(3)
    L = max(l1, l2)
    op = GauntFFT(L, L, l1 + l2)
    xs = torch.randn(6, 2 * l1 + 1, generator=gen, dtype=torch.float64)
    ys = torch.randn(6, 2 * l2 + 1, generator=gen, dtype=torch.float64)
    x = torch.zeros(6, (L + 1) ** 2, dtype=torch.float64)
    y = torch.zeros_like(x)
    x[:, l1 * l1 : (l1 + 1) ** 2] = xs
    y[:, l2 * l2 : (l2 + 1) ** 2] = ys
    zg = op(x, y)
    ze = tp.to(torch.float64)(xs, ys)
    covered = 0
    for (_mul, ir), sl in zip(tp.irreps_out, tp.irreps_out.slices(), strict=True):
        l3 = ir.l
        block_g = zg[:, l3 * l3 : (l3 + 1) ** 2]
        block_e = ze[:, sl]
        if (l1 + l2 + l3) % 2 or ir.p != (-1) ** l3:
            continue
        covered += 1
        ratio = (block_g * block_e).sum() / (block_e * block_e).sum()
        assert (block_g - ratio * block_e).abs().max() < 1e-7  # e3nn w3j tables: ~1e-8 accurate
        expected = math.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * math.pi)) * float(wigner_3j(l1, l2, l3, 0, 0, 0))
        assert abs(abs(float(ratio)) - abs(expected)) < 1e-7  # e3nn tabulates w3j to ~1e-8
    assert covered == min(l1, l2) + 1  # the parity-even paths |l1-l2|, |l1-l2|+2, ..., l1+l2
    # degrees that only odd paths reach are zero in the Gaunt product
    for l3 in range(abs(l1 - l2) + 1, l1 + l2, 2):
        assert zg[:, l3 * l3 : (l3 + 1) ** 2].abs().max() < 1e-12


def test_layer_equivariance_and_learnable_weights() -> None:
    torch.manual_seed(0)
    layer = ga.create("encoder", "gaunt_tensor_product", L1=3, channels=4).double()
    with torch.no_grad():
        for w in (layer.w1, layer.w2, layer.w_out):
            w.uniform_(0.5, 1.5)
    x = torch.randn(5, 4, 16, dtype=torch.float64)
    G = ga.create("group", "so3_sh")
    rep = check_equivariance(layer, G, x, input_type="features", output="equivariant", atol=1e-10, rtol=1e-10)
    assert rep["max_error"] < 1e-10 * max(1.0, rep["scale"])  # limited by e3nn D-matrix accuracy
    y = torch.randn(5, 4, 16, dtype=torch.float64)
    z = layer(x, y)
    assert z.shape == (5, 4, 49)
    z.sum().backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in (layer.w1, layer.w2, layer.w_out))


def test_gradcheck() -> None:
    op = GauntFFT(2, 1, 2)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op, (x, y))


def test_group_laws() -> None:
    G = ga.create("group", "so3_sh")
    gen = torch.Generator().manual_seed(0)
    check_group(G, data={"features": torch.randn(4, 16, generator=gen, dtype=torch.float64)})


def test_bad_input() -> None:
    layer = ga.create("encoder", "gaunt_tensor_product", L1=2, channels=3)
    with pytest.raises(ValueError, match="coefficients"):
        layer(torch.randn(2, 3, 10))
    with pytest.raises(ValueError, match="channels"):
        layer(torch.randn(2, 4, 9))
    with pytest.raises(ValueError, match="NaN"):
        layer(torch.full((2, 3, 9), float("nan")))
    with pytest.raises(TypeError, match="Tensor"):
        layer([1.0])
    with pytest.raises(ValueError, match="L1"):
        GauntFFT(-1, 2)
    with pytest.raises(ValueError, match="channels"):
        ga.create("encoder", "gaunt_tensor_product", L1=2, channels=0)
    with pytest.raises(ValueError, match="L1 == L2"):
        ga.create("encoder", "gaunt_tensor_product", L1=2, L2=1)(torch.randn(1, 1, 9))
    G = ga.create("group", "so3_sh")
    with pytest.raises(ValueError, match=r"\(L\+1\)\^2"):
        G.act(G.identity(), torch.randn(3, 10), "features")
    with pytest.raises(TypeError, match="does not act on 'image'"):
        G.act(G.identity(), torch.randn(1, 1, 4, 4), "image")


@settings(max_examples=25, deadline=None)
@given(L1=st.integers(0, 4), L2=st.integers(0, 4), seed=st.integers(0, 1000))
def test_hypothesis_commutative_and_bilinear(L1: int, L2: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, (L1 + 1) ** 2, generator=gen, dtype=torch.float64)
    y = torch.randn(2, (L2 + 1) ** 2, generator=gen, dtype=torch.float64)
    y2 = torch.randn(2, (L2 + 1) ** 2, generator=gen, dtype=torch.float64)
    op, op_t = GauntFFT(L1, L2), GauntFFT(L2, L1)
    assert (op(x, y) - op_t(y, x)).abs().max() < 1e-11
    assert (op(x, 2 * y - y2) - 2 * op(x, y) + op(x, y2)).abs().max() < 1e-10
    # the constant function 1 = sqrt(4 pi) Y_00 is the unit of the pointwise product
    one = torch.zeros(1, 1, dtype=torch.float64)
    one[0, 0] = math.sqrt(4 * math.pi)
    assert (GauntFFT(0, L2)(one, y) - y).abs().max() < 1e-11
