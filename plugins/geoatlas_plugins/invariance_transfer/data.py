"""Transforms-2D-style data at small scale: digit objects under one controlled transformation family.

Each sample is a digit (the *object*, label = digit class) on a 16x16 canvas with faint seeded noise
as background, transformed by a random member of one family: ``none``, ``rotate`` (uniform angle in
``[-max_rotate, max_rotate]`` degrees), ``translate`` (shift up to ``max_translate`` of the side),
``scale`` (factor in ``[1 - max_scale, 1 + max_scale]``) or ``hflip`` (mirror with probability 1/2).
With ``pairs=True`` every sample holds two independent draws of the same transformation family on
the same object ``(N, 2, S, S)``: the input pairs of the invariance measure. As in the authors'
Transforms-2D pairs, the two views share their background (one noise field per object, added to
each transformed view), so they differ only in the transformation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from geoatlas.interfaces import DataBundle, Dataset

FAMILIES = ("none", "rotate", "translate", "scale", "hflip")


def transform_family(x: torch.Tensor, family: str, generator: torch.Generator, *, max_rotate: float = 90.0,
                     max_translate: float = 0.25, max_scale: float = 0.4) -> torch.Tensor:
    """Apply a random member of ``family`` to each image of ``x`` ``(n, C, H, W)`` (bilinear warp)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    if x.dim() != 4:
        raise ValueError(f"images must have shape (n, C, H, W), got {tuple(x.shape)}")
    n = x.shape[0]
    u = 2 * torch.rand(n, 2, generator=generator, dtype=torch.float64) - 1
    A = torch.eye(2, dtype=torch.float64).repeat(n, 1, 1)
    t = torch.zeros(n, 2, dtype=torch.float64)
    if family == "rotate":
        a = u[:, 0] * math.radians(max_rotate)
        c, s = torch.cos(a), torch.sin(a)
        A = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)
    elif family == "translate":
        t = 2 * max_translate * u
    elif family == "scale":
        A = A / (1 + max_scale * u[:, :1])[:, :, None]
    elif family == "hflip":
        A[:, 0, 0] = torch.where(u[:, 0] > 0, -1.0, 1.0)
    if family == "none":
        return x.clone()
    theta = torch.cat([A, t[:, :, None]], 2).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class TransformedDigits(Dataset):
    """Digits under one controlled transformation family (Transforms-2D-like, scaled down).

    Parameters
    ----------
    family : str
        ``none``, ``rotate``, ``translate``, ``scale`` or ``hflip``.
    classes : list[int], optional
        Digit classes to keep (e.g. ``[0, 1, 2, 3, 4]`` for pretraining and ``[5, ..., 9]`` for a
        transfer task); labels are re-indexed ``0..k-1``.
    pairs : bool
        Two independent transformed views of each object (``(N, 2, S, S)``).
    size : int
        Canvas side (digits are padded by 2 pixels and resized).
    noise : float
        Standard deviation of the seeded background noise (one field per object, shared by its views).
    """

    data_type = "image"

    def __init__(self, family: str = "rotate", classes: list[int] | None = None, pairs: bool = False, size: int = 16,
                 noise: float = 0.05, max_rotate: float = 90.0, max_translate: float = 0.25, max_scale: float = 0.4,
                 seed: int = 0) -> None:
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
        if classes is not None and (not classes or any(c not in range(10) for c in classes) or len(set(classes)) != len(classes)):
            raise ValueError(f"classes must be distinct digits 0-9, got {classes}")
        if size < 8:
            raise ValueError(f"size must be >= 8, got {size}")
        if not noise >= 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.family, self.classes, self.pairs, self.size, self.noise = family, classes, pairs, size, noise
        self.max_rotate, self.max_translate, self.max_scale, self.seed = max_rotate, max_translate, max_scale, seed

    def load(self) -> DataBundle:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]
        y = np.asarray(d.target, dtype=np.int64)
        if self.classes is not None:
            keep = np.isin(y, self.classes)
            x = x[torch.as_tensor(keep)]
            order = {c: i for i, c in enumerate(self.classes)}
            y = np.array([order[c] for c in np.asarray(d.target)[keep]], dtype=np.int64)
        x = F.interpolate(F.pad(x, (2, 2, 2, 2)), size=(self.size, self.size), mode="bilinear", align_corners=False)
        g = torch.Generator().manual_seed(self.seed)
        kw = dict(max_rotate=self.max_rotate, max_translate=self.max_translate, max_scale=self.max_scale)
        views = [transform_family(x, self.family, g, **kw) for _ in range(2 if self.pairs else 1)]
        out = torch.cat(views, dim=1)
        # one background per object, shared by its views (broadcast over the view axis)
        background = self.noise * torch.randn((out.shape[0], 1, *out.shape[2:]), generator=g)
        out = (out + background).clamp(0, 1)
        meta = {"family": self.family, "classes": list(self.classes) if self.classes is not None else list(range(10))}
        return DataBundle(out.numpy(), y, "image", meta=meta)
