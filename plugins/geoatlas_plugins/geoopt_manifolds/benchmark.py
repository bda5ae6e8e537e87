"""Batched SPD distances and Fréchet means: geoatlas `spd` manifold (torch) vs pyriemann / POT (numpy).

Same float64 matrices on both sides; one thread each. Prints seconds per call (best of
``repeats``), the ratio ours / theirs (< 1: ours faster) and the max relative difference of the
results. Run: ``python plugins/geoatlas_plugins/geoopt_manifolds/benchmark.py [--n 8] [--batch 500]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402
from pyriemann.geometry.distance import distance_logeuclid, distance_riemann, distance_wasserstein  # noqa: E402
from pyriemann.geometry.mean import mean_logeuclid, mean_riemann, mean_wasserstein  # noqa: E402

import geoatlas as ga  # noqa: E402


def _spd(k: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, n, n))
    return a @ a.transpose(0, 2, 1) / n + 0.1 * np.eye(n)


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(n: int = 8, batch: int = 500, mean_batch: int = 100, repeats: int = 3) -> list[dict[str, object]]:
    """Run the benchmark and print the table; returns its rows."""
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    A, B = _spd(batch, n, 0), _spd(batch, n, 1)
    At, Bt = torch.from_numpy(A), torch.from_numpy(B)
    S = _spd(mean_batch, n, 2)
    St = torch.from_numpy(S)
    zero = np.zeros(n)
    metrics = {
        "affine_invariant": (
            lambda: distance_riemann(A, B),
            lambda: mean_riemann(S, tol=1e-10, maxiter=200),
            "pyriemann",
        ),
        "log_euclidean": (
            lambda: distance_logeuclid(A, B),
            lambda: mean_logeuclid(S),
            "pyriemann",
        ),
        "bures_wasserstein": (
            lambda: distance_wasserstein(A, B),
            lambda: mean_wasserstein(S, tol=1e-10, maxiter=200),
            "pyriemann",
        ),
    }
    rows: list[dict[str, object]] = []
    for metric, (ref_dist, ref_mean, lib) in metrics.items():
        m = ga.create("manifold", "spd", n=n, metric=metric)
        t_ours, d_ours = _best(lambda m=m: m.dist(At, Bt), repeats)
        t_ref, d_ref = _best(ref_dist, repeats)
        err = float(np.max(np.abs(d_ours.numpy() - np.ravel(d_ref)) / np.abs(np.ravel(d_ref))))
        rows.append({"op": f"dist x{batch}", "metric": metric, "ours_s": t_ours, "ref": lib, "ref_s": t_ref, "ratio": t_ours / t_ref, "max_rel_diff": err})
        t_ours, g_ours = _best(lambda m=m: m.frechet_mean(St, max_iter=200, tol=1e-10), repeats)
        t_ref, g_ref = _best(ref_mean, repeats)
        err = float(np.max(np.abs(g_ours.numpy() - g_ref)) / np.max(np.abs(g_ref)))
        rows.append({"op": f"mean of {mean_batch}", "metric": metric, "ours_s": t_ours, "ref": lib, "ref_s": t_ref, "ratio": t_ours / t_ref, "max_rel_diff": err})
    # Bures-Wasserstein against POT as a second reference
    bw = ga.create("manifold", "spd", n=n, metric="bures_wasserstein")
    t_ref, d_ref = _best(lambda: np.array([ot.gaussian.bures_wasserstein_distance(zero, zero, a, b) for a, b in zip(A, B, strict=True)]), repeats)
    t_ours, d_ours = _best(lambda: bw.dist(At, Bt), repeats)
    rows.append({"op": f"dist x{batch}", "metric": "bures_wasserstein", "ours_s": t_ours, "ref": "POT", "ref_s": t_ref, "ratio": t_ours / t_ref,
                 "max_rel_diff": float(np.max(np.abs(d_ours.numpy() - d_ref) / d_ref))})
    t_ref, (_, g_ref) = _best(lambda: ot.gaussian.bures_wasserstein_barycenter(np.zeros((mean_batch, n)), S, num_iter=200, eps=1e-10), repeats)
    t_ours, g_ours = _best(lambda: bw.frechet_mean(St, max_iter=200, tol=1e-10), repeats)
    rows.append({"op": f"mean of {mean_batch}", "metric": "bures_wasserstein", "ours_s": t_ours, "ref": "POT", "ref_s": t_ref, "ratio": t_ours / t_ref,
                 "max_rel_diff": float(np.max(np.abs(g_ours.numpy() - g_ref)) / np.max(np.abs(g_ref)))})
    print(f"SPD metrics, n = {n}, float64, 1 thread (ratio = ours / reference; < 1 means ours is faster)")
    print(f"{'op':<14}{'metric':<20}{'ours [s]':>11}{'reference':>11}{'ref [s]':>11}{'ratio':>8}{'max rel diff':>14}")
    for r in rows:
        print(f"{r['op']:<14}{r['metric']:<20}{r['ours_s']:>11.4f}{r['ref']:>11}{r['ref_s']:>11.4f}{r['ratio']:>8.2f}{r['max_rel_diff']:>14.1e}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--mean-batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for size in sorted({args.n, 32}):
        main(size, args.batch, args.mean_batch, args.repeats)
        print()
