"""Throughput of the multiparameter_persistence descriptors vs. multipers in a plain loop.

Same input (a batch of point clouds with outliers), same maths:

- ``signed_measure`` (Rips x Gaussian codensity, Hilbert H0+H1, Gaussian convolution 16x16) vs.
  a loop of ``sklearn`` KDE + ``multipers.filtrations.RipsLowerstar`` + edge collapse +
  ``multipers.signed_measure`` + numpy convolution;
- ``mma_image`` vs. a loop of ``multipers.module_approximation`` + ``PyModule.representation``.

Ours runs through the core's local executor (joblib processes) with 1 and 2 workers (with 1 the
executor calls ``descriptor.transform`` directly). The machine may be shared, so ours and theirs
are interleaved: each repeat times both back to back on each block of 3 clouds (1 worker) or on
the whole batch (2 workers), alternating which goes first, and the ratio reported is the median
over repeats of the paired ratio ours / theirs (wall time, lower is better);
with 1 worker the process CPU time ratio is reported too (less sensitive to other jobs). The load
average is printed before and after. Run:
``python plugins/geoatlas_plugins/multiparameter_persistence/benchmark.py [--repeat 7]``.
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


def _clock(fn) -> tuple[float, float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def _paired(ours, theirs, n: int, repeat: int, block: int) -> dict[str, object]:
    """Interleaved timings of ``ours(a, b)`` and ``theirs(a, b)`` on the samples ``a:b``.

    Each repeat goes over the ``n`` samples in blocks of ``block``, timing ours and theirs back to
    back on each block (alternating which goes first), so a burst of load from other jobs hits both
    sides alike; the per-repeat totals give one paired ratio per repeat.
    """
    wall, cpu = {"ours": [], "theirs": []}, {"ours": [], "theirs": []}
    out: dict[str, list] = {}
    k = 0
    for _ in range(repeat):
        tot = {side: [0.0, 0.0] for side in wall}
        parts: dict[str, list] = {"ours": [], "theirs": []}
        for a in range(0, n, block):
            b = min(n, a + block)
            for side in (("ours", "theirs") if k % 2 == 0 else ("theirs", "ours")):
                w, c, F = _clock(lambda fn=(ours if side == "ours" else theirs), a=a, b=b: fn(a, b))
                tot[side][0] += w
                tot[side][1] += c
                parts[side].append(F)
            k += 1
        for side in wall:
            wall[side].append(tot[side][0])
            cpu[side].append(tot[side][1])
        out = parts
    med = lambda v: float(np.median(v))  # noqa: E731
    ratios = np.divide(wall["ours"], wall["theirs"])
    return {
        "ours": med(wall["ours"]), "theirs": med(wall["theirs"]),
        "ratio": med(ratios), "iqr": np.percentile(ratios, [25, 75]),
        "cpu_ratio": med(np.divide(cpu["ours"], cpu["theirs"])),
        "F": np.concatenate(out["ours"]), "F_ref": np.concatenate(out["theirs"]),
    }


def main(n_clouds: int = 32, n_points: int = 80, repeat: int = 7) -> None:
    import torch

    torch.set_num_threads(1)
    import geoatlas as ga
    from geoatlas.pipeline.executor import make_executor

    load_before = os.getloadavg()
    X = ga.create("dataset", "outlier_point_clouds", n_per_class=max(1, n_clouds // 3), n_points=n_points, seed=0).load().X.astype(np.float64)
    res = 16
    rows = []
    sm = ga.create("descriptor", "signed_measure", filtration_params={"bandwidth": 0.2}, resolution=res, bandwidth=0.05).fit(X)
    mma = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.2}, resolution=res, bandwidth=0.1).fit(X)
    ref_sm = lambda a, b: _reference_signed_measure(X[a:b], sm.box_, 0.2, res, 0.05)  # noqa: E731
    ref_mma = lambda a, b: _reference_mma(X[a:b], mma.box_, 0.2, res)  # noqa: E731
    _reference_mma(X[:2], mma.box_, 0.2, res)  # warm both sides (imports, first-call costs)
    mma.transform(X[:2])
    for workers in (1, 2):
        ex = make_executor("local", workers)
        ex.transform(sm, X[: 2 * workers])  # warm the worker pool (process start-up, imports)
        # one worker: interleaved in blocks of 3 clouds (the executor calls transform directly);
        # two workers: whole batches, so that the executor can split them over its pool
        block = 3 if workers == 1 else len(X)
        p_sm = _paired(lambda a, b, ex=ex: ex.transform(sm, X[a:b]), ref_sm, len(X), repeat, block)
        p_mma = _paired(lambda a, b, ex=ex: ex.transform(mma, X[a:b]), ref_mma, len(X), repeat, block)
        err_sm = float(np.abs(p_sm["F"] - p_sm["F_ref"]).max() / max(1.0, np.abs(p_sm["F_ref"]).max()))
        mma_ref = p_mma["F_ref"].reshape(len(X), 2, res, res).transpose(0, 1, 3, 2).reshape(len(X), -1)
        err_mma = float(np.abs(p_mma["F"] - mma_ref).max())
        rows.append(("signed_measure", workers, p_sm, err_sm))
        rows.append(("mma_image", workers, p_mma, err_mma))
    load_after = os.getloadavg()
    print(f"{len(X)} point clouds x {n_points} points, {repeat} interleaved repeats (medians); "
          f"ours through the local executor, theirs = multipers in a loop; {os.cpu_count()} cores")
    print(f"load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"{'descriptor':<16}{'workers':>8}{'ours [s]':>10}{'multipers [s]':>15}{'ratio (wall)':>14}{'IQR (wall)':>15}{'ratio (CPU)':>13}{'max rel diff':>14}")
    for name, w, p, err in rows:
        cpu = f"{p['cpu_ratio']:>13.3f}" if w == 1 else f"{'-':>13}"
        iqr = f"{p['iqr'][0]:.3f}-{p['iqr'][1]:.3f}"
        print(f"{name:<16}{w:>8}{p['ours']:>10.3f}{p['theirs']:>15.3f}{p['ratio']:>14.3f}{iqr:>15}{cpu}{err:>14.1e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-clouds", type=int, default=32)
    ap.add_argument("--n-points", type=int, default=80)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    main(a.n_clouds, a.n_points, a.repeat)
