import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.obow.obow import (
    assignment_codes,
    bow_from_codes,
    bow_perplexity,
    momentum_schedule,
    word_distances,
)


def _pair(levels=1, seed=0, **kw):
    torch.manual_seed(seed)
    enc = ga.create("encoder", "obow_cnn", in_channels=1, channels=[8, 16], bow_levels=levels, total_steps=10)
    loss = ga.create("loss", "obow", num_channels=enc.bow_channels, feature_dim=enc.feature_dim, num_words=64, **kw)
    return enc, loss


def _views(enc, b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 1, 8, 8, generator=g)
    enc.train()
    return [enc(x), enc(x + 0.1 * torch.randn(x.shape, generator=g))]


def test_hard_assignment_limit():
    torch.manual_seed(0)
    u = torch.randn(3, 5, 4, 4, dtype=torch.float64)
    v = torch.randn(7, 5, dtype=torch.float64)
    d = word_distances(u, v)
    hard = assignment_codes(d, None, 1.0)
    soft = assignment_codes(d, 1e6, d.amin(1).mean())
    assert torch.allclose(soft, hard, atol=1e-6)
    assert torch.equal(hard.sum(1), torch.ones(3, 4, 4, dtype=torch.float64))
    # the loss with inv_delta=None gives one-hot codes: its BoW is L1 of the max-pooled one-hots
    enc, loss = _pair(inv_delta=None)
    out = _views(enc)
    y = loss.bow_targets(out[0]["teacher_maps"][0], 0, update=False)
    nz = (y > 0).sum(1).float()
    assert torch.allclose(y.sum(1), torch.ones(8))
    assert torch.allclose(y.max(1).values, 1.0 / nz)  # uniform over the words that won somewhere


def test_distances_equal_cdist():
    torch.manual_seed(1)
    u = torch.randn(2, 6, 3, 5)
    v = torch.randn(9, 6)
    d = word_distances(u, v)
    ref = torch.cdist(u.permute(0, 2, 3, 1).reshape(-1, 6), v).pow(2).reshape(2, 3, 5, 9).permute(0, 3, 1, 2)
    assert torch.allclose(d, ref, atol=1e-4)


def test_ema_schedule_closed_form():
    a0, T = 0.99, 50
    for i in range(T + 3):
        want = 1 - (1 - a0) * (math.cos(math.pi * min(i, T) / T) + 1) / 2
        assert abs(momentum_schedule(i, a0, T) - want) < 1e-12
    assert momentum_schedule(0, a0, T) == pytest.approx(a0, abs=1e-15)
    assert momentum_schedule(T, a0, T) == 1.0
    assert momentum_schedule(7, a0, T, cosine=False) == a0
    # with a fixed student s, n EMA steps give t_n = s + prod(a_i) (t_0 - s)
    torch.manual_seed(2)
    enc = ga.create("encoder", "obow_cnn", in_channels=1, channels=[4], bow_levels=1, alpha=0.9, total_steps=6)
    with torch.no_grad():
        for p in enc.teacher.parameters():
            p.add_(torch.randn_like(p))
    t0 = [p.clone() for p in enc.teacher.parameters()]
    s = [p.clone() for p in enc.student.parameters()]
    used = [enc.update_teacher() for _ in range(8)]
    assert used[-1] == 1.0 and used[0] == pytest.approx(0.9)
    prod = float(np.prod(used))
    for p, a, b in zip(enc.teacher.parameters(), t0, s, strict=False):
        assert torch.allclose(p, b + prod * (a - b), atol=1e-6)


def test_teacher_updates_once_per_optimiser_step():
    enc, loss = _pair()
    opt = torch.optim.SGD(list(enc.parameters()) + list(loss.parameters()), lr=0.1)
    for step in range(3):
        out = _views(enc, seed=step)
        assert int(enc.ema_step) == step + 1  # two forwards, one update
        opt.zero_grad()
        loss(out, {}).backward()
        opt.step()
    # the teacher got no gradient and moved only by EMA
    assert all(p.grad is None for p in enc.teacher.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(enc.teacher.parameters(), enc.student.parameters(), strict=False))


