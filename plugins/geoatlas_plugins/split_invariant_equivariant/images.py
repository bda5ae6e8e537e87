"""Image rotation helpers and the rotated-digits dataset (scikit-learn digits, no download)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from geoatlas.interfaces import DataBundle, Dataset


def rotate_images(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rotate images ``(B, C, H, W)`` about their centre by angles ``theta`` ``(B,)`` (bilinear, zero fill).

    Positive angles turn the picture clockwise on screen (counter-clockwise in (x right, y down)
    pixel coordinates); ``theta = pi/2`` equals ``torch.rot90(x, -1, (2, 3))``.
    """
    if x.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(x.shape)}")
    if theta.shape != (x.shape[0],):
        raise ValueError(f"theta must have shape ({x.shape[0]},), got {tuple(theta.shape)}")
    c, s = torch.cos(theta).to(x.dtype), torch.sin(theta).to(x.dtype)
    zero = torch.zeros_like(c)
    # affine_grid maps output coordinates to input coordinates: use the inverse rotation
    mat = torch.stack([torch.stack([c, s, zero], -1), torch.stack([-s, c, zero], -1)], -2)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def digit_images(size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn digits in [0, 1], zero-padded by 2 pixels (so rotations keep the digit) and resized."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]
    x = F.pad(x, (2, 2, 2, 2))
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.numpy(), d.target.astype(np.int64)


class RotatedDigits(Dataset):
    """scikit-learn digits rotated by random planar angles (``SO(2)``), as images ``(N, 1, S, S)``.

    ``meta['angles']`` holds the angles. With ``pairs=True`` every sample is a pair of views of the
    same digit ``(N, 2, S, S)`` (channels = views) and ``meta['angles']`` is ``(N, 2)``.
    """

    data_type = "image"

    def __init__(self, max_angle: float = float(np.pi), size: int = 24, pairs: bool = False, n_samples: int | None = None, seed: int = 0) -> None:
        if not 0 <= max_angle <= np.pi:
            raise ValueError(f"max_angle must be in [0, pi], got {max_angle}")
        if size < 8:
            raise ValueError(f"size must be >= 8, got {size}")
        self.max_angle = max_angle
        self.size = size
        self.pairs = pairs
        self.n_samples = n_samples
        self.seed = seed

    def load(self) -> DataBundle:
        x, y = digit_images(self.size)
        if self.n_samples is not None:
            x, y = x[: self.n_samples], y[: self.n_samples]
        g = torch.Generator().manual_seed(self.seed)
        views = 2 if self.pairs else 1
        ang = (2 * torch.rand(len(x), views, generator=g) - 1) * self.max_angle
        xt = torch.tensor(x)
        out = torch.cat([rotate_images(xt, ang[:, v]) for v in range(views)], dim=1)
        meta = {"angles": ang.numpy() if self.pairs else ang[:, 0].numpy(), "classes": list(range(10))}
        return DataBundle(out.numpy(), y, "image", meta=meta)
