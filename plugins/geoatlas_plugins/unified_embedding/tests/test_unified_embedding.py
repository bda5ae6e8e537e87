"""Unified Embedding: equivalence to per-feature tables, collision closed forms, parameter counts, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.unified_embedding.unified import (
    colliding_fraction,
    expected_collision_fraction,
    expected_occupied,
    hash_coefficients,
    salted_hash,
)

CARDS = [7, 30, 3, 12]


def _ids(n, cards, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (n,), generator=g) for c in cards], dim=1)


def _baseline(cards, dim, hidden):
    torch.manual_seed(1)
    return ga.create("encoder", "ctr_embedding_mlp", cardinalities=cards, embedding_dim=dim, hidden=hidden)


def test_identity_hash_equals_per_feature_tables_exactly():
    base = _baseline(CARDS, 4, [16])
    ue = ga.create("encoder", "unified_embedding", cardinalities=CARDS, buckets=sum(CARDS), dim_per_probe=4,
                   hash="identity", hidden=[16])
    with torch.no_grad():
        ue.tables[0].copy_(base.table.weight)
    ue.mlp.load_state_dict(base.mlp.state_dict())
    x = _ids(200, CARDS)
    assert torch.equal(ue(x), base(x))
    assert torch.equal(ue.embed(x), base.embed(x).reshape(200, -1))


def test_large_collision_free_table_equals_per_feature_tables_after_row_permutation():
    base = _baseline(CARDS, 4, [16])
    B = 2**16
    ue = ga.create("encoder", "unified_embedding", cardinalities=CARDS, buckets=B, dim_per_probe=4, hidden=[16], seed=3)
    rows = torch.cat([ue.bucket_ids(torch.arange(c), f) for f, c in enumerate(CARDS)])
    assert len(torch.unique(rows)) == sum(CARDS), "the hashes collide: pick another seed"
    with torch.no_grad():
        ue.tables[0][rows] = base.table.weight  # row offset_f + x of the per-feature table -> h_f(x)
    ue.mlp.load_state_dict(base.mlp.state_dict())
    x = _ids(300, CARDS, seed=1)
    assert torch.equal(ue(x), base(x))


def test_collision_fraction_matches_closed_form():
    # 30 salts: within-field (n = 200 values into B = 500 rows) and across 4 fields in one table
    obs_intra, obs_all = [], []
    for seed in range(30):
        ue = ga.create("encoder", "unified_embedding", cardinalities=[200] * 4, buckets=500, dim_per_probe=1, seed=seed)
        s = ue.collision_stats()
        obs_intra.append(s["intra_observed"])
        obs_all.append(s["all_observed"])
    for obs, n in ((obs_intra, 200), (obs_all, 800)):
        expect = expected_collision_fraction(n, 500)
        se = np.std(obs, ddof=1) / np.sqrt(len(obs))
        assert abs(np.mean(obs) - expect) < 4 * se + 1e-3, (np.mean(obs), expect, se)
    # occupied buckets: B (1 - (1 - 1/B)^n)
    occ = [len(torch.unique(salted_hash(torch.arange(1000), hash_coefficients(s, 0, 0), 700))) for s in range(30)]
    se = np.std(occ, ddof=1) / np.sqrt(30)
    assert abs(np.mean(occ) - expected_occupied(1000, 700)) < 4 * se


def test_colliding_fraction_counts_exactly():
    assert colliding_fraction(np.array([0, 1, 1, 2, 3, 3, 3])) == pytest.approx(5 / 7)
    assert colliding_fraction(np.arange(10)) == 0.0
    assert expected_collision_fraction(1, 10) == 0.0
    assert expected_collision_fraction(2, 1) == 1.0


def test_hashes_are_deterministic_and_salted():
    x = torch.arange(1000)
    a = salted_hash(x, hash_coefficients(0, 1, 2), 97)
    assert torch.equal(a, salted_hash(x, hash_coefficients(0, 1, 2), 97))
    assert not torch.equal(a, salted_hash(x, hash_coefficients(0, 2, 1), 97))
    assert int(a.min()) >= 0 and int(a.max()) < 97


@settings(max_examples=25, deadline=None)
@given(cards=st.lists(st.integers(1, 300), min_size=1, max_size=6), T=st.integers(1, 4), d=st.integers(1, 6),
       k=st.integers(1, 3), budget=st.integers(100, 5000))
def test_parameter_count_is_T_B_dc(cards, T, d, k, budget):
    if budget < T * d:
        return
    ue = ga.create("encoder", "unified_embedding", cardinalities=cards, budget=budget, dim_per_probe=d, num_probes=k,
                   num_tables=T, hidden=[])
    B = budget // (T * d)
    assert ue.embedding_parameters() == T * B * d <= budget
    assert ue.embed(_ids(3, cards)).shape == (3, len(cards) * k * d)
    if budget >= len(cards) * k * d:
        pf = ga.create("encoder", "unified_embedding", cardinalities=cards, budget=budget, dim_per_probe=d, num_probes=k,
                       layout="per_feature", hidden=[])
        assert pf.embedding_parameters() <= budget
        assert all(r <= c for r, c in zip(pf.rows, cards, strict=True))


def test_probes_dealt_round_robin_and_shared_rows_sum_gradients():
    ue = ga.create("encoder", "unified_embedding", cardinalities=[5, 5, 5], buckets=4, dim_per_probe=2,
                   num_probes=[2, 1, 3], num_tables=2, hidden=[])
    assert ue.table_of == [[0, 1], [0], [1, 0, 1]]
    assert ue.embedding_parameters() == 2 * 4 * 2
    # the gradient of a shared row is the sum of the per-feature components (linear head)
    x = _ids(1, [5, 5, 5])
    ue.zero_grad()
    ue(x).sum().backward()
    w = ue.mlp[0].weight.detach()[0]
    expect = [torch.zeros(4, 2), torch.zeros(4, 2)]
    col = 0
    for f in range(3):
        for j in range(ue.num_probes[f]):
            expect[ue.table_of[f][j]][ue.bucket_ids(x[:, f], f, j)[0]] += w[col:col + 2]
            col += 2
    for t in range(2):
        torch.testing.assert_close(ue.tables[t].grad, expect[t], atol=1e-7, rtol=0)


def test_trains_in_the_ranking_pipeline_shape():
    torch.manual_seed(0)
    data = ga.create("dataset", "synthetic_ctr", n_samples=400, n_fields=4, cardinality=20, seed=0).load()
    ue = ga.create("encoder", "unified_embedding", cardinalities=data.meta["cardinalities"], budget=256, dim_per_probe=4)
    out = ue(torch.as_tensor(data.X))
    assert out.shape == (400,) and torch.isfinite(out).all()


@pytest.mark.parametrize("params,match", [
    ({}, "cardinalities"),
    ({"cardinalities": [3, 0], "budget": 100}, "cardinalities"),
    ({"cardinalities": [3, 4]}, "budget"),
    ({"cardinalities": [3, 4], "budget": 100, "buckets": 10}, "budget"),
    ({"cardinalities": [3, 4], "budget": 3, "dim_per_probe": 4}, "budget"),
    ({"cardinalities": [3, 4], "budget": 100, "num_probes": [1]}, "num_probes"),
    ({"cardinalities": [3, 4], "budget": 100, "hash": "md5"}, "hash"),
    ({"cardinalities": [3, 4], "budget": 100, "layout": "mixed"}, "layout"),
    ({"cardinalities": [3, 4], "buckets": 5, "hash": "identity"}, "identity"),
    ({"cardinalities": [3, 4], "buckets": 50, "layout": "per_feature"}, "per_feature"),
    ({"cardinalities": [3, 4], "budget": 100, "hidden": [0]}, "hidden"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ga.create("encoder", "unified_embedding", **params)


def test_bad_types_and_inputs():
    with pytest.raises(TypeError, match="dim_per_probe"):
        ga.create("encoder", "unified_embedding", cardinalities=[3], budget=10, dim_per_probe=2.5)
    ue = ga.create("encoder", "unified_embedding", cardinalities=[3, 4], budget=64, dim_per_probe=2)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        ue(torch.zeros(5, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="integer field ids"):
        ue(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="field 1"):
        ue(torch.tensor([[0, 4]]))
    with pytest.raises(ValueError, match="empty"):
        ue(torch.zeros(0, 2, dtype=torch.long))