def test_perplexity_against_scipy():
    from scipy.stats import entropy

    torch.manual_seed(3)
    bow = torch.rand(5, 11, dtype=torch.float64)
    bow = bow / bow.sum(1, keepdim=True)
    pb, pi = bow_perplexity(bow)
    b = bow.numpy()
    assert pb == pytest.approx(math.exp(entropy(b.sum(0))), abs=1e-9)
    assert pi == pytest.approx(np.mean([math.exp(entropy(r)) for r in b]), abs=1e-9)
    assert bow_perplexity(torch.full((3, 16), 1 / 16))[0] == pytest.approx(16)
    assert bow_perplexity(torch.eye(4)[:1])[1] == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(2, 9), st.floats(0.5, 50.0), st.sampled_from(["max", "avg"]))
def test_bow_is_a_distribution(b, k, inv_delta, pool):
    g = torch.Generator().manual_seed(b * 31 + k)
    d = torch.rand(b, k, 3, 3, generator=g, dtype=torch.float64) * 4
    y = bow_from_codes(assignment_codes(d, inv_delta, d.amin(1).mean()), pool)
    assert (y >= 0).all()
    assert torch.allclose(y.sum(1), torch.ones(b, dtype=torch.float64), atol=1e-12)


def test_loss_is_cross_entropy_minus_target_entropy():
    enc, loss = _pair(levels=2)
    out = _views(enc)
    loss.eval()  # no state update: targets reproducible
    value = loss(out, {})
    f = out[1]["features"]
    parts = []
    for lvl in range(2):
        y = loss.bow_targets(out[0]["teacher_maps"][lvl], lvl)
        logp = torch.log_softmax(loss.logits(f, lvl, loss.words(lvl)), 1)
        ce = -(y * logp).sum(1).mean()
        h = -(torch.special.xlogy(y, y)).sum(1).mean()
        parts.append(ce - h)
    assert torch.allclose(value, torch.stack(parts).mean(), atol=1e-6)


def test_queue_wraps_modulo_k():
    enc, loss = _pair()
    loss.train()
    x = torch.rand(24, 1, 8, 8)
    enc.train()
    out = enc(x)
    before = loss.words(0).clone()
    for _ in range(3):  # 3 x 24 = 72 words into a queue of 64
        loss.bow_targets(out["teacher_maps"][0], 0)
    assert int(loss.ptr_0) == 72 % 64
    assert not torch.equal(before, loss.words(0))
    assert float(loss.mean_min_dist_0) != 0.5


def test_check_loss_kit_and_state():
    enc, loss = _pair()

    def make(n):
        torch.manual_seed(5)
        base = _views(enc, b=4, seed=9)
        return [{"features": o["features"].detach().repeat(n, 1).requires_grad_(),
                 "teacher_maps": [m.repeat(n, 1, 1, 1) for m in o["teacher_maps"]]} for o in base], {}

    torch.manual_seed(0)
    outs, batch = make(1)
    rep = check_loss(loss, outs, batch, make_batch=make)
    assert {"words_0", "ptr_0", "mean_min_dist_0"} <= set(rep["state_keys"])


def test_eval_output_is_the_representation():
    enc, _ = _pair()
    enc.eval()
    z = enc(torch.rand(5, 1, 8, 8))
    assert z.shape == (5, 16)


