"""OptEmbed: FM/DeepFM reduction (brute-force FM), surrogate gradient, threshold regulariser, parameter
count, the three stages end to end, errors."""

import itertools

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.optembed.optembed import (
    BinaryStep,
    evolutionary_search,
    fit_optembed,
    surrogate_gradient,
    threshold_regularizer,
)

CARDS = [6, 9, 4, 7]


def _ids(n, cards=CARDS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (n,), generator=g) for c in cards], dim=1)


def _brute_fm(model, x):
    """b + sum_f w[v_f] + sum_{i<j} <e_i, e_j> by explicit loops over field pairs (float64)."""
    v = x + model.offsets
    E = model.embedding.detach().double()[v]
    out = model.bias.detach().double() + model.linear.detach().double()[v].sum(1)
    for i, j in itertools.combinations(range(x.shape[1]), 2):
        out = out + (E[:, i] * E[:, j]).sum(1)
    return out


@pytest.mark.parametrize("backbone", ["fm", "deepfm"])
@pytest.mark.parametrize("training", [False, True])
def test_no_pruning_equals_fm_and_deepfm(backbone, training):
    torch.manual_seed(0)
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, backbone=backbone, hidden=[8],
                  prune_rows=False, sample_dims=False)
    m.train(training)
    x = _ids(50)
    out = m(x).double()
    ref = _brute_fm(m, x)
    if backbone == "deepfm":
        E = m.embedding[x + m.offsets]
        ref = ref + m.mlp(E.reshape(50, -1)).squeeze(-1).double()
    torch.testing.assert_close(out, ref.detach(), atol=1e-5, rtol=0)


def test_thresholds_at_minus_infinity_keep_every_row():
    torch.manual_seed(0)
    a = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, hidden=[8], sample_dims=False)
    torch.manual_seed(0)
    b = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, hidden=[8], prune_rows=False, sample_dims=False)
    with torch.no_grad():
        a.threshold.fill_(-1e9)
    a.eval(), b.eval()
    x = _ids(40)
    assert torch.equal(a(x), b(x))
    assert a.embedding_parameters() == sum(CARDS) * 6


def test_binary_step_surrogate_gradient_on_a_grid():
    u = torch.tensor([-1.5, -1.0, -0.7, -0.4, -0.2, 0.0, 0.2, 0.4, 0.41, 0.7, 1.0, 1.0001, 1.5], requires_grad=True)
    y = BinaryStep.apply(u)
    assert torch.equal(y, (u > 0).float())
    y.sum().backward()
    expect = []
    for val in u.detach().tolist():
        a = abs(val)
        expect.append(2 - 4 * a if a <= 0.4 else (0.4 if a <= 1 else 0.0))
    torch.testing.assert_close(u.grad, torch.tensor(expect), atol=1e-6, rtol=0)
    torch.testing.assert_close(surrogate_gradient(u.detach()), torch.tensor(expect), atol=1e-6, rtol=0)


def test_threshold_gradient_is_bce_plus_regulariser():
    torch.manual_seed(0)
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, hidden=[8], alpha=0.05, sample_dims=False)
    with torch.no_grad():
        m.threshold.copy_(torch.tensor([0.05, 0.02, -0.1, 0.08]))
    m.train()
    x, y = _ids(64), torch.randint(0, 2, (64,)).float()
    torch.manual_seed(1)
    torch.nn.functional.binary_cross_entropy_with_logits(m(x), y).backward()
    g_trained = m.threshold.grad.clone()
    # explicitly: the same forward without the built-in regulariser, plus alpha * sum exp(-t) in the loss
    m.zero_grad()
    m.alpha, alpha = 0.0, 0.05
    loss = torch.nn.functional.binary_cross_entropy_with_logits(m(x), y) + threshold_regularizer(m.threshold, alpha)
    loss.backward()
    torch.testing.assert_close(g_trained, m.threshold.grad, atol=1e-7, rtol=0)
    assert threshold_regularizer(torch.zeros(3), 0.5).item() == pytest.approx(1.5)


