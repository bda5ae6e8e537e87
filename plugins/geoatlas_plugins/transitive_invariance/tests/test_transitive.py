import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.transitive_invariance.transitive import (
    nearest_neighbour_edges,
    transitive_pairs,
    triplet_ranking_loss,
)


def _p(i, j):
    return (min(i, j), max(i, j))


def test_miner_four_instances_three_views_one_inter_edge():
    # instances A, B, C, D with 3 views each: nodes 3k, 3k+1, 3k+2; one inter edge A0 -- B0
    inst = np.repeat(np.arange(4), 3)
    pairs = transitive_pairs(inst, [(0, 3)])
    assert pairs["inter"] == {(0, 3)}
    assert pairs["transitive"] == {_p(a, b) for a in (0, 1, 2) for b in (3, 4, 5)} - {(0, 3)}
    assert len(pairs["transitive"]) == 8
    assert pairs["intra"] == {_p(3 * k + i, 3 * k + j) for k in range(4) for i, j in itertools.combinations(range(3), 2)}
    assert not any(p[0] in range(6, 12) or p[1] in range(6, 12) for p in pairs["transitive"])  # C, D untouched


def test_miner_chain_is_one_step_transitivity_only():
    # A -- B -- C by inter edges: transitivity joins A with B's views and B with C's views, not A with C
    inst = np.array([0, 0, 1, 1, 2, 2])
    pairs = transitive_pairs(inst, [(0, 2), (3, 4)])
    assert pairs["inter"] == {(0, 2), (3, 4)}
    assert pairs["transitive"] == {(0, 3), (1, 2), (1, 3), (2, 4), (2, 5), (3, 5)}
    assert all(not ({a, b} & {0, 1} and {a, b} & {4, 5}) for a, b in pairs["transitive"])


def test_miner_edges_inside_an_instance_and_isolated_nodes():
    inst = np.array([0, 0, 1, 2])
    pairs = transitive_pairs(inst, [(0, 1), (1, 0)])  # an edge inside instance 0 is an intra pair
    assert pairs == {"intra": {(0, 1)}, "inter": set(), "transitive": set()}
    pairs = transitive_pairs(inst, [(3, 2), (2, 3)])  # duplicate, reversed edges count once
    assert pairs["inter"] == {(2, 3)} and pairs["transitive"] == set()


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(1, 4), st.data())
def test_miner_closed_form(n_inst, n_views, data):
    inst = np.repeat(np.arange(n_inst), n_views)
    n = len(inst)
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6))
    pairs = transitive_pairs(inst, edges)
    inter = {_p(a, b) for a, b in edges if inst[a] != inst[b]}
    closed = {_p(i, j) for a, b in inter for i in range(n) for j in range(n) if inst[i] == inst[a] and inst[j] == inst[b]} - inter
    assert pairs["inter"] == inter and pairs["transitive"] == closed
    assert not (pairs["intra"] & pairs["inter"]) and not (pairs["intra"] & pairs["transitive"])


def test_triplet_loss_equals_pytorch_metric_learning():
    from pytorch_metric_learning.distances import CosineSimilarity
    from pytorch_metric_learning.losses import TripletMarginLoss
    from pytorch_metric_learning.reducers import MeanReducer

    g = torch.Generator().manual_seed(0)
    z = torch.randn(12, 6, generator=g)
    a = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    p = torch.tensor([1, 0, 3, 2, 5, 4, 7, 6])
    n = torch.tensor([8, 9, 10, 11, 9, 8, 11, 10])
    ours = triplet_ranking_loss(z[a], z[p], z[n], 0.5)
    pml = TripletMarginLoss(margin=0.5, distance=CosineSimilarity(), reducer=MeanReducer())
    ref = pml(z, torch.arange(12), indices_tuple=(a, p, n))
    assert abs(float(ours) - float(ref)) < 1e-6
    assert float(ours) > 0


