"""Benchmark of the heat-kernel step (the costly part of HeatGeo) against references.

The authors' package ``heatgeo`` cannot be installed here (it pins numpy 1.23 / scikit-learn 1.2),
so the references are scipy's: dense ``scipy.linalg.expm(-tL)`` (Pade, what our test compares
with) and sparse ``scipy.sparse.linalg.expm_multiply(-tL, I)`` (the closest pip reference of a
sparse heat-kernel action). Same graph (alpha-decay, knn 10, normalized Laplacian, Swiss roll),
t = 10, Chebyshev order 32. Prints seconds (best of 3) and the ratio ours / theirs, and the
relative Frobenius error of ours vs expm.

Run: ``python plugins/geoatlas_plugins/heat_geodesic_embedding/benchmark.py [N ...]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.linalg as sl
from scipy.sparse.linalg import expm_multiply
from sklearn.datasets import make_swiss_roll

from geoatlas_plugins.heat_geodesic_embedding.heatgeo import (
    alpha_decay_graph,
    chebyshev_heat,
    laplacian,
)


def best(f, reps: int = 3) -> tuple[float, object]:
    out, ts = None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def main(sizes: list[int]) -> None:
    t = 10.0
    for n in sizes:
        X, _ = make_swiss_roll(n, noise=0.0, random_state=0)
        L = laplacian(alpha_decay_graph(X, 10, 40.0), "normalized")
        phi = float(np.linalg.eigvalsh(L.toarray()).max()) / 2
        eye = np.eye(n)
        t_ours, H = best(lambda L=L, eye=eye, phi=phi: chebyshev_heat(L, eye, t, 32, phi))
        t_expm, E = best(lambda L=L: sl.expm(-t * L.toarray()))
        t_em, _ = best(lambda L=L, eye=eye: expm_multiply(-t * L.tocsc(), eye))
        err = np.linalg.norm(H - E) / np.linalg.norm(E)
        print(f"n={n}: chebyshev {t_ours:.3f}s | expm {t_expm:.3f}s (ratio {t_ours / t_expm:.2f}) | "
              f"expm_multiply {t_em:.3f}s (ratio {t_ours / t_em:.2f}) | rel. error vs expm {err:.1e}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 1000])
