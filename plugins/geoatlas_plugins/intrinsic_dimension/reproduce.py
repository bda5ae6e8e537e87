"""Scaled-down echo of "Measuring the Intrinsic Dimension of Objective Landscapes" (Li et al.,
ICLR 2018).

scikit-learn digits (8x8, 1,797 images; the measure holds out 25 %), MLPs 64-w-w-10 trained
with Adam (lr 1e-2, batch 128, 20 epochs) directly and in random subspaces of dimension
d in {25, 50, 100, 200, 400, 800}; d_int90 = the smallest d whose held-out accuracy reaches 90 %
of direct training. Widths 50/100/200 with dense unit-norm P; width 100 also with the sparse P,
and with the authors' code setting (unnormalised dense N(0,1) P, Adam lr 1e-3) for comparison.

About 2-3 minutes on one CPU thread. Writes ``results.json`` beside this file.
Run: ``python plugins/geoatlas_plugins/intrinsic_dimension/reproduce.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

import geoatlas as ga
from geoatlas.echo import Reproduction

GRID = [25, 50, 100, 200, 400, 800]


def run(width: int, **kw) -> dict:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    torch.manual_seed(0)
    m = ga.create("encoder", "mlp", in_features=64, out_features=10, hidden=[width, width])
    params = {"d_grid": GRID, "epochs": 20, "lr": 1e-2, "seed": 0, **kw}
    r = ga.create("measure", "intrinsic_dimension", **params)(m, {"X": X, "y": y})
    print(f"width {width} {kw}: D={int(r['n_params'])}, baseline {r['baseline_accuracy']:.3f}, d_int90 {int(r['d_int'])} "
          f"(reached {bool(r['reached'])}), accuracies {np.round(r['accuracies'], 3).tolist()}")
    return r


def main() -> None:
    torch.set_num_threads(1)
    rep = Reproduction(__file__, scale="sklearn digits (8x8), MLP 64-w-w-10 (w 50/100/200, D 8.4k-53k), Adam 20 epochs, d in {25..800}, seed 0",
                       seeds=[0])
    widths = {w: run(w) for w in (50, 100, 200)}
    r100 = widths[100]
    d100 = int(r100["d_int"])
    rep.record("mnist_fc_dint90", ours=f"d_int90 = {d100} of D = {int(r100['n_params'])} (digits 8x8, MLP 64-100-100-10)", value=float(d100),
               holds=bool(r100["reached"] and 100 <= d100 <= 1000),
               note="paper 750 for MNIST 28x28 with FC 784-200-200-10 (D = 199,210); holds = d_int90 of order 10^2 (100..1000), reached")
    ds = [int(widths[w]["d_int"]) for w in (50, 100, 200)]
    ratio = max(ds) / min(ds)
    rep.record("dint_stable_across_widths", ours="; ".join(f"w={w} (D={int(widths[w]['n_params'])}): {d}" for w, d in zip((50, 100, 200), ds, strict=True)),
               value=float(ratio), holds=bool(ratio <= 2.0 and all(widths[w]["reached"] for w in widths)),
               note="holds = largest/smallest d_int90 <= 2 (one grid step) while D grows ~6x")
    sp = run(100, projection="sparse")
    rep.record("sparse_equals_dense", ours=f"dense {d100}, sparse {int(sp['d_int'])}", value=float(sp["d_int"] / d100),
               holds=bool(sp["reached"] and 0.5 <= sp["d_int"] / d100 <= 2.0), note="holds = within one grid step (factor 2)")
    code = run(100, normalize=False, lr=1e-3)
    accs = np.array(r100["accuracies"])
    drops = float(np.max(np.maximum(0.0, accs[:-1] - accs[1:])))
    rep.record("accuracy_rises_with_d", ours="dense, w=100: " + ", ".join(f"d={d}: {a:.3f}" for d, a in zip(GRID, accs, strict=True))
               + f"; authors' code setting (unnormalised P, lr 1e-3): d_int90 {int(code['d_int'])}",
               value=drops, holds=bool(drops <= 0.01), note="value = largest drop of accuracy from one d to the next; holds = <= 0.01")
    rep.write()


if __name__ == "__main__":
    main()
