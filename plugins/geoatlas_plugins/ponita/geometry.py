"""Invariant attributes of point pairs, lifts to position-orientation space, graphs and readouts.

Conventions (as in the paper and the reference code): an edge ``(j, i)`` of ``edge_index``
sends from ``j = edge_index[0]`` to the receiver ``i = edge_index[1]``; ``r = x_j - x_i``.
"""

from __future__ import annotations

import torch
from torch import Tensor


# ----------------------------------------------------------------------------- invariants
def invariant_attr_rn(pos: Tensor, edge_index: Tensor) -> Tensor:
    """Position-space invariant ``a_ij = ||x_j - x_i||`` (PNITA); shape ``(E, 1)``."""
    rel = pos[edge_index[0]] - pos[edge_index[1]]
    return rel.norm(dim=-1, keepdim=True)


def spatial_invariants(rel: Tensor, ori: Tensor) -> Tensor:
    """Spatial invariants of a relative position ``rel`` seen from orientation ``ori``.

    For ``n = 3``: ``a1 = o^T r`` and ``a2 = ||r - a1 o||`` (the components of ``r`` along and
    orthogonal to ``o``). For ``n = 2``: ``a1 = o^T r`` and the signed perpendicular coordinate
    ``a2 = -r_x o_y + r_y o_x`` (``R_o^T r`` with ``R_o`` the rotation taking ``e_x`` to ``o``),
    which is invariant under SE(2) because SE(2) acts regularly on R^2 x S^1.

    ``rel`` and ``ori`` broadcast against each other; returns ``(..., 2)``.
    """
    a1 = (rel * ori).sum(-1, keepdim=True)
    if rel.shape[-1] == 2:
        a2 = (-rel[..., :1] * ori[..., 1:2] + rel[..., 1:2] * ori[..., :1])
    else:
        a2 = (rel - a1 * ori).norm(dim=-1, keepdim=True)
    return torch.cat([a1, a2], -1)


def invariant_attr_fiber_bundle(
    pos: Tensor, ori_grid: Tensor, edge_index: Tensor, separable: bool = True
) -> Tensor | tuple[Tensor, Tensor]:
    """Invariants between ``(x_j, o')`` and ``(x_i, o)`` for every edge and grid orientation.

    The triple ``(o^T r, ||r - (o^T r) o||, o^T o')`` (3-D) or ``(o^T r, R_o^T r|_y, o^T o')`` (2-D)
    labels the orbit of the pair under SE(n) bijectively (the paper's Theorem; 3-D uses the dot
    product ``o^T o'`` instead of its arccos, as the reference code does).

    Returns
    -------
    separable=True: ``(spatial (E, N, 2), fiber (N, N, 1))``;
    separable=False: ``(E, N, N, 3)`` with axis 1 the receiving and axis 2 the sending orientation.
    """
    rel = (pos[edge_index[0]] - pos[edge_index[1]])[:, None, :]  # (E, 1, n)
    spatial = spatial_invariants(rel, ori_grid[None])  # (E, N, 2)
    fiber = (ori_grid[:, None, :] * ori_grid[None, :, :]).sum(-1, keepdim=True)  # (N, N, 1)
    if separable:
        return spatial, fiber
    num_e, num_o = spatial.shape[0], ori_grid.shape[0]
    return torch.cat(
        [spatial[:, :, None, :].expand(-1, -1, num_o, -1), fiber[None].expand(num_e, -1, -1, -1)], -1
    )


def invariant_attr_point_cloud(pos: Tensor, ori: Tensor, edge_index: Tensor) -> Tensor:
    """Invariants of pairs of position-orientation points ``(x_j, o_j) -> (x_i, o_i)``.

    ``(o_i^T r, a2, o_i^T o_j)`` with ``a2`` as in :func:`spatial_invariants`; shape ``(E, 3)``.
    """
    src, dst = edge_index
    rel = pos[src] - pos[dst]
    sp = spatial_invariants(rel, ori[dst])
    return torch.cat([sp, (ori[src] * ori[dst]).sum(-1, keepdim=True)], -1)


# ----------------------------------------------------------------------------- lifts / readouts
def scalar_to_sphere(x: Tensor, ori_grid: Tensor) -> Tensor:
    """Lift scalars ``(M, C)`` to constant signals on the grid ``(M, N, C)``."""
    return x.unsqueeze(-2).expand(*x.shape[:-1], ori_grid.shape[0], x.shape[-1])


def vec_to_sphere(vec: Tensor, ori_grid: Tensor) -> Tensor:
    """Lift vectors ``(M, V, n)`` to signals ``f(o) = v^T o`` on the grid: ``(M, N, V)``."""
    return torch.einsum("mvd,nd->mnv", vec, ori_grid)


def sphere_to_scalar(f: Tensor) -> Tensor:
    """Scalar readout: mean over the orientation axis, ``(M, N, C) -> (M, C)``."""
    return f.mean(dim=-2)


def sphere_to_vec(f: Tensor, ori_grid: Tensor) -> Tensor:
    """Vector readout ``(1/N) sum_o f(o) o``: ``(M, N, V) -> (M, V, n)``."""
    return torch.einsum("mnv,nd->mvd", f, ori_grid) / ori_grid.shape[0]


# ----------------------------------------------------------------------------- graphs
def _batch_or_zeros(pos: Tensor, batch: Tensor | None) -> Tensor:
    return torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device) if batch is None else batch


