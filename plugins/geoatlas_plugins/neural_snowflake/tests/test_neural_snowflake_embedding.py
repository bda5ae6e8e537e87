"""Isometric embedding of small weighted graphs (Theorem 4.1) and the Euclidean failure (Prop. 4.1)."""

from __future__ import annotations

import math

import networkx as nx
import torch

from geoatlas_plugins.neural_snowflake.snowflake import NeuralSnowflake, safe_distance

torch.set_num_threads(1)


def _fit(D: torch.Tensor, metric: NeuralSnowflake | None, dim: int, seed: int, iters: int = 150) -> float:
    """Free encoder (one point per node = a linear layer on one-hot ids) + metric, by L-BFGS.

    Returns the max relative error max_ij |rho_ij / d_ij - 1|.
    """
    n = D.shape[0]
    iu = torch.triu_indices(n, n, 1)
    d = D[iu[0], iu[1]]
    g = torch.Generator().manual_seed(seed)
    P = torch.nn.Parameter(torch.randn(n, dim, generator=g, dtype=torch.float64))
    scale = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))  # Euclidean may rescale
    params = [P, scale] + (list(metric.parameters()) if metric is not None else [])
    opt = torch.optim.LBFGS(params, lr=1, max_iter=iters, line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16)

    def rho() -> torch.Tensor:
        t = safe_distance(P[iu[0]], P[iu[1]])
        return metric.phi(t) if metric is not None else scale.exp() * t

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = ((rho() / d - 1) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((rho() / d - 1).abs().max())


def _best(D: torch.Tensor, make_metric, dim: int, restarts: int = 3) -> float:  # noqa: ANN001
    best = math.inf
    for seed in range(restarts):
        best = min(best, _fit(D, make_metric(seed), dim, seed))
        if best < 1e-5:
            break
    return best


def _sp(G: nx.Graph) -> torch.Tensor:
    return torch.tensor(nx.floyd_warshall_numpy(G), dtype=torch.float64)


def test_star_k14_snowflake_embeds_euclidean_cannot() -> None:
    # K_{1,4}: no Riemannian manifold embeds it (geodesics from the centre would have to be
    # pairwise opposite); in Euclidean space the max relative error is >= (sqrt(1.5) - 1) /
    # (sqrt(1.5) + 1) = 0.1010 for any embedding and any scale (sum-of-squares bound).
    D = _sp(nx.star_graph(4))
    snow = _best(D, lambda s: NeuralSnowflake(dim=4, depth=1, width=4, seed=s).double(), dim=4)
    euc = _best(D, lambda s: None, dim=4)
    bound = (math.sqrt(1.5) - 1) / (math.sqrt(1.5) + 1)
    assert snow < 1e-4, snow
    assert euc >= bound - 1e-9, euc
    assert euc > 1000 * snow


def test_weighted_graphs_embed_isometrically() -> None:
    # a weighted 4-cycle (not Euclidean-embeddable with unit weights) and a weighted tree
    C4 = nx.cycle_graph(4)
    nx.set_edge_attributes(C4, {(0, 1): 1.0, (1, 2): 1.5, (2, 3): 1.0, (3, 0): 1.5}, "weight")
    tree = nx.Graph()
    tree.add_weighted_edges_from([(0, 1, 1.0), (0, 2, 2.0), (0, 3, 0.5), (3, 4, 1.0), (3, 5, 1.5)])
    for G in (C4, tree):
        D = torch.tensor(nx.floyd_warshall_numpy(G, weight="weight"), dtype=torch.float64)
        err = _best(D, lambda s: NeuralSnowflake(dim=5, depth=1, width=4, seed=s).double(), dim=5)
        assert err < 1e-3, err
