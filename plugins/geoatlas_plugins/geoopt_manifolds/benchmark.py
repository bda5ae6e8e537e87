"""Batched SPD distances and Fréchet means: geoatlas `spd` manifold (torch) vs pyriemann (numpy), POT.

Same float64 matrices on both sides, one thread each (``torch.set_num_threads(1)``,
``threadpoolctl`` for numpy's BLAS/LAPACK); time is the CPU time of this process
(``time.process_time``), repeated calls per sample up to ~20 ms of work. The calls are interleaved: each repeat times ours
with the input checks on (the default), ours with the checks off (``geoatlas.validation.checks``)
and the reference, in an order that alternates between repeats, and the table reports the
**median of the paired ratios** ours / reference (< 1: ours faster) with their interquartile
range, so that load from other processes on a shared machine hits both sides alike. The machine
load (``os.getloadavg``) is printed before and after. Every row also checks agreement with the
reference (max relative difference, asserted <= 1e-10 for pyriemann).

Means use the same stopping tolerance on both sides (1e-10, up to 200 iterations).

Run: ``python plugins/geoatlas_plugins/geoopt_manifolds/benchmark.py`` (all sizes; ``--quick``
for n = 8 and 32 with batches of 100 only; ``--markdown`` prints the table for the README).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402
from pyriemann.geometry.distance import distance_logeuclid, distance_riemann, distance_wasserstein  # noqa: E402
from pyriemann.geometry.mean import mean_logeuclid, mean_riemann, mean_wasserstein  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import geoatlas as ga  # noqa: E402
from geoatlas.validation import checks  # noqa: E402

TOL = 1e-10
AGREEMENT = 1e-10


def _spd(k: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, n, n))
    return a @ a.transpose(0, 2, 1) / n + 0.1 * np.eye(n)


def _time(fn: Callable[[], object], calls: int = 1) -> tuple[float, object]:
    """CPU seconds of this process per call (``time.process_time``; one thread on both sides,
    so this is the work done, not inflated by other processes' load on a shared machine)."""
    t0 = time.process_time()
    for _ in range(calls):
        out = fn()
    return (time.process_time() - t0) / calls, out


def _paired(ours: Callable[[], object], ref: Callable[[], object], repeats: int) -> dict[str, object]:
    """Interleaved timing: per repeat ours (checks on), ours (checks off) and the reference,
    order alternating; medians of the paired ratios and their interquartile ranges."""
    _time(ours)  # warm-up (allocations, lazy imports)
    t, _ = _time(ref)
    k = max(1, min(50, int(0.02 / max(t, 1e-6))))  # calls per sample: >= ~20 ms of work each
    on, off, t_on, t_ref = [], [], [], []
    out_ours = out_ref = None
    for r in range(repeats):
        if r % 2 == 0:
            a, out_ours = _time(ours, k)
            with checks(False):
                b, _ = _time(ours, k)
            c, out_ref = _time(ref, k)
        else:
            c, out_ref = _time(ref, k)
            with checks(False):
                b, _ = _time(ours, k)
            a, out_ours = _time(ours, k)
        on.append(a / c)
        off.append(b / c)
        t_on.append(a)
        t_ref.append(c)

    def q(v: list[float]) -> tuple[float, float, float]:
        if len(v) < 2:
            return v[0], v[0], v[0]
        lo, _, hi = statistics.quantiles(v, n=4)
        return statistics.median(v), lo, hi

    return {"ratio": q(on), "ratio_nochecks": q(off), "ours_s": statistics.median(t_on), "ref_s": statistics.median(t_ref),
            "ours_out": out_ours, "ref_out": out_ref}


def _rel(ours: object, ref: object, elementwise: bool) -> float:
    a, b = np.asarray(ours), np.asarray(ref).reshape(np.shape(ours))
    if elementwise:  # distances: per entry
        return float(np.max(np.abs(a - b) / np.abs(b)))
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))  # a mean: relative to its largest entry


def run(n: int, batches: tuple[int, ...], repeats: int, pot: bool = True) -> list[dict[str, object]]:
    """All rows for one matrix size ``n``."""
    return [row for batch in batches for row in _rows(n, batch, repeats, pot)]


