"""Cost of latent graph construction (dDGM Gumbel top-k) as the node count grows: dense vs chunked.

The dense path builds the full ``n x n`` dissimilarity matrix with autograd (what the dDGM does
with its KeOps kernel replaced by plain torch); the chunked path selects the top-k of
``chunk_size`` rows at a time without autograd and recomputes only the ``n k`` selected
dissimilarities (and the row normalisers, blockwise with checkpointing) with autograd, so its
memory is ``O(chunk_size * n + n k)``.

For each configuration the script times one forward + backward of the sampled edges'
log-probabilities and measures the peak resident memory it adds, in a forked child process
(Linux). Both paths select the same k-NN graph when the noise is off (checked here in float64;
in float32 the blockwise matrix products can round differently and flip near-ties).

Run: ``python plugins/geoatlas_plugins/neural_snowflake/benchmark.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import torch

from geoatlas_plugins.neural_snowflake.dgm import latent_geometry, sample_latent_graph


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _run(geometry: str, n: int, chunk: int | None, k: int, dim: int) -> tuple[float, float]:
    """(seconds, added peak MiB) of one forward + backward, measured in a forked child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            torch.set_num_threads(1)
            geom = latent_geometry(geometry, dim, snowflake_width=4)
            g = torch.Generator().manual_seed(0)
            P = torch.randn(n, dim, generator=g).requires_grad_(True)
            base = _rss_mib()
            t0 = time.perf_counter()
            _, lp = sample_latent_graph(P, geom, k, 1.0, chunk_size=chunk, generator=g, normalize=True)
            lp.sum().backward()
            dt = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
            os.write(w, f"{dt} {max(peak - base, 0.0)}".encode())
        finally:
            os._exit(0)
    os.close(w)
    out = os.read(r, 200).decode()
    os.waitpid(pid, 0)
    os.close(r)
    dt, mem = (float(v) for v in out.split())
    return dt, mem


def _check_same_graph(geometry: str, n: int = 300, k: int = 8, dim: int = 8) -> bool:
    geom = latent_geometry(geometry, dim, snowflake_width=4).double()
    P = torch.randn(n, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        e1, l1 = sample_latent_graph(P, geom, k, 1.0, noise=False, normalize=True)
        e2, l2 = sample_latent_graph(P, geom, k, 1.0, chunk_size=64, noise=False, normalize=True)
    return bool(torch.equal(e1, e2)) and bool(torch.allclose(l1, l2, rtol=1e-9, atol=1e-10))


def main(quick: bool = False) -> None:
    k, dim, chunk = 8, 8, 256
    sizes = {"euclidean": [500, 1000, 2000, 4000], "snowflake": [250, 500, 1000, 2000]}
    dense_max = {"euclidean": 4000, "snowflake": 1000}
    if quick:
        sizes = {"euclidean": [500, 1000], "snowflake": [250, 500]}
    for geometry in sizes:
        print(f"same graph dense vs chunked ({geometry}): {_check_same_graph(geometry)}")
    print(f"\nk = {k}, latent dim = {dim}, chunk_size = {chunk}; one forward + backward, 1 thread")
    header = f"{'geometry':<10} {'n':>6} {'dense s':>9} {'dense MiB':>10} {'chunk s':>9} {'chunk MiB':>10} {'time c/d':>9} {'mem c/d':>8}"
    print(header)
    print("-" * len(header))
    for geometry, ns in sizes.items():
        for n in ns:
            if n <= dense_max[geometry]:
                td, md = _run(geometry, n, None, k, dim)
            else:
                td, md = float("nan"), float("nan")
            tc, mc = _run(geometry, n, chunk, k, dim)
            ratio_t = tc / td if td == td else float("nan")
            ratio_m = mc / md if md == md and md > 0 else float("nan")
            print(f"{geometry:<10} {n:>6} {td:>9.3f} {md:>10.1f} {tc:>9.3f} {mc:>10.1f} {ratio_t:>9.2f} {ratio_m:>8.2f}")
    print("\n(dense skipped where its n x n buffers would not fit comfortably; MiB = added peak RSS)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two sizes per geometry")
    main(ap.parse_args().quick)
