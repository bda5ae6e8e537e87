"""Tensor representations of subgroups of O(3) and the projectors onto equivariant maps.

Features are direct sums of channels of type ``T0`` (scalars, dim 1), ``T1`` (vectors, dim 3)
and ``T2`` (matrices, dim 9, row-major ``vec``), on which ``g`` in O(3) acts by ``1``, ``g`` and
``g (x) g``. For a candidate group ``G`` given by Lie-algebra generators ``A`` and discrete
generators ``h`` (Finzi et al.'s EMLP recipe, used by PER), the equivariant linear maps
``T_a -> T_b`` are the null space of

    drho_b(A) W - W drho_a(A) = 0,    rho_b(h) W rho_a(h)^{-1} - W = 0,

and ``P_G = Q Q^T`` (``Q`` an orthonormal null-space basis from the SVD) is the orthogonal
projector onto them (Kim et al., ICML 2023, Sec. 4).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

TYPE_DIMS = {0: 1, 1: 3, 2: 9}


def _lie(axis: int) -> np.ndarray:
    """Generator of rotations about coordinate ``axis``."""
    L = np.zeros((3, 3))
    i, j = [k for k in range(3) if k != axis]
    L[i, j], L[j, i] = -1.0, 1.0
    return L


#: candidate groups: (Lie generators, discrete generators), acting on R^3
CANDIDATE_GROUPS: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {
    "o3": ([_lie(0), _lie(1), _lie(2)], [-np.eye(3)]),
    "so3": ([_lie(0), _lie(1), _lie(2)], []),
    "o2_xy": ([_lie(2)], [np.diag([1.0, -1.0, 1.0])]),  # O(2) acting on (x, y), z fixed
    "o2_yz": ([_lie(0)], [np.diag([1.0, 1.0, -1.0])]),  # O(2) acting on (y, z), x fixed
    "o2_xz": ([_lie(1)], [np.diag([-1.0, 1.0, 1.0])]),  # O(2) acting on (x, z), y fixed
}


def rho(t: int, g: np.ndarray) -> np.ndarray:
    """Group representation of type ``t`` (``g`` a 3x3 matrix)."""
    return np.ones((1, 1)) if t == 0 else g if t == 1 else np.kron(g, g)


def drho(t: int, A: np.ndarray) -> np.ndarray:
    """Lie-algebra representation of type ``t``."""
    if t == 0:
        return np.zeros((1, 1))
    if t == 1:
        return A
    eye = np.eye(3)
    return np.kron(A, eye) + np.kron(eye, A)


def _nullspace_projector(C: np.ndarray, dim: int, tol: float = 1e-8) -> np.ndarray:
    if C.size == 0:
        return np.eye(dim)
    _, s, Vt = np.linalg.svd(C)
    rank = int((s > tol * max(1.0, s.max(initial=0.0))).sum())
    Q = Vt[rank:].T
    return Q @ Q.T


@cache
def weight_projector(group: str, t_out: int, t_in: int) -> np.ndarray:
    """Projector ``(d_out d_in, d_out d_in)`` onto ``Hom_G(T_in, T_out)`` (row-major ``vec W``)."""
    lie, disc = CANDIDATE_GROUPS[group]
    d_out, d_in = TYPE_DIMS[t_out], TYPE_DIMS[t_in]
    rows = []
    eye_in, eye_out = np.eye(d_in), np.eye(d_out)
    for A in lie:  # vec(X W Y) = (X kron Y^T) vec(W) for row-major vec
        rows.append(np.kron(drho(t_out, A), eye_in) - np.kron(eye_out, drho(t_in, A).T))
    for h in disc:
        rows.append(np.kron(rho(t_out, h), np.linalg.inv(rho(t_in, h)).T) - np.eye(d_out * d_in))
    C = np.concatenate(rows, 0) if rows else np.zeros((0, d_out * d_in))
    return _nullspace_projector(C, d_out * d_in)


@cache
def bias_projector(group: str, t: int) -> np.ndarray:
    """Projector onto the ``G``-invariant vectors of ``T_t``."""
    lie, disc = CANDIDATE_GROUPS[group]
    d = TYPE_DIMS[t]
    rows = [drho(t, A) for A in lie] + [rho(t, h) - np.eye(d) for h in disc]
    C = np.concatenate(rows, 0) if rows else np.zeros((0, d))
    return _nullspace_projector(C, d)


def sample_group(group: str, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` Haar-random elements ``(n, 3, 3)`` of a candidate group."""
    if group not in CANDIDATE_GROUPS:
        raise ValueError(f"unknown candidate group {group!r}; choose from {sorted(CANDIDATE_GROUPS)}")
    if group in ("o3", "so3"):
        a = torch.randn(n, 3, 3, generator=generator, dtype=dtype)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        if group == "so3":
            q = q * torch.linalg.det(q).sign()[:, None, None]  # det -1 -> -q has det +1 (n odd)
        return q
    axis = {"o2_xy": 2, "o2_yz": 0, "o2_xz": 1}[group]
    theta = 2 * torch.pi * torch.rand(n, generator=generator, dtype=dtype)
    flip = torch.rand(n, generator=generator, dtype=dtype) < 0.5
    i, j = [k for k in range(3) if k != axis]
    g = torch.eye(3, dtype=dtype).repeat(n, 1, 1)
    c, s = torch.cos(theta), torch.sin(theta)
    g[:, i, i], g[:, i, j], g[:, j, i], g[:, j, j] = c, -s, s, c
    g[flip, :, j] = -g[flip, :, j]  # compose with the in-plane reflection
    return g


def act_type(t: int, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply ``rho_t(g)`` (``g`` ``(B, 3, 3)``) to channels ``x`` ``(B, C, d_t)``."""
    if t == 0:
        return x
    if t == 1:
        return torch.einsum("bij,bcj->bci", g, x)
    M = x.reshape(*x.shape[:2], 3, 3)
    return (g.unsqueeze(1) @ M @ g.transpose(-1, -2).unsqueeze(1)).reshape(x.shape)
