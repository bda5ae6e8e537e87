"""Scaled-down echo of GBWBN's claim (Wang et al., CVPR 2025): on ill-conditioned SPD inputs,
SPDNet with GBW batch normalisation trains faster / better than without BN and with
affine-invariant BN.

Synthetic ill-conditioned covariances (``synthetic_spd``, condition number ~1e5, 16 x 16),
SPDNet BiMap 16 -> 8, ReEig, LogEig, Linear; float64, Riemannian Adam (lr 1e-2, batch 32; at
3e-2 GBWBN with the authors' computation oscillates and one theta = 1 seed collapses to chance),
30 epochs, 3 seeds (data and initialisation). GBWBN with the authors' computation (the defaults:
variance about I, the Exp_I/Log_I folds), plus theta = 1 with the former textbook variant
(variance about the batch mean, no folds) for comparison. Reports the final test accuracy (mean +- std),
the best test accuracy and the first epoch reaching 85 % test accuracy. Also checks that a
train-mode GBWBN layer centres a batch at its bias with dispersion s^2 (random M, B; 5 x 5, 16
matrices, condition numbers 10 and 1e5). About 2-4 minutes on one CPU thread. Writes
``results.json`` beside this file.

Run: ``python plugins/geoatlas_plugins/spd_gbw_batchnorm/reproduce.py`` or
``make reproduce PLUGIN=spd_gbw_batchnorm``.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import geoopt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import geoatlas as ga  # noqa: E402
from geoatlas.echo import Reproduction  # noqa: E402

MODELS = {
    "no BN": {"bn": "none"},
    "AIRM BN": {"bn": "airm"},
    "GBWBN theta=1": {"bn": "gbw", "theta": 1.0},
    "GBWBN theta=0.5": {"bn": "gbw", "theta": 0.5},
    # the former default: variance about the batch mean, no Exp_I/Log_I folds (not the authors')
    "GBWBN theta=1 textbook": {"bn": "gbw", "theta": 1.0, "variance_about": "mean", "fold": "none"},
}


def run(seed: int, params: dict, epochs: int = 30, lr: float = 1e-2) -> list[float]:
    data = ga.create("dataset", "synthetic_spd", n_samples=400, n=16, cond=1e5, seed=seed).load()
    X, y = torch.tensor(data.X), torch.tensor(data.y)
    n_train = 300
    torch.manual_seed(seed)
    net = ga.create("encoder", "spdnet", n=16, num_classes=2, hidden=[8], **params)
    opt = geoopt.optim.RiemannianAdam(net.parameters(), lr=lr, stabilize=10)
    accs = []
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for i in range(0, n_train, 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accs.append(float((net(X[n_train:]).argmax(1) == y[n_train:]).double().mean()))
    return accs


def centring(cond: float) -> tuple[float, float]:
    """(max |GBW_M mean - B|, |Frechet variance - s^2|) of a train-mode GBWBN output, theta = 1,
    textbook variant (variance about the batch mean, no folds), whose output dispersion is s^2."""
    dt = torch.float64
    x = torch.tensor(ga.create("dataset", "synthetic_spd", n=5, n_samples=16, n_times=28, cond=cond, seed=1).load().X)
    g = torch.Generator().manual_seed(5)
    a = torch.randn(5, 5, generator=g, dtype=dt)
    bias = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=dt)
    a = torch.randn(5, 5, generator=g, dtype=dt)
    mm = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=dt)
    # the property belongs to the textbook variant (variance about the batch mean, no folds)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, mean_iters=300, eps=0.0, variance_about="mean", fold="none")
    with torch.no_grad():
        bn.bias.copy_(bias)
        bn.geom.metric_matrix.copy_(mm)
        bn.shift.fill_(0.7)
        out = bn(x)
    gbw = ga.create("manifold", "spd", n=5, metric="generalized_bures_wasserstein", metric_matrix=mm)
    mean = gbw.frechet_mean(out, max_iter=1000, tol=1e-14)
    return float((mean - bias).abs().max()), abs(float(gbw.frechet_variance(out, mean)) - 0.49)


def main(seeds: tuple[int, ...] = (0, 1, 2), epochs: int = 30) -> dict[str, dict[str, float]]:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    results: dict[str, dict[str, float]] = {}
    finals: dict[str, np.ndarray] = {}
    rep = Reproduction(
        __file__,
        scale=f"synthetic_spd 16x16 (cond ~1e5), 300 train / 100 test, SPDNet 16->8, {epochs} epochs, {len(seeds)} seeds",
        seeds=list(seeds),
    )
    print(f"SPDNet on synthetic_spd (cond ~1e5), {epochs} epochs, seeds {seeds}")
    print(f"{'model':<18}{'final acc':>16}{'best acc':>16}{'epoch to 85%':>15}{'time [s]':>10}")
    for name, params in MODELS.items():
        t0 = time.perf_counter()
        curves = np.array([run(s, params, epochs) for s in seeds])
        final, best = curves[:, -1], curves.max(1)
        finals[name] = final
        reach = [int(np.argmax(c >= 0.85)) + 1 if (c >= 0.85).any() else np.nan for c in curves]
        results[name] = {"final_mean": float(final.mean()), "final_std": float(final.std()), "best_mean": float(best.mean()),
                         "epoch_to_85_mean": float(np.nanmean(reach)) if not np.isnan(reach).all() else float("nan")}
        print(f"{name:<18}{final.mean():>10.3f} ± {final.std():.3f}{best.mean():>10.3f} ± {best.std():.3f}"
              f"{results[name]['epoch_to_85_mean']:>15.1f}{time.perf_counter() - t0:>10.1f}")

    gbw = finals["GBWBN theta=0.5"]
    for cid, other, label in (
        ("gbwbn_beats_airm_bn", "AIRM BN", "AIRM BN"),
        ("gbwbn_beats_no_bn", "no BN", "no BN"),
        ("power_deformation_helps", "GBWBN theta=1", "theta=1"),
    ):
        base = finals[other]
        rep.record(
            cid,
            ours=f"{'theta=0.5' if cid == 'power_deformation_helps' else 'GBWBN'} {gbw.mean():.3f} ± {gbw.std():.3f} vs {label} {base.mean():.3f} ± {base.std():.3f}",
            value=float(gbw.mean() - base.mean()),
            holds=bool((gbw > base).all()),
            note=f"synthetic ill-conditioned covariances, not the paper's datasets; per-seed differences {np.round(gbw - base, 3).tolist()}; holds = better on every seed",
        )
    e10, v10 = centring(10.0)
    e5, v5 = centring(1e5)
    print(f"GBWBN centring (theta 1, random M, B, s = 0.7): cond 10: |mean - B| {e10:.1e}, |var - s^2| {v10:.1e}; cond 1e5: {e5:.1e}, {v5:.1e}")
    rep.record(
        "batch_centred_at_bias",
        ours=f"cond 10: mean err {e10:.1e}, var err {v10:.1e}; cond 1e5: mean err {e5:.1e}, var err {v5:.1e}",
        value=max(e10, v10),
        holds=bool(e10 < 1e-6 and v10 < 1e-6),
        note="exact batch mean (300 fixed-point steps, the default is 1); holds judged at cond 10 (tolerance 1e-6), cond 1e5 reported too; Exp_I = (I + U/2)^2 can fold for strongly dispersed batches in training, where the property is only approximate",
    )
    rep.write()
    return results


if __name__ == "__main__":
    main()
