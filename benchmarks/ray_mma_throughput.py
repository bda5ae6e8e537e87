"""Throughput of a per-sample descriptor step on the executors: the MMA image descriptor
(``multiparameter_persistence``'s ``mma_image``) over a few thousand point clouds with the local
executor at 1 and 2 workers and the Ray executor on a local 2-CPU Ray instance.

Reported as ratios (speed-up over local workers=1), with the outputs checked equal. Also measured,
for the cluster estimate in docs/scaling.md: the time per cloud, the Ray round trip of an empty
task (scheduling + result), and the bytes shipped per cloud (input and output).

Each executor is warmed before it is timed (process pools and Ray workers started, imports done):
cold start is a one-off per worker process and is reported separately. One BLAS/torch thread per
worker. Run: ``python benchmarks/ray_mma_throughput.py [--n-clouds 2000] [--n-points 40]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(n_clouds: int = 2000, n_points: int = 40, repeat: int = 1, cpus: int = 2) -> dict[str, float]:
    import ray
    import torch

    torch.set_num_threads(1)
    import geoatlas as ga
    from geoatlas.pipeline.executor import LocalExecutor, RayExecutor

    X = ga.create("dataset", "outlier_point_clouds", n_per_class=max(1, n_clouds // 3), n_points=n_points, seed=0).load().X.astype(np.float64)
    mma = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.2}, resolution=16, bandwidth=0.1).fit(X)
    out: dict[str, float] = {"n_clouds": len(X), "n_points": n_points}

    t1, F1 = _timed(lambda: LocalExecutor(1).transform(mma, X), repeat)
    out["local_1_s"] = t1
    out["seconds_per_cloud"] = t1 / len(X)
    ex2 = LocalExecutor(cpus)
    ex2.transform(mma, X[: 8 * cpus])  # start the worker pool
    t2, F2 = _timed(lambda: ex2.transform(mma, X), repeat)
    out[f"local_{cpus}_s"] = t2

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    out["ray_start_s"] = time.perf_counter() - t0
    rex = RayExecutor(cpus)
    t0 = time.perf_counter()
    rex.transform(mma, X[: 8 * cpus])  # start the workers, import torch / multipers there
    out["ray_warmup_s"] = time.perf_counter() - t0
    tr, Fr = _timed(lambda: rex.transform(mma, X), repeat)
    out["ray_s"] = tr
    out["ray_blocks"] = len(rex.blocks(len(X)))

    @ray.remote
    def noop(x):
        return x

    ray.get([noop.remote(i) for i in range(2 * cpus)])
    n_tasks = 400
    t0 = time.perf_counter()
    ray.get([noop.remote(i) for i in range(n_tasks)])
    out["ray_task_overhead_s"] = (time.perf_counter() - t0) / n_tasks * cpus  # per task, per CPU (tasks run cpus at a time)
    ray.shutdown()

    out["bytes_in_per_cloud"] = len(pickle.dumps(X[:100], protocol=5)) / 100
    out["bytes_out_per_cloud"] = F1[:100].nbytes / 100
    out["max_abs_diff_local2"] = float(np.abs(np.asarray(F2) - F1).max())
    out["max_abs_diff_ray"] = float(np.abs(np.asarray(Fr) - F1).max())
    out[f"speedup_local_{cpus}"] = t1 / t2
    out["speedup_ray"] = t1 / tr
    out["ray_over_local"] = tr / t2

    print(f"mma_image over {len(X)} clouds x {n_points} points, median of {repeat}, one thread per worker")
    print(f"{'executor':<22}{'seconds':>10}{'speed-up vs local 1':>22}{'max |diff|':>12}")
    print(f"{'local, 1 worker':<22}{t1:>10.2f}{1.0:>22.2f}{0.0:>12.1e}")
    print(f"{f'local, {cpus} workers':<22}{t2:>10.2f}{t1 / t2:>22.2f}{out['max_abs_diff_local2']:>12.1e}")
    print(f"{f'ray, {cpus} CPUs':<22}{tr:>10.2f}{t1 / tr:>22.2f}{out['max_abs_diff_ray']:>12.1e}")
    print(f"ray / local {cpus} workers: {tr / t2:.2f}; {out['ray_blocks']} blocks of ~{len(X) / out['ray_blocks']:.0f} clouds")
    print(f"per cloud: {out['seconds_per_cloud'] * 1e3:.2f} ms, {out['bytes_in_per_cloud']:.0f} B in, {out['bytes_out_per_cloud']:.0f} B out; "
          f"empty Ray task: {out['ray_task_overhead_s'] * 1e3:.2f} ms per CPU; Ray start {out['ray_start_s']:.1f} s, warm-up {out['ray_warmup_s']:.1f} s")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-clouds", type=int, default=2000)
    ap.add_argument("--n-points", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cpus", type=int, default=2)
    a = ap.parse_args()
    main(a.n_clouds, a.n_points, a.repeat, a.cpus)
