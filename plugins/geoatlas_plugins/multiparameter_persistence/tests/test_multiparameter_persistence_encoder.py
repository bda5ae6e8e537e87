"""signed_measure_net / signed_measure_conv: gradients, invariance, learning signal."""

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_equivariance


def test_conv_layer_gradcheck() -> None:
    layer = ga.create("encoder", "signed_measure_conv", n_measures=1, resolution=4, bandwidth=0.3).double()
    pts = torch.rand(5, 2, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, -1.0, 2.0, 1.0, -1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, v: layer([[(p, v)]]), (pts, w))
    assert torch.autograd.gradcheck(lambda lb: _with_bw(layer, lb, pts.detach(), w.detach()), (layer.log_bandwidth.detach().clone().requires_grad_(True),))


def _with_bw(layer, lb, pts, w):
    sq = ((layer.grid[:, None, :] - pts[None]) ** 2).sum(-1)
    bw = lb[0].exp()
    return (torch.exp(-sq / (2 * bw**2)) / (bw * np.sqrt(2 * np.pi)) ** 2) @ w


def test_conv_layer_matches_descriptor_convolution() -> None:
    from geoatlas_plugins.multiparameter_persistence.signed_measures import convolve_signed_measure

    layer = ga.create("encoder", "signed_measure_conv", n_measures=1, resolution=[3, 4], box=[[0, 0], [1, 2]], bandwidth=0.2)
    pts, w = torch.rand(6, 2, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    ref = convolve_signed_measure((pts, w), np.array([[0.0, 0.0], [1.0, 2.0]]), (3, 4), 0.2)
    assert torch.allclose(layer([[(pts, w)]])[0], ref, atol=1e-12)


@pytest.fixture
def net():
    torch.manual_seed(0)
    return ga.create("encoder", "signed_measure_net", num_classes=3, resolution=5, radius_scale=2.0)


def test_net_shapes_and_gradients_reach_filtration(net) -> None:
    x = torch.randn(3, 18, 2)
    out = net(x)
    assert out.shape == (3, 3) and out.dtype == torch.float32
    out.sum().backward()
    g = [p.grad for p in net.filtration_mlp.parameters()]
    assert all(gi is not None for gi in g) and sum(float(gi.abs().sum()) for gi in g) > 0
    assert net.conv.log_bandwidth.grad is not None


@pytest.mark.parametrize("group", ["so2", "translations", "permutations"])
def test_net_invariance(net, group) -> None:
    x = torch.randn(2, 16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    G = ga.create("group", group, **({"dim": 2} if group == "translations" else {"n": 16} if group == "permutations" else {}))
    report = check_equivariance(net, G, x, input_type="point_cloud", output="invariant", n_elements=3, atol=1e-8)
    assert report["max_error"] < 1e-8


def test_net_learns_a_separable_toy() -> None:
    """A few Adam steps reduce the loss on circles vs. blobs (end-to-end through multipers)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, (8, 20))
    circles = np.stack([np.cos(t), np.sin(t)], -1) + 0.05 * rng.normal(size=(8, 20, 2))
    blobs = 0.5 * rng.normal(size=(8, 20, 2))
    x = torch.tensor(np.concatenate([circles, blobs]), dtype=torch.float32)
    y = torch.tensor([0] * 8 + [1] * 8)
    model = ga.create("encoder", "signed_measure_net", num_classes=2, resolution=5, radius_scale=2.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_net_bad_input(net) -> None:
    with pytest.raises(ValueError, match="NaN"):
        net(torch.full((1, 5, 2), float("nan")))
    with pytest.raises(ValueError, match="single point"):
        net(torch.zeros(1, 1, 2))
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("encoder", "signed_measure_net", num_classes=0)
    with pytest.raises(ValueError, match="radius_scale"):
        ga.create("encoder", "signed_measure_net", radius_scale=-1.0)
