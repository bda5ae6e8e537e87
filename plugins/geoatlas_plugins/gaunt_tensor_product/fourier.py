r"""Spherical harmonics <-> 2-D Fourier bases and the FFT Gaunt product (Luo et al., ICLR 2024).

Every real spherical harmonic of degree ``l``, written in spherical coordinates
``(theta, phi)`` and continued to the torus ``[0, 2pi)^2``, is a trigonometric polynomial

.. math:: Y_l^m(\theta,\phi) = \sum_{u=-l}^{l}\sum_{v=\pm |m|} y^{l,m}_{u,v}\, e^{i(u\theta + v\phi)}

(Sec. 3.2 of the paper). Products of spherical functions are products of these
trigonometric polynomials, i.e. 2-D convolutions of their coefficient arrays, computed with
the FFT. Projecting the result back on the spherical harmonics,

.. math:: z_{l,m} = \int_{S^2} F\,Y_l^m\,d\Omega
          = \sum_{u,v} F_{u,v}\, 2\pi \sum_{a} y^{l,m}_{a,-v}\, J(u+a),\qquad
          J(k) = \int_0^\pi e^{ik\theta}\sin\theta\,d\theta,

gives exactly the Gaunt-coefficient contraction
``z_{l3 m3} = sum G^{l3 m3}_{l1 m1, l2 m2} x_{l1 m1} y_{l2 m2}``.

Basis: e3nn's real spherical harmonics with ``normalization="integral"`` (orthonormal on
the sphere; e3nn's ordering ``m = -l..l`` and its polar axis ``y``), so features are e3nn
irreps ``0e + 1o + 2e + ...`` coefficient vectors. Both changes of basis are sparse (only
``v = +-|m|``), which the ``O(L^3)`` contractions below use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

#: highest degree of e3nn's spherical harmonics, which define the basis
MAX_DEGREE = 12

ShFunction = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def num_coefficients(L: int) -> int:
    """Number of spherical-harmonic coefficients of degree ``<= L``: ``(L+1)^2``."""
    return (L + 1) ** 2


def e3nn_sh(theta: np.ndarray, phi: np.ndarray, L: int) -> np.ndarray:
    """e3nn's real orthonormal spherical harmonics at ``(theta, phi)`` (polar axis ``y``).

    ``theta`` may lie anywhere on the circle: the polynomial formula continues the functions to
    the torus. Returns ``(*theta.shape, (L+1)^2)``.
    """
    from e3nn import o3

    t = torch.as_tensor(theta, dtype=torch.float64)
    p = torch.as_tensor(phi, dtype=torch.float64)
    vec = torch.stack([torch.sin(t) * torch.sin(p), torch.cos(t), torch.sin(t) * torch.cos(p)], -1)
    return o3.spherical_harmonics(list(range(L + 1)), vec, normalize=False, normalization="integral").numpy()


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) * 2 * np.pi / n
    return np.meshgrid(t, t, indexing="ij")


def sh_to_fourier_dense(L: int, sh: ShFunction = e3nn_sh) -> np.ndarray:
    """Dense change of basis: ``(n_sh, 2L+1, 2L+1)`` complex ``y^{l,m}_{u,v}`` (index ``u+L, v+L``).

    Exact: the degree-``L`` trigonometric polynomials are sampled on a ``(2L+1)^2`` grid and
    transformed with the DFT (no aliasing).
    """
    n = 2 * L + 1
    T, P = _grid(n)
    Y = sh(T, P, L)  # (n, n, n_sh)
    C = np.fft.fft2(np.moveaxis(Y, -1, 0)) / n**2  # index k = frequency mod n
    return np.fft.fftshift(C, axes=(-2, -1))  # index u + L


def _theta_integral(k: np.ndarray) -> np.ndarray:
    """``J(k) = int_0^pi e^{ik theta} sin(theta) d theta`` for integer ``k``."""
    k = np.asarray(k)
    out = np.zeros(k.shape, dtype=np.complex128)
    one = np.abs(k) == 1
    out[one] = 0.5j * np.pi * np.sign(k[one])
    kk = k[~one].astype(np.float64)
    out[~one] = (1 + np.cos(np.pi * kk)) / (1 - kk**2)
    return out


def fourier_to_sh_dense(L_out: int, K: int, sh: ShFunction = e3nn_sh) -> np.ndarray:
    """Dense projection ``(n_sh(L_out), 2K+1, 2K+1)``: ``z_{lm} = sum_{u,v} M[lm,u,v] F_{u,v}``.

    ``F`` is a trigonometric polynomial of degree ``<= K`` in each variable; the integral over
    the sphere is evaluated in closed form (see module docstring), so the projection is exact.
    """
    Yf = sh_to_fourier_dense(L_out, sh)  # (n_sh, 2L+1 [a], 2L+1 [b])
    a = np.arange(-L_out, L_out + 1)
    u = np.arange(-K, K + 1)
    Jm = _theta_integral(u[:, None] + a[None, :])  # (2K+1 [u], 2L+1 [a])
    M = np.zeros((Yf.shape[0], 2 * K + 1, 2 * K + 1), dtype=np.complex128)
    for v in range(-min(K, L_out), min(K, L_out) + 1):  # phi integral keeps b = -v
        M[:, :, v + K] = 2 * np.pi * (Yf[:, :, -v + L_out] @ Jm.T)
    return M


def fast_fft_size(n: int) -> int:
    """Smallest ``m >= n`` whose prime factors are 2, 3 and 5 (fast FFT lengths)."""
    m = max(1, n)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def degree_order(L: int) -> tuple[np.ndarray, np.ndarray]:
    """Degree ``l`` and order ``m`` of each coefficient in e3nn's ordering."""
    ls = np.concatenate([np.full(2 * deg + 1, deg) for deg in range(L + 1)])
    ms = np.concatenate([np.arange(-deg, deg + 1) for deg in range(L + 1)])
    return ls, ms


