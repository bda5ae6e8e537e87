"""Benchmark: RVGP posterior (mean + variance) against gpytorch's ExactGP with the same kernel.

Same point cloud (Fibonacci sphere), same positional encodings and spectral density, float64,
exact Cholesky in gpytorch. Prints seconds (best of 3), the ratio ours / gpytorch and the largest
relative difference of the posterior means. The geometry (graph, frames, L_c spectrum) is shared
and timed separately.

Run: ``python plugins/geoatlas_plugins/rvgp/benchmark.py [N ...]``
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace

import gpytorch
import numpy as np
import torch

from geoatlas_plugins.rvgp.rvgp import RVGP, fibonacci_sphere, sphere_field


def best(f, reps: int = 3):
    out, ts = None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def main(sizes: list[int]) -> None:
    for n in sizes:
        X = fibonacci_sphere(n)
        tr = np.zeros(n, dtype=bool)
        tr[np.random.default_rng(0).permutation(n)[: int(0.3 * n)]] = True
        data = SimpleNamespace(pos=X, y=torch.tensor(sphere_field(X)), train_mask=torch.tensor(tr))
        m = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=50)
        t_geo, geo = best(lambda m=m, data=data: m.geometry(data), reps=1)
        with torch.no_grad():
            t_ours, (mean, _) = best(lambda m=m, data=data: m.posterior(data))
            P = torch.as_tensor(geo.P).reshape(-1, geo.P.shape[-1])
            S = m.spectral_density(torch.as_tensor(geo.evals), geo.n * geo.D)
        mask = torch.tensor(tr).repeat_interleave(3)
        Xtr, ytr = P[mask], data.y.reshape(-1)[mask].double()

        class K(gpytorch.kernels.Kernel):
            def forward(self, x1, x2, diag=False, S=S, **kw):
                k = (x1 * S) @ x2.transpose(-1, -2)
                return torch.diagonal(k, dim1=-2, dim2=-1) if diag else k

        class GP(gpytorch.models.ExactGP):
            def __init__(self, x, y, lik):
                super().__init__(x, y, lik)
                self.m, self.k = gpytorch.means.ZeroMean(), K()

            def forward(self, x):
                return gpytorch.distributions.MultivariateNormal(self.m(x), self.k(x))

        def theirs(Xtr=Xtr, ytr=ytr, P=P, m=m):
            lik = gpytorch.likelihoods.GaussianLikelihood().double()
            lik.noise = float(m.noise_variance)
            gp = GP(Xtr, ytr, lik).double().eval()
            with torch.no_grad(), gpytorch.settings.fast_computations(False, False, False), gpytorch.settings.max_cholesky_size(10**7):
                post = gp(P)
                return post.mean, post.variance

        t_gp, (ref, _) = best(theirs)
        err = float((mean.reshape(-1) - ref).abs().max() / ref.abs().max())
        print(f"n={n}: geometry {t_geo:.2f}s | posterior ours {t_ours:.3f}s, gpytorch {t_gp:.3f}s, ratio {t_ours / t_gp:.2f} | rel. diff {err:.1e}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 600])
