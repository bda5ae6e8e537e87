"""Scaled-down reproduction of the paper's claims; writes results.json next to this file.

Run: ``make reproduce PLUGIN=itransformer`` (or ``python plugins/geoatlas_plugins/itransformer/reproduce.py``).
"""

from __future__ import annotations

import numpy as np
import torch

import geoatlas as ga
from geoatlas.echo import Reproduction


def main() -> None:
    seeds = [0, 1, 2]
    rep = Reproduction(__file__, scale="3 seeds x 8 random SE(3) elements, clouds of 50 points", seeds=seeds)
    plugin = rep.manifest.id
    name = next(c.full_name for c in ga.list_components("descriptor") if c.plugin == plugin)
    d = ga.create("descriptor", name)
    worst = 0.0
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        X = torch.randn(50, 3, generator=gen, dtype=torch.float64)
        g = ga.create("group", "se3").sample(8, gen, dtype=torch.float64)
        base = d.transform(X.numpy()[None])
        for k in range(8):
            moved = ga.create("group", "se3").act(g[k], X, "point_cloud").numpy()
            worst = max(worst, float(np.abs(d.transform(moved[None]) - base).max()))
    rep.record("rotation_invariance", ours=worst, holds=worst < 1e-9)
    print(f"max change under SE(3): {worst:.2e}; wrote {rep.write()}")


if __name__ == "__main__":
    main()
