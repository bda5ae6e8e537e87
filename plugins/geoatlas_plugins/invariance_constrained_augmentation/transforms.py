"""A discrete-op / continuous-level space of image transformations, applied in one batched warp.

Each transformation is a pair ``(op, level)`` with ``level`` in ``[0, 1]`` (the TrivialAugment-style
parametrisation the paper's sampler works on). Geometric ops are affine warps (one
``grid_sample`` for the whole batch); ``invert`` maps intensities ``v -> 1 - v``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: available operations and what ``level`` controls
OPS: dict[str, str] = {
    "identity": "no change",
    "rotate": "rotation by (2 level - 1) * max_rotate degrees",
    "translate_x": "horizontal shift by (2 level - 1) * max_translate of the width",
    "translate_y": "vertical shift by (2 level - 1) * max_translate of the height",
    "scale": "zoom by 1 + (2 level - 1) * max_scale",
    "shear_x": "horizontal shear (2 level - 1) * max_shear",
    "hflip": "mirror left-right (level ignored)",
    "vflip": "mirror top-bottom (level ignored)",
    "rot180": "rotation by 180 degrees (level ignored)",
    "invert": "intensity inversion 1 - v (level ignored; images in [0, 1])",
}


class TransformSpace:
    """The transformation set ``G`` of the constrained problem: ops x levels.

    Parameters
    ----------
    ops : list[str]
        Names from :data:`OPS`.
    max_rotate, max_translate, max_scale, max_shear : float
        Ranges of the level-controlled ops.
    """

    def __init__(self, ops: list[str] | None = None, max_rotate: float = 30.0, max_translate: float = 0.2,
                 max_scale: float = 0.2, max_shear: float = 0.3) -> None:
        ops = list(OPS) if ops is None else list(ops)
        if not ops:
            raise ValueError("ops must name at least one transformation")
        unknown = [o for o in ops if o not in OPS]
        if unknown:
            raise ValueError(f"unknown ops {unknown}; choose from {', '.join(OPS)}")
        if len(set(ops)) != len(ops):
            raise ValueError(f"ops must be distinct, got {ops}")
        for name, val in (("max_rotate", max_rotate), ("max_translate", max_translate), ("max_scale", max_scale), ("max_shear", max_shear)):
            if not val >= 0:
                raise ValueError(f"{name} must be >= 0, got {val}")
        if max_scale >= 1:
            raise ValueError(f"max_scale must be < 1, got {max_scale}")
        self.ops = ops
        self.max_rotate, self.max_translate, self.max_scale, self.max_shear = max_rotate, max_translate, max_scale, max_shear

    def __len__(self) -> int:
        return len(self.ops)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` independent uniform draws ``(op index, level)`` (the MH proposal distribution)."""
        op = torch.randint(len(self.ops), (n,), generator=generator)
        level = torch.rand(n, generator=generator)
        return op, level

    def matrices(self, op: torch.Tensor, level: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Affine matrices ``(n, 2, 3)`` mapping *output* to *input* normalised coordinates."""
        n = op.shape[0]
        s = (2 * level.to(dtype) - 1)
        A = torch.eye(2, dtype=dtype).repeat(n, 1, 1)
        t = torch.zeros(n, 2, dtype=dtype)
        names = [self.ops[i] for i in op.tolist()]
        for i, name in enumerate(names):
            if name == "rotate":
                a = math.radians(self.max_rotate) * float(s[i])
                c, si = math.cos(a), math.sin(a)
                A[i] = torch.tensor([[c, si], [-si, c]], dtype=dtype)
            elif name == "translate_x":
                t[i, 0] = -2 * self.max_translate * s[i]
            elif name == "translate_y":
                t[i, 1] = -2 * self.max_translate * s[i]
            elif name == "scale":
                A[i] = A[i] / (1 + self.max_scale * s[i])
            elif name == "shear_x":
                A[i, 0, 1] = self.max_shear * s[i]
            elif name == "hflip":
                A[i, 0, 0] = -1
            elif name == "vflip":
                A[i, 1, 1] = -1
            elif name == "rot180":
                A[i] = -A[i]
        return torch.cat([A, t[:, :, None]], dim=2)

    def apply(self, x: torch.Tensor, op: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Apply transformation ``(op[i], level[i])`` to image ``x[i]`` (``x``: ``(n, C, H, W)``)."""
        if x.dim() != 4:
            raise ValueError(f"images must have shape (n, C, H, W), got {tuple(x.shape)}")
        if op.shape != (x.shape[0],) or level.shape != (x.shape[0],):
            raise ValueError(f"op and level must have shape ({x.shape[0]},), got {tuple(op.shape)}, {tuple(level.shape)}")
        grid = F.affine_grid(self.matrices(op, level, x.dtype), list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if "invert" in self.ops:
            inv = (op == self.ops.index("invert")).to(x.dtype).view(-1, 1, 1, 1)
            out = inv * (1 - x) + (1 - inv) * out
        return out
