"""Throughput of the multiparameter_persistence descriptors vs. multipers in a plain loop.

Same input (a batch of point clouds with outliers), same maths:

- ``signed_measure`` (Rips x Gaussian codensity, Hilbert H0+H1, Gaussian convolution 16x16) vs.
  a loop of ``sklearn`` KDE + ``multipers.filtrations.RipsLowerstar`` + edge collapse +
  ``multipers.signed_measure`` + numpy convolution;
- ``mma_image`` vs. a loop of ``multipers.module_approximation`` + ``PyModule.representation``.

Ours runs through the core's local executor (joblib processes) with 1 and 2 workers; the ratio
is ours / theirs (wall time, lower is better). Run: ``python plugins/geoatlas_plugins/multiparameter_persistence/benchmark.py``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _reference_signed_measure(X: np.ndarray, box: np.ndarray, bandwidth_kde: float, res: int, sigma: float) -> np.ndarray:
    import multipers as mp
    from sklearn.neighbors import KernelDensity

    rows = []
    span = box[1] - box[0]
    axes = [np.linspace(0, 1, res)] * 2
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    for x in X:
        f = -KernelDensity(bandwidth=bandwidth_kde).fit(x).score_samples(x)
        st = mp.filtrations.RipsLowerstar(points=x, function=f)
        st.collapse_edges(-1)
        st.expansion(2)
        feats = []
        for pts, w in mp.signed_measure(st, degrees=[0, 1], invariant="hilbert", n_jobs=1):
            p = (np.asarray(pts) - box[0]) / span
            sq = ((grid[:, None, :] - p[None]) ** 2).sum(-1)
            feats.append((np.exp(-sq / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi)) ** 2) @ np.asarray(w, dtype=float))
        rows.append(np.concatenate(feats))
    return np.stack(rows)


def _reference_mma(X: np.ndarray, box: np.ndarray, bandwidth_kde: float, res: int) -> np.ndarray:
    import multipers as mp
    from sklearn.neighbors import KernelDensity

    rows = []
    for x in X:
        # the plugin's canonical vertex numbering (lexicographic points, then by filtration value):
        # MMA's approximation depends on the numbering, so both sides use the same one
        x = x[np.lexsort(x.T[::-1])]
        f = -KernelDensity(bandwidth=bandwidth_kde).fit(x).score_samples(x)
        o = np.argsort(f, kind="stable")
        x, f = x[o], f[o]
        st = mp.filtrations.RipsLowerstar(points=x, function=f)
        st.collapse_edges(-1)
        st.expansion(2)
        mod = mp.module_approximation(st, box=box, nlines=200, n_jobs=1, ignore_warnings=True)
        rows.append(np.asarray(mod.representation(degrees=[0, 1], bandwidth=0.1, resolution=[res, res], kernel="linear", p=1.0, normalize=True, box=box, n_jobs=1, flatten=True)).reshape(-1))
    return np.stack(rows)


def _time(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(n_clouds: int = 32, n_points: int = 80, repeat: int = 2) -> None:
    import torch

    torch.set_num_threads(1)
    import geoatlas as ga
    from geoatlas.pipeline.executor import make_executor

    X = ga.create("dataset", "outlier_point_clouds", n_per_class=max(1, n_clouds // 3), n_points=n_points, seed=0).load().X.astype(np.float64)
    res = 16
    rows = []
    sm = ga.create("descriptor", "signed_measure", filtration_params={"bandwidth": 0.2}, resolution=res, bandwidth=0.05).fit(X)
    mma = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.2}, resolution=res, bandwidth=0.1).fit(X)
    t_ref_sm, F_ref_sm = _time(lambda: _reference_signed_measure(X, sm.box_, 0.2, res, 0.05), repeat)
    t_ref_mma, F_ref_mma = _time(lambda: _reference_mma(X, mma.box_, 0.2, res), repeat)
    for workers in (1, 2):
        ex = make_executor("local", workers)
        ex.transform(sm, X[: 2 * workers])  # warm the worker pool (process start-up, imports)
        t_sm, F_sm = _time(lambda ex=ex: ex.transform(sm, X), repeat)
        t_mma, F_mma = _time(lambda ex=ex: ex.transform(mma, X), repeat)
        err_sm = float(np.abs(F_sm - F_ref_sm).max() / max(1.0, np.abs(F_ref_sm).max()))
        mma_ref = F_ref_mma.reshape(len(X), 2, res, res).transpose(0, 1, 3, 2).reshape(len(X), -1)
        err_mma = float(np.abs(F_mma - mma_ref).max())
        rows.append(("signed_measure", workers, t_sm, t_ref_sm, err_sm))
        rows.append(("mma_image", workers, t_mma, t_ref_mma, err_mma))
    print(f"{len(X)} point clouds x {n_points} points, best of {repeat}; ours through the local executor, theirs = multipers in a loop")
    print(f"{'descriptor':<16}{'workers':>8}{'ours [s]':>10}{'multipers [s]':>15}{'ratio ours/theirs':>19}{'max rel diff':>14}")
    for name, w, t, tr, err in rows:
        print(f"{name:<16}{w:>8}{t:>10.2f}{tr:>15.2f}{t / tr:>19.2f}{err:>14.1e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-clouds", type=int, default=32)
    ap.add_argument("--n-points", type=int, default=80)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    main(a.n_clouds, a.n_points, a.repeat)
