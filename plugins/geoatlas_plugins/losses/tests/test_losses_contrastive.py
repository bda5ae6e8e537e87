"""InfoNCE (NT-Xent) against a direct float64 double loop and pytorch-metric-learning; the NLL loss."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing.kinds import check_loss


def nt_xent_loops(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """SimCLR eq. (1) written out: mean over the 2B anchors of -log softmax of the positive."""
    z = [v / math.sqrt(sum(float(c) ** 2 for c in v)) for v in torch.cat([z1, z2]).double()]
    n, b = len(z), len(z1)

    def sim(i, j):
        return sum(float(a) * float(c) for a, c in zip(z[i], z[j], strict=True)) / t

    total = 0.0
    for i in range(n):
        j = i + b if i < b else i - b
        denom = sum(math.exp(sim(i, k)) for k in range(n) if k != i)
        total += -math.log(math.exp(sim(i, j)) / denom)
    return total / n


@settings(max_examples=25, deadline=None)
@given(b=st.integers(2, 6), d=st.integers(1, 5), t=st.sampled_from([0.07, 0.1, 0.5, 1.0, 2.0]), seed=st.integers(0, 10_000))
def test_info_nce_equals_direct_formula(b, d, t, seed):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(b, d, generator=g, dtype=torch.float64)
    z2 = torch.randn(b, d, generator=g, dtype=torch.float64)
    value = float(ga.create("loss", "info_nce", temperature=t)([z1, z2], {"x": z1}))
    assert value == pytest.approx(nt_xent_loops(z1, z2, t), abs=1e-12, rel=1e-12)


def test_info_nce_equals_pytorch_metric_learning():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    g = torch.Generator().manual_seed(3)
    for b, d, t in [(8, 16, 0.5), (5, 3, 0.1), (32, 64, 0.2)]:
        z1 = torch.randn(b, d, generator=g, dtype=torch.float64)
        z2 = z1 + 0.3 * torch.randn(b, d, generator=g, dtype=torch.float64)
        labels = torch.cat([torch.arange(b), torch.arange(b)])
        ref = float(pml.NTXentLoss(temperature=t)(torch.cat([z1, z2]), labels))
        ours = float(ga.create("loss", "info_nce", temperature=t)([z1, z2], {}))
        assert ours == pytest.approx(ref, abs=1e-10)


def test_info_nce_limits_and_default():
    loss = ga.create("loss", "info_nce")
    assert loss.temperature == 0.5  # SimCLR's CIFAR-10 setting
    b = 4
    # identical views, orthogonal samples: positives at similarity 1, negatives at 0 (2B-2 of them)
    z = torch.eye(b, dtype=torch.float64)
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + (2 * b - 2) * math.exp(0.0)))
    assert float(loss([z, z.clone()], {})) == pytest.approx(expected, abs=1e-12)
    # scale invariance: the embeddings are L2-normalised
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert float(loss([3 * z1, 0.5 * z2], {})) == pytest.approx(float(loss([z1, z2], {})), abs=1e-5)


def test_info_nce_check_loss():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(8, 5, generator=g, requires_grad=True)
    z2 = torch.randn(8, 5, generator=g, requires_grad=True)
    loss = ga.create("loss", "info_nce", temperature=0.2)
    report = check_loss(loss, [z1, z2], {"x": z1, "views": [z1, z2]})
    assert report["grad_finite"] and report["grad_nonzero"]
    assert loss.batch_size_independent is False  # more negatives change the value


def test_info_nce_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        ga.create("loss", "info_nce", temperature=0.0)
    with pytest.raises(TypeError, match="temperature"):
        ga.create("loss", "info_nce", temperature="hot")
    loss = ga.create("loss", "info_nce")
    z = torch.randn(4, 3)
    with pytest.raises(TypeError, match="list of two view"):
        loss(z, {})
    with pytest.raises(ValueError, match="exactly 2 views"):
        loss([z, z, z], {})
    with pytest.raises(ValueError, match="same shape"):
        loss([z, torch.randn(5, 3)], {})
    with pytest.raises(ValueError, match="at least 2 samples"):
        loss([z[:1], z[:1]], {})
    with pytest.raises(ValueError, match="NaN"):
        loss([z, torch.full((4, 3), float("nan"))], {})


def test_nll_loss():
    loss = ga.create("loss", "nll")
    assert loss.requires == ()
    g = torch.Generator().manual_seed(0)
    lp = torch.randn(10, generator=g, dtype=torch.float64, requires_grad=True)
    assert float(loss(lp, {"x": lp}).detach()) == pytest.approx(-float(lp.detach().mean()), abs=1e-15)
    assert float(loss(lp[:, None], {}).detach()) == pytest.approx(-float(lp.detach().mean()), abs=1e-15)

    def make(k):
        base = torch.arange(5, dtype=torch.float64)
        out = base.repeat(k)
        return out, {"x": out}

    check_loss(loss, lp, {"x": lp}, make_batch=make)
    with pytest.raises(ValueError, match="one log-likelihood per sample"):
        loss(torch.zeros(4, 3), {})
    with pytest.raises(TypeError, match="per-sample log-likelihoods"):
        loss([lp], {})
    with pytest.raises(ValueError, match="empty"):
        loss(torch.zeros(0), {})
