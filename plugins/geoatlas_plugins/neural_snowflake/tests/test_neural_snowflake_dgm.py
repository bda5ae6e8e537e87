"""Gumbel top-k edge sampling, dense vs chunked graph construction, the dDGM model, the dataset."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import geoatlas as ga
from geoatlas_plugins.neural_snowflake.dgm import gumbel_topk, latent_geometry, sample_latent_graph

torch.set_num_threads(1)


def _knn(P: np.ndarray, k: int) -> np.ndarray:
    D = ((P[:, None, :] - P[None, :, :]) ** 2).sum(-1)
    return np.sort(np.argsort(D, axis=1, kind="stable")[:, :k], axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_gumbel_topk_low_temperature_is_exact_knn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(60, 4))
    D = torch.tensor(((P[:, None, :] - P[None, :, :]) ** 2).sum(-1))
    g = torch.Generator().manual_seed(seed)
    idx, _ = gumbel_topk(-D, 7, temperature=1e-8, generator=g)
    assert np.array_equal(np.sort(idx.numpy(), 1), _knn(P, 7))


@pytest.mark.parametrize("geometry", ["euclidean", "snowflake", "hyperbolic", "product"])
def test_sampler_without_noise_is_knn_and_chunked_equals_dense(geometry: str) -> None:
    torch.manual_seed(0)
    geom = latent_geometry(geometry, 6).double()
    P = geom.embed(0.5 * torch.randn(40, 6, dtype=torch.float64))
    D = geom.cross(P, P).detach().numpy()
    e_dense, lp_dense = sample_latent_graph(P, geom, 5, 1.0, noise=False)
    e_chunk, lp_chunk = sample_latent_graph(P, geom, 5, 1.0, chunk_size=7, noise=False)
    knn = np.sort(np.argsort(D, axis=1, kind="stable")[:, :5], axis=1)
    assert np.array_equal(np.sort(e_dense[0].reshape(40, 5).numpy(), 1), knn)
    assert torch.equal(e_dense, e_chunk)
    assert torch.allclose(lp_dense, lp_chunk, rtol=1e-10, atol=1e-12)
    assert torch.equal(e_dense[1], torch.arange(40).repeat_interleave(5))


@pytest.mark.parametrize("normalize", [False, True])
def test_chunked_sampler_gradients_match_dense(normalize: bool) -> None:
    geom = latent_geometry("snowflake", 3).double()
    P0 = torch.randn(25, 3, dtype=torch.float64)
    grads = []
    for chunk in (None, 4):
        P = P0.clone().requires_grad_(True)
        geom.zero_grad()
        _, lp = sample_latent_graph(P, geom, 4, 0.5, chunk_size=chunk, noise=False, normalize=normalize)
        lp.sum().backward()
        grads.append((P.grad.clone(), [p.grad.clone() for p in geom.parameters()]))
    assert torch.allclose(grads[0][0], grads[1][0], rtol=1e-9, atol=1e-12)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_low_temperature_dgm_sampling_recovers_knn() -> None:
    # DGM inverse temperature e^t with t = 5 (the clamp), well separated points: the kNN graph
    P = torch.arange(30, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 0.0]])
    geom = latent_geometry("euclidean", 2)
    g = torch.Generator().manual_seed(0)
    e, _ = sample_latent_graph(P, geom, 3, 5.0, generator=g)
    knn = _knn(P.numpy(), 3)
    assert np.array_equal(np.sort(e[0].reshape(30, 3).numpy(), 1), knn)


def test_gumbel_topk_matches_plackett_luce() -> None:
    logits = torch.tensor([1.0, 0.2, -0.5, 0.7, -1.2], dtype=torch.float64)
    p = torch.softmax(logits, 0).numpy()
    n, k, reps = 5, 2, 20000
    g = torch.Generator().manual_seed(0)
    idx, _ = gumbel_topk(logits.expand(reps, n), k, generator=g)
    # ordered pairs (first, second) against sequential sampling without replacement
    first, second = idx[:, 0].numpy(), idx[:, 1].numpy()
    for i, j in itertools.permutations(range(n), 2):
        pl = p[i] * p[j] / (1 - p[i])
        freq = np.mean((first == i) & (second == j))
        assert abs(freq - pl) < 4 * np.sqrt(pl * (1 - pl) / reps) + 1e-4, (i, j, freq, pl)
    # inclusion probabilities
    incl = np.array([np.mean((first == i) | (second == i)) for i in range(n)])
    exact = np.array([p[i] + sum(p[j] * p[i] / (1 - p[j]) for j in range(n) if j != i) for i in range(n)])
    assert np.abs(incl - exact).max() < 0.015


def test_gumbel_topk_bad_input() -> None:
    with pytest.raises(ValueError, match="k"):
        gumbel_topk(torch.zeros(3, 4), 5)
    with pytest.raises(ValueError, match="temperature"):
        gumbel_topk(torch.zeros(3, 4), 2, temperature=0.0)
    with pytest.raises(ValueError, match="NaN"):
        gumbel_topk(torch.full((3, 4), float("nan")), 2)
    with pytest.raises(ValueError, match="empty"):
        sample_latent_graph(torch.zeros(0, 3), latent_geometry("euclidean", 3), 1)
    with pytest.raises(ValueError, match="chunk_size"):
        sample_latent_graph(torch.zeros(4, 3), latent_geometry("euclidean", 3), 1, chunk_size=0)
    with pytest.raises(ValueError, match="latent_geometry"):
        latent_geometry("spherical", 3)


def test_hyperbolic_points_lie_in_core_ball() -> None:
    geom = latent_geometry("hyperbolic", 4)
    P = geom.embed(10 * torch.randn(50, 4))
    assert geom.manifold.name == "poincare_ball"
    geom.manifold.check_point(P)
    assert (P.norm(dim=-1) < 1).all()


@pytest.fixture(scope="module")
def sbm():
    return ga.create("dataset", "latent_sbm_nodes", num_nodes=120, graph="missing", train_per_class=10, seed=1).load()


@pytest.mark.parametrize("geometry", ["snowflake", "euclidean", "hyperbolic", "product"])
def test_model_trains_and_predicts(sbm, geometry: str) -> None:
    data = sbm.X
    torch.manual_seed(0)
    m = ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3, latent_geometry=geometry, k=5, eval_samples=2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    mask = data.train_mask

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out[mask], y[mask])

    losses = []
    sampler_grad = 0.0
    for _ in range(15):
        opt.zero_grad()
        loss = m.training_step(data, data.y, loss_fn)
        loss.backward()
        sampler_grad += float(m.graph_f[0].temperature.grad.abs())
        opt.step()
        losses.append(m.last_losses[0])
    assert losses[-1] < losses[0]
    assert sampler_grad > 0  # the graph loss reaches the sampler
    m.eval()
    out1, out2 = m(data), m(data)
    assert out1.shape == (120, 3)
    assert torch.equal(out1, out2)  # deterministic evaluation
    assert m.last_edge_index.shape == (2, 120 * 5)


def test_model_state_roundtrip_and_chunked(sbm) -> None:
    data = sbm.X
    m = ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3, chunk_size=32, eval_samples=1)
    mask = data.train_mask
    m.training_step(data, data.y, lambda o, y: F.cross_entropy(o[mask], y[mask])).backward()
    m2 = ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3, chunk_size=32, eval_samples=1)
    m2.load_state_dict(m.state_dict())
    assert torch.equal(m2._acc, m._acc)
    m.eval()
    m2.eval()
    assert torch.equal(m(data), m2(data))


def test_model_bad_input(sbm) -> None:
    with pytest.raises(ValueError, match="latent_geometry"):
        ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3, latent_geometry="flat")
    with pytest.raises(ValueError, match="k"):
        ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3, k=0)
    m = ga.create("encoder", "snowflake_graph_inference", in_features=8, num_classes=3)
    with pytest.raises(ValueError, match="data.x"):
        m(sbm.X)
    m = ga.create("encoder", "snowflake_graph_inference", in_features=16, num_classes=3)
    bad = sbm.X.clone()
    bad.x = bad.x.clone()
    bad.x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        m(bad)
    with pytest.raises(TypeError, match="data"):
        m(torch.zeros(3, 16))


def test_dataset_variants() -> None:
    missing = ga.create("dataset", "latent_sbm_nodes", num_nodes=90, train_per_class=5, graph="missing").load()
    clean = ga.create("dataset", "latent_sbm_nodes", num_nodes=90, train_per_class=5, graph="clean").load()
    noisy = ga.create("dataset", "latent_sbm_nodes", num_nodes=90, train_per_class=5, graph="noisy", noise=0.5).load()
    assert missing.X.edge_index.shape[1] == 0
    assert torch.equal(clean.X.edge_index, clean.meta["hidden_edge_index"])
    y = noisy.X.y
    homophily = lambda e: float((y[e[0]] == y[e[1]]).float().mean())  # noqa: E731
    assert homophily(noisy.X.edge_index) < homophily(clean.X.edge_index)
    assert int(missing.X.train_mask.sum()) == 15
    assert torch.equal(missing.X.x, ga.create("dataset", "latent_sbm_nodes", num_nodes=90, train_per_class=5).load().X.x)
    with pytest.raises(ValueError, match="graph"):
        ga.create("dataset", "latent_sbm_nodes", graph="partial")
    with pytest.raises(ValueError, match="noise"):
        ga.create("dataset", "latent_sbm_nodes", noise=2.0)


def test_temperature_init_and_k_are_checked() -> None:
    from torch_geometric.data import Data

    for bad in (float("nan"), float("inf"), "4", True):
        with pytest.raises(ValueError, match="temperature_init"):
            ga.create("encoder", "snowflake_graph_inference", in_features=3, num_classes=2, temperature_init=bad)
    m = ga.create("encoder", "snowflake_graph_inference", in_features=3, num_classes=2, k=5)
    small = Data(x=torch.randn(4, 3), edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=4)
    with pytest.raises(ValueError, match=r"k=5 exceeds the number of nodes \(4\)"):
        m(small)
    m = ga.create("encoder", "snowflake_graph_inference", in_features=3, num_classes=2, k=4)
    assert m(small).shape == (4, 2)


def test_dgm_snowflake_initial_shape() -> None:
    """What the docstring and README say about the initial DGM snowflake: not a squared distance.

    Local exponent d log phi / d log t at initialisation (depth 2, width 8), measured
    0.28 / 2.19 / 1.02 / 0.44 at t = 1e-3 / 0.1 / 2 / 10; a squared distance would give 2 everywhere.
    """
    geom = latent_geometry("snowflake", dim=8, snowflake_depth=2, snowflake_width=8, seed=0).double()
    t = torch.tensor([1e-3, 0.1, 2.0, 10.0], dtype=torch.float64, requires_grad=True)
    phi = geom.metric.phi(t)
    (g,) = torch.autograd.grad(phi.sum(), t)
    expo = (t * g / phi).detach().numpy()
    print("local exponents", expo)
    assert expo[0] < 0.5 and 1.8 < expo[1] < 2.5 and 0.8 < expo[2] < 1.3 and expo[3] < 0.6, expo
