"""CLOOB and CLIP losses: InfoLOOB vs InfoNCE identity, Hopfield retrieval vs scaled_dot_product_attention,
direct float64 formulas, limits, gradcheck, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.cloob.cloob import hopfield_retrieval, info_loob


def _pair(seed, n=8, d=5, noise=0.5):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x + noise * torch.randn(n, d, generator=g, dtype=torch.float64)
    return F.normalize(x, dim=1), F.normalize(y, dim=1)


def loob_loops(a, b, inv_tau):
    """InfoLOOB written out: -log( exp(k_ii) / sum_{j != i} exp(k_ij) ), averaged."""
    n = len(a)
    total = 0.0
    for i in range(n):
        k = [inv_tau * float(a[i] @ b[j]) for j in range(n)]
        total += -k[i] + math.log(sum(math.exp(k[j]) for j in range(n) if j != i))
    return total / n


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), d=st.integers(1, 6), inv_tau=st.sampled_from([1.0, 5.0, 14.3, 30.0]))
def test_infoloob_is_infonce_without_the_positive(seed, n, d, inv_tau):
    a, b = _pair(seed, n, d)
    loob = float(info_loob(a, b, inv_tau))
    assert loob == pytest.approx(loob_loops(a, b, inv_tau), abs=1e-10)
    # InfoNCE (the positive in the denominator) by torch's cross-entropy; removing the positive
    # from the denominator adds exactly log(1 - p_ii), p = softmax of the row
    k = inv_tau * a @ b.T
    nce = F.cross_entropy(k, torch.arange(n))
    p_ii = torch.softmax(k, dim=1).diagonal()
    assume(float(p_ii.max()) < 0.999)  # log1p(-p) loses digits as p -> 1 (the loop check above still runs)
    assert loob == pytest.approx(float(nce + torch.log1p(-p_ii).mean()), abs=1e-10)
    assert loob < float(nce)  # the leave-one-out denominator is smaller


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-6), (torch.float64, 1e-12)])
def test_hopfield_retrieval_equals_sdpa(dtype, tol):
    g = torch.Generator().manual_seed(0)
    for n, m, d in [(8, 8, 4), (5, 11, 16), (64, 64, 32)]:
        state = F.normalize(torch.randn(n, d, generator=g, dtype=dtype), dim=1)
        stored = F.normalize(torch.randn(m, d, generator=g, dtype=dtype), dim=1)
        for beta in (1.0, 14.3, 50.0):
            ref = F.scaled_dot_product_attention(state[None], stored[None], stored[None], scale=beta)[0]
            ref = ref / ref.norm(dim=1, keepdim=True)
            assert float((hopfield_retrieval(state, stored, beta) - ref).abs().max()) < tol


def cloob_reference(x, y, inv_tau, beta):
    """The paper's loss written independently: retrievals with SDPA, InfoLOOB by loops, times tau."""
    def ret(s, m):
        r = F.scaled_dot_product_attention(s[None], m[None], m[None], scale=beta)[0]
        return r / r.norm(dim=1, keepdim=True)

    x, y = F.normalize(x, dim=1), F.normalize(y, dim=1)
    u_x, u_y, v_x, v_y = ret(x, x), ret(y, x), ret(x, y), ret(y, y)
    return (loob_loops(u_x, u_y, inv_tau) + loob_loops(v_y, v_x, inv_tau)) / inv_tau


@pytest.mark.parametrize("seed", range(4))
def test_cloob_equals_reference(seed):
    x, y = _pair(seed, n=10, d=6)
    loss = ga.create("loss", "cloob")
    assert (loss.inv_tau, loss.beta) == (30.0, 8.0)  # the authors' CC run (README: --init-inv-tau=30 --scale-hopfield=8)
    assert float(loss([3 * x, y], {})) == pytest.approx(cloob_reference(x, y, 30.0, 8.0), abs=1e-10)
    other = ga.create("loss", "cloob", inv_tau=14.3, beta=14.3)
    assert float(other([x, y], {})) == pytest.approx(cloob_reference(x, y, 14.3, 14.3), abs=1e-10)
    unscaled = ga.create("loss", "cloob", scale_by_tau=False)
    assert float(unscaled([x, y], {})) == pytest.approx(30.0 * float(loss([x, y], {})), abs=1e-9)


def test_large_beta_retrieves_itself():
    x, y = _pair(1, n=6, d=8, noise=1.0)
    assert float((hopfield_retrieval(x, x, 1e4) - x).abs().max()) < 1e-8
    # then U_x = x, V_y = y, and U_y / V_x are the nearest image to y / nearest text to x
    big = ga.create("loss", "cloob", beta=1e4, scale_by_tau=False)
    nn_x = x[(y @ x.T).argmax(1)]
    nn_y = y[(x @ y.T).argmax(1)]
    ref = float(info_loob(x, nn_x, 30.0) + info_loob(y, nn_y, 30.0))
    assert float(big([x, y], {})) == pytest.approx(ref, abs=1e-6)


def test_cloob_gradcheck():
    x, y = _pair(2, n=5, d=3)
    x.requires_grad_(True)
    y.requires_grad_(True)
    loss = ga.create("loss", "cloob")
    assert torch.autograd.gradcheck(lambda a, b: loss([a, b], {}), (x, y))


def test_clip_equals_direct_formula():
    x, y = _pair(3, n=7, d=4)
    value = float(ga.create("loss", "clip")([x, y], {}))
    t = 14.3
    rows = cols = 0.0
    for i in range(7):
        rows += -t * float(x[i] @ y[i]) + math.log(sum(math.exp(t * float(x[i] @ y[j])) for j in range(7)))
        cols += -t * float(y[i] @ x[i]) + math.log(sum(math.exp(t * float(y[i] @ x[j])) for j in range(7)))
    assert value == pytest.approx((rows + cols) / 14, abs=1e-10)
    # symmetric in the two modalities
    assert float(ga.create("loss", "clip")([y, x], {})) == pytest.approx(value, abs=1e-12)


def test_check_loss_both():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(8, 5, generator=g, requires_grad=True)
    y = torch.randn(8, 5, generator=g, requires_grad=True)
    for name in ("cloob", "clip"):
        report = check_loss(ga.create("loss", name), [x, y], {"x": x, "views": [x, y]})
        assert report["grad_finite"] and report["grad_nonzero"]


def test_bad_input():
    for name in ("cloob", "clip"):
        with pytest.raises(ValueError, match="inv_tau"):
            ga.create("loss", name, inv_tau=0)
        with pytest.raises(TypeError, match="inv_tau"):
            ga.create("loss", name, inv_tau="hot")
        loss = ga.create("loss", name)
        z = torch.randn(4, 3)
        with pytest.raises(TypeError, match="two paired"):
            loss(z, {})
        with pytest.raises(ValueError, match="exactly 2"):
            loss([z, z, z], {})
        with pytest.raises(ValueError, match="same shape"):
            loss([z, torch.randn(5, 3)], {})
        with pytest.raises(ValueError, match="at least 2"):
            loss([z[:1], z[:1]], {})
        with pytest.raises(ValueError, match="NaN"):
            loss([z, torch.full((4, 3), float("inf"))], {})
        with pytest.raises(TypeError, match="tensors"):
            loss([z, "y"], {})
    with pytest.raises(ValueError, match="beta"):
        ga.create("loss", "cloob", beta=-1.0)
    with pytest.raises(TypeError, match="scale_by_tau"):
        ga.create("loss", "cloob", scale_by_tau=1)
