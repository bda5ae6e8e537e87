"""Benchmark: bootstrap-AMG embedding vs exact eigenvectors (``scipy.sparse.linalg.eigsh``,
shift-invert) of the same augmented SPD Laplacian, as many vectors as the bootstrap produced.

There is no installable reference of the authors' C code (BCMatch4Graphs); the comparison is with
the computation the method replaces. Attributed SBM of growing size (3 blocks, p_in 20/n_block,
p_out 10/n_block). Prints seconds, the ratio ours / eigsh and the ARI of both with the modified k-means.

Run: ``python plugins/geoatlas_plugins/bootstrap_amg/benchmark.py [block_size ...]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.sparse.linalg import eigsh
from sklearn.metrics import adjusted_rand_score

from geoatlas_plugins.bootstrap_amg.bamg import (
    AttributedSBM,
    _graph_and_attributes,
    augment,
    block_features,
    bootstrap_smooth_vectors,
    modified_kmeans,
    spd_laplacian,
)


def main(sizes: list[int]) -> None:
    for bs in sizes:
        b = AttributedSBM(block_size=bs, p_in=20 / bs, p_out=10 / bs, seed=0).load()
        A, attr = _graph_and_attributes(b.X)
        G, idx = augment(A, attr)
        L = spd_laplacian(G)
        t0 = time.perf_counter()
        W, _ = bootstrap_smooth_vectors(L, 40, 1e-6, 15, 0)
        U = np.linalg.svd(W, full_matrices=False)[0]
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, V = eigsh(L.tocsc(), k=W.shape[1], sigma=-1e-6)
        t_eig = time.perf_counter() - t0
        y = np.asarray(b.y)
        a1 = adjusted_rand_score(y, modified_kmeans(block_features(U, A.shape[0], idx), A, 3, 20, 10, 0)[0])
        a2 = adjusted_rand_score(y, modified_kmeans(block_features(V, A.shape[0], idx), A, 3, 20, 10, 0)[0])
        print(f"n={A.shape[0]} (augmented {L.shape[0]}), dim {W.shape[1]}: bootstrap AMG {t_ours:.2f}s, eigsh {t_eig:.2f}s, "
              f"ratio {t_ours / t_eig:.2f} | ARI {a1:.3f} vs {a2:.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