def test_nearest_neighbour_edges():
    f = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    e = nearest_neighbour_edges(f, 1)
    assert {tuple(x) for x in e.tolist()} == {(0, 1), (1, 0), (2, 3), (3, 2)}
    e = nearest_neighbour_edges(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.7, 0.3]]), 1, mutual=True)
    assert {tuple(x) for x in e.tolist()} == {(0, 1), (1, 0)}


def _batch(b=6, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 10, generator=g)
    views = [torch.randn(b, d, generator=g, requires_grad=True) for _ in range(2)]
    return views, {"x": x}


def test_intra_only_is_instance_discrimination():
    loss = ga.create("loss", "transitive_triplet", edges="intra", neg_candidates=0)
    views, batch = _batch()
    z = torch.cat(views).detach()
    value = loss(views, batch)
    # closed form: anchors are both views of each sample, the positive its other view,
    # the negative the hardest node that is not the same sample and not an inter/transitive pair
    pairs = loss.mine(views, batch)
    assert pairs["intra"] == {(i, i + 6) for i in range(6)}
    assert loss.last_counts["intra"] == 6
    zn = torch.nn.functional.normalize(z, dim=1)
    sim = zn @ zn.T
    excl = torch.eye(12, dtype=torch.bool)
    for t in pairs.values():
        for i, j in t:
            excl[i, j] = excl[j, i] = True
    terms = []
    for i in range(6):
        for a, p in ((i, i + 6), (i + 6, i)):
            n = sim[a].masked_fill(excl[a], -2).argmax()
            terms.append(max(0.0, float(sim[a, n] - sim[a, p]) + 0.5))
    assert abs(float(value) - np.mean(terms)) < 1e-6


def test_transitive_uses_more_pairs_and_kit():
    views, batch = _batch(b=8)
    full = ga.create("loss", "transitive_triplet")
    full(views, batch)
    c = full.last_counts
    assert c["intra"] == 8 and c["inter"] >= 4 and c["transitive"] == 3 * c["inter"]  # 2 views: 4 node pairs per inter edge
    rep = check_loss(full, views, batch)
    assert rep["grad_finite"]
    emb = ga.create("loss", "transitive_triplet", inter_features="embedding", edges="inter")
    assert float(emb(views, {})) >= 0


def test_bad_inputs():
    loss = ga.create("loss", "transitive_triplet")
    views, batch = _batch()
    with pytest.raises(TypeError, match="list of view embeddings"):
        loss(views[0], batch)
    with pytest.raises(ValueError, match="at least 2 views"):
        loss(views[:1], batch)
    with pytest.raises(ValueError, match="same shape"):
        loss([views[0], views[1][:, :2]], batch)
    with pytest.raises(ValueError, match="NaN"):
        loss([views[0] * float("nan"), views[1]], batch)
    with pytest.raises(ValueError, match="batch\\['x'\\]"):
        loss(views, {})
    with pytest.raises(ValueError, match="at least 3 samples"):
        loss([v[:2] for v in views], {"x": batch["x"][:2]})
    with pytest.raises(ValueError, match="margin"):
        ga.create("loss", "transitive_triplet", margin=-1.0)
    with pytest.raises(ValueError, match="edges"):
        ga.create("loss", "transitive_triplet", edges="all")
    with pytest.raises(ValueError, match="inter_edges"):
        transitive_pairs([0, 1], [(0, 5)])
    with pytest.raises(ValueError, match="instance"):
        transitive_pairs([], [])


def test_random_candidate_negatives_are_never_harder_than_the_hardest():
    views, batch = _batch(b=10, seed=4)
    hardest = ga.create("loss", "transitive_triplet", neg_candidates=0)(views, batch)
    for k in (1, 4):
        torch.manual_seed(k)
        v = ga.create("loss", "transitive_triplet", neg_candidates=k)(views, batch)
        assert float(v) <= float(hardest) + 1e-7
    with pytest.raises(ValueError, match="neg_candidates"):
        ga.create("loss", "transitive_triplet", neg_candidates=-1)
