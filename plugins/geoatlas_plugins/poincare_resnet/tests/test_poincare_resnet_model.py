"""Poincaré ResNet: wiring, float32 numerics near the boundary, training, bad input."""

from __future__ import annotations

import warnings

import geoopt
import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.poincare_resnet.layers import make_ball, poincare_fc

warnings.filterwarnings("ignore", message=".*geoatlas plugin.*")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _small(**kw):
    torch.manual_seed(0)
    params = dict(in_channels=1, num_classes=4, channels=[4, 8], blocks_per_stage=[1, 1])
    params.update(kw)
    return ga.create("encoder", "poincare_resnet", **params)


def test_components_are_registered_with_declared_spaces() -> None:
    names = {c.name for c in ga.list_components("encoder")}
    for n in ("poincare_resnet", "euclidean_resnet", "poincare_linear", "poincare_conv2d", "poincare_batchnorm2d", "poincare_mlr"):
        assert n in names
    m = _small()
    e = ga.create("encoder", "euclidean_resnet", in_channels=1, num_classes=4, channels=[4, 8], blocks_per_stage=[1, 1])
    assert m.output_space == "poincare_ball" and e.output_space == "euclidean"
    x = torch.rand(5, 1, 8, 8)
    assert m(x).shape == (5, 4) and e(x).shape == (5, 4)
    z = m.embed(x)
    assert z.shape == (5, 8) and (m.c * z.pow(2).sum(-1) < 1).all()
    # the same width: parameter counts within 1 %
    n_h = sum(p.numel() for p in m.parameters() if p.requires_grad)
    n_e = sum(p.numel() for p in e.parameters())
    assert abs(n_h - n_e) / n_e < 0.05


def test_hidden_representations_are_on_the_ball_and_ball_parameters_are_manifold_parameters() -> None:
    m = _small(c=1.0)
    seen = []
    for mod in m.modules():
        if type(mod).__name__ == "PoincareResidualBlock":
            mod.register_forward_hook(lambda _m, _i, out: seen.append(out[0]))
    m(torch.rand(3, 1, 8, 8))
    assert len(seen) == 2 and all(((s.pow(2).sum(1)) < 1).all() for s in seen)
    mp = [p for p in m.parameters() if isinstance(p, geoopt.ManifoldParameter)]
    assert len(mp) == 5  # one learned mean per batch norm (stem + 2 per block)


@pytest.mark.parametrize("head", ["mlr", "fc_log0"])
def test_float32_extreme_inputs_and_aggressive_training_stay_finite(head: str) -> None:
    m = _small(head=head, c=1.0)
    opt = geoopt.optim.RiemannianAdam(m.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(1)
    batches = [
        1e4 * torch.rand(8, 1, 8, 8, generator=g),  # pixels far outside [0, 1]: exp_0 lands at the boundary
        torch.zeros(8, 1, 8, 8),  # everything at the origin: zero-norm patches
        -1e4 * torch.rand(8, 1, 8, 8, generator=g),
        torch.rand(8, 1, 8, 8, generator=g),
    ]
    y = torch.randint(0, 4, (8,), generator=g)
    for step in range(4):
        x = batches[step]
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        assert torch.isfinite(loss), step
        for p in m.parameters():
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), step
        opt.step()
    for p in m.parameters():
        assert torch.isfinite(p).all()
    for mod in m.modules():
        if hasattr(mod, "mean") and isinstance(mod.mean, geoopt.ManifoldParameter):
            assert float(mod.mean.pow(2).sum()) < 1.0  # stays in the ball under RiemannianAdam


def test_fc_float32_near_boundary_is_finite_with_finite_gradients() -> None:
    ball = make_ball(4, 1.0)
    x = ball.projx(torch.randn(16, 4) * 10).requires_grad_(True)  # at the float32 boundary margin
    z = (3.0 * torch.randn(4, 4)).requires_grad_(True)
    r = (5.0 * torch.randn(4)).requires_grad_(True)
    y = poincare_fc(x, z, r, ball)
    y.pow(2).sum().backward()
    assert torch.isfinite(y).all() and (y.pow(2).sum(-1) < 1).all()
    assert all(torch.isfinite(t.grad).all() for t in (x, z, r))


