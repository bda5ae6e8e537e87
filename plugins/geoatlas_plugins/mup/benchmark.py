"""Benchmark: one training step (forward, backward, optimiser step) of an MLP 64-n-n-10 in μP,
ours (the `mup` encoder wrapper, parameter multipliers, torch.optim.Adam) vs the `mup` package
(MuReadout + set_base_shapes + MuAdam), on the same weights and a batch of 128 digits; n = 256
and 1024. Median of 30 steps each after 5 warm-up steps, one CPU thread; ratio ours / theirs.

Run: ``python plugins/geoatlas_plugins/mup/benchmark.py``.
"""

from __future__ import annotations

import os
import time

import mup
import numpy as np
import torch
from sklearn.datasets import load_digits

import geoatlas as ga


def _step_times(model: torch.nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> float:
    ts = []
    for i in range(35):
        t = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        if i >= 5:
            ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main() -> None:
    torch.set_num_threads(1)
    Xn, yn = load_digits(return_X_y=True)
    X, y = torch.tensor(Xn[:128] / 16.0, dtype=torch.float32), torch.tensor(yn[:128])
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for n in (256, 1024):
        torch.manual_seed(0)
        ours = ga.create("encoder", "mup", backbone="mlp", backbone_params={"hidden": [n, n]}, base_width=64, in_features=64, out_features=10)

        def build(w: int) -> torch.nn.Module:
            return torch.nn.Sequential(torch.nn.Linear(64, w), torch.nn.ReLU(), torch.nn.Linear(w, w), torch.nn.ReLU(), mup.MuReadout(w, 10))

        theirs = build(n)
        theirs.load_state_dict(ours.net.net.state_dict())
        mup.set_base_shapes(theirs, build(64))
        a = _step_times(ours, torch.optim.Adam(ours.parameters(), lr=1e-3), X, y)
        b = _step_times(theirs, mup.MuAdam(theirs.parameters(), lr=1e-3), X, y)
        print(f"n={n}: ours {a * 1e3:.2f} ms/step, mup package {b * 1e3:.2f} ms/step, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