def test_row_pruning_zeroes_rows_and_counts_parameters():
    torch.manual_seed(0)
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, hidden=[8], sample_dims=False)
    norms = m.row_norms().detach()
    with torch.no_grad():
        m.threshold.copy_(torch.stack([norms[m.field_of_row == f].median() for f in range(4)]))
    mask = m.feature_mask()
    assert torch.equal(mask, (norms - m.threshold.detach()[m.field_of_row] > 0).float())
    m.eval()
    x = _ids(30)
    e = m.embed(x)
    kept = mask[x + m.offsets]
    assert torch.equal(e.abs().sum(-1) > 0, kept > 0)
    dims = [5, 0, 2, 3]
    m.set_dims(dims)
    per_field = [int(mask[m.field_of_row == f].sum()) for f in range(4)]
    assert m.embedding_parameters() == sum(k * (j + 1) for k, j in zip(per_field, dims, strict=True))
    assert (m.embed(x)[:, 1, 1:] == 0).all()  # field 1 keeps one dimension


def test_supernet_samples_dims_per_sample_and_field():
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=6, hidden=[8], prune_rows=False)
    m.train()
    e = m.embed(_ids(200))
    kept = (e != 0).sum(-1)  # first j+1 dims of each (sample, field)
    assert kept.min() >= 1 and kept.max() <= 6 and len(torch.unique(kept)) > 3
    nz = e != 0
    assert bool((nz[..., 1:] <= nz[..., :-1]).all())  # a prefix of dims
    m.eval()
    assert ((m.embed(_ids(20)) != 0).sum(-1) == 6).all()


def test_three_stages_end_to_end():
    data = ga.create("dataset", "synthetic_ctr", n_samples=3000, n_fields=4, cardinality=20, informative=[0, 1],
                     seed=0).load()
    X, y = data.X, data.y
    res = fit_optembed(data.meta["cardinalities"], X[:2000], y[:2000], X[2000:], y[2000:], dim=4, hidden=[8], epochs=2,
                       search_iterations=2, alpha=1e-2, lr_t=1e-2)
    m = res.model
    assert m.stage == "retrain" and len(res.dims) == 4 and all(0 <= j < 4 for j in res.dims)
    assert torch.equal(m.feature_mask(), res.row_mask)
    assert 0 < m.embedding_parameters() <= 80 * 4
    assert res.search_val_auc >= max(res.history["search_best_auc"]) - 1e-12


def test_evolutionary_search_is_deterministic_and_returns_the_best():
    torch.manual_seed(0)
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=5, hidden=[8])
    x, y = _ids(200), np.tile([0, 1], 100)
    a = evolutionary_search(m, x, y, iterations=3, mutation_num=4, crossover_num=4, seed=0)
    b = evolutionary_search(m, x, y, iterations=3, mutation_num=4, crossover_num=4, seed=0)
    assert a == b and a[1] == max(a[2])
    assert not m.fixed_dims


@pytest.mark.parametrize("params,err,match", [
    ({}, ValueError, "cardinalities"),
    ({"cardinalities": CARDS, "backbone": "dcn"}, ValueError, "backbone"),
    ({"cardinalities": CARDS, "norm": 3}, ValueError, "norm"),
    ({"cardinalities": CARDS, "stage": "search"}, ValueError, "stage"),
    ({"cardinalities": CARDS, "alpha": -1.0}, ValueError, "alpha"),
    ({"cardinalities": CARDS, "dim": 0}, ValueError, "dim"),
    ({"cardinalities": CARDS, "dim": 2.5}, TypeError, "dim"),
    ({"cardinalities": CARDS, "hidden": [0]}, ValueError, "hidden"),
    ({"cardinalities": CARDS, "threshold_init": float("nan")}, ValueError, "threshold_init"),
])
def test_bad_parameters(params, err, match):
    with pytest.raises(err, match=match):
        ga.create("encoder", "optembed", **params)


def test_bad_inputs_and_architectures():
    m = ga.create("encoder", "optembed", cardinalities=CARDS, dim=4)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        m(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="integer field ids"):
        m(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="field 0"):
        m(torch.tensor([[6, 0, 0, 0]]))
    with pytest.raises(ValueError, match="empty"):
        m(torch.zeros(0, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="dims"):
        m.set_dims([4, 0, 0, 0])
    with pytest.raises(ValueError, match="row_mask"):
        m.set_architecture(np.full(sum(CARDS), 0.5), [0, 0, 0, 0])
