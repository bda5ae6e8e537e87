"""The 2-D ring of 8 Gaussians (radius 2, sigma 0.02), tiny MLP GANs trained with or without MEE,
and the mode-coverage metrics (a sample is high quality if within 3 sigma of a mode; a mode is
covered if it holds at least 1% of the samples)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import PositiveFloat, PositiveInt, Size


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    t = 2 * math.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(t), np.sin(t)], 1)


def sample_ring(n: int, generator: torch.Generator, n_modes: int = 8, radius: float = 2.0, sigma: float = 0.02) -> torch.Tensor:
    modes = torch.tensor(ring_modes(n_modes, radius), dtype=torch.float32)
    idx = torch.randint(0, n_modes, (n,), generator=generator)
    return modes[idx] + sigma * torch.randn(n, 2, generator=generator)


def mode_coverage(samples: np.ndarray, n_modes: int = 8, radius: float = 2.0, sigma: float = 0.02) -> dict[str, float]:
    """Modes covered (>= 1% of samples within 3 sigma) and the high-quality fraction."""
    modes = ring_modes(n_modes, radius)
    d = np.linalg.norm(samples[:, None, :] - modes[None], axis=2)
    near = d.min(1) <= 3 * sigma
    which = d.argmin(1)
    counts = np.bincount(which[near], minlength=n_modes)
    return {"modes": float((counts >= 0.01 * len(samples)).sum()), "high_quality": float(near.mean())}


class RingOfGaussians(Dataset):
    """Samples of the 2-D ring of ``n_modes`` Gaussians (label = the mode)."""

    data_type = "vector"

    def __init__(self, n_samples: Size = 2000, n_modes: PositiveInt = 8, radius: PositiveFloat = 2.0,
                 sigma: PositiveFloat = 0.02, seed: int = 0) -> None:
        self.n_samples, self.n_modes, self.radius, self.sigma, self.seed = n_samples, n_modes, radius, sigma, seed

    def load(self) -> DataBundle:
        g = torch.Generator().manual_seed(self.seed)
        modes = torch.tensor(ring_modes(self.n_modes, self.radius), dtype=torch.float32)
        y = torch.randint(0, self.n_modes, (self.n_samples,), generator=g)
        X = modes[y] + self.sigma * torch.randn(self.n_samples, 2, generator=g)
        return DataBundle(X.numpy(), y.numpy().astype(np.int64), "vector", meta={"classes": list(range(self.n_modes))})


def mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def train_ring_gan(mee: Any = None, iters: int = 1500, batch: int = 256, hidden: int = 128, k: int = 8, z_dim: int = 16,
                   d_steps: int = 1, lr: float = 2e-4, seed: int = 0, n_eval: int = 2500) -> dict[str, float]:
    """Train a 3-layer MLP GAN on the ring with the MaF losses (``-mean D(x_r) + mean D(x_f)``,
    ``-mean D(G(z))``) and, when ``mee`` (a MEELoss) is given, its entropy / DLLE / DIsoMap terms;
    return mode coverage of ``n_eval`` samples. The warm-up counts iterations / 10 as 'epochs'."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    G, D = mlp([z_dim, hidden, hidden, 2]), mlp([2, hidden, hidden, k])
    og = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.9))
    od = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9))
    for it in range(iters):
        ep = it // 10
        for _ in range(d_steps):
            xr = sample_ring(batch, g)
            with torch.no_grad():
                xf = G(torch.randn(batch, z_dim, generator=g))
            od.zero_grad()
            ld = mee.discriminator_loss(D, xr, xf, ep) if mee is not None else -D(xr).mean() + D(xf).mean()
            ld.backward()
            od.step()
        og.zero_grad()
        xf = G(torch.randn(batch, z_dim, generator=g))
        lg = mee.generator_loss(D, xf, ep) if mee is not None else -D(xf).mean()
        lg.backward()
        og.step()
        if not (math.isfinite(float(ld.detach())) and math.isfinite(float(lg.detach()))):
            return {"modes": 0.0, "high_quality": 0.0, "diverged": 1.0, "iters": float(it)}
    with torch.no_grad():
        s = G(torch.randn(n_eval, z_dim, generator=g)).numpy()
    out = mode_coverage(s)
    out.update({"diverged": 0.0, "iters": float(iters), "mean_radius": float(np.linalg.norm(s, axis=1).mean())})
    return out
