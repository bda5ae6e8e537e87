"""InterCLR: reduction to MoCo's InfoNCE, MarginNCE, the inter branch by loops, sampler and memory
invariants, warm-up initialisation, state round trip, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.interclr.interclr import margin_nce

SMALL = {"bank_size": 40, "feat_dim": 8, "hidden_dim": 16, "queue_len": 24, "num_clusters": 4, "neg_num": 6,
         "pool_size": 20, "min_cluster": 2}


def nce_loops(pos, negs, t, m=0.0):
    """-log( e^{(pos_i - m)/t} / (e^{(pos_i - m)/t} + sum_k e^{neg_ik / t}) ), averaged over i."""
    total = 0.0
    for i in range(len(pos)):
        a = math.exp((float(pos[i]) - m) / t)
        total += -math.log(a / (a + sum(math.exp(float(v) / t) for v in negs[i])))
    return total / len(pos)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.integers(1, 6), k=st.integers(1, 8), t=st.sampled_from([0.07, 0.2, 1.0]),
       m=st.sampled_from([0.0, -0.5, 0.3]))
def test_margin_nce_closed_form(seed, b, k, t, m):
    g = torch.Generator().manual_seed(seed)
    pos = torch.rand(b, generator=g, dtype=torch.float64) * 2 - 1
    neg = torch.rand(b, k, generator=g, dtype=torch.float64) * 2 - 1
    assert float(margin_nce(pos, neg, m, t)) == pytest.approx(nce_loops(pos, neg, t, m), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_margin0_weights_1_0_is_moco_infonce(seed):
    torch.manual_seed(seed)
    loss = ga.create("loss", "interclr", in_dim=5, intra_margin=0.0, intra_weight=1.0, inter_weight=0.0, **SMALL).double()
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(7, 5, generator=g, dtype=torch.float64)
    queue = loss.queue.clone()
    with torch.no_grad():  # the key head equals the query head before training (EMA of equal weights)
        q = F.normalize(loss.head(z1), dim=1)
        k = F.normalize(loss.head(z2), dim=1)
    ref = nce_loops((q * k).sum(1), q @ queue.T, 0.2)
    value = float(loss([z1, z2], {"index": torch.arange(7), "epoch": 3}))
    assert value == pytest.approx(ref, abs=1e-12)
    # the queue got the keys, the bank got the keys at the indices
    assert torch.allclose(loss.queue[:7], k, atol=1e-12) and torch.allclose(loss.bank[:7], k, atol=1e-12)


def _initialised(seed=0, **kw):
    torch.manual_seed(seed)
    params = {**SMALL, **kw}
    loss = ga.create("loss", "interclr", in_dim=5, **params).double()
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(params["num_clusters"], params["feat_dim"], generator=g, dtype=torch.float64) * 3
    feats = centers[torch.arange(params["bank_size"]) % params["num_clusters"]] + torch.randn(params["bank_size"], params["feat_dim"], generator=g, dtype=torch.float64)
    loss.init_memory(feats, seed=seed)
    return loss, g


def test_inter_branch_equals_loops_with_hard_negatives_and_singleton_clusters():
    # K = N: every entry is its own cluster, the positive is the entry itself, hard negatives are deterministic
    loss, g = _initialised(0, bank_size=12, num_clusters=12, pool_size=10, neg_num=5, min_cluster=1,
                           neg_sampling="hard", intra_weight=0.0, inter_weight=1.0)
    assert sorted(loss.labels.tolist()) == list(range(12))
    z1, z2 = torch.randn(4, 5, generator=g, dtype=torch.float64), torch.randn(4, 5, generator=g, dtype=torch.float64)
    idx = torch.tensor([3, 7, 0, 11])
    bank = loss.bank.clone()
    with torch.no_grad():
        q = F.normalize(loss.head(z1), dim=1)
    pos, negs = [], []
    for i, j in enumerate(idx.tolist()):
        sims = [(float(q[i] @ bank[n]), n) for n in range(12) if n != j]
        sims.sort(reverse=True)
        pos.append(float(q[i] @ bank[j]))
        negs.append([s for s, _ in sims[:5]])
    ref = nce_loops(pos, negs, 0.2, -0.5)
    assert float(loss([z1, z2], {"index": idx})) == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("mode", ["semihard", "semieasy", "random", "hard"])
def test_sampler_properties(mode):
    loss, g = _initialised(1, neg_sampling=mode)
    q = F.normalize(torch.randn(9, 8, generator=g, dtype=torch.float64), dim=1)
    own = loss.labels[torch.arange(9)]
    for _ in range(5):
        neg = loss.sample_negatives(q, own)
        assert neg.shape == (9, 6)
        assert bool((loss.labels[neg] != own[:, None]).all())  # never the query's cluster
        if mode in ("semihard", "semieasy"):
            pool = (q @ loss.bank.T).topk(20, dim=1, largest=mode == "semihard").indices
            assert all(set(neg[i].tolist()) <= set(pool[i].tolist()) for i in range(9))
            assert all(len(set(neg[i].tolist())) == 6 for i in range(9))  # without replacement
        pos = loss.sample_positives(own)
        assert bool((loss.labels[pos] == own).all())


def test_memory_invariants_and_small_clusters():
    loss, g = _initialised(2, min_cluster=6)
    for step in range(6):
        z = torch.randn(10, 5, generator=g, dtype=torch.float64)
        loss([z, z + 0.1], {"index": torch.arange(10) + 10 * (step % 4)})
        assert torch.allclose(loss.bank.norm(dim=1), torch.ones(40, dtype=torch.float64), atol=1e-6)
        counts = torch.bincount(loss.labels, minlength=4)
        assert bool((counts > 0).all()), counts
        assert math.isfinite(loss.last["inter"]) and 0.0 <= loss.last["label_change"] <= 1.0
    # force a tiny cluster: it is dissolved and refilled by a 2-means split of the largest one
    loss.labels[:] = 0
    loss.labels[0] = 1
    loss.labels[1:3] = 2
    loss.labels[3:20] = 3
    loss.deal_with_small_clusters()
    assert bool((torch.bincount(loss.labels, minlength=4) > 0).all())


def test_warmup_then_kmeans_initialisation():
    torch.manual_seed(0)
    loss = ga.create("loss", "interclr", in_dim=5, warmup_epochs=1, **SMALL)
    g = torch.Generator().manual_seed(0)
    for start in range(0, 40, 10):
        z = torch.randn(10, 5, generator=g)
        loss([z, z], {"index": torch.arange(start, start + 10), "epoch": 0})
        assert math.isnan(loss.last["inter"])  # weights (1, 0) during the warm-up
    loss.on_epoch_end(0)
    assert bool(loss.initialized) and bool((torch.bincount(loss.labels, minlength=4) > 0).all())
    z = torch.randn(10, 5, generator=g)
    loss([z, z], {"index": torch.arange(10), "epoch": 1})
    assert math.isfinite(loss.last["inter"])
    # a bank that was not filled is an error naming bank_size
    other = ga.create("loss", "interclr", in_dim=5, **SMALL)
    other([z, z], {"index": torch.arange(10), "epoch": 0})
    with pytest.raises(ValueError, match="bank_size"):
        other.on_epoch_end(0)


def test_bind_keeps_a_momentum_copy_of_the_whole_encoder():
    """MoCo's key encoder: bind copies the model (not optimised); each step first moves it by EMA
    towards the trained encoder (closed form), then the keys are head_m(f_m(view 2))."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 9), torch.nn.ReLU(), torch.nn.Linear(9, 5)).double()
    loss = ga.create("loss", "interclr", in_dim=5, momentum=0.9, **SMALL).double()
    loss.bind(model)
    assert loss.encoder_m is not None and not any(p.requires_grad for p in loss.encoder_m.parameters())
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), loss.encoder_m.parameters(), strict=True))
    trainable = {id(p) for p in loss.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in loss.head.parameters()}  # the copy and the key head are not optimised
    assert "encoder_m.0.weight" in loss.state_dict()  # checkpointed with the loss
    old = [p.detach().clone() for p in loss.encoder_m.parameters()]
    with torch.no_grad():  # an optimiser step on the trained encoder
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    v1, v2 = torch.randn(7, 6, generator=g, dtype=torch.float64), torch.randn(7, 6, generator=g, dtype=torch.float64)
    value = loss([model(v1), model(v2)], {"index": torch.arange(7), "epoch": 3, "views": [v1, v2]})
    assert math.isfinite(float(value.detach()))
    for o, new, ema in zip(old, model.parameters(), loss.encoder_m.parameters(), strict=True):
        assert torch.allclose(ema, 0.9 * o + 0.1 * new.detach(), atol=1e-12)
    with torch.no_grad():
        k = F.normalize(loss.head_m(loss.encoder_m(v2)), dim=1)
        k_unbound = F.normalize(loss.head_m(model(v2)), dim=1)
    assert torch.allclose(loss.queue[:7], k, atol=1e-12) and torch.allclose(loss.bank[:7], k, atol=1e-12)
    assert float((k - k_unbound).abs().max()) > 1e-3  # the key backbone is the EMA copy, not the current encoder
    with pytest.raises(TypeError, match="bind"):
        loss.bind("not a model")