def _rows(n: int, batch: int, repeats: int, pot: bool) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    A, B, S = _spd(batch, n, 0), _spd(batch, n, 1), _spd(batch, n, 2)
    At, Bt, St = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(S)
    refs = {
        "affine_invariant": (lambda: distance_riemann(A, B), lambda: mean_riemann(S, tol=TOL, maxiter=200)),
        "log_euclidean": (lambda: distance_logeuclid(A, B), lambda: mean_logeuclid(S)),
        "bures_wasserstein": (lambda: distance_wasserstein(A, B), lambda: mean_wasserstein(S, tol=TOL, maxiter=200)),
    }
    for metric, (ref_dist, ref_mean) in refs.items():
        m = ga.create("manifold", "spd", n=n, metric=metric)
        res = _paired(lambda m=m: m.dist(At, Bt), ref_dist, repeats)
        rows.append({"n": n, "op": f"dist x{batch}", "metric": metric, "ref": "pyriemann", **res, "err": _rel(res["ours_out"], res["ref_out"], True)})
        res = _paired(lambda m=m: m.frechet_mean(St, max_iter=200, tol=TOL), ref_mean, repeats)
        rows.append({"n": n, "op": f"mean of {batch}", "metric": metric, "ref": "pyriemann", **res, "err": _rel(res["ours_out"], res["ref_out"], False)})
    if pot:  # Bures-Wasserstein against POT as a second reference
        bw = ga.create("manifold", "spd", n=n, metric="bures_wasserstein")
        zero = np.zeros(n)
        res = _paired(lambda: bw.dist(At, Bt), lambda: np.array([ot.gaussian.bures_wasserstein_distance(zero, zero, a, b) for a, b in zip(A, B, strict=True)]), repeats)
        rows.append({"n": n, "op": f"dist x{batch}", "metric": "bures_wasserstein", "ref": "POT", **res, "err": _rel(res["ours_out"], res["ref_out"], True)})
        res = _paired(lambda: bw.frechet_mean(St, max_iter=200, tol=TOL),
                      lambda: ot.gaussian.bures_wasserstein_barycenter(np.zeros((batch, n)), S, num_iter=200, eps=TOL)[1], repeats)
        rows.append({"n": n, "op": f"mean of {batch}", "metric": "bures_wasserstein", "ref": "POT", **res, "err": _rel(res["ours_out"], res["ref_out"], False)})
    return rows


def main(sizes: tuple[int, ...] = (8, 32, 64), batches: tuple[int, ...] = (100, 500), repeats: int = 7, markdown: bool = False) -> list[dict[str, object]]:
    """Run the benchmark and print the table; returns its rows."""
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    rows: list[dict[str, object]] = []
    with threadpool_limits(1):
        for n in sizes:
            rows += run(n, batches, repeats if n < 64 else max(3, repeats // 2))
    load_after = os.getloadavg()
    cores = os.cpu_count()
    print(f"SPD metrics, float64, 1 thread; median of paired ratios ours / reference over {repeats} interleaved repeats "
          f"({max(3, repeats // 2)} at n = 64), [IQR]; < 1 means ours is faster")
    print(f"machine load (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} on {cores} cores")
    if markdown:
        print("| n | op | metric | reference | ref [ms] | ratio (checks on) [IQR] | ratio (checks off) | max rel diff |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        print(f"{'n':>3} {'op':<13}{'metric':<19}{'ref':>10}{'ref [ms]':>10}{'ratio':>7}{'IQR':>13}{'no checks':>10}{'max rel diff':>14}")
    for r in rows:
        med, lo, hi = r["ratio"]  # type: ignore[misc]
        off = r["ratio_nochecks"][0]  # type: ignore[index]
        if markdown:
            print(f"| {r['n']} | {r['op']} | {r['metric']} | {r['ref']} | {1e3 * r['ref_s']:.2f} | **{med:.2f}** [{lo:.2f}, {hi:.2f}] | {off:.2f} | {r['err']:.0e} |")
        else:
            print(f"{r['n']:>3} {r['op']:<13}{r['metric']:<19}{r['ref']:>10}{1e3 * r['ref_s']:>10.2f}{med:>7.2f}  [{lo:.2f}, {hi:.2f}]{off:>10.2f}{r['err']:>14.1e}")
    worst = max(r["err"] for r in rows if r["ref"] == "pyriemann")  # type: ignore[type-var]
    assert worst <= AGREEMENT, f"disagreement with pyriemann: {worst:.2e} > {AGREEMENT}"
    print(f"agreement with pyriemann: max relative difference {worst:.1e} (asserted <= {AGREEMENT:.0e})")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="n = 8 and 32, batches of 100, 5 repeats")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if args.quick:
        main((8, 32), (100,), 5, args.markdown)
    else:
        main(tuple(args.sizes), tuple(args.batches), args.repeats, args.markdown)
