"""Benchmark: our real spherical harmonics (torch, recursion) against scipy.special.sph_harm_y.

Same input (n random locations, float64), degrees 0..L-1; scipy evaluates the complex harmonics
per (l, |m|) and we take sqrt(2) Re / Im as in the tests. Reports the median of 5 repeats (after a
warm-up) and the ratio ours / scipy, and checks that the outputs agree (max abs difference).

Run: ``python plugins/geoatlas_plugins/spherical_harmonics_siren/benchmark.py [--n 20000]``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch
from scipy.special import sph_harm_y

from geoatlas_plugins.spherical_harmonics_siren.sh import real_spherical_harmonics


def scipy_real_sh(X: np.ndarray, L: int) -> np.ndarray:
    theta, phi = np.radians(X[:, 1] + 90), np.radians(X[:, 0] + 180)
    out = np.empty((len(X), L * L))
    for ell in range(L):
        for m in range(0, ell + 1):
            c = sph_harm_y(ell, m, theta, phi)
            if m == 0:
                out[:, ell * ell + ell] = c.real
            else:
                out[:, ell * ell + ell + m] = math.sqrt(2) * c.real
                out[:, ell * ell + ell - m] = math.sqrt(2) * c.imag
    return out


def median_time(fn, repeats: int = 5) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = np.stack([rng.uniform(-180, 180, args.n), rng.uniform(-90, 90, args.n)], 1)
    Xt = torch.tensor(X)
    print(f"load average {os.getloadavg()[0]:.1f}; n = {args.n}; 1 torch thread")
    print(f"{'L':>3} {'ours (s)':>10} {'scipy (s)':>10} {'ratio':>6} {'max |diff|':>11}")
    for L in (5, 10, 20):
        ours = median_time(lambda L=L: real_spherical_harmonics(Xt, L))
        ref = median_time(lambda L=L: scipy_real_sh(X, L))
        diff = float(np.abs(real_spherical_harmonics(Xt, L).numpy() - scipy_real_sh(X, L)).max())
        print(f"{L:>3} {ours:>10.4f} {ref:>10.4f} {ours / ref:>6.2f} {diff:>11.1e}")


if __name__ == "__main__":
    main()
