"""Embedding compression: exact parameter counts, collision counts, full budget = uncompressed table,
TT contraction, pruning schedule, the benchmark measure, errors."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.embedding_compression.compression import (
    collision_pairs,
    mod_collision_pairs,
    salted_hash,
)

CARDS = [50, 300, 5, 100]
N = sum(CARDS)


def _ids(n, cards=CARDS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (n,), generator=g) for c in cards], dim=1)


def _make(name, **kw):
    torch.manual_seed(0)
    return ga.create("encoder", name, cardinalities=CARDS, hidden=[16], **kw)


# ---------------------------------------------------------------- exact parameter counts
def test_a_decimal_rate_is_not_floored_below_its_product():
    # 0.7 * 455 * 12 is 3821.9999.. in binary floating point; the budget is 3822 parameters
    r = _make("robe_embedding", rate=0.7, dim=12, block=6)
    assert r.budget == 3822 and r.embedding_parameters() == 3822
    assert _make("hash_trick_embedding", rate=0.7, dim=12).rows == math.floor(Fraction(7, 10) * N)


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(0.05, 1.0), d=st.sampled_from([4, 8, 12]))
def test_parameter_counts_at_each_budget(rate, d):
    exact = Fraction(repr(rate))  # the rate as the decimal a user writes, not its binary neighbour
    budget = math.floor(exact * N * d)
    h = _make("hash_trick_embedding", rate=rate, dim=d)
    assert h.embedding_parameters() == math.floor(exact * N) * d <= budget
    r = _make("robe_embedding", rate=rate, dim=d, block=d // 2 if d % 2 == 0 else d)
    assert r.embedding_parameters() == max(r.block, budget)
    t = _make("tt_rec_embedding", rate=rate, dim=d) if rate >= 0.1 else None
    if t is not None:
        n, dd, k = t.n, t.d, t.rank
        assert t.embedding_parameters() == n[0] * dd[0] * k + n[1] * k * dd[1] * k + n[2] * k * dd[2] <= budget
        assert n[0] * n[1] * n[2] >= N and dd[0] * dd[1] * dd[2] == d
        # the largest rank in the budget
        k1 = k + 1
        assert n[0] * dd[0] * k1 + n[1] * k1 * dd[1] * k1 + n[2] * k1 * dd[2] > budget
    try:
        q = _make("qr_embedding", rate=rate, dim=d)
    except ValueError as err:
        assert "raise rate" in str(err)
        assert all(-(-N // m) + m > budget // d for m in range(1, N + 1))
    else:
        assert q.embedding_parameters() == (q.q_rows + q.m) * d <= budget
        assert q.q_rows == -(-N // q.m)
        assert q.m + 1 > N or -(-N // (q.m + 1)) + q.m + 1 > budget // d  # m is the largest that fits
    try:
        mde = _make("mixed_dim_embedding", rate=rate, dim=d)
    except ValueError as err:
        assert "raise rate" in str(err)
    else:
        expect = sum(v * k + (k * d if k < d else 0) for v, k in zip(CARDS, mde.dims, strict=True))
        assert mde.embedding_parameters() == expect <= budget


def test_mixed_dimensions_follow_popularity():
    mde = _make("mixed_dim_embedding", rate=0.4, dim=16)
    # p_f = 1 / V_f: smaller vocabularies (more popular rows) get at least as many dims
    order = np.argsort(CARDS)
    assert all(mde.dims[order[i]] >= mde.dims[order[i + 1]] for i in range(len(CARDS) - 1))
    assert max(mde.dims) > min(mde.dims)


# ---------------------------------------------------------------- collisions
@pytest.mark.parametrize("rate", [1.0, 0.5, 0.13, 0.02])
def test_mod_hash_collisions_equal_closed_form(rate):
    h = _make("hash_trick_embedding", rate=rate, dim=4)
    rows = h.row_of(torch.arange(N)).numpy()
    assert collision_pairs(rows) == mod_collision_pairs(N, h.rows)
    if rate == 1.0:
        assert collision_pairs(rows) == 0


def test_salted_hash_collisions_match_expectation():
    # expected colliding pairs of N ids in M uniformly hashed buckets: C(N, 2) / M
    M = 91
    salts = np.random.default_rng(0).integers(0, 2**32, size=30)
    obs = [collision_pairs(salted_hash(torch.arange(N), int(s), M).numpy()) for s in salts]
    expect = N * (N - 1) / 2 / M
    se = np.std(obs, ddof=1) / np.sqrt(len(obs))
    assert abs(np.mean(obs) - expect) < 4 * se, (np.mean(obs), expect, se)


def test_qr_pairs_are_unique():
    for rate in (0.5, 0.2, 0.1):
        q = _make("qr_embedding", rate=rate, dim=8)
        v = torch.arange(N)
        pairs = (v // q.m) * q.m + v % q.m
        assert len(torch.unique(pairs)) == N and int((v // q.m).max()) < q.q_rows


# ---------------------------------------------------------------- full budget = uncompressed table
@pytest.mark.parametrize("name,kw", [
    ("hash_trick_embedding", {}),
    ("robe_embedding", {"hash": "identity"}),
    ("mixed_dim_embedding", {}),
    ("pruned_embedding", {}),
])
def test_full_budget_equals_uncompressed_table(name, kw):
    torch.manual_seed(1)
    base = ga.create("encoder", "ctr_embedding_mlp", cardinalities=CARDS, embedding_dim=8, hidden=[16])
    enc = _make(name, rate=1.0, dim=8, **kw)
    W = base.table.weight.detach()
    with torch.no_grad():
        if name == "hash_trick_embedding":
            enc.table.copy_(W)
        elif name == "robe_embedding":
            enc.W.copy_(W.reshape(-1))
        elif name == "mixed_dim_embedding":
            assert enc.dims == [8] * len(CARDS)
            for f, t in enumerate(enc.tables):
                t.copy_(W[int(enc.offsets[f]):int(enc.offsets[f]) + CARDS[f]])
        else:
            enc.table.copy_(W)
    enc.mlp.load_state_dict(base.mlp.state_dict())
    enc.train()
    x = _ids(200)
    assert enc.embedding_parameters() == N * 8
    assert torch.equal(enc(x), base(x))
    assert torch.equal(enc.full_table(), W)


# ---------------------------------------------------------------- TT-Rec and ROBE lookups
def test_tt_rec_equals_explicit_contraction():
    t = _make("tt_rec_embedding", rate=0.3, dim=8)
    G1, G2, G3 = (g.detach().double() for g in (t.G1, t.G2, t.G3))
    full = np.zeros((t.n[0], t.n[1], t.n[2], 8))
    for i in range(t.n[0]):
        for j in range(t.n[1]):
            for k in range(t.n[2]):
                m = G1[i].reshape(-1, t.rank)  # (d1, r)
                core = torch.einsum("ar,rbs->abs", m, G2[j]).reshape(-1, t.rank)  # (d1 d2, r)
                full[i, j, k] = (core @ G3[k].reshape(t.rank, -1)).reshape(-1).numpy()
    ref = full.reshape(-1, 8)[:N]
    np.testing.assert_allclose(t.full_table().double().numpy(), ref, atol=1e-6, rtol=0)


def test_robe_reads_d_entries_and_gradients_stay_there():
    r = _make("robe_embedding", rate=0.1, dim=8, block=2)
    v = torch.tensor([17])
    r.W.grad = None
    r.lookup(v).sum().backward()
    touched = set(torch.nonzero(r.W.grad).flatten().tolist())
    read = set()
    for b in range(r.n_blocks):
        start = int(salted_hash(v, r.salts[b][0], r.size))
        read |= {(start + z) % r.size for z in range(2)}
    assert touched <= read and len(read) <= 8


# ---------------------------------------------------------------- pruning
def test_pruning_reaches_exact_density_with_cubic_schedule():
    p = _make("pruned_embedding", rate=0.1, dim=8, prune_steps=20, prune_every=5)
    assert p.target_sparsity(0) == 0.0
    assert p.target_sparsity(10) == pytest.approx(0.9 * (1 - 0.5**3))
    assert p.target_sparsity(20) == pytest.approx(0.9) and p.target_sparsity(50) == pytest.approx(0.9)
    opt = torch.optim.Adam(p.parameters(), lr=1e-2)
    x, y = _ids(64), torch.randint(0, 2, (64,)).float()
    p.train()
    for _ in range(25):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(p(x), y).backward()
        opt.step()
    assert p.embedding_parameters() == math.floor(0.1 * N * 8)
    # the kept entries were the largest in magnitude at the last update
    p.eval()
    assert torch.count_nonzero(p.full_table()) <= math.floor(0.1 * N * 8)


# ---------------------------------------------------------------- the benchmark measure
def _ctr(n=1200):
    d = ga.create("dataset", "synthetic_ctr", n_samples=n, n_fields=4, cardinality=40, seed=0).load()
    return {"X": d.X, "y": d.y, "cardinalities": d.meta["cardinalities"]}


def test_benchmark_measure_protocol():
    data = _ctr()
    m = ga.create("measure", "embedding_compression_benchmark", methods=["hash_trick_embedding", "qr_embedding"],
                  rates=[0.5, 0.01], dim=4, hidden=[8], epochs=1, timing=False)
    rep = check_measure(m, data=data)
    assert "full@1/auc" in rep["keys"] and "hash_trick_embedding@0.5/auc" in rep["keys"]
    out = m(data=data)
    assert out["qr_embedding@0.01/feasible"] == 0.0
    assert out["hash_trick_embedding@0.5/embedding_parameters"] == math.floor(0.5 * 160) * 4
    assert out["hash_trick_embedding@0.5/compression"] == pytest.approx(160 * 4 / (80 * 4))
    assert 0.4 < out["full@1/auc"] <= 1.0
    timed = ga.create("measure", "embedding_compression_benchmark", methods=["robe_embedding"], rates=[0.5], dim=4,
                      hidden=[8], epochs=1)(data=data)
    assert timed["robe_embedding@0.5/train_seconds"] > 0 and timed["robe_embedding@0.5/inference_us_per_row"] > 0


def test_benchmark_measure_on_a_trained_model():
    data = _ctr(300)
    enc = ga.create("encoder", "robe_embedding", cardinalities=data["cardinalities"], rate=0.25, dim=4, hidden=[8])
    out = ga.create("measure", "embedding_compression_benchmark", timing=False)(model=enc, data=data)
    assert out["embedding_parameters"] == math.floor(0.25 * 160 * 4) and out["memory_bytes"] == 4 * out["embedding_parameters"]


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ["hash_trick_embedding", "qr_embedding", "mixed_dim_embedding", "tt_rec_embedding",
                                  "robe_embedding", "pruned_embedding"])
def test_bad_parameters_and_inputs(name):
    with pytest.raises(ValueError, match="cardinalities"):
        ga.create("encoder", name)
    with pytest.raises(ValueError, match="rate"):
        ga.create("encoder", name, cardinalities=CARDS, rate=1.5)
    with pytest.raises(ValueError, match="rate"):
        ga.create("encoder", name, cardinalities=CARDS, rate=0.0)
    with pytest.raises(TypeError, match="dim"):
        ga.create("encoder", name, cardinalities=CARDS, rate=0.5, dim=2.5)
    enc = ga.create("encoder", name, cardinalities=CARDS, rate=0.5, dim=4)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        enc(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="integer field ids"):
        enc(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="field 2"):
        enc(torch.tensor([[0, 0, 5, 0]]))
    with pytest.raises(ValueError, match="empty"):
        enc(torch.zeros(0, 4, dtype=torch.long))


def test_method_specific_errors():
    with pytest.raises(ValueError, match="hash"):
        ga.create("encoder", "hash_trick_embedding", cardinalities=CARDS, hash="md5")
    with pytest.raises(ValueError, match="operation"):
        ga.create("encoder", "qr_embedding", cardinalities=CARDS, rate=0.5, operation="concat")
    with pytest.raises(ValueError, match="block"):
        ga.create("encoder", "robe_embedding", cardinalities=CARDS, dim=8, block=3)
    with pytest.raises(ValueError, match="identity"):
        ga.create("encoder", "robe_embedding", cardinalities=CARDS, rate=0.5, hash="identity")
    with pytest.raises(ValueError, match="alpha"):
        ga.create("encoder", "mixed_dim_embedding", cardinalities=CARDS, rate=0.5, alpha=-1.0)
    with pytest.raises(ValueError, match="raise rate"):
        ga.create("encoder", "qr_embedding", cardinalities=CARDS, rate=0.01)
    with pytest.raises(ValueError, match="methods"):
        ga.create("measure", "embedding_compression_benchmark", methods=[])
    with pytest.raises(ValueError, match="rates"):
        ga.create("measure", "embedding_compression_benchmark", rates=[2.0])
    with pytest.raises(ValueError, match="epochs"):
        ga.create("measure", "embedding_compression_benchmark", epochs=0)
    with pytest.raises(ValueError, match="test"):
        ga.create("measure", "embedding_compression_benchmark", test=1.5)
    m = ga.create("measure", "embedding_compression_benchmark")
    with pytest.raises(ValueError, match="data"):
        m(data=None)
    with pytest.raises(ValueError, match="y"):
        m(data={"X": np.zeros((5, 2), dtype=np.int64)})
    with pytest.raises(ValueError, match="integer"):
        m(data={"X": np.zeros((5, 2)), "y": np.array([0, 1, 0, 1, 0])})