def test_bad_inputs():
    enc, loss = _pair()
    out = _views(enc)
    with pytest.raises(TypeError, match="list of view outputs"):
        loss(out[0]["features"], {})
    with pytest.raises(ValueError, match="at least 2 views"):
        loss(out[:1], {})
    bad = [dict(o) for o in out]
    bad[1]["features"] = bad[1]["features"][:, :3]
    with pytest.raises(ValueError, match="features must have shape"):
        loss(bad, {})
    bad = [dict(o) for o in out]
    bad[0]["teacher_maps"] = [bad[0]["teacher_maps"][0] * float("nan")]
    with pytest.raises(ValueError, match="NaN"):
        loss(bad, {})
    with pytest.raises(ValueError, match="num_words"):
        ga.create("loss", "obow", num_channels=8, feature_dim=8, num_words=0)
    with pytest.raises(ValueError, match="kappa"):
        ga.create("loss", "obow", num_channels=8, feature_dim=8, kappa=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        ga.create("encoder", "obow_cnn", in_channels=1, alpha=1.5)
    with pytest.raises(ValueError, match="bow_levels"):
        ga.create("encoder", "obow_cnn", in_channels=1, channels=[8], bow_levels=2)
    with pytest.raises(ValueError, match="input channels"):
        enc(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        enc(torch.full((2, 1, 8, 8), float("nan")))


# ---------------------------------------------------------------- teacher in the loss (Loss.bind)
def _bound(seed=0, **kw):
    torch.manual_seed(seed)
    enc = ga.create("encoder", "cnn", in_channels=1, num_classes=24, channels=[8, 16])
    loss = ga.create("loss", "obow", num_channels=16, feature_dim=24, num_words=32, total_steps=10, **kw)
    loss.bind(enc)
    return enc, loss


def test_bound_registered_encoder_ema_and_targets():
    """Any registered convnet: the loss keeps an EMA copy of it (closed form after a step), and the
    targets are the BoW of the teacher's last 4-d map (recomputed here by a hook-free forward)."""
    enc, loss = _bound()
    assert loss.teacher is not None and all(not p.requires_grad for p in loss.teacher.parameters())
    assert not any(n.startswith("teacher") for n, p in loss.named_parameters() if p.requires_grad)
    opt = torch.optim.SGD([*enc.parameters(), *loss.parameters()], lr=0.1)
    g = torch.Generator().manual_seed(0)
    views = [torch.rand(6, 1, 8, 8, generator=g) for _ in range(2)]
    enc.train()
    loss.train()
    loss([enc(v) for v in views], {"views": views}).backward()
    opt.step()
    teacher_before = [p.clone() for p in loss.teacher.parameters()]
    student = [p.detach().clone() for p in enc.parameters()]
    a = momentum_schedule(1, 0.99, 10)
    words = loss.words(0).clone()
    mmd = loss.mean_min_dist_0.clone()
    out = [enc(v) for v in views]
    val = loss(out, {"views": views})
    for t0, s, t1 in zip(teacher_before, student, loss.teacher.parameters(), strict=True):
        assert torch.allclose(t1, a * t0 + (1 - a) * s, atol=1e-7)
    # the same target by hand: the teacher's features (conv stack) of view 0, then the BoW
    with torch.no_grad():
        tmap = loss.teacher.features(views[0])
    u = tmap[:, :, 1:-1, 1:-1]
    mmd_new = 0.99 * mmd + 0.01 * word_distances(u, words).amin(1).mean()
    y = bow_from_codes(assignment_codes(word_distances(u, words), 15.0, mmd_new))
    # the logits use the dictionary before this step's enqueue, through the generator in training mode
    with torch.no_grad():
        logp = torch.log_softmax(loss.logits(out[1].detach(), 0, words), dim=1)
    ref = (torch.special.xlogy(y, y) - y * logp).sum(1).mean()
    assert torch.allclose(val.detach(), ref, atol=1e-5)


def test_bind_obow_cnn_keeps_its_own_teacher_and_bad_bound_inputs():
    enc, loss = _pair()
    loss.bind(enc)
    assert loss.teacher is None  # obow_cnn owns its teacher; the dict path is unchanged
    unbound = ga.create("loss", "obow", num_channels=16, feature_dim=24, num_words=32)
    with pytest.raises(TypeError, match="bound encoder"):
        unbound([torch.rand(4, 24), torch.rand(4, 24)], {})
    cnn, bound = _bound()
    with pytest.raises(ValueError, match="views"):
        bound([torch.rand(4, 24), torch.rand(4, 24)], {})
    with pytest.raises(ValueError, match="bow_layers"):
        ga.create("loss", "obow", num_channels=[8, 16], feature_dim=24, num_words=32).bind(cnn)
    with pytest.raises(ValueError, match="bow_layers"):
        ga.create("loss", "obow", num_channels=16, feature_dim=24, num_words=32, bow_layers=["nope"]).bind(cnn)


def test_bound_two_levels_by_module_name():
    torch.manual_seed(0)
    enc = ga.create("encoder", "cnn", in_channels=1, num_classes=24, channels=[8, 16])
    loss = ga.create("loss", "obow", num_channels=[8, 16], feature_dim=24, num_words=32, bow_layers=["features.2", "features.6"])
    loss.bind(enc)
    views = [torch.rand(5, 1, 8, 8) for _ in range(3)]
    enc.train()
    val = loss([enc(v) for v in views], {"views": views})
    assert torch.isfinite(val) and len(loss.teacher_maps(views[0])) == 2
    assert [m.shape[1] for m in loss.teacher_maps(views[0])] == [8, 16]
