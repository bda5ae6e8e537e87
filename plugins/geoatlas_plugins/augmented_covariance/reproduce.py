"""Scaled-down echo of the augmented-covariance claims (Carrara & Papadopoulo 2023): adding the
delay embedding to the covariance lets Riemannian MDM use temporal information that the plain
spatial covariance misses.

Synthetic 4-channel VAR(2) signals whose two classes share the same instantaneous covariance
(``synthetic_ar_signals``, 200 trials of 128 samples, 150 train / 50 test), 5 seeds. Compares
MDM on the spatial covariance (order 1), on the ACM with (order, lag) chosen by 3-fold grid
search over the paper's grid, orders 1..10 x lags 1..10, on the training trials, on the ACM with
(order, lag) from the authors' aFNN procedure (mutual-information lag, Cao's averaged FNN order;
histogram mutual information, not DelayEmbeddings.jl's estimator) and from our simpler AMI /
Kennel-FNN heuristic. The authors' MDOP procedure is not implemented. Also checks the
Yule-Walker structure of the ACM. A few minutes; writes ``results.json`` beside this file.

Run: ``python plugins/geoatlas_plugins/augmented_covariance/reproduce.py`` or
``make reproduce PLUGIN=augmented_covariance``.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import geoatlas as ga  # noqa: E402
from geoatlas.echo import Reproduction  # noqa: E402
from geoatlas_plugins.augmented_covariance.acm import augmented_covariances  # noqa: E402
from geoatlas_plugins.augmented_covariance.mdm import MDM  # noqa: E402


def structure_errors(seed: int = 0) -> dict[str, float]:
    """Block-Toeplitz deviation of circular ACMs, order-1 vs numpy.cov, smallest eigenvalue."""
    X = ga.create("dataset", "synthetic_ar_signals", n_samples=20, seed=seed).load().X
    C = X.shape[2]
    toeplitz, min_eig = 0.0, np.inf
    for order, lag in ((3, 1), (4, 2), (2, 5)):
        A = augmented_covariances(X, order, lag, boundary="circular")
        for i in range(order):
            for j in range(order):
                ref = A[:, :C, (j - i) * C:(j - i + 1) * C] if j >= i else A[:, (i - j) * C:(i - j + 1) * C, :C]
                blk = A[:, i * C:(i + 1) * C, j * C:(j + 1) * C]
                toeplitz = max(toeplitz, float(np.abs(blk - ref).max() / np.abs(A).max()))
        min_eig = min(min_eig, float(np.linalg.eigvalsh(A).min()))
    c1 = augmented_covariances(X, 1, 1, estimator="cov")
    cov_err = float(np.abs(c1 - np.stack([np.cov(x.T) for x in X])).max() / np.abs(c1).max())
    return {"toeplitz": toeplitz, "cov": cov_err, "min_eig": min_eig}


def main(seeds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> dict[str, list[float]]:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    rep = Reproduction(
        __file__,
        scale=f"synthetic_ar_signals (4 channels, 200 trials x 128 samples, 150 train / 50 test), {len(seeds)} seeds; grid 1..10 x 1..10, 3-fold CV",
        seeds=list(seeds),
    )
    acc: dict[str, list[float]] = {"covariance + MDM": [], "ACM (grid) + MDM": [], "ACM (aFNN) + MDM": [], "ACM (AMI/FNN) + MDM": []}
    chosen: dict[str, list[tuple[int, int]]] = {"grid": [], "afnn": [], "ami_fnn": []}
    t0 = time.perf_counter()
    for seed in seeds:
        b = ga.create("dataset", "synthetic_ar_signals", n_samples=200, seed=seed).load()
        X, y = b.X, b.y
        tr, te = np.arange(150), np.arange(150, 200)
        plain = ga.create("descriptor", "augmented_covariance", order=1).fit(X[tr], y[tr])
        acc["covariance + MDM"].append(MDM().fit(plain.transform(X[tr]), y[tr]).score(plain.transform(X[te]), y[te]))
        for key, label in (("grid", "ACM (grid) + MDM"), ("afnn", "ACM (aFNN) + MDM"), ("ami_fnn", "ACM (AMI/FNN) + MDM")):
            d = ga.create("descriptor", "augmented_covariance", selection=key).fit(X[tr], y[tr])
            chosen[key].append((d.order_, d.lag_))
            acc[label].append(MDM().fit(d.transform(X[tr]), y[tr]).score(d.transform(X[te]), y[te]))
    print(f"MDM test accuracy on synthetic_ar_signals, seeds {seeds} ({time.perf_counter() - t0:.1f}s)")
    for name, vals in acc.items():
        print(f"  {name:<22} {np.mean(vals):.3f} ± {np.std(vals):.3f}   per seed {np.round(vals, 2).tolist()}")
    print(f"  (order, lag) chosen by grid search: {chosen['grid']}")
    print(f"  (order, lag) chosen by aFNN:        {chosen['afnn']}")
    print(f"  (order, lag) chosen by AMI/FNN:     {chosen['ami_fnn']}")

    cov, grid, afnn, emb = (float(np.mean(acc[k])) for k in acc)
    rep.record(
        "acm_beats_covariance_mdm",
        ours=f"ACM {grid:.3f} vs covariance {cov:.3f}",
        value=grid - cov,
        holds=bool(grid > cov and all(g > c for g, c in zip(acc["ACM (grid) + MDM"], acc["covariance + MDM"], strict=False))),
        note="synthetic VAR(2) classes with equal instantaneous covariance, not MOABB EEG; holds = ACM better on every seed",
    )
    s = structure_errors()
    print(f"  structure: block-Toeplitz deviation {s['toeplitz']:.1e}, order 1 vs numpy.cov {s['cov']:.1e}, min eigenvalue {s['min_eig']:.3g}")
    rep.record(
        "acm_yule_walker_structure",
        ours=f"Toeplitz dev {s['toeplitz']:.1e}, order-1 vs cov {s['cov']:.1e}, min eig {s['min_eig']:.3g}",
        value=max(s["toeplitz"], s["cov"]),
        holds=bool(s["toeplitz"] < 1e-10 and s["cov"] < 1e-10 and s["min_eig"] > 0),
        note="circular boundary for the exact block-Toeplitz check, (order, lag) in (3,1), (4,2), (2,5); tolerance 1e-10",
    )
    gap = afnn - grid
    rep.record(
        "embedding_hyperparameters_vs_grid",
        ours=f"aFNN {afnn:.3f} vs grid {grid:.3f} (chose {chosen['afnn'][0]} vs {chosen['grid'][0]}); our AMI/Kennel-FNN heuristic {emb:.3f} (chose {chosen['ami_fnn'][0]})",
        value=gap,
        holds=bool(gap >= -0.05),
        note="the authors' aFNN procedure (histogram mutual information, Cao's E1, first AMI minimum / first E1 maximum, max order and lag 10 instead of 30); MDOP not implemented; holds = within 0.05 of grid search",
    )
    rep.write()
    return acc


if __name__ == "__main__":
    main()
