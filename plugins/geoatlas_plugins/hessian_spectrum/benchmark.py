"""Benchmark: top-5 Hessian eigenvalues, ours (Lanczos, full re-orthogonalisation, 60 steps)
vs pyhessian 0.1 (power iteration with deflation, its defaults maxIter=100, tol=1e-3), on the same
model and data in float64: a ReLU MLP 64-64-10 (4,810 parameters) trained briefly on 500
scikit-learn digits. Reports the wall-clock time of each (median of 3), the ratio ours/theirs
and the largest relative difference of the eigenvalues. One CPU thread.

Run: ``python plugins/geoatlas_plugins/hessian_spectrum/benchmark.py``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from pyhessian import hessian as pyhessian_hessian
from sklearn.datasets import load_digits

import geoatlas as ga
from geoatlas_plugins.hessian_spectrum.hessian import HessianSpectrum


def main() -> None:
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = (X[:500] / 16.0).astype(np.float32)
    y = y[:500]
    torch.manual_seed(0)
    m = ga.create("encoder", "mlp", in_features=64, out_features=10, hidden=[64])
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(torch.tensor(X)), torch.tensor(y)).backward()
        opt.step()
    ours_t, theirs_t = [], []
    for _ in range(3):
        t = time.perf_counter()
        ours = HessianSpectrum(method="lanczos", top_k=5, lanczos_steps=60, hutchinson_samples=1)(m, {"X": X, "y": y})["top_eigenvalues"]
        ours_t.append(time.perf_counter() - t)
        md = m.double()
        torch.manual_seed(0)
        t = time.perf_counter()
        comp = pyhessian_hessian(md, torch.nn.CrossEntropyLoss(), data=(torch.tensor(X, dtype=torch.float64), torch.tensor(y)), cuda=False)
        theirs, _ = comp.eigenvalues(top_n=5)
        theirs_t.append(time.perf_counter() - t)
        m = m.float()
    theirs = sorted(theirs, reverse=True)
    a, b = float(np.median(ours_t)), float(np.median(theirs_t))
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"ours (Lanczos 60 steps): {a:.2f} s  top-5 {np.round(ours, 5).tolist()}")
    print(f"pyhessian (power iteration, tol 1e-3): {b:.2f} s  top-5 {np.round(theirs, 5).tolist()}")
    print(f"time ratio ours/pyhessian: {a / b:.2f}; max relative eigenvalue difference: {np.max(np.abs(np.array(ours) - theirs) / np.abs(ours)):.2e}")


if __name__ == "__main__":
    main()
