"""The PONITA / PNITA encoders (Bekkers et al., ICLR 2024)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from geoatlas.interfaces import Encoder

from .geometry import (
    add_self_loops_coalesced,
    dense_block_size,
    fully_connected_graph,
    invariant_attr_fiber_bundle,
    invariant_attr_point_cloud,
    invariant_attr_rn,
    lift_to_edges,
    radius_graph,
    scalar_to_sphere,
    sphere_to_scalar,
    sphere_to_vec,
    vec_to_sphere,
)
from .grids import orientation_grid
from .layers import Conv, ConvNext, FiberBundleConv, KernelBasis, PolynomialCutoff

CONNECTIVITY = ("auto", "radius", "full", "edges")


@dataclass
class PonitaOutput:
    """All read-outs of one forward pass (``None`` where not requested)."""

    node_scalars: Tensor | None  # (num_nodes, out_features), invariant
    node_vectors: Tensor | None  # (num_nodes, out_vectors, dim), equivariant
    graph_scalars: Tensor | None  # (num_graphs, out_features): sum over nodes
    graph_vectors: Tensor | None  # (num_graphs, out_vectors, dim): sum over nodes


def _pos_int(name: str, v: Any, minimum: int = 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return v


class Ponita(Encoder):
    """PONITA: SE(n)-equivariant message passing by weight sharing in position-orientation space.

    Parameters
    ----------
    in_features : int
        Scalar node features in ``data.x`` (0: no ``x``, a constant 1 is used).
    hidden : int
        Channels of the hidden fibre signals.
    out_features : int
        Invariant scalar outputs (per node, summed per graph).
    layers : int
        Number of ConvNeXt interaction layers.
    dim : int
        2 (SE(2), orientations on S^1) or 3 (SE(3), orientations on S^2).
    num_orientations : int
        ``N > 0``: fibre-bundle mode on R^n x S^{n-1} with an ``N``-point grid (approximately
        SO(n)-equivariant, exact for rotations that permute the grid). ``0``: PNITA on R^n
        (exactly invariant, scalars only). ``-1``: every edge becomes a point of R^n x S^{n-1}
        (exactly equivariant; memory grows with the square of the degree).
    radius : float, optional
        Build a radius graph with this cut-off and window the spatial kernel with the smooth
        polynomial cut-off (``connectivity="auto"``). ``None``: use ``data.edge_index`` when present,
        otherwise the fully connected graph, without a window.
    in_vectors, out_vectors : int
        Vector node inputs ``data.vec`` ``(num_nodes, in_vectors, dim)`` lifted as ``f(o) = v^T o``;
        equivariant vector outputs ``(1/N) sum_o f(o) o``.
    basis_dim : int, optional
        Width of the shared kernel basis (default ``hidden``; the paper uses 256).
    degree : int
        Degree of the polynomial embedding of the invariants (reference convention: 3 = cubic).
    widening_factor : int
        ConvNeXt widening factor.
    layer_scale : float, optional
        Initial layer-scale γ (the paper uses 1e-6 for n-body, ``None`` elsewhere).
    multiple_readouts : bool
        Average a linear read-out after every layer (paper default) instead of the last one only.
    task_level : {"graph", "node"}
        What ``forward`` returns: per-graph sums (default) or per-node outputs.
    grid : str
        Orientation grid: ``"repulsion"`` (paper, seeded), ``"fibonacci"``, ``"octahedron"`` (6),
        ``"icosahedron"`` (12); in 2-D always uniform.
    grid_seed : int
        Seed of the repulsion grid.
    separable : bool
        Separable group convolution (spatial, then over orientations) as in the paper.
    connectivity : {"auto", "radius", "full", "edges"}
        How edges are chosen (see ``radius``).
    calibrate : bool
        The reference's one-time data-dependent kernel rescaling at the first training forward.
    """

    input_type = "graph"
    output_space = "euclidean"

    def __init__(
        self,
        in_features: int,
        hidden: int = 128,
        out_features: int = 1,
        layers: int = 5,
        dim: int = 3,
        num_orientations: int = 16,
        radius: float | None = None,
        in_vectors: int = 0,
        out_vectors: int = 0,
        basis_dim: int | None = None,
        degree: int = 3,
        widening_factor: int = 4,
        layer_scale: float | None = None,
        multiple_readouts: bool = True,
        task_level: str = "graph",
        grid: str = "repulsion",
        grid_seed: int = 0,
        separable: bool = True,
        connectivity: str = "auto",
        calibrate: bool = True,
    ) -> None:
        super().__init__()
        _pos_int("in_features", in_features, 0)
        _pos_int("hidden", hidden)
        _pos_int("out_features", out_features, 0)
        _pos_int("layers", layers)
        _pos_int("in_vectors", in_vectors, 0)
        _pos_int("out_vectors", out_vectors, 0)
        _pos_int("widening_factor", widening_factor)
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        if not isinstance(num_orientations, int) or num_orientations < -1:
            raise ValueError(f"num_orientations must be an integer >= -1, got {num_orientations!r}")
        if radius is not None and not (isinstance(radius, (int, float)) and radius > 0):
            raise ValueError(f"radius must be a positive number or None, got {radius!r}")
        if task_level not in ("graph", "node"):
            raise ValueError(f"task_level must be 'graph' or 'node', got {task_level!r}")
        if connectivity not in CONNECTIVITY:
            raise ValueError(f"connectivity must be one of {', '.join(CONNECTIVITY)}, got {connectivity!r}")
        if connectivity == "radius" and radius is None:
            raise ValueError("connectivity='radius' needs a radius")
        if out_features + out_vectors == 0:
            raise ValueError("out_features and out_vectors cannot both be 0")
        if num_orientations == 0 and (in_vectors or out_vectors):
            raise ValueError("num_orientations=0 (PNITA, position space) has no vector inputs/outputs; "
                             "use num_orientations > 0 or -1")
        basis_dim = hidden if basis_dim is None else _pos_int("basis_dim", basis_dim)
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features
        self.in_vectors, self.out_vectors = in_vectors, out_vectors
        self.dim, self.num_orientations, self.radius = dim, num_orientations, radius
        self.task_level, self.connectivity = task_level, connectivity
        self.fiber_bundle = num_orientations > 0
        # kept in float64 outside the state dict (it is a deterministic function of the
        # arguments) so that .float()/.half() never round the grid; cast at use
        self._grid64 = orientation_grid(dim, num_orientations, grid, seed=grid_seed, dtype=torch.float64) if self.fiber_bundle else None
        rot, se = ("so3", "se3") if dim == 3 else ("so2", "se2")
        # rotations: exact for num_orientations in (0, -1); in fibre-bundle mode (num_orientations > 0)
        # only approximate (exact just for the grid's own symmetries), so not declared there
        exact = ("translations", "permutations") if self.fiber_bundle else (se, rot, "translations", "permutations")
        self.invariant_to = exact
        self.equivariant_to = exact if out_vectors else ()

        n_spatial = 1 if num_orientations == 0 else (2 if self.fiber_bundle else 3)
        self.basis_fn = KernelBasis(n_spatial, hidden, basis_dim, degree)
        self.fiber_basis_fn = KernelBasis(1, hidden, basis_dim, degree) if (self.fiber_bundle and separable) else None
        if self.fiber_bundle and not separable:
            self.basis_fn = KernelBasis(3, hidden, basis_dim, degree)
        self.window = PolynomialCutoff(radius)
        self.x_embedder = nn.Linear(max(in_features, 1) + in_vectors, hidden, bias=False)
        self.interaction_layers = nn.ModuleList()
        self.readout_layers = nn.ModuleList()
        for i in range(layers):
            if self.fiber_bundle:
                conv: nn.Module = FiberBundleConv(hidden, hidden, basis_dim, groups=hidden, separable=separable, calibrate=calibrate)
            else:
                conv = Conv(hidden, hidden, basis_dim, groups=hidden, calibrate=calibrate)
            self.interaction_layers.append(ConvNext(hidden, conv, widening_factor, layer_scale))
            last = i == layers - 1
            self.readout_layers.append(nn.Linear(hidden, out_features + out_vectors) if (multiple_readouts or last) else nn.Identity())
        self._readout_used = [bool(multiple_readouts or i == layers - 1) for i in range(layers)]
        self.separable = separable

    def orientation_grid(self, like: Tensor | None = None) -> Tensor:
        """The ``(num_orientations, dim)`` grid (dtype/device of ``like``; float64 otherwise)."""
        if self._grid64 is None:
            raise ValueError(f"num_orientations={self.num_orientations} has no orientation grid")
        return self._grid64 if like is None else self._grid64.to(dtype=like.dtype, device=like.device)

    # ------------------------------------------------------------------ input handling
    def _check(self, data: Any) -> tuple[Tensor, Tensor, Tensor | None, Tensor, int]:
        pos = getattr(data, "pos", None)
        if pos is None:
            raise TypeError("ponita expects a torch_geometric Data/Batch with `pos`")
        if not isinstance(pos, Tensor) or pos.dim() != 2 or pos.shape[1] != self.dim:
            raise ValueError(f"data.pos must have shape (num_nodes, {self.dim}), got {tuple(getattr(pos, 'shape', ()))}")
        if pos.shape[0] == 0:
            raise ValueError("data.pos is empty: the graph has no nodes")
        if not torch.isfinite(pos).all():
            raise ValueError("data.pos contains NaN or Inf values")
        m = pos.shape[0]
        x = getattr(data, "x", None)
        if self.in_features == 0:
            x = pos.new_ones(m, 1)
        else:
            if x is None:
                raise ValueError(f"data.x is missing; expected ({m}, {self.in_features}) node features")
            if x.dim() == 1 and self.in_features == 1:
                x = x.unsqueeze(-1)
            if x.shape != (m, self.in_features):
                raise ValueError(f"data.x must have shape ({m}, {self.in_features}), got {tuple(x.shape)}")
            x = x.to(pos.dtype)
            if not torch.isfinite(x).all():
                raise ValueError("data.x contains NaN or Inf values")
        vec = None
        if self.in_vectors:
            vec = getattr(data, "vec", None)
            if vec is None or vec.shape != (m, self.in_vectors, self.dim):
                raise ValueError(f"data.vec must have shape ({m}, {self.in_vectors}, {self.dim}), got "
                                 f"{None if vec is None else tuple(vec.shape)}")
            vec = vec.to(pos.dtype)
            if not torch.isfinite(vec).all():
                raise ValueError("data.vec contains NaN or Inf values")
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(m, dtype=torch.long, device=pos.device)
        if not isinstance(batch, Tensor) or batch.dtype != torch.long or batch.shape != (m,):
            raise ValueError(f"data.batch must be a long tensor of shape ({m},), got "
                             f"{getattr(batch, 'dtype', type(batch).__name__)} {tuple(getattr(batch, 'shape', ()))}")
        if int(batch.min()) < 0:
            raise ValueError(f"data.batch has negative graph ids ({int(batch.min())})")
        if m > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("data.batch must be sorted (nodes of each graph contiguous, as in a torch_geometric "
                             "Batch); an unsorted batch would join graphs")
        num_graphs = int(getattr(data, "num_graphs", 0) or (int(batch.max()) + 1))
        if int(batch.max()) >= num_graphs:
            raise ValueError(f"data.batch has graph id {int(batch.max())} but data.num_graphs={num_graphs}")
        return pos, x, vec, batch, num_graphs

    def build_edges(self, data: Any, pos: Tensor, batch: Tensor) -> Tensor:
        """The edges used for message passing, with one self-loop per node."""
        mode = self.connectivity
        ei = getattr(data, "edge_index", None)
        if mode == "auto":
            mode = "radius" if self.radius is not None else ("edges" if ei is not None else "full")
        if mode == "radius":
            return radius_graph(pos, float(self.radius), batch, loop=True)  # type: ignore[arg-type]
        if mode == "full":
            return fully_connected_graph(batch, loop=True)
        if ei is None:
            raise ValueError("connectivity='edges' but data has no edge_index")
        m = pos.shape[0]
        if not isinstance(ei, Tensor) or ei.dtype != torch.long or ei.dim() != 2 or ei.shape[0] != 2:
            raise ValueError(f"data.edge_index must be a long tensor of shape (2, num_edges), got "
                             f"{getattr(ei, 'dtype', type(ei).__name__)} {tuple(getattr(ei, 'shape', ()))}")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= m):
            raise ValueError(f"data.edge_index has node ids outside [0, {m - 1}] "
                             f"(min {int(ei.min())}, max {int(ei.max())})")
        if ei.numel() and bool((batch[ei[0]] != batch[ei[1]]).any()):
            raise ValueError("data.edge_index has edges between nodes of different graphs (see data.batch)")
        return add_self_loops_coalesced(ei, m)

    # ------------------------------------------------------------------ forward passes
    def _readouts(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        outs = []
        for layer, readout, used in zip(self.interaction_layers, self.readout_layers, self._readout_used, strict=True):
            x = layer(x, *args, **kwargs)
            if used:
                outs.append(readout(x))
        return sum(outs) / len(outs)  # type: ignore[return-value]

    def encode(self, data: Any) -> PonitaOutput:
        """Every read-out: invariant scalars and equivariant vectors, per node and per graph."""
        pos, x, vec, batch, num_graphs = self._check(data)
        edge_index = self.build_edges(data, pos, batch)
        if self.fiber_bundle:
            ns, nv = self._encode_bundle(pos, x, vec, edge_index, dense_block_size(edge_index, batch))
        else:
            ns, nv = self._encode_points(pos, x, vec, edge_index, batch)
        gs = scatter(ns, batch, dim=0, dim_size=num_graphs, reduce="sum") if ns is not None else None
        gv = scatter(nv, batch, dim=0, dim_size=num_graphs, reduce="sum") if nv is not None else None
        return PonitaOutput(ns, nv, gs, gv)

    def _windowed(self, basis: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        """``basis * u(||x_j - x_i||)`` broadcast over the edge axis; without a radius the window
        is identically 1 and the product (an exact no-op) is skipped."""
        if self.radius is None:
            return basis
        w = self.window(invariant_attr_rn(pos, edge_index))  # (E, 1)
        return basis * w.view(w.shape[0], *([1] * (basis.dim() - 1)))

    def _encode_bundle(self, pos: Tensor, x: Tensor, vec: Tensor | None, edge_index: Tensor,
                       block: int = 0) -> tuple[Tensor | None, Tensor | None]:
        """Fibre-bundle forward; ``block = n > 0`` declares equal-size complete graphs of ``n`` nodes
        in the layout of :func:`dense_block_size` (reshape aggregation), 0 a general graph."""
        grid = self.orientation_grid(pos)
        f = scalar_to_sphere(x, grid)
        if vec is not None:
            f = torch.cat([f, vec_to_sphere(vec, grid)], -1)
        if self.separable:
            attr, fiber_attr = invariant_attr_fiber_bundle(pos, grid, edge_index, separable=True)
            basis = self._windowed(self.basis_fn(attr), pos, edge_index)  # (E, N, B)
            fiber_basis = self.fiber_basis_fn(fiber_attr)  # type: ignore[misc]
            out = self._readouts(self.x_embedder(f), edge_index, basis, fiber_basis=fiber_basis, block=block)
        else:
            attr = invariant_attr_fiber_bundle(pos, grid, edge_index, separable=False)
            basis = self._windowed(self.basis_fn(attr), pos, edge_index)  # (E, N, N, B)
            out = self._readouts(self.x_embedder(f), edge_index, basis)
        s, v = torch.split(out, [self.out_features, self.out_vectors], dim=-1)
        return (sphere_to_scalar(s) if self.out_features else None,
                sphere_to_vec(v, grid) if self.out_vectors else None)

    def _encode_points(self, pos: Tensor, x: Tensor, vec: Tensor | None, edge_index: Tensor, batch: Tensor) -> tuple[Tensor | None, Tensor | None]:
        m = pos.shape[0]
        if self.num_orientations == 0:
            basis = self._windowed(self.basis_fn(invariant_attr_rn(pos, edge_index)), pos, edge_index)
            out = self._readouts(self.x_embedder(x), edge_index, basis, block=dense_block_size(edge_index, batch))
            return out, None
        lpos, lori, lei, _, base = lift_to_edges(pos, edge_index, batch, m)
        f = x[base]
        if vec is not None:
            f = torch.cat([f, torch.einsum("lvd,ld->lv", vec[base], lori)], -1)
        attr = invariant_attr_point_cloud(lpos, lori, lei)
        basis = self._windowed(self.basis_fn(attr), lpos, lei)
        out = self._readouts(self.x_embedder(f), lei, basis)
        s, v = torch.split(out, [self.out_features, self.out_vectors], dim=-1)
        ns = scatter(s, base, dim=0, dim_size=m, reduce="mean") if self.out_features else None
        nv = scatter(v[:, :, None] * lori[:, None, :], base, dim=0, dim_size=m, reduce="mean") if self.out_vectors else None
        return ns, nv

    def forward(self, data: Any) -> Tensor:
        """Invariant scalars per graph ``(num_graphs, out_features)`` (``task_level="graph"``) or
        per node; when ``out_features == 0``, the equivariant vectors instead."""
        out = self.encode(data)
        if self.task_level == "graph":
            return out.graph_scalars if self.out_features else out.graph_vectors  # type: ignore[return-value]
        return out.node_scalars if self.out_features else out.node_vectors  # type: ignore[return-value]

    def node_scalars(self, data: Any) -> Tensor:
        """Invariant per-node outputs ``(num_nodes, out_features)``."""
        out = self.encode(data).node_scalars
        if out is None:
            raise ValueError("this model has out_features=0")
        return out

    def node_vectors(self, data: Any) -> Tensor:
        """Equivariant per-node vectors ``(num_nodes, out_vectors, dim)``."""
        out = self.encode(data).node_vectors
        if out is None:
            raise ValueError("this model has out_vectors=0 (set out_vectors > 0)")
        return out

    def embed(self, data: Any) -> Tensor:
        """Per-graph invariant representations (the graph-level scalar outputs)."""
        out = self.encode(data)
        return out.graph_scalars if out.graph_scalars is not None else out.graph_vectors.flatten(1)  # type: ignore[union-attr]


class PonitaPosition(Ponita):
    """PNITA: the position-space variant (``num_orientations=0``), exactly SE(n)-invariant."""

    def __init__(self, in_features: int, hidden: int = 128, out_features: int = 1, layers: int = 5, dim: int = 3,
                 radius: float | None = None, basis_dim: int | None = None, degree: int = 3, widening_factor: int = 4,
                 layer_scale: float | None = None, multiple_readouts: bool = True, task_level: str = "graph",
                 connectivity: str = "auto", calibrate: bool = True) -> None:
        super().__init__(in_features, hidden, out_features, layers, dim, 0, radius, 0, 0, basis_dim, degree,
                         widening_factor, layer_scale, multiple_readouts, task_level, "repulsion", 0, True,
                         connectivity, calibrate)


class PonitaPointCloud(Ponita):
    """PONITA on batched point clouds ``(B, P, dim + F)``: the first ``dim`` columns are positions,
    the remaining ``F`` are invariant per-point features (a constant 1 is used when ``F = 0``).

    ``in_features`` is the size of the last axis (``dim + F``), as pipelines fill it. Each cloud
    becomes a graph (``radius`` graph, or fully connected when ``radius=None``); the output is
    per cloud, ``(B, out_features)``.
    """

    input_type = "point_cloud"

    def __init__(self, in_features: int = 3, hidden: int = 128, out_features: int = 1, layers: int = 5, dim: int = 3,
                 num_orientations: int = 16, radius: float | None = None, basis_dim: int | None = None, degree: int = 3,
                 widening_factor: int = 4, layer_scale: float | None = None, multiple_readouts: bool = True,
                 grid: str = "repulsion", grid_seed: int = 0, separable: bool = True, calibrate: bool = True) -> None:
        if not isinstance(in_features, int) or in_features < dim:
            raise ValueError(f"in_features (last axis of the point cloud) must be >= dim={dim}, got {in_features!r}")
        super().__init__(in_features - dim, hidden, out_features, layers, dim, num_orientations, radius, 0, 0,
                         basis_dim, degree, widening_factor, layer_scale, multiple_readouts, "graph", grid, grid_seed,
                         separable, "auto", calibrate)
        self.cloud_features = in_features

    def to_graph(self, clouds: Tensor) -> Any:
        """The torch-geometric ``Batch`` (``pos``, ``x``, ``batch``) of a ``(B, P, dim + F)`` tensor."""
        from types import SimpleNamespace

        if not isinstance(clouds, Tensor):
            clouds = torch.as_tensor(clouds)
        if clouds.dim() != 3 or clouds.shape[-1] != self.cloud_features:
            raise ValueError(f"point clouds must have shape (B, P, {self.cloud_features}), got {tuple(clouds.shape)}")
        if clouds.shape[0] == 0 or clouds.shape[1] == 0:
            raise ValueError("point clouds are empty")
        b, p, _ = clouds.shape
        if not clouds.is_floating_point():
            clouds = clouds.to(torch.get_default_dtype())
        flat = clouds.reshape(b * p, -1)
        batch = torch.arange(b, device=clouds.device).repeat_interleave(p)
        x = flat[:, self.dim:] if self.in_features else None
        return SimpleNamespace(pos=flat[:, : self.dim], x=x, batch=batch, num_graphs=b, edge_index=None)

    def encode(self, data: Any) -> PonitaOutput:  # type: ignore[override]
        return super().encode(self.to_graph(data) if isinstance(data, Tensor) else data)
