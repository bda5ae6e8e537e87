"""DNIS: reduction to the plain model, pruning/folding invariants, parameter counts, blocks, procedure, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.dnis.dnis import fit_dnis, frequency_blocks

CARDS = [7, 12, 5, 9]
N = sum(CARDS)


def _ids(n, cards=CARDS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (n,), generator=g) for c in cards], dim=1)


def _pair(**kw):
    torch.manual_seed(0)
    base = ga.create("encoder", "ctr_embedding_mlp", cardinalities=CARDS, embedding_dim=6, hidden=[16])
    m = ga.create("encoder", "dnis", cardinalities=CARDS, dim=6, hidden=[16], **kw)
    with torch.no_grad():
        m.table.copy_(base.table.weight)
    m.mlp.load_state_dict(base.mlp.state_dict())
    return base, m


@pytest.mark.parametrize("training", [True, False])
def test_alpha_one_nothing_pruned_equals_plain_model(training):
    base, m = _pair(blocks=list(np.arange(N) % 3))
    m.train(training)
    x = _ids(100)
    assert torch.equal(m(x), base(x))
    assert m.embedding_parameters() == N * 6


def test_threshold_zero_leaves_predictions_and_fold_is_exact():
    _, m = _pair()
    with torch.no_grad():
        m.alpha.uniform_(-1.0, 1.0)
    x = _ids(80)
    m.eval()
    y0 = m(x)
    m.prune(threshold=0.0)
    assert torch.equal(m(x), y0)
    m.prune(threshold=0.3)
    y1 = m(x)
    assert torch.equal(m.mask, (m.alpha.detach().abs() > 0.3).float())
    m.fold()
    torch.testing.assert_close(m(x), y1, atol=1e-6, rtol=0)
    assert torch.equal(m.alpha.detach(), m.mask)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), target=st.integers(1, N * 6))
def test_pruned_parameter_count_is_sum_Nk_dk_within_target(seed, target):
    torch.manual_seed(seed)
    blocks = np.random.default_rng(seed).integers(0, 4, size=N)
    blocks[:4] = np.arange(4)
    m = ga.create("encoder", "dnis", cardinalities=CARDS, dim=6, blocks=blocks.tolist(), hidden=[4])
    with torch.no_grad():
        m.alpha.normal_()
    m.prune(target_parameters=target)
    sizes = np.bincount(blocks, minlength=4)
    dk = m.mask.sum(1).numpy()
    assert m.embedding_parameters() == int((sizes * dk).sum()) <= target
    # the kept entries are the largest |alpha| in order while the running cost fits (numpy, by loop)
    a = m.alpha.detach().abs().numpy().ravel()
    expect, used = np.zeros_like(a), 0
    for i in sorted(range(len(a)), key=lambda i: (-a[i], i)):
        c = sizes[i // 6]
        if used + c > target:
            break
        expect[i], used = 1.0, used + c
    assert np.array_equal(m.mask.numpy().ravel(), expect)


def test_eval_threshold_drops_small_alpha_dims():
    _, m = _pair(prune_threshold=0.5)
    with torch.no_grad():
        m.alpha.fill_(1.0)
        m.alpha[1, :3] = 0.1
    m.eval()
    e = m.embed(torch.tensor([[0, 0, 0, 0]]))
    assert (e[0, 1, :3] == 0).all() and (e[0, 1, 3:] != 0).all()
    assert m.kept_dims().tolist() == [6, 3, 6, 6]
    m.train()
    assert (m.embed(torch.tensor([[0, 0, 0, 0]]))[0, 1, :3] != 0).all()  # soft in training


def test_frequency_blocks():
    counts = np.array([5, 50, 0, 7, 50, 1])
    b = frequency_blocks(counts, 3)
    assert b.tolist() == [1, 0, 2, 1, 0, 2]
    with pytest.raises(ValueError, match="n_blocks"):
        frequency_blocks(counts, 7)
    with pytest.raises(ValueError, match="counts"):
        frequency_blocks([1.0, float("nan")], 1)


def test_fit_dnis_end_to_end():
    d = ga.create("dataset", "synthetic_ctr", n_samples=2400, n_fields=4, cardinality=20, seed=0).load()
    X, y = d.X, d.y
    res = fit_dnis(d.meta["cardinalities"], X[:1600], y[:1600], X[1600:], y[1600:], dim=4, n_blocks=5, hidden=[8],
                   search_epochs=1, finetune_epochs=1, target_parameters=100)
    m = res.model
    assert m.embedding_parameters() <= 100 and len(res.kept_dims) == 5
    assert res.block_counts == sorted(res.block_counts, reverse=True)
    assert not m.alpha.requires_grad


@pytest.mark.parametrize("params,err,match", [
    ({}, ValueError, "cardinalities"),
    ({"cardinalities": CARDS, "dim": 0}, ValueError, "dim"),
    ({"cardinalities": CARDS, "dim": 1.5}, TypeError, "dim"),
    ({"cardinalities": CARDS, "blocks": [0] * 3}, ValueError, "blocks"),
    ({"cardinalities": CARDS, "blocks": [0] * (N - 1) + [2]}, ValueError, "blocks"),
    ({"cardinalities": CARDS, "prune_threshold": -1.0}, ValueError, "prune_threshold"),
    ({"cardinalities": CARDS, "hidden": [0]}, ValueError, "hidden"),
])
def test_bad_parameters(params, err, match):
    with pytest.raises(err, match=match):
        ga.create("encoder", "dnis", **params)


def test_bad_inputs():
    m = ga.create("encoder", "dnis", cardinalities=CARDS, dim=4)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        m(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="integer field ids"):
        m(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="field 3"):
        m(torch.tensor([[0, 0, 0, 9]]))
    with pytest.raises(ValueError, match="empty"):
        m(torch.zeros(0, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="exactly one"):
        m.prune()
    with pytest.raises(ValueError, match="threshold"):
        m.prune(threshold=-0.1)