def test_training_on_digits_subset_reduces_loss() -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor((d.images[:64] / 16.0).astype(np.float32))[:, None]
    y = torch.as_tensor(d.target[:64])
    m = ga.create("encoder", "poincare_resnet", in_channels=1, num_classes=10, channels=[8, 16], blocks_per_stage=[1, 1])
    opt = geoopt.optim.RiemannianAdam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


def test_identity_init_preserves_norms_through_depth_hnnpp_collapses() -> None:
    """The paper's claim (i): 30 identity-initialised FC layers keep |x|; HNN++ init shrinks it."""
    torch.manual_seed(0)
    x0 = make_ball(16, 1.0).expmap0(torch.randn(32, 16, dtype=torch.float64))
    for init, check in (("identity", lambda r: abs(r - 1) < 1e-10), ("hnnpp", lambda r: r < 0.05)):
        x = x0
        for _ in range(30):
            x = ga.create("encoder", "poincare_linear", in_features=16, out_features=16, c=1.0, init=init).double()(x)
        ratio = float(x.norm(dim=-1).mean() / x0.norm(dim=-1).mean())
        assert check(ratio), (init, ratio)


def test_state_dict_round_trip() -> None:
    m = _small()
    m2 = _small()
    with torch.no_grad():
        for p in m2.parameters():
            if p.requires_grad and not isinstance(p, geoopt.ManifoldParameter):
                p.add_(0.1)
    m2.load_state_dict(m.state_dict())
    x = torch.rand(4, 1, 8, 8)
    assert torch.allclose(m(x), m2(x))


# ----------------------------------------------------------------------------- bad input
def test_bad_images_raise() -> None:
    m = _small()
    with pytest.raises(ValueError, match="images"):
        m(torch.full((2, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="images"):
        m(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="images"):
        m(torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="empty"):
        m(torch.rand(0, 1, 8, 8))


@pytest.mark.parametrize(
    "kw,err,match",
    [
        (dict(c=0.0), ValueError, "c "),
        (dict(c=-1.0), ValueError, "c "),
        (dict(c=float("inf")), ValueError, "c "),
        (dict(channels=[4, 8], blocks_per_stage=[1]), ValueError, "blocks_per_stage"),
        (dict(channels=[]), TypeError, "channels"),
        (dict(channels=[4, 0], blocks_per_stage=[1, 1]), ValueError, "channels"),
        (dict(head="softmax"), ValueError, "head"),
        (dict(init="xavier"), ValueError, "init"),
        (dict(num_classes=0), ValueError, "num_classes"),
        (dict(in_channels=1.5), TypeError, "in_channels"),
    ],
)
def test_bad_parameters_raise(kw: dict, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        _small(**kw)


def test_layers_reject_points_outside_the_ball_and_bad_shapes() -> None:
    lin = ga.create("encoder", "poincare_linear", in_features=3, out_features=2, c=1.0)
    with pytest.raises(ValueError, match="outside the Poincaré ball"):
        lin(torch.tensor([[0.9, 0.9, 0.0]]))
    with pytest.raises(ValueError, match="x must be"):
        lin(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="NaN|Inf|finite"):
        lin(torch.tensor([[float("nan"), 0.0, 0.0]]))
    mlr = ga.create("encoder", "poincare_mlr", in_features=3, num_classes=2)
    with pytest.raises(ValueError, match="empty"):
        mlr(torch.zeros(0, 3))
    conv = ga.create("encoder", "poincare_conv2d", in_channels=2, out_channels=2, kernel_size=3, c=1.0)
    with pytest.raises(ValueError, match="outside the Poincaré ball"):
        conv(torch.ones(1, 2, 4, 4))
    with pytest.raises(ValueError, match="smaller than kernel_size"):
        conv(torch.zeros(1, 2, 2, 2))
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=2)
    with pytest.raises(ValueError, match="at least 2 points"):
        bn(torch.zeros(1, 2, 1, 1))
    with pytest.raises(ValueError, match="x must be"):
        bn(torch.zeros(4, 3, 2, 2))
    with pytest.raises(ValueError, match="momentum"):
        ga.create("encoder", "poincare_batchnorm2d", num_features=2, momentum=2.0)
    with pytest.raises(ValueError, match="kernel_size"):
        ga.create("encoder", "poincare_conv2d", in_channels=2, out_channels=2, kernel_size=0)