def radius_graph(
    pos: Tensor, radius: float, batch: Tensor | None = None, loop: bool = True, chunk: int = 4096
) -> Tensor:
    """All pairs ``(j, i)`` in the same graph with ``||x_j - x_i|| <= radius`` (pure torch).

    Replaces ``torch_geometric.nn.radius_graph`` (which needs torch-cluster / pyg-lib). Works
    graph by graph (``batch`` sorted, as in a torch-geometric ``Batch``) on ``cdist`` blocks.

    Returns
    -------
    ``edge_index`` of shape ``(2, E)`` (row 0: sender, row 1: receiver), sorted by receiver.
    """
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    batch = _batch_or_zeros(pos, batch)
    counts = torch.bincount(batch)
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    out = []
    for g in range(counts.numel()):
        a, b = int(ptr[g]), int(ptr[g + 1])
        if b == a:
            continue
        p = pos[a:b]
        for s in range(0, b - a, chunk):
            d = torch.cdist(p[s : s + chunk], p)  # (rows=receivers, cols=senders)
            mask = d <= radius
            if not loop:
                idx = torch.arange(s, min(s + chunk, b - a), device=pos.device)
                mask[idx - s, idx] = False
            recv, send = mask.nonzero(as_tuple=True)
            out.append(torch.stack([send + a, recv + s + a]))
    if not out:
        return torch.empty(2, 0, dtype=torch.long, device=pos.device)
    return torch.cat(out, 1)


def fully_connected_graph(batch: Tensor, loop: bool = True) -> Tensor:
    """All ordered pairs of nodes within each graph of ``batch`` (sorted, as in a ``Batch``).

    Returns ``edge_index`` ``(2, E)`` sorted by receiver (vectorised, no loop over graphs).
    """
    if batch.numel() == 0:
        return torch.empty(2, 0, dtype=torch.long, device=batch.device)
    counts = torch.bincount(batch)
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    per_recv = counts[batch]  # senders available to each receiver
    recv = torch.repeat_interleave(torch.arange(batch.numel(), device=batch.device), per_recv)
    first = torch.repeat_interleave(per_recv.cumsum(0) - per_recv, per_recv)
    send = ptr[batch][recv] + torch.arange(recv.numel(), device=batch.device) - first
    if not loop:
        keep = send != recv
        send, recv = send[keep], recv[keep]
    return torch.stack([send, recv])


def dense_block_size(edge_index: Tensor, batch: Tensor) -> int:
    """``n`` when ``batch`` holds graphs of ``n`` nodes each and ``edge_index`` is exactly every
    ordered pair within each graph, self-loops included, sorted by receiver then sender (what
    :func:`fully_connected_graph` and :func:`add_self_loops_coalesced` give for complete graphs);
    ``0`` otherwise. O(E) check; lets convolutions aggregate by reshaping instead of scattering.
    """
    m, e = batch.numel(), edge_index.shape[1]
    counts = torch.bincount(batch)
    n = int(counts[0]) if counts.numel() else 0
    if n == 0 or e != m * n or bool((counts != n).any()):
        return 0
    dst = torch.arange(m, device=batch.device).repeat_interleave(n)
    src = dst - dst % n + torch.arange(e, device=batch.device) % n
    return n if bool((edge_index[1] == dst).all()) and bool((edge_index[0] == src).all()) else 0


def add_self_loops_coalesced(edge_index: Tensor, num_nodes: int) -> Tensor:
    """``edge_index`` with exactly one self-loop per node and no duplicate edges."""
    loops = torch.arange(num_nodes, device=edge_index.device)
    ei = torch.cat([edge_index, torch.stack([loops, loops])], 1)
    key = ei[1] * num_nodes + ei[0]
    key = torch.unique(key)  # sorted by receiver, then sender
    return torch.stack([key % num_nodes, key // num_nodes])


def lift_to_edges(
    pos: Tensor, edge_index: Tensor, batch: Tensor, num_nodes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The paper's ``num_ori = -1`` lift: every edge ``j -> i`` (``j != i``) becomes a point
    ``(x_i, (x_j - x_i)/||x_j - x_i||)`` of R^n x S^{n-1} based at node ``i``.

    Two lifted points are connected when their base nodes are connected in the base graph
    with self-loops added (all lifted points of the same base node are connected).

    Returns
    -------
    lifted_pos ``(L, n)``, lifted_ori ``(L, n)``, lifted_edge_index ``(2, L')``,
    lifted_batch ``(L,)`` and base_index ``(L,)`` (the base node of each lifted point).
    """
    ei = add_self_loops_coalesced(edge_index, num_nodes)
    base_edges = ei[:, ei[0] != ei[1]]  # the directions
    order = torch.argsort(base_edges[1], stable=True)
    base_edges = base_edges[:, order]
    src, dst = base_edges
    rel = pos[src] - pos[dst]
    dist = rel.norm(dim=-1, keepdim=True)
    if bool((dist == 0).any()):
        raise ValueError("pos has coincident connected points: their direction is undefined (num_orientations=-1)")
    lifted_pos, lifted_ori = pos[dst], rel / dist
    base_index = dst
    count = torch.bincount(dst, minlength=num_nodes)  # lifted points per base node
    ptr = torch.cat([count.new_zeros(1), count.cumsum(0)])
    # connect every lifted point at base s to every lifted point at base t, for (s, t) in ei
    bs, bt = ei
    n_pairs = count[bs] * count[bt]
    eid = torch.repeat_interleave(torch.arange(bs.numel(), device=pos.device), n_pairs)
    first = torch.cat([n_pairs.new_zeros(1), n_pairs.cumsum(0)])[:-1]
    local = torch.arange(eid.numel(), device=pos.device) - first[eid]
    ct = count[bt][eid]
    lifted_src = ptr[bs][eid] + local // ct
    lifted_dst = ptr[bt][eid] + local % ct
    lifted_ei = torch.stack([lifted_src, lifted_dst])
    return lifted_pos, lifted_ori, lifted_ei, batch[dst], base_index