def test_pipeline_checkpoints_the_momentum_encoder(tmp_path):
    """Through the representation task the trainer binds the loss: the checkpoint holds the EMA encoder."""
    spec = {
        "name": "interclr_bind", "seed": 0, "task": {"name": "representation", "params": {"embedding_dim": 8}},
        "data": {"dataset": "sklearn_digits", "split": {"test": 0.25, "stratify": True}},
        "models": {"mlp": {"encoder": "mlp", "params": {"hidden": [16]}}},
        "pretrain": {"loss": {"name": "interclr", "params": {"in_dim": 8, "bank_size": 1347, "feat_dim": 8, "hidden_dim": 16,
                                                             "queue_len": 64, "num_clusters": 10, "neg_num": 16, "pool_size": 400,
                                                             "min_cluster": 5, "momentum": 0.9}},
                     "views": {"noise": 0.1, "n_views": 2}, "epochs": 2, "batch_size": 256, "probes": ["linear"]},
        "plots": False,
    }
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res["mlp"]["probes"]["linear"]["accuracy"] > 0.3
    (ckpt,) = tmp_path.glob("**/checkpoints/mlp.pt")
    state = torch.load(ckpt, weights_only=True)
    enc_keys = [k for k in state["loss"] if k.startswith("encoder_m.")]
    assert enc_keys and len(enc_keys) == len(state["model"])
    # the EMA copy lags the trained encoder (momentum 0.9 over ~12 steps): close to it but not equal
    diffs = [float((state["loss"]["encoder_m." + k] - v).abs().max()) for k, v in state["model"].items()]
    assert max(diffs) > 1e-6


