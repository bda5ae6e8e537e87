"""Scaled-down invariance-transfer experiment (Speicher, Nanda, Gummadi 2024).

Pretrain one small CNN per transformation family (none / rotate / translate / scale) to classify
digits 0-4 under that family; measure the representational invariance of each model's
penultimate features to every family on *new* objects (digits 5-9, input pairs that differ only
in the transformation); transfer each frozen model with a logistic-regression probe to tasks on
digits 5-9 under each family. The paper's claim: transfer to a task is best from the model whose
pretraining made it invariant to that task's transformation (invariance to the right
transformations matters as much as or more than other factors), and a mismatch hurts.
Each claim of the manifest is recorded with ``geoatlas.echo.Reproduction``; ``results.json`` is
written next to this script.
Run: ``python plugins/geoatlas_plugins/invariance_transfer/reproduce.py`` (a few minutes on one CPU core).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import geoatlas as ga
from geoatlas_plugins.invariance_transfer.measure import representational_invariance

PRETRAIN = ["none", "rotate", "translate", "scale"]
TARGETS = ["rotate", "translate", "scale"]
SOURCE, TARGET = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


def _load(family: str, classes: list[int], pairs: bool, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    b = ga.create("dataset", "transformed_digits", family=family, classes=classes, pairs=pairs, size=16, seed=seed).load()
    return torch.tensor(b.X), b.y


@torch.no_grad()
def _features(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    return torch.cat([model.embed(x[i : i + 256]) for i in range(0, len(x), 256)]).numpy()


def main(epochs: int = 12, seed: int = 0) -> dict[str, object]:
    from geoatlas.echo import Reproduction

    torch.set_num_threads(1)
    rep = Reproduction(
        __file__,
        scale=f"digits on 16x16 noise canvases, one 3-layer CNN per pretraining family (digits 0-4, {epochs} epochs), "
        "invariance and logistic-regression transfer on digits 5-9; one seed; 1 CPU thread",
        seeds=[seed],
    )
    models: dict[str, torch.nn.Module] = {}
    t0 = time.time()
    for fam in PRETRAIN:
        x, y = _load(fam, SOURCE, False, seed)
        torch.manual_seed(seed)
        m = ga.create("encoder", "cnn", in_channels=1, num_classes=len(SOURCE), channels=[16, 32, 32])
        opt = torch.optim.Adam(m.parameters(), lr=2e-3)
        yt = torch.tensor(y)
        for ep in range(epochs):
            m.train()
            perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + ep))
            for i in range(0, len(x), 64):
                idx = perm[i : i + 64]
                loss = F.cross_entropy(m(x[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        models[fam] = m
    torch.manual_seed(seed)
    models["untrained"] = ga.create("encoder", "cnn", in_channels=1, num_classes=len(SOURCE), channels=[16, 32, 32])
    train_s = time.time() - t0

    inv: dict[str, dict[str, float]] = {name: {} for name in models}
    acc: dict[str, dict[str, float]] = {name: {} for name in models}
    for fam in TARGETS + ["hflip"]:
        xp, _ = _load(fam, TARGET, True, seed + 1)
        for name, m in models.items():
            m.eval()
            inv[name][fam] = representational_invariance(m.embed, xp[:, :1], xp[:, 1:], seed=seed)
    for fam in TARGETS:
        x, y = _load(fam, TARGET, False, seed + 2)
        idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=0.4, random_state=seed, stratify=y)
        for name, m in models.items():
            f = _features(m, x)
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
            clf.fit(f[idx_tr], y[idx_tr])
            acc[name][fam] = float(clf.score(f[idx_te], y[idx_te]))

    names = list(models)
    print(f"pretraining on digits {SOURCE} ({epochs} epochs each, {train_s:.0f}s); transfer to digits {TARGET}")
    print("\nrepresentational invariance d_T on new objects (lower = more invariant)")
    print(f"{'pretrained on':<15}" + "".join(f"{f:>11}" for f in TARGETS + ['hflip']))
    for n in names:
        print(f"{n:<15}" + "".join(f"{inv[n][f]:11.3f}" for f in TARGETS + ["hflip"]))
    print("\ntransfer accuracy (frozen features + logistic regression) on target tasks")
    print(f"{'pretrained on':<15}" + "".join(f"{f:>11}" for f in TARGETS))
    for n in names:
        print(f"{n:<15}" + "".join(f"{acc[n][f]:11.3f}" for f in TARGETS))
    best = {f: max(names, key=lambda n: acc[n][f]) for f in TARGETS}
    print("\nbest source per target task: " + ", ".join(f"{f} <- {best[f]}" for f in TARGETS))
    rho = spearmanr([-inv[n][f] for n in names for f in TARGETS], [acc[n][f] for n in names for f in TARGETS])
    print(f"Spearman correlation between invariance (-d_T) and transfer accuracy: {rho.statistic:.3f} (p={rho.pvalue:.3g})")
    rep.record(
        "matching_invariance_transfers_best",
        ours=", ".join(f"{f} task <- {best[f]} ({acc[best[f]][f]:.3f}; {f}-pretrained {acc[f][f]:.3f})" for f in TARGETS),
        value=float(sum(best[f] == f for f in TARGETS)),
        holds=bool(all(best[f] == f for f in TARGETS)),
        note="3 target tasks (rotate / translate / scale) on digits 5-9; candidates: 4 pretrained CNNs + an untrained one; value = tasks won by the matching model",
    )
    rep.record(
        "invariance_correlates_with_transfer",
        ours=f"Spearman {rho.statistic:.2f} (p = {rho.pvalue:.2g})",
        value=float(rho.statistic),
        holds=bool(rho.statistic > 0 and rho.pvalue < 0.05),
        note="15 (model, task) pairs; invariance -d_T to the task's transformation vs transfer accuracy",
    )
    most_inv = {f: min(PRETRAIN, key=lambda n, f=f: inv[n][f]) for f in TARGETS}
    rep.record(
        "learned_invariance_transfers_to_new_classes",
        ours=", ".join(f"{f}: d_T {inv[f][f]:.3f} ({f}-pretrained) vs {min(inv[n][f] for n in PRETRAIN if n != f):.3f} (best other)" for f in TARGETS),
        value=float(np.mean([inv[f][f] - min(inv[n][f] for n in PRETRAIN if n != f) for f in TARGETS])),
        holds=bool(all(most_inv[f] == f for f in TARGETS)),
        note="d_T on digits 5-9 (classes not seen in pretraining); the two views of a pair share their background noise (as in the authors' pairs)",
    )
    rep.write()
    return {"invariance": inv, "accuracy": acc, "best": best, "spearman": float(rho.statistic)}


if __name__ == "__main__":
    main()
