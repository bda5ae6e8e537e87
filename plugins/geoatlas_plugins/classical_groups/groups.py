"""Classical groups. Matrix groups use batched ``(..., n, n)`` tensors."""

from __future__ import annotations

from typing import Any

import torch

from geoatlas.interfaces import Group, MatrixGroup


def _apply_matrix(R: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply ``R`` (``(n,n)`` or ``(B,n,n)``) to the last axis of ``x`` (``(..., n)``/``(B, ..., n)``)."""
    if R.dim() == 2:
        return x @ R.transpose(-1, -2).to(x.dtype)
    extra = x.dim() - R.dim() + 1  # axes between the batch axis and the coordinate axis
    if extra < 0:
        raise ValueError(f"cannot apply a batch of {tuple(R.shape)} matrices to data of shape {tuple(x.shape)}")
    Rb = R.reshape(R.shape[0], *([1] * extra), *R.shape[1:]).to(x.dtype)
    return (Rb @ x.unsqueeze(-1)).squeeze(-1)


def _check_dim(x: torch.Tensor, n: int, name: str) -> None:
    if x.shape[-1] != n:
        raise ValueError(f"{name} acts on {n}-dimensional coordinates, got data with last axis {x.shape[-1]}")


#: node attributes of a graph that are free vectors: they rotate with the graph, never translate
VECTOR_ATTRIBUTES = ("vec", "vel", "velocity", "normal", "normals", "force", "forces")


def _act_on_graph(data: Any, fn) -> Any:
    out = data.clone()
    if getattr(out, "pos", None) is None:
        raise ValueError("graph has no `pos` attribute for the group to act on")
    out.pos = fn(out.pos, "point_cloud")
    for key in VECTOR_ATTRIBUTES:
        value = getattr(out, key, None)
        if value is not None and hasattr(value, "shape") and value.shape[-1] == out.pos.shape[-1]:
            out[key] = fn(value, "vector")
    return out


class _MatrixGroup(MatrixGroup):
    n: int

    @property
    def matrix_size(self) -> int:
        return self.n

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return g.transpose(-1, -2)

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if data_type == "graph":
            return _act_on_graph(x, lambda p, t: self._act(g, p, t))
        _check_dim(x, self.n, self.name)
        return _apply_matrix(g, x)


def _haar_orthogonal(n: int, m: int, generator, dtype) -> torch.Tensor:
    a = torch.randn(m, n, n, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(a)
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


class On(_MatrixGroup):
    """The orthogonal group O(n)."""

    name = "o_n"
    compact = True
    acts_on = ("point_cloud", "vector", "graph")

    def __init__(self, n: int = 3) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = n

    @property
    def dim(self) -> int:
        return self.n * (self.n - 1) // 2

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        return _haar_orthogonal(self.n, n, generator, dtype or torch.get_default_dtype())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


class SOn(On):
    """The special orthogonal group SO(n)."""

    name = "son"

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        q = _haar_orthogonal(self.n, n, generator, dtype or torch.get_default_dtype())
        flip = torch.linalg.det(q) < 0
        q[flip, :, 0] = -q[flip, :, 0]  # right-multiplying by a fixed reflection keeps Haar
        return q

    def exp(self, xi: torch.Tensor) -> torch.Tensor:
        """Matrix exponential of skew-symmetric ``xi``."""
        return torch.linalg.matrix_exp(0.5 * (xi - xi.transpose(-1, -2)))


class SO2(SOn):
    """Planar rotations."""

    name = "so2"

    def __init__(self) -> None:
        super().__init__(2)

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        theta = 2 * torch.pi * torch.rand(n, generator=generator, dtype=dtype or torch.get_default_dtype())
        return self.from_angle(theta)

    @staticmethod
    def from_angle(theta: torch.Tensor) -> torch.Tensor:
        c, s = torch.cos(theta), torch.sin(theta)
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)

    def log(self, g: torch.Tensor) -> torch.Tensor:
        return torch.atan2(g[..., 1, 0], g[..., 0, 0])

    def __repr__(self) -> str:
        return "SO2()"


class SO3(SOn):
    """3-D rotations; Haar sampling through uniformly distributed unit quaternions."""

    name = "so3"

    def __init__(self) -> None:
        super().__init__(3)

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        q = torch.randn(n, 4, generator=generator, dtype=dtype or torch.get_default_dtype())
        return self.from_quaternion(q / q.norm(dim=-1, keepdim=True))

    @staticmethod
    def from_quaternion(q: torch.Tensor) -> torch.Tensor:
        w, x, y, z = q.unbind(-1)
        return torch.stack(
            [
                torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
            ],
            -2,
        )

    def log(self, g: torch.Tensor) -> torch.Tensor:
        """Axis-angle vector (valid away from angle pi)."""
        cos = ((torch.diagonal(g, dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
        angle = torch.acos(cos)
        w = torch.stack([g[..., 2, 1] - g[..., 1, 2], g[..., 0, 2] - g[..., 2, 0], g[..., 1, 0] - g[..., 0, 1]], -1)
        scale = torch.where(angle.abs() < 1e-6, 0.5 + angle**2 / 12, angle / (2 * torch.sin(angle).clamp_min(1e-12)))
        return w * scale.unsqueeze(-1)

    def __repr__(self) -> str:
        return "SO3()"


class _SEn(_MatrixGroup):
    """Rigid motions as homogeneous ``(n+1) x (n+1)`` matrices ``[[R, t], [0, 1]]``."""

    compact = False
    acts_on = ("point_cloud", "vector", "graph")
    _rot: SOn

    def __init__(self, translation_scale: float = 1.0) -> None:
        if not translation_scale >= 0:
            raise ValueError(f"translation_scale must be >= 0, got {translation_scale}")
        self.translation_scale = translation_scale

    @property
    def matrix_size(self) -> int:
        return self.n + 1

    @property
    def dim(self) -> int:
        return self.n * (self.n + 1) // 2

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        R, t = g[..., : self.n, : self.n], g[..., : self.n, self.n]
        Rt = R.transpose(-1, -2)
        out = torch.zeros_like(g)
        out[..., : self.n, : self.n] = Rt
        out[..., : self.n, self.n] = -(Rt @ t.unsqueeze(-1)).squeeze(-1)
        out[..., self.n, self.n] = 1
        return out

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        """Haar rotation and a Gaussian translation (std ``translation_scale``)."""
        dtype = dtype or torch.get_default_dtype()
        g = self.identity(n, dtype=dtype)
        g[:, : self.n, : self.n] = self._rot.sample(n, generator, dtype=dtype)
        g[:, : self.n, self.n] = self.translation_scale * torch.randn(n, self.n, generator=generator, dtype=dtype)
        return g

    def make(self, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The element with rotation ``R`` and translation ``t``."""
        g = self.identity(None if R.dim() == 2 else R.shape[0], dtype=R.dtype)
        g[..., : self.n, : self.n] = R
        g[..., : self.n, self.n] = t
        return g

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if data_type == "graph":
            return _act_on_graph(x, lambda p, t: self._act(g, p, t))
        _check_dim(x, self.n, self.name)
        R, t = g[..., : self.n, : self.n], g[..., : self.n, self.n]
        y = _apply_matrix(R, x)
        if data_type == "vector":  # free vectors only rotate
            return y
        if t.dim() == 1:
            return y + t.to(x.dtype)
        return y + t.reshape(t.shape[0], *([1] * (x.dim() - 2)), self.n).to(x.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(translation_scale={self.translation_scale})"


class SE2(_SEn):
    name = "se2"
    n = 2

    def __init__(self, translation_scale: float = 1.0) -> None:
        super().__init__(translation_scale)
        self._rot = SO2()


class SE3(_SEn):
    name = "se3"
    n = 3

    def __init__(self, translation_scale: float = 1.0) -> None:
        super().__init__(translation_scale)
        self._rot = SO3()


class Translations(Group):
    """Translations of R^dim, elements are vectors ``(..., dim)``."""

    name = "translations"
    compact = False
    acts_on = ("point_cloud", "vector", "graph")

    def __init__(self, dim: int = 3, scale: float = 1.0) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.n, self.scale = dim, scale

    @property
    def dim(self) -> int:
        return self.n

    def _element_ndim(self) -> int:
        return 1

    def identity(self, n: int | None = None, *, dtype=None, device=None) -> torch.Tensor:
        shape = (self.n,) if n is None else (n, self.n)
        return torch.zeros(shape, dtype=dtype or torch.get_default_dtype(), device=device)

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return g + h

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return -g

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        return self.scale * torch.randn(n, self.n, generator=generator, dtype=dtype or torch.get_default_dtype())

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if data_type == "graph":
            return _act_on_graph(x, lambda p, t: self._act(g, p, t))
        _check_dim(x, self.n, self.name)
        if data_type == "vector":
            return x
        if g.dim() == 1:
            return x + g.to(x.dtype)
        return x + g.reshape(g.shape[0], *([1] * (x.dim() - 2)), self.n).to(x.dtype)

    def exp(self, xi: torch.Tensor) -> torch.Tensor:
        return xi

    def log(self, g: torch.Tensor) -> torch.Tensor:
        return g


class Permutations(Group):
    """The symmetric group S_n acting on the points of a cloud or the nodes of a graph.

    An element is an index tensor ``p`` of shape ``(..., n)``; it acts by ``x -> x[p]`` on the
    point axis (axis -2 of a point cloud, axis 0 of node sets) and relabels graph nodes.
    """

    name = "permutations"
    compact = True
    acts_on = ("point_cloud", "graph", "node_set")

    def __init__(self, n: int = 8) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = n

    @property
    def dim(self) -> int:
        return 0

    def _element_ndim(self) -> int:
        return 1

    def identity(self, n: int | None = None, *, dtype=None, device=None) -> torch.Tensor:
        idx = torch.arange(self.n, device=device)
        return idx if n is None else idx.expand(n, -1).clone()

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # act(g, act(h, x)) = x[h][g] = x[h[g]]
        return torch.gather(h, -1, g)

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return torch.argsort(g, dim=-1)

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        return torch.argsort(torch.rand(n, self.n, generator=generator), dim=-1)

    def distance(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return (g != h).sum(-1).to(torch.get_default_dtype())

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if data_type == "graph":
            if x.num_nodes != self.n:
                raise ValueError(f"permutation of {self.n} nodes applied to a graph with {x.num_nodes}")
            out = x.clone()
            inv = torch.argsort(g)
            for key, value in x.items():
                if key == "edge_index":
                    out.edge_index = inv[value]
                elif isinstance(value, torch.Tensor) and x.is_node_attr(key):
                    out[key] = value[g]
            return out
        axis = -2 if data_type == "point_cloud" else 0
        if x.shape[axis] != self.n:
            raise ValueError(f"permutation of {self.n} items applied to data with {x.shape[axis]} items")
        if g.dim() == 1:
            return x.index_select(x.dim() + axis if axis < 0 else axis, g)
        idx = g.reshape(*g.shape, *([1] * (x.dim() - g.dim()))).expand(*g.shape, *x.shape[g.dim():])
        return torch.gather(x, g.dim() - 1, idx)

    def __repr__(self) -> str:
        return f"Permutations(n={self.n})"
