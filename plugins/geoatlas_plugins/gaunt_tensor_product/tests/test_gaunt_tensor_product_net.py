"""gaunt_net: SO(3)-invariant point-cloud encoder built from Gaunt products."""

from __future__ import annotations

import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_equivariance


def test_gaunt_net_invariance() -> None:
    torch.manual_seed(0)
    net = ga.create("encoder", "gaunt_net", num_classes=4, L=3, channels=4).double()
    X = torch.randn(3, 24, 3, dtype=torch.float64) * torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
    for name, kw in (("so3", {}), ("o_n", {"n": 3}), ("so3_sh", {}), ("translations", {})):
        rep = check_equivariance(net, ga.create("group", name, **kw), X, input_type="point_cloud", n_elements=8, atol=1e-9, rtol=1e-9)
        assert rep["max_error"] < 1e-9
    # O(3), not just SO(3): an explicit reflection leaves the output unchanged
    refl = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    assert (net(X @ refl) - net(X)).abs().max() < 1e-9
    assert "o_n" in net.invariant_to
    # not trivially constant: different clouds give different outputs
    assert (net(X)[0] - net(X)[1]).abs().max() > 1e-4


def test_gaunt_net_bad_input() -> None:
    net = ga.create("encoder", "gaunt_net", num_classes=2)
    with pytest.raises(ValueError, match=r"\(B, P, 3\)"):
        net(torch.randn(2, 5, 2))
    with pytest.raises(ValueError, match="empty"):
        net(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="NaN"):
        net(torch.full((1, 4, 3), float("nan")))
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("encoder", "gaunt_net")
    with pytest.raises(ValueError, match="in_features"):
        ga.create("encoder", "gaunt_net", num_classes=2, in_features=2)
