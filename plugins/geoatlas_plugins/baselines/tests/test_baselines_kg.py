"""DistMult and node embeddings: scores equal the closed forms (numpy, float64), score_all agrees
with scoring every candidate triple, DistMult is symmetric, clear errors for bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga


def _random_triples(rng, n_ent, n_rel, n):
    return torch.as_tensor(np.column_stack([rng.integers(0, n_ent, n), rng.integers(0, n_rel, n), rng.integers(0, n_ent, n)]))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(1, 12))
def test_distmult_closed_form_and_symmetry(seed, dim):
    torch.manual_seed(seed)
    m = ga.create("encoder", "distmult", num_entities=9, num_relations=4, dim=dim).double()
    T = _random_triples(np.random.default_rng(seed), 9, 4, 20)
    E, W = m.entity.weight.detach().numpy(), m.relation.weight.detach().numpy()
    ref = np.einsum("bk,bk,bk->b", E[T[:, 0]], W[T[:, 1]], E[T[:, 2]])
    out = m(T).detach().numpy()
    assert out.shape == (20,) and np.allclose(out, ref, rtol=0, atol=1e-12)
    assert torch.allclose(m(T[:, [2, 1, 0]]), m(T), rtol=0, atol=1e-12)  # (t, r, h) scores like (h, r, t)


@pytest.mark.parametrize("name,kw", [("distmult", {"num_relations": 3}), ("node_embedding", {})])
@pytest.mark.parametrize("side", ["tail", "head"])
def test_score_all_equals_scoring_every_candidate(name, kw, side):
    torch.manual_seed(0)
    m = ga.create("encoder", name, num_entities=11, dim=5, **kw).double()
    T = _random_triples(np.random.default_rng(1), 11, kw.get("num_relations", 1), 7)
    fast = m.score_all(T, side)
    col = 2 if side == "tail" else 0
    rows = []
    for trip in T:
        cand = trip.repeat(11, 1)
        cand[:, col] = torch.arange(11)
        rows.append(m(cand))
    slow = torch.stack(rows)
    assert fast.shape == (7, 11) and torch.allclose(fast, slow, rtol=0, atol=1e-12)


def test_node_embedding_is_a_dot_product():
    torch.manual_seed(0)
    m = ga.create("encoder", "node_embedding", num_entities=6, dim=4).double()
    with torch.no_grad():
        m.bias.fill_(0.25)
    T = torch.tensor([[0, 0, 1], [2, 0, 5], [3, 0, 3]])
    E = m.entity.weight.detach().numpy()
    ref = np.array([E[0] @ E[1], E[2] @ E[5], E[3] @ E[3]]) + 0.25
    assert np.allclose(m(T).detach().numpy(), ref, rtol=0, atol=1e-12)
    plain = ga.create("encoder", "node_embedding", num_entities=6, dim=4, bias=False)
    assert plain.bias is None and not any(p.dim() == 0 for p in plain.parameters())


def test_training_separates_a_symmetric_relation():
    """A few hundred Adam steps of BCE make true (and reversed) facts score above corrupted ones."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pairs = rng.choice(30, size=(40, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pos = torch.as_tensor(np.column_stack([pairs[:, 0], np.zeros(len(pairs), int), pairs[:, 1]]))
    neg = pos.clone()
    neg[:, 2] = torch.as_tensor(rng.integers(0, 30, len(pos)))
    m = ga.create("encoder", "distmult", num_entities=30, num_relations=1, dim=16)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    x, y = torch.cat([pos, neg]), torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(m(x), y)
        first = float(loss.detach()) if first is None else first
        loss.backward()
        opt.step()
    assert float(loss) < 0.2 * first
    assert (m(pos[:, [2, 1, 0]]) > 0).float().mean() > 0.9  # the reversed facts too: DistMult is symmetric


@pytest.mark.parametrize("name,kw,exc,match", [
    ("distmult", {"num_relations": 2}, ValueError, "num_entities is required"),
    ("distmult", {"num_entities": 5}, ValueError, "num_relations is required"),
    ("distmult", {"num_entities": 5, "num_relations": 2, "dim": 0}, ValueError, "dim must be >= 1"),
    ("distmult", {"num_entities": 5.0, "num_relations": 2}, TypeError, "num_entities must be an integer"),
    ("node_embedding", {"num_entities": 5, "num_relations": 3}, ValueError, "one relation"),
    ("node_embedding", {"num_entities": 5, "init_std": 0.0}, ValueError, "init_std"),
    ("node_embedding", {"num_entities": 5, "bias": 1}, TypeError, "bias must be a bool"),
])
def test_bad_parameters(name, kw, exc, match):
    with pytest.raises(exc, match=match):
        ga.create("encoder", name, **kw)


def test_bad_triples():
    m = ga.create("encoder", "distmult", num_entities=5, num_relations=2, dim=3)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        m(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="entity ids must be in"):
        m(torch.tensor([[0, 0, 5]]))
    with pytest.raises(ValueError, match="relation ids must be in"):
        m(torch.tensor([[0, 2, 1]]))
    with pytest.raises(ValueError, match="integer ids"):
        m(torch.tensor([[0.5, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="side must be"):
        m.score_all(torch.tensor([[0, 0, 1]]), "middle")