@lru_cache(maxsize=64)
def _sparse_tables(L: int, kind: str, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Compact tables ``(L+1, 2L+1 [m], 2K+1 [u], 2 [v = +|m|, -|m|])`` for the O(L^3) maps."""
    D = sh_to_fourier_dense(L) if kind == "to_fourier" else fourier_to_sh_dense(L, K)
    ls, ms = degree_order(L)
    W = D.shape[-1]
    c = (W - 1) // 2
    table = np.zeros((L + 1, 2 * L + 1, W, 2), dtype=np.complex128)
    dense_check = np.zeros_like(D)
    for i, (deg, m) in enumerate(zip(ls, ms, strict=True)):
        k = abs(int(m))
        if k > c:
            continue
        table[deg, m + L, :, 0] = D[i, :, c + k]
        dense_check[i, :, c + k] = D[i, :, c + k]
        if k:
            table[deg, m + L, :, 1] = D[i, :, c - k]
            dense_check[i, :, c - k] = D[i, :, c - k]
    resid = np.abs(D - dense_check).max() if D.size else 0.0
    if resid > 1e-10:  # the phi-frequency structure v = +-|m| is what makes the maps O(L^3)
        raise RuntimeError(f"spherical-harmonic basis is not phi-sparse (residual {resid:.2e})")
    mask = np.zeros((L + 1, 2 * L + 1), dtype=bool)
    for deg in range(L + 1):
        mask[deg, L - deg : L + deg + 1] = True
    return table, mask


def _to_grid_layout(x: torch.Tensor, L: int) -> torch.Tensor:
    """``(..., (L+1)^2)`` -> ``(..., L+1, 2L+1)`` (zero where ``|m| > l``)."""
    _, mask = _sparse_tables(L, "to_fourier", L)
    out = x.new_zeros(*x.shape[:-1], L + 1, 2 * L + 1)
    out[..., torch.as_tensor(mask)] = x
    return out


class GauntFFT:
    """Precomputed bases for the Gaunt product of degrees ``L1 x L2 -> L_out`` (float64 tables).

    ``__call__(x, y)`` maps ``(..., (L1+1)^2)`` and ``(..., (L2+1)^2)`` real coefficients to
    ``(..., (L_out+1)^2)``; leading axes broadcast.
    """

    def __init__(self, L1: int, L2: int, L_out: int | None = None) -> None:
        for name, v in (("L1", L1), ("L2", L2)):
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, got {v!r}")
        L_out = L1 + L2 if L_out is None else L_out
        if not isinstance(L_out, int) or L_out < 0:
            raise ValueError(f"L_out must be a non-negative int, got {L_out!r}")
        if max(L1, L2, L_out) > MAX_DEGREE:
            raise ValueError(f"L1, L2 and L_out must be <= {MAX_DEGREE} (e3nn's spherical harmonics stop there), got {L1}, {L2}, {L_out}")
        self.L1, self.L2, self.L_out = L1, L2, L_out
        self.K = L1 + L2  # degree of the product trigonometric polynomial
        self.n_fft = fast_fft_size(2 * self.K + 1)
        self.A1 = torch.as_tensor(_sparse_tables(L1, "to_fourier", L1)[0])
        self.A2 = torch.as_tensor(_sparse_tables(L2, "to_fourier", L2)[0])
        B, mask = _sparse_tables(L_out, "to_sh", self.K)
        self.B = torch.as_tensor(B)
        self.mask_out = torch.as_tensor(mask)
        self._cache: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def tables(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The change-of-basis tables as real tensors of ``dtype`` (cached).

        ``A1``, ``A2``: ``(l, m, u, s, 2)`` (real and imaginary parts); ``B``: ``(l, m, u, s, 2)``
        holding ``(Re B, -Im B)`` so that ``Re(F B) = sum_c F_c B_c``.
        """
        if dtype not in self._cache:
            A1 = torch.view_as_real(self.A1).to(dtype)
            A2 = torch.view_as_real(self.A2).to(dtype)
            B = torch.stack([self.B.real, -self.B.imag], -1).to(dtype)
            self._cache[dtype] = (A1, A2, B)
        return self._cache[dtype]

    def to_fourier(self, x: torch.Tensor, L: int, A: torch.Tensor) -> torch.Tensor:
        """SH coefficients ``(..., (L+1)^2)`` -> complex Fourier coefficients ``(..., 2L+1 [u], 2L+1 [v])``.

        ``A`` is the real view ``(l, m, u, s, 2)`` of the sparse table (see :meth:`tables`).
        """
        X = _to_grid_layout(x, L).to(A.dtype)  # (..., l, m)
        G = torch.view_as_complex(torch.einsum("...lm,lmusc->...umsc", X, A).contiguous())  # O(L^3)
        k = torch.arange(-L, L + 1).abs()  # |m| of each m column
        F = G.new_zeros(*x.shape[:-1], 2 * L + 1, 2 * L + 1)
        F.index_add_(-1, k + L, G[..., 0])  # v = +|m|
        F.index_add_(-1, L - k[k > 0], G[..., k > 0, 1])  # v = -|m|, m != 0
        return F

    def to_sh(self, F: torch.Tensor, B: torch.Tensor | None = None) -> torch.Tensor:
        """Fourier coefficients ``(..., 2K+1, 2K+1)`` -> real SH coefficients ``(..., (L_out+1)^2)``."""
        L, K = self.L_out, self.K
        if B is None:
            B = self.tables(F.real.dtype)[2]
        m = torch.arange(-L, L + 1).abs().clamp_max(K)
        Fp = torch.view_as_real(F[..., :, K + m].contiguous())  # (..., u, m, 2): column v = +|m|
        Fm = torch.view_as_real(F[..., :, K - m].contiguous())  # column v = -|m|
        Z = torch.einsum("...umc,lmuc->...lm", Fp, B[..., 0, :]) + torch.einsum("...umc,lmuc->...lm", Fm, B[..., 1, :])
        if L > K:
            Z = Z.masked_fill(torch.arange(-L, L + 1).abs() > K, 0.0)
        return Z[..., self.mask_out]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n1, n2 = num_coefficients(self.L1), num_coefficients(self.L2)
        if x.shape[-1] != n1:
            raise ValueError(f"x must have (L1+1)^2 = {n1} coefficients on its last axis, got {x.shape[-1]}")
        if y.shape[-1] != n2:
            raise ValueError(f"y must have (L2+1)^2 = {n2} coefficients on its last axis, got {y.shape[-1]}")
        dtype = torch.promote_types(x.dtype, y.dtype)
        if not dtype.is_floating_point:
            dtype = torch.get_default_dtype()
        A1, A2, B = self.tables(dtype)
        Fx = self._embed(self.to_fourier(x, self.L1, A1), self.L1)
        Fy = self._embed(self.to_fourier(y, self.L2, A2), self.L2)
        # 2-D convolution of the coefficient arrays = pointwise product of the (real) grid values
        # on an n x n grid, n >= 2K+1 (exact: the product has degree <= K in each variable)
        K = self.K
        gx = torch.fft.ifft2(self._to_fft_layout(Fx), norm="forward").real
        gy = torch.fft.ifft2(self._to_fft_layout(Fy), norm="forward").real
        Fz = torch.fft.fft2(gx * gy, norm="forward")
        Fz = torch.roll(Fz, shifts=(K, K), dims=(-2, -1))[..., : 2 * K + 1, : 2 * K + 1]
        return self.to_sh(Fz, B)

    def _to_fft_layout(self, F: torch.Tensor) -> torch.Tensor:
        """Centred ``(..., 2K+1, 2K+1)`` coefficients -> FFT order on the ``n_fft`` grid (index ``u mod n``)."""
        extra = self.n_fft - (2 * self.K + 1)
        F = torch.nn.functional.pad(F, (0, extra, 0, extra))
        return torch.roll(F, shifts=(-self.K, -self.K), dims=(-2, -1))

    def _embed(self, F: torch.Tensor, L: int) -> torch.Tensor:
        """Zero-pad ``(..., 2L+1, 2L+1)`` to the FFT size ``(..., 2K+1, 2K+1)`` (centred)."""
        pad = self.K - L
        return torch.nn.functional.pad(F, (pad, pad, pad, pad))


def gaunt_tensor(L1: int, L2: int, L_out: int, sh: ShFunction = e3nn_sh) -> np.ndarray:
    """The Gaunt coefficients ``G[i3, i1, i2] = int Y_{i1} Y_{i2} Y_{i3} dOmega`` in basis ``sh``.

    Computed with the same Fourier machinery (dense tables, float64); used to check the FFT
    product and, with a complex ``sh``, against ``sympy.physics.wigner.gaunt``.
    """
    K = L1 + L2
    A1 = sh_to_fourier_dense(L1, sh)
    A2 = sh_to_fourier_dense(L2, sh)
    M = fourier_to_sh_dense(L_out, K, sh)
    n = 2 * K + 1
    out = np.zeros((M.shape[0], A1.shape[0], A2.shape[0]), dtype=np.complex128)
    P1 = np.zeros((A1.shape[0], n, n), dtype=np.complex128)
    P1[:, K - L1 : K + L1 + 1, K - L1 : K + L1 + 1] = A1
    P2 = np.zeros((A2.shape[0], n, n), dtype=np.complex128)
    P2[:, K - L2 : K + L2 + 1, K - L2 : K + L2 + 1] = A2
    g1 = np.fft.ifft2(np.fft.ifftshift(P1, axes=(-2, -1)), norm="forward")
    g2 = np.fft.ifft2(np.fft.ifftshift(P2, axes=(-2, -1)), norm="forward")
    for j in range(A2.shape[0]):
        prod = np.fft.fftshift(np.fft.fft2(g1 * g2[j], norm="forward"), axes=(-2, -1))  # (n1, n, n)
        out[:, :, j] = np.einsum("kuv,iuv->ki", M, prod)
    return out
