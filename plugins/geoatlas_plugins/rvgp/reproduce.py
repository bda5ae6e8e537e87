"""Scaled-down echo of RVGP (Peach et al., ICLR 2024); writes results.json next to this file.

* Sphere super-resolution: 600 Fibonacci points, 30% observed (3 seeds = 3 random masks), two fields:
  (a) the authors' protocol: a random tangent field smoothed by vector diffusion ``exp(-t L_c)``
  (t = 10) on the point cloud's connection Laplacian (unit vectors before smoothing, as the authors); (b) the analytic
  field of ``sphere_field`` (rotation about z + gradient of the harmonic x z), a polynomial of
  degree 2 in the ambient coordinates.
  RVGP (k = 10, m = 2, 50 eigenpairs, Matern, hyper-parameters by L-BFGS on the marginal
  likelihood) against three independent RBF GPs on the 3-D coordinates (scikit-learn
  ``GaussianProcessRegressor`` with a white-noise term, marginal-likelihood fitted): mean angular
  error and normal leakage on the unobserved 70%.
* Spectrum: the 30 smallest connection-Laplacian eigenvalues of 1000 Fibonacci points.

Run: ``make reproduce PLUGIN=rvgp`` (about 1.5 min of CPU on one core).
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from geoatlas.echo import Reproduction
from geoatlas_plugins.rvgp.rvgp import RVGP, VectorBundleGeometry, fibonacci_sphere, sphere_field


def angular_error(pred: np.ndarray, true: np.ndarray) -> float:
    c = (pred * true).sum(1) / (np.linalg.norm(pred, axis=1) * np.linalg.norm(true, axis=1) + 1e-12)
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))).mean())


def normal_leak(pred: np.ndarray, X: np.ndarray) -> float:
    return float((np.abs((pred * X).sum(1)) / (np.linalg.norm(pred, axis=1) + 1e-12)).mean())


def diffused_field(geo: VectorBundleGeometry, seed: int, t: float = 10.0) -> np.ndarray:
    """The authors' test fields: uniform random ambient vectors projected on the tangent frames and
    normalised to unit length, then smoothed by vector diffusion ``exp(-t L_c)`` and mapped back."""
    from scipy.sparse.linalg import expm_multiply

    rng = np.random.default_rng(100 + seed)
    v = rng.uniform(-0.5, 0.5, size=(geo.n, geo.D))
    c = np.einsum("nDm,nD->nm", geo.frames, v)
    c = (c / np.linalg.norm(c, axis=1, keepdims=True)).reshape(-1)
    c = expm_multiply(-t * geo.Lc.tocsc(), c).reshape(geo.n, geo.m)
    return np.einsum("nDm,nm->nD", geo.frames, c)


def main() -> None:
    warnings.filterwarnings("ignore", module="sklearn")
    seeds = [0, 1, 2]
    rep = Reproduction(__file__, scale="S^2, 600 points, 30% observed, 3 seeds; spectrum on 1000 points", seeds=seeds)
    X = fibonacci_sphere(600)
    geo = VectorBundleGeometry(X, n_neighbors=10, manifold_dim=2, n_eigenpairs=2)
    res: dict[str, list[float]] = {}
    for field, seed in [(f, s) for f in ("diffused", "analytic") for s in seeds]:
        if field == "analytic":
            V = sphere_field(X)
        else:
            V = diffused_field(geo, seed)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        tr = np.zeros(len(X), dtype=bool)
        tr[rng.permutation(len(X))[:180]] = True
        data = SimpleNamespace(pos=X, y=torch.tensor(V), train_mask=torch.tensor(tr))
        m = RVGP(n_neighbors=10, manifold_dim=2, n_eigenpairs=50)
        m.fit_hyperparameters(data, max_iter=30)
        with torch.no_grad():
            pred = m.posterior(data)[0].numpy()
        res.setdefault(f"{field}_rvgp_ang", []).append(angular_error(pred[~tr], V[~tr]))
        res.setdefault(f"{field}_rvgp_norm", []).append(normal_leak(pred[~tr], X[~tr]))
        eg = np.zeros_like(V)
        for c in range(3):
            gpr = GaussianProcessRegressor(ConstantKernel() * RBF(1.0) + WhiteKernel(1e-3), normalize_y=True, random_state=seed)
            eg[:, c] = gpr.fit(X[tr], V[tr, c]).predict(X)
        res.setdefault(f"{field}_egp_ang", []).append(angular_error(eg[~tr], V[~tr]))
        res.setdefault(f"{field}_egp_norm", []).append(normal_leak(eg[~tr], X[~tr]))
    mean = {k: float(np.mean(v)) for k, v in res.items()}
    print(mean)
    rep.record("rvgp_beats_euclidean_gp",
               ours=f"diffused field: RVGP {mean['diffused_rvgp_ang']:.2f} deg vs Euclidean GP {mean['diffused_egp_ang']:.2f} deg; "
               f"analytic field: RVGP {mean['analytic_rvgp_ang']:.2f} vs {mean['analytic_egp_ang']:.4f} deg",
               holds=mean["diffused_rvgp_ang"] < mean["diffused_egp_ang"], value=mean["diffused_rvgp_ang"],
               note="holds is judged on the authors' protocol (diffused field); on the degree-2 analytic field the Euclidean GP wins")
    rep.record("rvgp_tangent_predictions",
               ours=f"diffused: RVGP {mean['diffused_rvgp_norm']:.1e} vs Euclidean GP {mean['diffused_egp_norm']:.1e}; "
               f"analytic: {mean['analytic_rvgp_norm']:.1e} vs {mean['analytic_egp_norm']:.1e}",
               holds=mean["diffused_rvgp_norm"] < mean["diffused_egp_norm"], value=mean["diffused_rvgp_norm"],
               note="RVGP's normal part comes from the estimated (local-PCA) frames, not from the GP")

    geo = VectorBundleGeometry(fibonacci_sphere(1000), n_neighbors=10, manifold_dim=2, n_eigenpairs=31)
    w = geo.evals
    gaps = w[1:] / w[:-1]
    cuts = sorted(int(i) + 1 for i in np.argsort(gaps)[::-1][:3])
    sizes = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1]]
    ratios = [float(w[:6].mean()), float(w[6:16].mean() / w[:6].mean()), float(w[16:30].mean() / w[:6].mean())]
    rep.record("sphere_spectrum_multiplicities", ours=f"cluster sizes {sizes}; mean ratios 1 : {ratios[1]:.2f} : {ratios[2]:.2f}",
               holds=sizes == [6, 10, 14], note="theory: sizes 6, 10, 14 and ratios 1 : 5 : 11")
    print(sizes, ratios, "wrote", rep.write())


if __name__ == "__main__":
    main()
