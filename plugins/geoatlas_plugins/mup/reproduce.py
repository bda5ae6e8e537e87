"""Scaled-down echo of "Feature Learning in Infinite-Width Neural Networks" (μP, Yang & Hu,
ICML 2021), with μP as the `mup` package defines it.

1. Coordinate check: MLPs 64-n-n-10 (n = 64, 128, 256, 512, 1024) on scikit-learn digits,
   5 Adam steps at lr 1e-2 (batch 64), slope of log mean|logits| against log width, μP vs SP.
2. Learning-rate transfer: MLPs 64-n-n-10, n in {64, 256, 1024}, base width 64, Adam with 6
   log-spaced learning rates 10^-3.5 ... 10^-1, 5 epochs (batch 128) on all 1,797 digits; the
   training loss on all digits after training. The optimal lr per width, μP vs SP; and under μP
   the loss at the width-64 optimum as the width grows.

About 3 minutes on one CPU thread. Writes ``results.json`` beside this file.
Run: ``python plugins/geoatlas_plugins/mup/reproduce.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

import geoatlas as ga
from geoatlas.echo import Reproduction

LRS = [10 ** e for e in (-3.5, -3.0, -2.5, -2.0, -1.5, -1.0)]
WIDTHS = [64, 256, 1024]


def final_loss(width: int, lr: float, parametrization: str, X: torch.Tensor, y: torch.Tensor, seed: int = 0) -> float:
    torch.manual_seed(seed)
    m = ga.create("encoder", "mup", backbone="mlp", backbone_params={"hidden": [width, width]}, base_width=64,
                  parametrization=parametrization, in_features=64, out_features=10)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(5):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), 128):
            b = perm[i : i + 128]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(X[b]), y[b]).backward()
            opt.step()
    with torch.no_grad():
        loss = float(torch.nn.functional.cross_entropy(m(X), y))
    return loss if np.isfinite(loss) else 1e3


def main() -> None:
    torch.set_num_threads(1)
    rep = Reproduction(__file__, scale="MLP 64-n-n-10 on sklearn digits, n 64..1024, Adam, 5 steps (coord check) / 5 epochs x 6 lrs (transfer), seed 0", seeds=[0])
    Xn, yn = load_digits(return_X_y=True)
    Xn = (Xn / 16.0).astype(np.float32)
    slopes = {}
    for par in ("mup", "sp"):
        r = ga.create("measure", "coordinate_check", backbone_params={"hidden": [64, 64]}, widths=[64, 128, 256, 512, 1024],
                      parametrization=par, steps=5, lr=1e-2)(data={"X": Xn, "y": yn})
        slopes[par] = r
        print(par, {k: round(v, 3) for k, v in r.items() if k.startswith("slope")})
    rep.record("coordinates_stable_under_mup",
               ours=f"logit slope muP {slopes['mup']['slope_net.4']:.3f} (max |slope| over layers {slopes['mup']['max_abs_slope']:.3f}) vs SP {slopes['sp']['slope_net.4']:.3f}",
               value=float(slopes["sp"]["slope_net.4"] - slopes["mup"]["slope_net.4"]),
               holds=bool(slopes["mup"]["max_abs_slope"] < 0.1 and slopes["sp"]["slope_net.4"] > 0.3),
               note="holds = every muP layer slope |s| < 0.1 and the SP logit slope > 0.3")
    X, y = torch.tensor(Xn), torch.tensor(yn)
    table = {}
    for par in ("mup", "sp"):
        for w in WIDTHS:
            table[(par, w)] = [final_loss(w, lr, par, X, y) for lr in LRS]
            print(par, w, np.round(table[(par, w)], 4).tolist())
    best = {k: int(np.argmin(v)) for k, v in table.items()}
    shift = {par: max(best[(par, w)] for w in WIDTHS) - min(best[(par, w)] for w in WIDTHS) for par in ("mup", "sp")}
    fmt = lambda par: ", ".join(f"n={w}: 10^{np.log10(LRS[best[(par, w)]]):.1f}" for w in WIDTHS)  # noqa: E731
    rep.record("optimal_lr_transfers", ours=f"optimal lr muP {fmt('mup')}; SP {fmt('sp')}", value=float(shift["sp"] - shift["mup"]),
               holds=bool(shift["mup"] <= 1 and shift["sp"] > shift["mup"]),
               note="holds = muP optimum moves at most one grid step (half a decade) across widths and less than SP's; value = SP shift - muP shift (grid steps)")
    i0 = best[("mup", 64)]
    at = [table[("mup", w)][i0] for w in WIDTHS]
    rep.record("wider_is_better_under_mup", ours="muP loss at the width-64 optimum: " + ", ".join(f"n={w}: {v:.4f}" for w, v in zip(WIDTHS, at, strict=True)),
               value=float(at[-1] - at[0]), holds=bool(all(b <= a * 1.05 for a, b in zip(at, at[1:], strict=False))),
               note="holds = non-increasing in width (5 % tolerance)")
    rep.write()


if __name__ == "__main__":
    main()
