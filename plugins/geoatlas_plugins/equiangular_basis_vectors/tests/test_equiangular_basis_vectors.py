"""EBV: the generator's guarantee, the Welch bound, the head's equation, errors."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.equiangular_basis_vectors.ebv import STOP_SLACK, generate_ebv, welch_bound


def _offdiag_max(W):
    G = (W @ W.T).abs()
    G.fill_diagonal_(0)
    return float(G.max())


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 30), extra=st.integers(0, 40), seed=st.integers(0, 10**6))
def test_generator_meets_alpha_when_n_le_d(n, extra, seed):
    r = generate_ebv(n, n + extra, 0.002, seed=seed, max_steps=5000)
    assert r.converged
    assert float((r.basis.norm(dim=1) - 1).abs().max()) < 1e-6
    assert _offdiag_max(r.basis) <= 0.002 + STOP_SLACK


def test_welch_bound():
    n, d = 20, 8
    wb = welch_bound(n, d)
    assert abs(wb - ((n - d) / (d * (n - 1))) ** 0.5) < 1e-15 and welch_bound(5, 8) == 0.0
    above = generate_ebv(n, d, 1.2 * wb, max_steps=5000, seed=0)
    assert above.converged and wb - 1e-6 <= above.max_cos <= 1.2 * wb + STOP_SLACK
    below = generate_ebv(n, d, 0.9 * wb, max_steps=1500, seed=0)
    assert not below.converged and below.max_cos >= wb - 1e-6
    # the bound is tight for a simplex (n = d + 1): |cos| = 1/d
    assert abs(welch_bound(4, 3) - 1 / 3) < 1e-15


def test_head_equation_and_frozen_basis():
    torch.manual_seed(0)
    head = ga.create("encoder", "ebv_head", in_features=12, num_classes=10, dim=16, hidden=[32])
    assert "basis" in dict(head.named_buffers()) and not head.basis.requires_grad
    assert all(p is not head.basis for p in head.parameters())
    assert head.basis.shape == (10, 16) and _offdiag_max(head.basis) <= 0.002 + STOP_SLACK
    x = torch.randn(7, 12)
    f = head.backbone(x)
    assert torch.allclose(head(x), F.normalize(f, dim=1) @ head.basis.T / 0.07, atol=1e-6)
    before = head.basis.clone()
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    F.cross_entropy(head(x), torch.arange(7)).backward()
    opt.step()
    assert torch.equal(before, head.basis)
    # same seed, same basis
    again = ga.create("encoder", "ebv_head", in_features=12, num_classes=10, dim=16, hidden=[32])
    assert torch.equal(again.basis, head.basis)


def test_bad_parameters():
    with pytest.raises(ValueError, match="Welch"):
        ga.create("encoder", "ebv_head", in_features=4, num_classes=10, dim=8, alpha=0.002)
    with pytest.raises(ValueError, match="max_steps"):
        ga.create("encoder", "ebv_head", in_features=4, num_classes=10, dim=16, alpha=0.0, max_steps=3)
    with pytest.raises((ValueError, TypeError), match="dim"):
        ga.create("encoder", "ebv_head", in_features=4, num_classes=10, dim=0)
    with pytest.raises(ValueError, match="alpha"):
        ga.create("encoder", "ebv_head", in_features=4, num_classes=10, dim=16, alpha=1.5)
    with pytest.raises(ValueError, match="num_classes"):
        generate_ebv(1, 4)
    head = ga.create("encoder", "ebv_head", in_features=4, num_classes=3, dim=8)
    with pytest.raises(ValueError, match="in_features"):
        head(torch.randn(2, 5))
    with pytest.raises(ValueError, match="NaN"):
        head(torch.full((2, 4), float("nan")))
