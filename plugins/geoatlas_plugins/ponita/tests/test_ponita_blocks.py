"""PONITA building blocks: grids, invariants (exact invariance, bijectivity), lifts, graphs."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.ponita.geometry import (
    add_self_loops_coalesced,
    fully_connected_graph,
    invariant_attr_fiber_bundle,
    invariant_attr_point_cloud,
    invariant_attr_rn,
    lift_to_edges,
    radius_graph,
    scalar_to_sphere,
    spatial_invariants,
    sphere_to_scalar,
    sphere_to_vec,
    vec_to_sphere,
)
from geoatlas_plugins.ponita.grids import (
    cube_rotations,
    fibonacci_grid_s2,
    icosahedron_grid,
    octahedron_grid,
    orientation_grid,
    repulsion_grid_s2,
    uniform_grid_s1,
)
from geoatlas_plugins.ponita.layers import PolynomialCutoff, PolynomialFeatures

D = torch.float64
GROUPS = {3: ga.create("group", "se3", translation_scale=3.0), 2: ga.create("group", "se2", translation_scale=3.0)}


def _min_sep(x: torch.Tensor) -> float:
    d = torch.cdist(x, x) + 10 * torch.eye(len(x), dtype=x.dtype)
    return float(d.min())


# ----------------------------------------------------------------------------- grids
def test_grids_deterministic_and_unit() -> None:
    for kind in ("repulsion", "fibonacci"):
        a = orientation_grid(3, 16, kind, seed=3, dtype=D)
        b = orientation_grid(3, 16, kind, seed=3, dtype=D)
        assert torch.equal(a, b)
        assert torch.allclose(a.norm(dim=-1), torch.ones(16, dtype=D), atol=1e-12)
    assert not torch.equal(repulsion_grid_s2(16, seed=0), repulsion_grid_s2(16, seed=1))
    s1 = uniform_grid_s1(8, dtype=D)
    ang = torch.atan2(s1[:, 1], s1[:, 0]) % (2 * math.pi)
    assert torch.allclose(ang, 2 * math.pi * torch.arange(8, dtype=D) / 8, atol=1e-12)


def test_repulsion_spreads_points() -> None:
    # the repulsion grid beats its own random start and approaches the best packing:
    # for N = 6 the optimum is the octahedron (min separation sqrt 2), for 12 the icosahedron
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(16, 3, generator=gen, dtype=D)
    start = start / start.norm(dim=-1, keepdim=True)
    assert _min_sep(repulsion_grid_s2(16, dtype=D)) > 1.5 * _min_sep(start)
    assert _min_sep(repulsion_grid_s2(6, dtype=D)) == pytest.approx(math.sqrt(2), abs=1e-3)
    assert _min_sep(repulsion_grid_s2(12, dtype=D)) == pytest.approx(_min_sep(icosahedron_grid(dtype=D)), abs=1e-3)
    assert _min_sep(fibonacci_grid_s2(16, dtype=D)) > 0.7


def test_octahedron_grid_is_cube_symmetric() -> None:
    grid = octahedron_grid(dtype=D)
    rots = cube_rotations(dtype=D)
    assert rots.shape == (24, 3, 3)
    assert torch.allclose(torch.linalg.det(rots), torch.ones(24, dtype=D))
    for R in rots:
        moved = grid @ R.T
        # every rotated point is a grid point: a permutation of the grid
        match = torch.cdist(moved, grid).argmin(1)
        assert sorted(match.tolist()) == list(range(6))
        assert torch.allclose(moved, grid[match], atol=1e-14)


def test_grid_bad_parameters() -> None:
    with pytest.raises(ValueError, match="dim"):
        orientation_grid(4, 8)
    with pytest.raises(ValueError, match="num_orientations"):
        orientation_grid(3, 0)
    with pytest.raises(ValueError, match="octahedron"):
        orientation_grid(3, 8, "octahedron")
    with pytest.raises(ValueError, match="grid kind"):
        orientation_grid(3, 8, "hexagon")


# ----------------------------------------------------------------------------- invariants
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.sampled_from([2, 3]))
def test_invariants_exactly_invariant_under_random_se_n(seed: int, dim: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    group = GROUPS[dim]
    g = group.sample(1, gen, dtype=D)[0]
    R, t = g[:dim, :dim], g[:dim, dim]
    pos = torch.randn(9, dim, generator=gen, dtype=D)
    ei = fully_connected_graph(torch.zeros(9, dtype=torch.long))
    grid = orientation_grid(dim, 7 if dim == 2 else 10, dtype=D)
    # fibre bundle: rotating the points and the grid together leaves every attribute unchanged
    sp, fib = invariant_attr_fiber_bundle(pos, grid, ei)
    sp2, fib2 = invariant_attr_fiber_bundle(pos @ R.T + t, grid @ R.T, ei)
    assert torch.allclose(sp, sp2, atol=1e-12) and torch.allclose(fib, fib2, atol=1e-12)
    # position-orientation point clouds and positions
    ori = torch.randn(9, dim, generator=gen, dtype=D)
    ori = ori / ori.norm(dim=-1, keepdim=True)
    a = invariant_attr_point_cloud(pos, ori, ei)
    a2 = invariant_attr_point_cloud(pos @ R.T + t, ori @ R.T, ei)
    assert torch.allclose(a, a2, atol=1e-12)
    assert torch.allclose(invariant_attr_rn(pos, ei), invariant_attr_rn(pos @ R.T + t, ei), atol=1e-12)
    # and the test is not vacuous: a reflection changes the signed 2-D invariant
    if dim == 2:
        flip = torch.diag(torch.tensor([1.0, -1.0], dtype=D))
        a3 = invariant_attr_point_cloud(pos @ flip, ori @ flip, ei)
        assert (a3[:, 1] + a[:, 1]).abs().max() < 1e-12 < a[:, 1].abs().max()


def test_spatial_invariants_are_bijective_2d() -> None:
    # SE(2) acts regularly on R^2 x S^1: (a1, a2) are the coordinates of r in the frame of o,
    # so r is recovered exactly: r = a1 o + a2 J o
    gen = torch.Generator().manual_seed(0)
    r = torch.randn(50, 2, generator=gen, dtype=D)
    th = 2 * math.pi * torch.rand(50, generator=gen, dtype=D)
    o = torch.stack([th.cos(), th.sin()], -1)
    a = spatial_invariants(r, o)
    jo = torch.stack([-o[:, 1], o[:, 0]], -1)
    assert torch.allclose(a[:, :1] * o + a[:, 1:] * jo, r, atol=1e-13)


def test_spatial_invariants_are_bijective_3d() -> None:
    # the orbit of (x_i, o, x_j) under SE(3) is determined by (a1, a2): the rotation with rows
    # (u, o x u, o), u the unit component of r orthogonal to o, maps every such triple to the
    # canonical representative (0, e_z, (a2, 0, a1))
    gen = torch.Generator().manual_seed(1)
    r = torch.randn(50, 3, generator=gen, dtype=D)
    o = torch.randn(50, 3, generator=gen, dtype=D)
    o = o / o.norm(dim=-1, keepdim=True)
    a = spatial_invariants(r, o)
    u = r - a[:, :1] * o
    u = u / u.norm(dim=-1, keepdim=True)
    R = torch.stack([u, torch.cross(o, u, dim=-1), o], -2)
    assert torch.allclose(torch.linalg.det(R), torch.ones(50, dtype=D), atol=1e-12)
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3, dtype=D).expand(50, 3, 3), atol=1e-12)
    canon = torch.stack([a[:, 1], torch.zeros(50, dtype=D), a[:, 0]], -1)
    assert torch.allclose((R @ r.unsqueeze(-1)).squeeze(-1), canon, atol=1e-12)
    assert torch.allclose((R @ o.unsqueeze(-1)).squeeze(-1), torch.tensor([0.0, 0, 1], dtype=D).expand(50, 3), atol=1e-12)


def test_non_separable_attributes_layout() -> None:
    pos = torch.randn(4, 3, dtype=D)
    grid = fibonacci_grid_s2(5, dtype=D)
    ei = fully_connected_graph(torch.zeros(4, dtype=torch.long))
    full = invariant_attr_fiber_bundle(pos, grid, ei, separable=False)
    sp, fib = invariant_attr_fiber_bundle(pos, grid, ei, separable=True)
    assert full.shape == (16, 5, 5, 3)
    assert torch.equal(full[:, :, 2, :2], sp) and torch.equal(full[3, :, :, 2:], fib)


# ----------------------------------------------------------------------------- lifts
def test_lift_and_readout_closed_forms() -> None:
    gen = torch.Generator().manual_seed(2)
    v = torch.randn(5, 2, 3, generator=gen, dtype=D)
    x = torch.randn(5, 4, generator=gen, dtype=D)
    grid = octahedron_grid(dtype=D)
    assert torch.allclose(sphere_to_scalar(scalar_to_sphere(x, grid)), x, atol=1e-15)
    # (1/N) sum_o (v.o) o = v/3 for the octahedron (sum_o o o^T = 2 I, N = 6)
    assert torch.allclose(sphere_to_vec(vec_to_sphere(v, grid), grid), v / 3, atol=1e-14)
    # and approximately v/3 for a fine near-uniform grid (E[o o^T] = I/3 on S^2)
    big = repulsion_grid_s2(200, dtype=D)
    assert torch.allclose(sphere_to_vec(vec_to_sphere(v, big), big), v / 3, atol=0.03)


def test_polynomial_features_and_cutoff() -> None:
    a = torch.tensor([[2.0, 3.0]], dtype=D)
    f = PolynomialFeatures(3)(a)
    assert f.shape == (1, 2 + 4 + 8) and PolynomialFeatures(3).out_dim(2) == 14
    assert torch.equal(f[0, :6], torch.tensor([2, 3, 4, 6, 6, 9], dtype=D))
    assert float(f[0, -1]) == 27.0
    cut = PolynomialCutoff(2.0)
    d = torch.linspace(0, 3, 31, dtype=D)
    u = cut(d)
    assert float(u[0]) == 1.0 and (u[d >= 2] == 0).all()
    # smooth at the cut-off: value and first two derivatives vanish at r_max
    r = torch.tensor([2.0 - 1e-4], dtype=D, requires_grad=True)
    (g,) = torch.autograd.grad(cut(r).sum(), r)
    assert abs(float(cut(r))) < 1e-10 and abs(float(g)) < 1e-6
    with pytest.raises(ValueError, match="degree"):
        PolynomialFeatures(0)


def test_radius_graph_matches_networkx() -> None:
    gen = torch.Generator().manual_seed(3)
    pos = torch.rand(40, 3, generator=gen, dtype=D)
    batch = torch.tensor([0] * 25 + [1] * 15)
    ei = radius_graph(pos, 0.35, batch, loop=False)
    ours = {(int(s), int(t)) for s, t in ei.t()}
    ref = set()
    for lo, hi in ((0, 25), (25, 40)):
        G = nx.random_geometric_graph(hi - lo, 0.35, pos={i: pos[lo + i].tolist() for i in range(hi - lo)})
        for s, t in G.edges():
            ref |= {(s + lo, t + lo), (t + lo, s + lo)}
    assert ours == ref and len(ref) > 0
    with_loops = radius_graph(pos, 0.35, batch, loop=True)
    assert with_loops.shape[1] == ei.shape[1] + 40
    with pytest.raises(ValueError, match="radius"):
        radius_graph(pos, -1.0)


def test_self_loops_and_full_graph() -> None:
    ei = torch.tensor([[0, 1, 1], [1, 0, 0]])
    out = add_self_loops_coalesced(ei, 3)
    assert {tuple(e) for e in out.t().tolist()} == {(0, 1), (1, 0), (0, 0), (1, 1), (2, 2)}
    assert out.shape[1] == 5
    fc = fully_connected_graph(torch.tensor([0, 0, 1, 1, 1]), loop=False)
    assert fc.shape[1] == 2 + 6


def test_edge_lift() -> None:
    # a path 0 - 1 - 2: lifted points are the 4 directed edges, based at their receivers
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 2, 0]], dtype=D)
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    lpos, lori, lei, lbatch, base = lift_to_edges(pos, ei, torch.zeros(3, dtype=torch.long), 3)
    assert base.tolist() == [0, 1, 1, 2]
    assert torch.allclose(lori.norm(dim=-1), torch.ones(4, dtype=D))
    assert torch.allclose(lpos, pos[base])
    # connections: base pairs (with self-loops) 0-0, 0-1, 1-0, 1-1, 1-2, 2-1, 2-2 -> counts 1,2,1
    expected = 1 * 1 + 1 * 2 + 2 * 1 + 2 * 2 + 2 * 1 + 1 * 2 + 1 * 1
    assert lei.shape[1] == expected
    assert lbatch.tolist() == [0, 0, 0, 0]
