"""NFE and TransE: closed forms against POT and torch.distributions, score_all against scoring
every candidate, the authors' 1-vs-all loss against an explicit sum, the relation algebra
(symmetry, inversion, composition), learning on the synthetic family KG, clear errors."""

import math

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.kg_normalizing_flows.nfe import (
    VARIANTS,
    compose_relations,
    invert_relation,
    kl_diag_gaussian,
    pushforward,
    w2_squared,
)


def _triples(rng, n_ent, n_rel, n):
    return torch.as_tensor(np.column_stack([rng.integers(0, n_ent, n), rng.integers(0, n_rel, n), rng.integers(0, n_ent, n)]))


def _spread(m, seed):
    """Parameters of a wider range than the initialisation (so the checks are not near zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return m


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(1, 8))
def test_nfe1_is_gamma_minus_squared_w2_of_pot(seed, dim):
    torch.manual_seed(seed)
    m = _spread(ga.create("encoder", "nfe", num_entities=7, num_relations=3, dim=dim, gamma=1.5).double(), seed)
    T = _triples(np.random.default_rng(seed), 7, 3, 6)
    out = m(T).detach().numpy()
    for i, (h, r, t) in enumerate(T.tolist()):
        mu_h, sig_h = (x.detach().numpy() for x in m.entity_parts(torch.tensor(h)))
        mu_t, sig_t = (x.detach().numpy() for x in m.entity_parts(torch.tensor(t)))
        mu_r, sig_r = (x.detach().numpy() for x in m.relation_parts(torch.tensor(r)))
        # f_r(X_h) for X_h = mu_h + sig_h eps: N(sig_r mu_h + mu_r, diag (sig_r sig_h)^2)
        W = ot.gaussian.bures_wasserstein_distance(sig_r * mu_h + mu_r, mu_t, np.diag((sig_r * sig_h) ** 2), np.diag(sig_t**2))
        assert abs((1.5 - out[i]) - float(W) ** 2) < 1e-10 * max(1.0, float(W) ** 2)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), dim=st.integers(1, 8))
def test_nfe3_is_gamma_minus_kl_of_torch_distributions(seed, dim):
    torch.manual_seed(seed)
    m = _spread(ga.create("encoder", "nfe", num_entities=7, num_relations=3, dim=dim, gamma=2.0, variant="nfe3").double(), seed)
    T = _triples(np.random.default_rng(seed), 7, 3, 6)
    h_mu, h_sig = m.entity_parts(T[:, 0])
    t_mu, t_sig = m.entity_parts(T[:, 2])
    r_mu, r_sig = m.relation_parts(T[:, 1])
    sp = torch.nn.functional.softplus
    p = torch.distributions.Normal(r_sig * h_mu + r_mu, sp(r_sig) * sp(h_sig))
    q = torch.distributions.Normal(t_mu, sp(t_sig))
    ref = torch.distributions.kl_divergence(p, q).sum(-1)
    assert torch.allclose(2.0 - m(T), ref, rtol=1e-10, atol=1e-10)


def test_closed_form_helpers_against_pot_and_torch():
    g = torch.Generator().manual_seed(0)
    m1, m2 = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    s1, s2 = torch.rand(5, 4, generator=g, dtype=torch.float64) + 0.1, torch.rand(5, 4, generator=g, dtype=torch.float64) + 0.1
    w = w2_squared(m1, s1, m2, s2)
    kl = kl_diag_gaussian(m1, s1, m2, s2)
    for i in range(5):
        W = ot.gaussian.bures_wasserstein_distance(m1[i].numpy(), m2[i].numpy(), np.diag(s1[i].numpy() ** 2), np.diag(s2[i].numpy() ** 2))
        assert abs(float(w[i]) - float(W) ** 2) < 1e-10
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(m1, s1), torch.distributions.Normal(m2, s2)).sum(-1)
    assert torch.allclose(kl, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name,kw", [("nfe", {"variant": v}) for v in VARIANTS] + [("transe", {})])
@pytest.mark.parametrize("reciprocal", [True, False])
@pytest.mark.parametrize("side", ["tail", "head"])
def test_score_all_equals_scoring_every_candidate(name, kw, reciprocal, side):
    torch.manual_seed(0)
    m = _spread(ga.create("encoder", name, num_entities=9, num_relations=3, dim=4, reciprocal=reciprocal, **kw).double(), 1)
    T = _triples(np.random.default_rng(2), 9, 3, 5)
    fast = m.score_all(T, side)
    rows = []
    for h, r, t in T.tolist():
        if side == "tail":
            cand = torch.tensor([[h, r, e] for e in range(9)])
            rows.append(m(cand))
        elif reciprocal:  # the head of (?, r, t) is the tail of the reciprocal query (t, r^-1, ?)
            rows.append(m._triple_scores(torch.full((9,), t), torch.full((9,), r + 3), torch.arange(9)))
        else:
            rows.append(m(torch.tensor([[e, r, t] for e in range(9)])))
    slow = torch.stack(rows)
    assert fast.shape == (5, 9)
    assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-10)


def test_one_vs_all_loss_is_the_authors_per_entity_softplus_sum():
    torch.manual_seed(0)
    m = _spread(ga.create("encoder", "nfe", num_entities=6, num_relations=2, dim=3).double(), 3)
    T = torch.tensor([[0, 0, 1], [2, 1, 5], [4, 0, 3]])
    total, count = 0.0, 0
    for h, r, t in T.tolist():
        for hh, rr, tt in ((h, r, t), (t, r + 2, h)):  # each fact and its reciprocal
            for e in range(6):
                s = float(m._triple_scores(torch.tensor([hh]), torch.tensor([rr]), torch.tensor([e])).detach())
                y = 1.0 if e == tt else 0.0
                total += math.log1p(math.exp(-s)) if y else math.log1p(math.exp(s))
            count += 1
    assert abs(float(m.one_vs_all_loss(T)) - total / count) < 1e-10
    assert torch.equal(m.training_step(T, None, None), m.one_vs_all_loss(T))


def test_relation_algebra_symmetry_inversion_composition():
    g = torch.Generator().manual_seed(0)
    d = 5
    mu_a, sig_a = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    r1 = (torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64))
    r2 = (torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64))
    # the action of the composed flow equals applying the flows in turn (scales as absolute values)
    b = pushforward(mu_a, sig_a, *r1)
    c = pushforward(b[0], b[1], *r2)
    c2 = pushforward(mu_a, sig_a, *compose_relations(r1, r2))
    assert torch.allclose(c[0], c2[0], atol=1e-12) and torch.allclose(c[1], c2[1], atol=1e-12)
    # inversion: the inverse flow maps f_r(X_a) back to X_a (scale up to its sign)
    back = pushforward(b[0], b[1], *invert_relation(r1))
    assert torch.allclose(back[0], mu_a, atol=1e-12) and torch.allclose(back[1], sig_a.abs(), atol=1e-12)
    # an NFE-1 model whose relation rows realise these flows scores the implied facts at gamma (distance 0)
    m = ga.create("encoder", "nfe", num_entities=3, num_relations=4, dim=d, gamma=1.0, reciprocal=False).double()
    comp = compose_relations(r1, r2)
    sym = (torch.randn(d, generator=g, dtype=torch.float64), -torch.ones(d, dtype=torch.float64))  # f(f(x)) = x
    with torch.no_grad():
        m.entity.weight.copy_(torch.stack([torch.cat([mu_a, sig_a]), torch.cat(b), torch.cat(c)]))
        m.relation.weight.copy_(torch.stack([torch.cat(r1), torch.cat(invert_relation(r1)), torch.cat(comp), torch.cat(sym)]))
    s = m(torch.tensor([[0, 0, 1], [1, 1, 0], [0, 2, 2]]))
    assert torch.allclose(s, torch.ones(3, dtype=torch.float64), atol=1e-10)
    # symmetric relation (sigma_r = -1): score(h, r, t) = score(t, r, h) for any entities
    _spread(m.entity, 4)
    T = torch.tensor([[0, 3, 1], [1, 3, 2], [2, 3, 0]])
    assert torch.allclose(m(T), m(T[:, [2, 1, 0]]), atol=1e-12)
    with pytest.raises(ValueError, match="no inverse"):
        invert_relation((mu_a, torch.zeros(d, dtype=torch.float64)))


def test_mean_only_is_nfe1_with_zero_scales():
    torch.manual_seed(0)
    a = _spread(ga.create("encoder", "nfe", num_entities=8, num_relations=2, dim=3).double(), 5)
    b = ga.create("encoder", "nfe", num_entities=8, num_relations=2, dim=3, variant="mean_only").double()
    with torch.no_grad():
        a.entity.weight[:, 3:] = 0.0
        b.load_state_dict(a.state_dict())
    T = _triples(np.random.default_rng(0), 8, 2, 10)
    assert torch.allclose(a(T), b(T), atol=1e-12)


def test_nfe_learns_the_family_kg_and_beats_random():
    torch.manual_seed(0)
    bundle = ga.create("dataset", "synthetic_kg", n_entities=60, n_relations=4, n_triples=600, seed=0).load()
    T = torch.as_tensor(bundle.X)
    m = ga.create("encoder", "nfe", num_entities=60, num_relations=4, dim=32, gamma=1.0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = float(m.one_vs_all_loss(T))
    for _ in range(40):
        perm = torch.randperm(len(T), generator=g)
        for i in range(0, len(T), 64):
            opt.zero_grad()
            m.training_step(T[perm[i : i + 64]], None, None).backward()
            opt.step()
    with torch.no_grad():
        h, r, t = m.queries(T)  # the facts and their reciprocals, each a tail query
        S = m._tail_scores(h, r)
        pos = S[torch.arange(len(t)), t]
        mrr = float((1.0 / ((S > pos[:, None]).sum(1) + 1.0)).mean())
    assert float(m.one_vs_all_loss(T)) < first / 10
    assert mrr > 0.3  # random ranking of 60 entities: about 0.08


def test_bad_input_raises_clear_errors():
    m = ga.create("encoder", "nfe", num_entities=5, num_relations=2, dim=3)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        m(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="entity ids"):
        m(torch.tensor([[0, 0, 5]]))
    with pytest.raises(ValueError, match="relation ids"):
        m(torch.tensor([[0, 2, 1]]))
    with pytest.raises(ValueError, match="integer"):
        m(torch.tensor([[0.5, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN|finite"):
        m(torch.tensor([[float("nan"), 0.0, 1.0]]))
    with pytest.raises(ValueError, match="empty"):
        m(torch.zeros(0, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="side"):
        m.score_all(torch.tensor([[0, 0, 1]]), "middle")
    with pytest.raises(ValueError, match="variant"):
        ga.create("encoder", "nfe", num_entities=5, num_relations=2, variant="nfe9")
    with pytest.raises(ValueError, match="dim"):
        ga.create("encoder", "nfe", num_entities=5, num_relations=2, dim=0)
    with pytest.raises(ValueError, match="num_entities"):
        ga.create("encoder", "transe", num_relations=2)
    with pytest.raises(ValueError, match="gamma"):
        ga.create("encoder", "transe", num_entities=5, num_relations=2, gamma=float("inf"))
    with pytest.raises(TypeError, match="reciprocal"):
        ga.create("encoder", "nfe", num_entities=5, num_relations=2, reciprocal="yes")
    with pytest.raises(ValueError, match="init_bound"):
        ga.create("encoder", "nfe", num_entities=5, num_relations=2, init_bound=0.0)
