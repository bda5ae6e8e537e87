"""Spherical harmonics + SIREN: scipy oracle, addition theorem, orthonormality, symmetries, errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import sph_harm_y

import geoatlas as ga
from geoatlas_plugins.spherical_harmonics_siren.sh import (
    fibonacci_lattice,
    real_spherical_harmonics,
)


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    X = np.stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)], axis=1)
    X[:4] = [[0, 90], [37, -90], [180, 0], [-180, 45]]  # poles and the dateline
    return torch.tensor(X, dtype=torch.float64)


def test_matches_scipy_sph_harm_y():
    X = _points(400)
    L = 20
    Y = real_spherical_harmonics(X, L).numpy()
    theta, phi = np.radians(X[:, 1].numpy() + 90), np.radians(X[:, 0].numpy() + 180)
    err = 0.0
    for ell in range(L):
        for m in range(-ell, ell + 1):
            c = sph_harm_y(ell, abs(m), theta, phi)
            ref = c.real if m == 0 else math.sqrt(2) * (c.real if m > 0 else c.imag)
            err = max(err, float(np.abs(Y[:, ell * ell + ell + m] - ref).max()))
    assert err < 1e-12, err


@settings(max_examples=25, deadline=None)
@given(lon=st.floats(-180, 180), lat=st.floats(-90, 90), L=st.integers(1, 25))
def test_addition_theorem(lon, lat, L):
    Y = real_spherical_harmonics(torch.tensor([[lon, lat]], dtype=torch.float64), L)[0]
    for ell in range(L):
        s = float((Y[ell * ell : (ell + 1) ** 2] ** 2).sum())
        assert abs(s - (2 * ell + 1) / (4 * math.pi)) < 1e-12


def test_orthonormal_by_quadrature():
    lon, lat, _ = fibonacci_lattice(40000)
    Y = real_spherical_harmonics(torch.tensor(np.stack([lon, lat], 1)), 8)
    G = (4 * math.pi / len(lon)) * Y.T @ Y
    assert float((G - torch.eye(64, dtype=G.dtype)).abs().max()) < 5e-3


def test_azimuthal_rotation_and_poles():
    X = _points(50, seed=1)
    L, alpha = 7, 23.0
    Y = real_spherical_harmonics(X, L)
    Xr = X.clone()
    Xr[:, 0] = torch.remainder(Xr[:, 0] + alpha + 180, 360) - 180
    Yr = real_spherical_harmonics(Xr, L)
    a = math.radians(alpha)
    for ell in range(1, L):
        for m in range(1, ell + 1):
            c, s = Y[:, ell * ell + ell + m], Y[:, ell * ell + ell - m]
            rc = c * math.cos(m * a) - s * math.sin(m * a)
            rs = s * math.cos(m * a) + c * math.sin(m * a)
            assert float((Yr[:, ell * ell + ell + m] - rc).abs().max()) < 1e-10
            assert float((Yr[:, ell * ell + ell - m] - rs).abs().max()) < 1e-10
    poles = torch.tensor([[lon, lat] for lat in (90.0, -90.0) for lon in (-180.0, -33.0, 0.0, 121.0)], dtype=torch.float64)
    P = real_spherical_harmonics(poles, 12)
    assert float((P[:4] - P[0]).abs().max()) < 1e-12 and float((P[4:] - P[4]).abs().max()) < 1e-12


def test_encoders_created_by_name():
    pe = ga.create("encoder", "spherical_harmonics", legendre_polys=6)
    x = _points(10).float()
    assert pe(x).shape == (10, 36)
    torch.manual_seed(0)
    enc = ga.create("encoder", "sh_siren", out_features=5)
    out = enc(x)
    assert out.shape == (10, 5) and torch.isfinite(out).all()
    # SIREN initialisation: the first layer draws from U(-1/n_in, 1/n_in), later ones U(-sqrt(6/n)/w0, ...)
    first = enc.net.layers[0].linear.weight
    assert float(first.abs().max()) <= 1 / 100 and enc.net.layers[0].w0 == 30.0
    second = enc.net.layers[1].linear.weight
    assert float(second.abs().max()) <= math.sqrt(6 / 64) and float(second.abs().max()) > 1 / 64
    out.sum().backward()  # differentiable end to end


def test_checkerboard_dataset():
    b = ga.create("dataset", "checkerboard_sphere", num_samples=500, seed=3).load()
    assert b.X.shape == (500, 2) and set(np.unique(b.y)) <= set(range(16))
    assert np.abs(b.X[:, 1]).max() <= 90 and np.abs(b.X[:, 0]).max() <= 180
    b2 = ga.create("dataset", "checkerboard_sphere", num_samples=500, seed=3).load()
    assert np.array_equal(b.X, b2.X) and np.array_equal(b.y, b2.y)
    # the support points themselves take their own labels
    lon, lat, lab = fibonacci_lattice(200, 16)
    assert len(lon) == 200 and np.array_equal(lab[:16], np.mod(np.arange(-100, -84), 16))


def test_bad_input():
    pe = ga.create("encoder", "spherical_harmonics", legendre_polys=4)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        pe(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="latitude"):
        pe(torch.tensor([[0.0, 95.0]]))
    with pytest.raises(ValueError, match="NaN"):
        pe(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="empty"):
        pe(torch.zeros(0, 2))
    with pytest.raises((ValueError, TypeError), match="legendre_polys"):
        ga.create("encoder", "spherical_harmonics", legendre_polys=0)
    with pytest.raises((ValueError, TypeError), match="out_features"):
        ga.create("encoder", "sh_siren", out_features=-1)
    with pytest.raises(ValueError, match="num_support"):
        ga.create("dataset", "checkerboard_sphere", num_support=7)
