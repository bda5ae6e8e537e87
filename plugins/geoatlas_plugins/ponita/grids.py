"""Orientation grids on S^1 and S^2 shared by all fibres (deterministic, seeded)."""

from __future__ import annotations

import math

import torch

GRID_KINDS = ("uniform", "repulsion", "fibonacci", "octahedron", "icosahedron")


def uniform_grid_s1(num: int, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``num`` equally spaced unit vectors on the circle: ``o_k = (cos 2πk/N, sin 2πk/N)``.

    Returns
    -------
    Tensor of shape ``(num, 2)``.
    """
    _check_num(num)
    ang = 2 * math.pi * torch.arange(num, dtype=torch.float64) / num
    return torch.stack([ang.cos(), ang.sin()], -1).to(dtype or torch.get_default_dtype())


def fibonacci_grid_s2(num: int, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The Fibonacci (golden-spiral) lattice of ``num`` points on S^2 (deterministic).

    Returns
    -------
    Tensor of shape ``(num, 3)``.
    """
    _check_num(num)
    k = torch.arange(num, dtype=torch.float64) + 0.5
    z = 1 - 2 * k / num
    phi = math.pi * (3 - math.sqrt(5)) * k
    r = (1 - z * z).clamp_min(0).sqrt()
    return torch.stack([r * phi.cos(), r * phi.sin(), z], -1).to(dtype or torch.get_default_dtype())


def repulsion_grid_s2(
    num: int, *, steps: int = 500, step_size: float = 0.2, seed: int = 0, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """A near-uniform grid on S^2 obtained by minimising a Coulomb energy (the paper's grid).

    Points start at seeded Gaussian directions and follow projected, normalised gradient steps
    (linearly decaying step size) on the
    energy :math:`\\sum_{i\\neq j} \\|o_i - o_j\\|^{-2}` (the reference code repels with geodesic
    distances and random kicks, unseeded; this version is deterministic for a given ``seed``).

    Returns
    -------
    Tensor of shape ``(num, 3)`` with unit rows.
    """
    _check_num(num)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num, 3, generator=gen, dtype=torch.float64)
    x = x / x.norm(dim=-1, keepdim=True)
    if num > 1:
        eye = torch.eye(num, dtype=torch.bool)
        for k in range(steps):
            diff = x[:, None, :] - x[None, :, :]
            d2 = (diff * diff).sum(-1).masked_fill(eye, 1.0)
            # gradient of sum_j |x_i - x_j|^-2 w.r.t. x_i, normalised per point
            force = (diff / d2.unsqueeze(-1) ** 2).masked_fill(eye.unsqueeze(-1), 0.0).sum(1)
            force = force - (force * x).sum(-1, keepdim=True) * x  # tangent part
            scale = force.norm(dim=-1).max().clamp_min(1e-12)
            lr = step_size * (1 - k / steps) / math.sqrt(num)  # linearly decaying step
            x = x + lr * force / scale
            x = x / x.norm(dim=-1, keepdim=True)
    return x.to(dtype or torch.get_default_dtype())


def octahedron_grid(*, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The 6 vertices ``±e_x, ±e_y, ±e_z``: mapped onto themselves by the 24 cube rotations."""
    e = torch.eye(3, dtype=torch.float64)
    return torch.cat([e, -e]).to(dtype or torch.get_default_dtype())


def icosahedron_grid(*, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The 12 vertices of the regular icosahedron (unit length)."""
    p = (1 + math.sqrt(5)) / 2
    v = []
    for a in (-1.0, 1.0):
        for b in (-p, p):
            v += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    t = torch.tensor(v, dtype=torch.float64)
    return (t / t.norm(dim=-1, keepdim=True)).to(dtype or torch.get_default_dtype())


def cube_rotations(*, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The 24 rotation matrices of the cube (signed permutation matrices with det +1)."""
    import itertools

    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((-1.0, 1.0), repeat=3):
            m = torch.zeros(3, 3, dtype=torch.float64)
            for i, j in enumerate(perm):
                m[i, j] = signs[i]
            if torch.linalg.det(m) > 0:
                mats.append(m)
    return torch.stack(mats).to(dtype or torch.get_default_dtype())


def orientation_grid(
    dim: int, num: int, kind: str = "repulsion", *, seed: int = 0, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The grid of ``num`` orientations on S^{dim-1} shared by every fibre.

    Parameters
    ----------
    dim : int
        2 (orientations on S^1, always the uniform grid) or 3 (S^2).
    num : int
        Number of orientations (6 for ``"octahedron"``, 12 for ``"icosahedron"``).
    kind : str
        For ``dim=3``: ``"repulsion"`` (the paper's, seeded), ``"fibonacci"``, ``"octahedron"``,
        ``"icosahedron"``. For ``dim=2``: ``"uniform"`` (``"repulsion"`` is accepted and gives the
        uniform grid, which is the energy minimiser on S^1).
    seed : int
        Seed of the repulsion grid's initialisation.

    Returns
    -------
    Tensor of shape ``(num, dim)``.
    """
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim!r}")
    if kind not in GRID_KINDS:
        raise ValueError(f"grid kind must be one of {', '.join(GRID_KINDS)}, got {kind!r}")
    if dim == 2:
        if kind not in ("uniform", "repulsion"):
            raise ValueError(f"for dim=2 the grid is 'uniform', got {kind!r}")
        return uniform_grid_s1(num, dtype=dtype)
    if kind == "uniform" or kind == "repulsion":
        return repulsion_grid_s2(num, seed=seed, dtype=dtype)
    if kind == "fibonacci":
        return fibonacci_grid_s2(num, dtype=dtype)
    if kind == "octahedron":
        if num != 6:
            raise ValueError(f"the octahedron grid has 6 orientations, got num_orientations={num}")
        return octahedron_grid(dtype=dtype)
    if num != 12:
        raise ValueError(f"the icosahedron grid has 12 orientations, got num_orientations={num}")
    return icosahedron_grid(dtype=dtype)


def _check_num(num: int) -> None:
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ValueError(f"num_orientations must be a positive integer, got {num!r}")
