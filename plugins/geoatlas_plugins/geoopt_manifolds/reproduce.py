"""Scaled-down echo of Bécigneul & Ganea, *Riemannian Adaptive Optimization Methods* (ICLR 2019),
the paper behind geoopt's Riemannian optimisers, on this plugin's manifolds.

1. Poincaré embedding of a taxonomy (the paper embeds the WordNet noun hierarchy): here the
   transitive closure of a balanced tree (branching 3, depth 5: 364 nodes, 1 641 is-a pairs) in
   the 5-dimensional ``poincare_ball``, with the Nickel & Kiela softmax loss over 10 random
   negatives. Riemannian Adam against Riemannian SGD, each at its best learning rate from a small
   grid, mean over two seeds: training loss after a few epochs and at the end, and the mean
   average precision (MAP) of the reconstructed closure.
2. The convergence theorem (regret O(sqrt T) for RAMSGRAD on geodesically convex objectives):
   online minimisation of f_t(x) = d(x, y_t)^2 / 2 on the Poincaré ball (a Hadamard manifold, so
   f_t is geodesically convex), with Riemannian AMSGrad and step alpha / sqrt(t). The regret
   against the best fixed point in hindsight (the Karcher mean of y_1..y_T) is measured for T up to
   6400 and its log-log slope fitted.

Run: ``python plugins/geoatlas_plugins/geoopt_manifolds/reproduce.py`` (or
``make reproduce PLUGIN=geoopt_manifolds``); about a minute on one CPU core, writes results.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


# ----------------------------------------------------------------------------- 1. embedding
def tree_closure(branching: int = 3, depth: int = 5) -> tuple[int, np.ndarray]:
    """Nodes of a balanced tree and all (descendant, ancestor) pairs of its transitive closure."""
    parent = [-1]
    level = [0]
    for d in range(depth):
        for i in [k for k in range(len(parent)) if len(parent) and level[k] == d]:
            for _ in range(branching):
                parent.append(i)
                level.append(d + 1)
    pairs = []
    for v in range(1, len(parent)):
        a = parent[v]
        while a >= 0:
            pairs.append((v, a))
            a = parent[a]
    return len(parent), np.array(pairs)


def mean_average_precision(dist: np.ndarray, pairs: np.ndarray, n: int) -> float:
    """MAP of reconstructing each node's closure neighbours from distances (Nickel & Kiela)."""
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for u, v in pairs:
        nbrs[u].add(int(v))
        nbrs[v].add(int(u))
    aps = []
    for u in range(n):
        if not nbrs[u]:
            continue
        d = dist[u].copy()
        d[u] = np.inf
        order = np.argsort(d, kind="stable")
        rel = np.array([int(w) in nbrs[u] for w in order[: n - 1]])
        hits = np.cumsum(rel)
        prec = hits[rel] / (np.flatnonzero(rel) + 1)
        aps.append(prec.mean())
    return float(np.mean(aps))


