"""Scaled-down SIE reproduction on rotated scikit-learn digits.

Self-supervised training on pairs of rotated views (angles uniform in [-pi/2, pi/2], relative
rotation given to the hypernetwork predictor), then the paper's evaluations at small scale:
linear probe of the class on each part of the representation, and prediction of the relative
rotation between two views from each part (MLP probe, R^2). An untrained network of the same
architecture is the reference point. Run: ``python plugins/geoatlas_plugins/split_invariant_equivariant/reproduce.py``
or ``make reproduce PLUGIN=split_invariant_equivariant`` (a few minutes on one CPU core; writes results.json next to
this script).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

import geoatlas as ga
from geoatlas.echo import Reproduction
from geoatlas_plugins.split_invariant_equivariant.evaluate import probe_split
from geoatlas_plugins.split_invariant_equivariant.images import digit_images, rotate_images


def _views(x: torch.Tensor, seed: int, max_angle: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    th = (2 * torch.rand(len(x), 2, generator=g) - 1) * max_angle
    return rotate_images(x, th[:, 0]), rotate_images(x, th[:, 1]), th[:, 1] - th[:, 0]


def main(epochs: int = 100, size: int = 16, seed: int = 0) -> dict[str, dict[str, float]]:
    torch.set_num_threads(1)
    rep = Reproduction(
        __file__,
        scale=f"rotated digits {size}x{size}, 1400 train / 397 test images, {epochs} epochs of batch 64, small CNN, seed {seed}",
        seeds=[seed],
    )
    max_angle = math.pi / 2
    x, y = digit_images(size)
    x, y = torch.tensor(x), torch.tensor(y)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, te = perm[:1400], perm[1400:]
    params = dict(repr_dim=64, equi_dim=32, channels=[16, 32, 32], mlp=[128, 128], max_angle=max_angle)
    torch.manual_seed(seed)
    untrained = ga.create("encoder", "sie", **params)
    torch.manual_seed(seed)
    model = ga.create("encoder", "sie", **params)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = tr[torch.randperm(len(tr), generator=torch.Generator().manual_seed(seed + epoch))]
        for i in range(0, len(order) - 1, 64):
            idx = order[i : i + 64]
            loss = model.training_step(x[idx], y[idx], F.cross_entropy)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {float(loss):.3f} {({k: round(v, 4) for k, v in model.last_stats.items()})}")
    train_s = time.time() - t0
    a1, a2, d_tr = _views(x[tr], seed + 1, max_angle)
    b1, b2, d_te = _views(x[te], seed + 2, max_angle)
    results = {}
    for name, m in (("untrained", untrained), ("sie", model)):
        results[name] = probe_split(m, a1, y[tr].numpy(), b1, y[te].numpy(), (a1, a2, d_tr.numpy()), (b1, b2, d_te.numpy()), seed=seed)
    print(f"rotated digits {size}x{size}, views in [-pi/2, pi/2], {epochs} epochs ({train_s:.0f}s)")
    print(f"{'model':<10}{'class inv':>10}{'class equi':>11}{'class all':>10}{'rot R2 inv':>11}{'rot R2 equi':>12}")
    for name, r in results.items():
        print(f"{name:<10}{r['class_acc_inv']:10.3f}{r['class_acc_equi']:11.3f}{r['class_acc_full']:10.3f}"
              f"{r['rotation_r2_inv']:11.3f}{r['rotation_r2_equi']:12.3f}")

    s, u = results["sie"], results["untrained"]
    setup = "planar digit rotations and a 3-layer CNN instead of 3DIEBench and ResNet-18; "
    rep.record("inv_part_better_for_class", ours=f"inv {s['class_acc_inv']:.3f} vs equi {s['class_acc_equi']:.3f}",
               value=s["class_acc_inv"] - s["class_acc_equi"], holds=s["class_acc_inv"] > s["class_acc_equi"],
               note=setup + f"untrained net: inv {u['class_acc_inv']:.3f}, equi {u['class_acc_equi']:.3f}")
    rep.record("equi_part_better_for_rotation", ours=f"equi {s['rotation_r2_equi']:.3f} vs inv {s['rotation_r2_inv']:.3f}",
               value=s["rotation_r2_equi"] - s["rotation_r2_inv"], holds=s["rotation_r2_equi"] > s["rotation_r2_inv"],
               note=setup + f"untrained net: equi {u['rotation_r2_equi']:.3f}, inv {u['rotation_r2_inv']:.3f}")
    rep.record("inv_part_discards_rotation", ours=f"trained {s['rotation_r2_inv']:.3f} vs untrained {u['rotation_r2_inv']:.3f}",
               value=s["rotation_r2_inv"], holds=s["rotation_r2_inv"] < u["rotation_r2_inv"],
               note=setup + f"{epochs} epochs instead of 2000")
    print(f"wrote {rep.write()}")
    return results


if __name__ == "__main__":
    main()
