"""Scaled-down EqMotion reproduction: charged particles, EqMotion vs a non-equivariant MLP.

Prints ADE/FDE on the test set and on a randomly rotated copy (past and future rotated
together), and the accuracy of the unsupervised interaction categories against the true
charge-product signs (as the reference code reports: max(acc, 1 - acc) for 2 categories).
Run: ``python plugins/geoatlas_plugins/eqmotion/reproduce.py`` (about 2-4 minutes on one CPU core).
"""

from __future__ import annotations

import time

import numpy as np
import torch

import geoatlas as ga


def _ade_fde(pred: torch.Tensor, true: torch.Tensor) -> tuple[float, float]:
    err = (pred - true).norm(dim=-1)
    return float(err.mean()), float(err[:, :, -1].mean())


def _train(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, epochs: int, lr: float, flat: bool) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    t0 = time.time()
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), 50):
            idx = perm[i : i + 50]
            out = model(X[idx])
            out = out.reshape(Y[idx].shape) if flat else out
            loss = (out - Y[idx]).norm(dim=-1).mean()  # the reference trains on the mean displacement
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.time() - t0


def main(n_train: int = 1000, n_test: int = 300, epochs: int = 40, plane_squeeze: float = 0.1, seed: int = 0) -> dict[str, float]:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    T_p, T_f, A = 10, 10, 5
    data = ga.create("dataset", "particle_trajectories", n_samples=n_train + n_test, past_length=T_p, future_length=T_f,
                     plane_squeeze=plane_squeeze, seed=seed).load()
    X = torch.tensor(data.X)
    Y = torch.tensor(data.y).reshape(len(X), A, T_f, 3)
    edges = torch.tensor(data.meta["edges"])
    Xtr, Ytr, Xte, Yte = X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    G = ga.create("group", "so3")
    R = G.sample(n_test, torch.Generator().manual_seed(seed + 1))
    Xrot, Yrot = G.act(R, Xte, "point_cloud"), G.act(R, Yte, "point_cloud")

    res: dict[str, float] = {}
    v = Xte[:, :, -1] - Xte[:, :, -2]
    cv = Xte[:, :, -1:] + v[:, :, None] * torch.arange(1, T_f + 1)[None, None, :, None]
    res["const_vel_ade"], res["const_vel_fde"] = _ade_fde(cv, Yte)

    eq = ga.create("encoder", "eqmotion", past_length=T_p, future_length=T_f, hidden_nf=64, hid_channel=64, n_layers=4, flatten_output=False)
    res["eqmotion_train_s"] = _train(eq, Xtr, Ytr, epochs, 5e-4, flat=False)
    mlp = ga.create("encoder", "mlp", in_features=A * T_p * 3, out_features=A * T_f * 3, hidden=[256, 256])
    res["mlp_train_s"] = _train(mlp, Xtr, Ytr, epochs, 1e-3, flat=True)
    eq.eval()
    mlp.eval()
    with torch.no_grad():
        for name, model, flat in (("eqmotion", eq, False), ("mlp", mlp, True)):
            for tag, xs, ys in (("", Xte, Yte), ("_rotated", Xrot, Yrot)):
                out = model(xs)
                out = out.reshape(ys.shape) if flat else out
                res[f"{name}_ade{tag}"], res[f"{name}_fde{tag}"] = _ade_fde(out, ys)
        cat = eq.interaction_categories(Xte)[..., 0] > 0.5  # (B, A, A)
        truth = edges[n_train:] > 0  # same-sign charges (repulsive) vs opposite (attractive)
        off = ~torch.eye(A, dtype=torch.bool)
        acc = float((cat == truth)[:, off].float().mean())
        res["relation_acc"] = max(acc, 1 - acc)
    print(f"charged particles, {A} bodies, {T_p} past -> {T_f} future frames, train {n_train}, test {n_test}, "
          f"plane_squeeze={plane_squeeze}")
    print(f"{'model':<16}{'ADE':>8}{'FDE':>8}{'ADE rot':>9}{'FDE rot':>9}")
    print(f"{'const. velocity':<16}{res['const_vel_ade']:8.3f}{res['const_vel_fde']:8.3f}{'(same)':>9}")
    for name in ("eqmotion", "mlp"):
        print(f"{name:<16}{res[name + '_ade']:8.3f}{res[name + '_fde']:8.3f}{res[name + '_ade_rotated']:9.3f}{res[name + '_fde_rotated']:9.3f}")
    print(f"EqMotion interaction-category accuracy vs charge signs: {res['relation_acc']:.3f}")
    print(f"training time: eqmotion {res['eqmotion_train_s']:.0f}s, mlp {res['mlp_train_s']:.0f}s")
    return res


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
