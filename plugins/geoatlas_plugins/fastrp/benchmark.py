"""Benchmark: our FastRP descriptor vs the authors' reference algorithm and a dense baseline.

The authors' ``fastrp.py`` (GTmac/FastRP, MIT) imports gensim, pandas, matplotlib and tqdm at
module level, and the third-party PyPI package ``fastrp`` is not installed here (no installs
allowed), so the reference is the reference's own computation path run as it runs there:
``SparseRandomProjection(random_state=42).fit(M)``, ``components_ @ spdiags(deg^alpha)``,
``transform``, sparse-times-dense powers, ``normalize``, weighted sum, ``scale`` (transcribed in
this file). The dense baseline computes the same embedding with dense ``n x n`` matrices.
Every run checks that the three agree (max abs difference printed).

Run: ``python plugins/geoatlas_plugins/fastrp/benchmark.py [--sizes 1000 4000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import os
import time

import networkx as nx
import numpy as np
import scipy.sparse as sp
from sklearn import random_projection
from sklearn.preprocessing import normalize, scale

import geoatlas as ga

DIM, WEIGHTS, ALPHA = 128, [0.0, 0.0, 1.0, 6.67], -0.64


def reference(A: sp.csr_matrix) -> np.ndarray:
    A = sp.csc_matrix(A)
    N = A.shape[0]
    deg = np.asarray(A.sum(axis=1)).ravel()
    M = sp.diags(1.0 / deg, 0, shape=(N, N)) @ A
    tr = random_projection.SparseRandomProjection(n_components=DIM, random_state=42)
    Y = tr.fit(M)
    Y.components_ = Y.components_ @ sp.diags(np.power(deg, ALPHA), 0, shape=(N, N))
    cur = tr.transform(M)
    U_list = [cur]
    for _ in range(2, len(WEIGHTS) + 1):
        cur = M @ cur
        U_list.append(cur)
    dense = [normalize(u.toarray() if sp.issparse(u) else u, norm="l2", axis=1) for u in U_list]
    U = np.zeros_like(dense[0])
    for u, w in zip(dense, WEIGHTS, strict=True):
        U += u * w
    return scale(U)


def dense_baseline(A: sp.csr_matrix) -> np.ndarray:
    Ad = A.toarray()
    deg = Ad.sum(1)
    M = Ad / deg[:, None]
    comp = random_projection.SparseRandomProjection(n_components=DIM, random_state=42).fit(sp.csr_matrix(M)).components_
    R = (deg**ALPHA)[:, None] * comp.toarray().T
    cur = M @ R
    U = np.zeros_like(cur)
    for w in WEIGHTS:
        U += w * normalize(cur, norm="l2", axis=1)
        cur = M @ cur
    return scale(U)


def timed(fn, A, repeats):  # type: ignore[no-untyped-def]
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(A)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    d = ga.create("descriptor", "fastrp", dim=DIM, weights=WEIGHTS, normalization_strength=ALPHA)
    print(f"load average {os.getloadavg()[0]:.1f}; d = {DIM}, weights {WEIGHTS}, beta {ALPHA}; median of {args.repeats}")
    print("n      edges    ours (ms)  reference (ms)  dense (ms)  ours/ref  ours/dense  max|ours-ref|  max|ours-dense|")
    for n in args.sizes:
        G = nx.barabasi_albert_graph(n, 5, seed=0)  # connected, heavy-tailed degrees
        A = nx.to_scipy_sparse_array(G, format="csr", dtype=np.float64)
        t_o, Z = timed(d.transform, A, args.repeats)
        t_r, R = timed(reference, A, args.repeats)
        t_d, D = timed(dense_baseline, A, max(1, args.repeats // 2))
        print(f"{n:<6d} {G.number_of_edges():<8d} {t_o * 1e3:9.1f}  {t_r * 1e3:14.1f}  {t_d * 1e3:10.1f}  {t_o / t_r:8.2f}  "
              f"{t_o / t_d:10.2f}  {np.abs(Z - R).max():13.1e}  {np.abs(Z - D).max():15.1e}")


if __name__ == "__main__":
    main()