def embed(opt_name: str, lr: float, seed: int, epochs: int, early: int, dim: int = 5, neg: int = 10,
          batch: int = 32) -> dict[str, float]:
    import geoopt

    import geoatlas as ga

    n, pairs = tree_closure()
    ball = ga.create("manifold", "poincare_ball", dim=dim, c=1.0)
    gen = torch.Generator().manual_seed(seed)
    init = (torch.rand(n, dim, generator=gen, dtype=torch.float64) * 2 - 1) * 1e-3
    emb = geoopt.ManifoldParameter(init, manifold=ball)
    if opt_name == "radam":
        opt = geoopt.optim.RiemannianAdam([emb], lr=lr)
    else:
        opt = geoopt.optim.RiemannianSGD([emb], lr=lr)
    P = torch.tensor(pairs)
    out: dict[str, float] = {}

    def full_loss() -> float:
        with torch.no_grad():
            g = torch.Generator().manual_seed(1234)
            negs = torch.randint(0, n, (len(P), neg), generator=g)
            cand = torch.cat([P[:, 1:], negs], 1)
            d = ball.dist(emb[P[:, :1]], emb[cand])
            return float(torch.nn.functional.cross_entropy(-d, torch.zeros(len(P), dtype=torch.long)))

    for ep in range(1, epochs + 1):
        perm = torch.randperm(len(P), generator=gen)
        for i in range(0, len(P), batch):
            b = P[perm[i : i + batch]]
            negs = torch.randint(0, n, (len(b), neg), generator=gen)
            cand = torch.cat([b[:, 1:], negs], 1)
            d = ball.dist(emb[b[:, :1]], emb[cand])
            loss = torch.nn.functional.cross_entropy(-d, torch.zeros(len(b), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if ep == early:
            out["early"] = full_loss()
    out["final"] = full_loss()
    with torch.no_grad():
        dist = ball.dist(emb[:, None], emb[None]).numpy()
    out["map"] = mean_average_precision(dist, pairs, n)
    return out


def embedding_comparison(epochs: int, early: int, seeds: list[int]) -> dict[str, dict[str, float]]:
    grids = {"rsgd": [0.3, 1.0, 3.0, 10.0], "radam": [0.01, 0.03, 0.1, 0.3]}
    best: dict[str, dict[str, float]] = {}
    print(f"Poincaré embedding of a tree closure (364 nodes, 1641 pairs, dim 5), {epochs} epochs, seeds {seeds}")
    print(f"{'optimiser':<8}{'lr':>7}{f'loss@{early}':>11}{'final loss':>12}{'MAP':>8}")
    for name, lrs in grids.items():
        for lr in lrs:
            runs = [embed(name, lr, s, epochs, early) for s in seeds]
            m = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
            m["lr"] = lr
            print(f"{name:<8}{lr:>7g}{m['early']:>11.4f}{m['final']:>12.4f}{m['map']:>8.3f}", flush=True)
            if name not in best or m["final"] < best[name]["final"]:
                best[name] = m
    return best


# ----------------------------------------------------------------------------- 2. regret
def regret_curve(T: int = 6400, dim: int = 5, alpha: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    import geoopt

    import geoatlas as ga

    ball = ga.create("manifold", "poincare_ball", dim=dim, c=1.0)
    gen = torch.Generator().manual_seed(seed)
    centre = ball.expmap0(0.3 * torch.randn(dim, generator=gen, dtype=torch.float64))
    # tangent vectors of Riemannian norm ~ 1 at the centre (the ball's metric is lambda_x^2 times the Euclidean one)
    u = torch.randn(T, dim, generator=gen, dtype=torch.float64) / dim**0.5 / ball.lambda_x(centre)
    ys = ball.expmap(centre.expand(T, dim), u)
    x = geoopt.ManifoldParameter(ball.expmap0(0.5 * torch.randn(dim, generator=gen, dtype=torch.float64)), manifold=ball)
    opt = geoopt.optim.RiemannianAdam([x], lr=alpha, amsgrad=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / np.sqrt(t + 1))
    losses = np.empty(T)
    for t in range(T):
        f = 0.5 * ball.dist(x, ys[t]) ** 2
        losses[t] = float(f.detach())
        opt.zero_grad()
        f.backward()
        opt.step()
        sched.step()
    checkpoints = np.array([100 * 2**k for k in range(7) if 100 * 2**k <= T])
    regrets = []
    with torch.no_grad():
        for Tc in checkpoints:
            y = ys[:Tc]
            m = ball.expmap0(ball.logmap0(y).mean(0))
            for _ in range(100):  # Karcher iteration: the minimiser of sum_t d(x, y_t)^2 / 2
                m = ball.expmap(m, ball.logmap(m.expand_as(y), y).mean(0))
            best = float((0.5 * ball.dist(m.expand_as(y), y) ** 2).sum())
            regrets.append(losses[:Tc].sum() - best)
    return checkpoints, np.array(regrets)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="geoopt_manifolds: Riemannian adaptive optimisation echo")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--early", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--T", type=int, default=6400)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from geoatlas.echo import Reproduction

    seeds = list(range(args.seeds))
    rep = Reproduction(__file__, scale=f"embedding: balanced tree (364 nodes, 1641 closure pairs) in the 5-d Poincaré "
                       f"ball, {args.epochs} epochs, batch 32, 10 negatives, 4 learning rates per optimiser, "
                       f"{args.seeds} seeds; regret: T = {args.T} online steps", seeds=seeds)
    t0 = time.time()
    best = embedding_comparison(args.epochs, args.early, seeds)
    a, s = best["radam"], best["rsgd"]
    print(f"best: RADAM lr {a['lr']:g} (loss@{args.early} {a['early']:.4f}, final {a['final']:.4f}, MAP {a['map']:.3f}); "
          f"RSGD lr {s['lr']:g} (loss@{args.early} {s['early']:.4f}, final {s['final']:.4f}, MAP {s['map']:.3f}) "
          f"[{time.time() - t0:.0f} s]")
    rep.record("radam_faster_lower_loss",
               ours=f"loss@{args.early} {a['early']:.3f} vs {s['early']:.3f}; final {a['final']:.3f} vs {s['final']:.3f} "
               f"(MAP {a['map']:.3f} vs {s['map']:.3f})", value=s["final"] - a["final"],
               holds=a["early"] < s["early"] and a["final"] < s["final"],
               note="synthetic tree closure, not WordNet nouns; best lr of a 4-point grid per optimiser; no burn-in; "
               "value = RSGD final loss minus RADAM final loss")
    t1 = time.time()
    Ts, R = regret_curve(T=args.T)
    slope = float(np.polyfit(np.log(Ts[1:]), np.log(np.maximum(R[1:], 1e-12)), 1)[0])
    print("regret of Riemannian AMSGrad (step 0.5/sqrt t) on f_t = d(x, y_t)^2/2, Poincaré ball dim 5:")
    print("  T      " + " ".join(f"{t:>8d}" for t in Ts))
    print("  R_T    " + " ".join(f"{r:>8.2f}" for r in R))
    print("  R_T/T  " + " ".join(f"{r / t:>8.4f}" for r, t in zip(R, Ts, strict=False)))
    print(f"  log-log slope of R_T (T >= 200): {slope:.2f} [{time.time() - t1:.0f} s]")
    rep.record("regret_sqrt_t", ours=f"slope {slope:.2f}; R_T/T {R[0] / Ts[0]:.3f} -> {R[-1] / Ts[-1]:.4f}", value=slope,
               holds=bool(slope <= 0.6 and R[-1] / Ts[-1] < R[0] / Ts[0]),
               note="one seed, synthetic stream of points; holds = fitted slope <= 0.5 + 0.1 and average regret falling")
    print(f"wrote {rep.write()}")


if __name__ == "__main__":
    main()