def test_batch_larger_than_the_queue_keeps_its_last_keys():
    torch.manual_seed(0)
    loss = ga.create("loss", "interclr", in_dim=5, **SMALL).double()  # queue_len 24
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(30, 5, generator=g, dtype=torch.float64), torch.randn(30, 5, generator=g, dtype=torch.float64)
    loss([z1, z2], {"index": torch.arange(30), "epoch": 0})
    with torch.no_grad():
        k = F.normalize(loss.head_m(z2), dim=1)
    assert torch.allclose(loss.queue, k[-24:], atol=1e-12) and int(loss.queue_ptr) == 30 % 24


def test_check_loss_state_round_trip():
    loss, g = _initialised(3)
    loss = loss.float()
    z1 = torch.randn(6, 5, generator=g, requires_grad=True)
    z2 = torch.randn(6, 5, generator=g, requires_grad=True)
    check_loss(loss, [z1, z2], {"x": z1, "index": torch.arange(6), "views": [z1, z2]})
    assert not any(p.requires_grad for p in loss.head_m.parameters())


def test_bad_input():
    with pytest.raises(ValueError, match="pool_size"):
        ga.create("loss", "interclr", in_dim=5, bank_size=100, num_clusters=10)  # ImageNet pool does not fit a small bank
    with pytest.raises(ValueError, match="neg_num"):
        ga.create("loss", "interclr", in_dim=5, **{**SMALL, "neg_num": 30})
    with pytest.raises(ValueError, match="num_clusters"):
        ga.create("loss", "interclr", in_dim=5, **{**SMALL, "num_clusters": 50})
    with pytest.raises(ValueError, match="neg_sampling"):
        ga.create("loss", "interclr", in_dim=5, neg_sampling="easy", **SMALL)
    with pytest.raises(ValueError, match="temperature"):
        ga.create("loss", "interclr", in_dim=5, temperature=0, **SMALL)
    with pytest.raises(ValueError, match="momentum"):
        ga.create("loss", "interclr", in_dim=5, momentum=1.5, **SMALL)
    with pytest.raises(TypeError, match="in_dim"):
        ga.create("loss", "interclr", in_dim=5.0, **SMALL)
    loss = ga.create("loss", "interclr", in_dim=5, **SMALL)
    z = torch.randn(4, 5)
    with pytest.raises(TypeError, match="two view"):
        loss(z, {"index": torch.arange(4)})
    with pytest.raises(ValueError, match="index"):
        loss([z, z], {})
    with pytest.raises(ValueError, match="bank_size"):
        loss([z, z], {"index": torch.arange(4) + 38})
    with pytest.raises(ValueError, match="in_dim"):
        loss([torch.randn(4, 3), torch.randn(4, 3)], {"index": torch.arange(4)})
    with pytest.raises(ValueError, match="NaN"):
        loss([z, torch.full((4, 5), float("nan"))], {"index": torch.arange(4)})
    with pytest.raises(ValueError, match="init_memory"):
        loss.init_memory(torch.randn(3, 8))
