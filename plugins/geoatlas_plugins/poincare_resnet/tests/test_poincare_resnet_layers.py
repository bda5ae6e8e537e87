"""Poincaré layers: agreement with geoopt and closed forms, batch-norm properties, gradchecks."""

from __future__ import annotations

import warnings

import geoopt
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.poincare_resnet.layers import (
    beta_concat_scale,
    make_ball,
    poincare_fc,
    poincare_hyperplane_logits,
)

warnings.filterwarnings("ignore", message=".*geoatlas plugin.*")
D = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _ball(dim: int, c: float):
    return make_ball(dim, c).double()


def _points(n: int, dim: int, c: float, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ball = _ball(dim, c)
    return ball.expmap0(scale * torch.randn(n, dim, generator=g, dtype=D) / c**0.5)


# ----------------------------------------------------------------------------- FC / MLR
@pytest.mark.parametrize("c", [0.1, 1.0, 2.0])
def test_hyperplane_logits_equal_geoopt_dist2plane(c: float) -> None:
    """v_k(x) = 2 |z_k| d_signed(x, H_k), H_k through exp0(r_k z^_k) with normal P_{0->p}(z^_k)."""
    ball = _ball(5, c)
    g = torch.Generator().manual_seed(1)
    x = _points(60, 5, c)
    z = torch.randn(5, 4, generator=g, dtype=D)
    r = 0.3 * torch.randn(4, generator=g, dtype=D)
    v = poincare_hyperplane_logits(x, z, r, ball)
    zh = z / z.norm(dim=0)
    p = ball.expmap0((r * zh).t())
    a = ball.transp0(p, zh.t())
    d = ball.dist2plane(x.unsqueeze(1), p, a, signed=True)
    # geoopt's arsinh is log(x + sqrt(1 + x^2)), which loses ~1e-10 for large negative arguments
    assert torch.allclose(v, 2 * z.norm(dim=0) * d, atol=1e-8, rtol=1e-10)


@pytest.mark.parametrize("c", [0.1, 1.0, 2.0])
def test_fc_identity_initialisation_is_identity(c: float) -> None:
    """Z = I/2, r = 0 gives FC(x) = x (closed form; fails with the paper-era lambda = 2(1 - c|x|^2))."""
    ball = _ball(6, c)
    x = _points(40, 6, c, scale=2.0)
    x = torch.cat([x, ball.projx(0.999 / c**0.5 * x / x.norm(dim=-1, keepdim=True))])  # near the boundary
    z = 0.5 * torch.eye(6, dtype=D)
    y = poincare_fc(x, z, torch.zeros(6, dtype=D), ball)
    assert (y - x).abs().max().item() < 1e-12


def test_fc_output_distance_closed_form() -> None:
    """For one output, d(0, FC(x)) = |v(x)| (y = w / (1 + sqrt(1 + c w^2)) is exp_0 in disguise)."""
    c = 0.7
    ball = _ball(4, c)
    x = _points(30, 4, c)
    g = torch.Generator().manual_seed(3)
    z, r = 0.3 * torch.randn(4, 1, generator=g, dtype=D), 0.3 * torch.randn(1, generator=g, dtype=D)
    v = poincare_hyperplane_logits(x, z, r, ball)
    y = poincare_fc(x, z, r, ball)
    assert torch.allclose(ball.dist0(y), v.abs().squeeze(-1), atol=1e-10, rtol=1e-10)


def test_linear_and_mlr_components() -> None:
    lin = ga.create("encoder", "poincare_linear", in_features=5, out_features=3, c=1.0).double()
    mlr = ga.create("encoder", "poincare_mlr", in_features=3, num_classes=4, c=1.0).double()
    assert lin.output_space == "poincare_ball" and mlr.output_space == "euclidean"
    x = _points(8, 5, 1.0)
    y = lin(x)
    assert y.shape == (8, 3) and (y.norm(dim=-1) < 1).all()
    assert mlr(y).shape == (8, 4)
    # map_input: Euclidean input goes through exp_0 first
    lin2 = ga.create("encoder", "poincare_linear", in_features=5, out_features=5, c=1.0, map_input=True).double()
    u = torch.randn(3, 5, dtype=D)
    assert torch.allclose(lin2(u), lin2.ball.expmap0(u), atol=1e-12)


# ----------------------------------------------------------------------------- convolution
def _conv_unfold_reference(conv, x: torch.Tensor) -> torch.Tensor:
    """Straightforward construction: log0, beta scaling, unfold, expmap0, Poincaré FC (geoopt ops)."""
    ball = conv.ball
    u = ball.logmap0(x, dim=1) * conv.beta_scale
    patches = F.unfold(u, conv.kernel_size, padding=conv.padding, stride=conv.stride).transpose(1, 2)
    y = poincare_fc(ball.expmap0(patches, dim=-1), conv.weight, conv.bias, ball)
    oh, ow = conv.output_size(x.shape[2], x.shape[3])
    return y.transpose(1, 2).reshape(x.shape[0], conv.out_channels, oh, ow)


@pytest.mark.parametrize("stride,padding,kernel", [(1, 1, 3), (2, 1, 3), (2, 0, 1), (1, 0, 2)])
def test_conv_equals_unfold_construction(stride: int, padding: int, kernel: int) -> None:
    conv = ga.create(
        "encoder", "poincare_conv2d", in_channels=3, out_channels=5, kernel_size=kernel,
        stride=stride, padding=padding, c=0.5, init="hnnpp",
    ).double()
    with torch.no_grad():
        conv.bias.normal_(0, 0.3)
    g = torch.Generator().manual_seed(4)
    x = conv.ball.expmap0(torch.randn(2, 3, 7, 6, generator=g, dtype=D), dim=1)
    assert (conv(x) - _conv_unfold_reference(conv, x)).abs().max().item() < 1e-11


def test_conv_1x1_identity_init_is_identity() -> None:
    conv = ga.create("encoder", "poincare_conv2d", in_channels=4, out_channels=4, kernel_size=1, c=1.0).double()
    x = conv.ball.expmap0(torch.randn(2, 4, 5, 5, dtype=D), dim=1)
    assert (conv(x) - x).abs().max().item() < 1e-12


@pytest.mark.parametrize("n_i,k", [(1, 9), (3, 9), (8, 1), (16, 9)])
def test_beta_concat_scale_matches_scipy(n_i: int, k: int) -> None:
    from scipy.special import beta

    assert beta_concat_scale(n_i, k) == pytest.approx(beta(n_i * k / 2, 0.5) / beta(n_i / 2, 0.5), rel=1e-12)


# ----------------------------------------------------------------------------- batch norm
def _klein_einstein_midpoint(x: torch.Tensor, c: float) -> torch.Tensor:
    k = 2 * x / (1 + c * x.pow(2).sum(-1, keepdim=True))
    gamma = 1 / torch.sqrt(1 - c * k.pow(2).sum(-1, keepdim=True))
    m = (gamma * k).sum(0) / gamma.sum(0)
    return m / (1 + torch.sqrt(1 - c * m.pow(2).sum()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.sampled_from([0.1, 1.0, 3.0]), n=st.integers(2, 12))
def test_midpoint_is_einstein_midpoint(seed: int, c: float, n: int) -> None:
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=3, c=c).double()
    x = _points(n, 3, c, scale=1.0, seed=seed)
    mu, _ = bn.statistics(x)
    # geoopt's 1/2 (x) m goes through artanh clamped at 1 - 1e-7: keep midpoints off the boundary
    assert torch.allclose(mu.squeeze(0), _klein_einstein_midpoint(x, float(bn.ball.c)), atol=1e-10)


def test_midpoint_of_two_points_is_on_geodesic_and_equidistant() -> None:
    c = 1.0
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=4, c=c).double()
    ball = bn.ball
    x = _points(2, 4, c, scale=1.2, seed=7)
    mu, _ = bn.statistics(x)
    da, db, dab = ball.dist(x[0], mu[0]), ball.dist(x[1], mu[0]), ball.dist(x[0], x[1])
    assert abs(da - db) < 1e-10 and abs(da + db - dab) < 1e-10


@pytest.mark.parametrize("c", [0.1, 1.0])
def test_batchnorm_output_has_learned_mean_and_variance(c: float) -> None:
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=3, c=c).double()
    ball = bn.ball
    g = torch.Generator().manual_seed(5)
    x = ball.expmap0(0.5 + 0.8 * torch.randn(4, 3, 3, 3, generator=g, dtype=D) / c**0.5, dim=1)
    flat = x.permute(0, 2, 3, 1).reshape(-1, 3)
    _, s2 = bn.statistics(flat)
    beta = ball.expmap0(torch.tensor([0.3, -0.2, 0.5], dtype=D))
    with torch.no_grad():
        bn.mean.copy_(beta)
        bn.var.fill_(float(s2) + bn.eps)  # scale 1: an isometry
    y = bn(x).permute(0, 2, 3, 1).reshape(-1, 3)
    mu_y, s2_y = bn.statistics(y)
    assert (mu_y.squeeze(0) - beta).abs().max().item() < 1e-12  # midpoint equals the learned mean
    assert abs(float(s2_y) - float(s2)) < 1e-10
    # general gamma: dispersion about beta is gamma * s2 / (s2 + eps) exactly
    with torch.no_grad():
        bn.var.fill_(2.5)
    y = bn(x).permute(0, 2, 3, 1).reshape(-1, 3)
    disp = ball.dist(y, beta).pow(2).mean()
    assert abs(float(disp) - 2.5 * float(s2) / (float(s2) + bn.eps)) < 1e-9
    mu_y, _ = bn.statistics(y)
    assert float(ball.dist(mu_y[0], beta)) < 0.2  # close (the midpoint is not the Fréchet mean)


def test_batchnorm_running_statistics() -> None:
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=2, c=1.0, track_running_stats=True, momentum=0.5).double()
    x = bn.ball.expmap0(0.4 + 0.3 * torch.randn(3, 2, 2, 2, dtype=D), dim=1)
    bn.train()
    bn(x)
    assert bn.running_mean.norm() > 0 and bn.running_var != 1.0
    bn.eval()
    full = bn(x)
    single = bn(x[:1])
    assert torch.allclose(full[:1], single, atol=1e-12)  # no dependence on the batch in eval mode
    assert isinstance(bn.mean, geoopt.ManifoldParameter)


# ----------------------------------------------------------------------------- gradients
def test_gradcheck_linear_and_mlr() -> None:
    lin = ga.create("encoder", "poincare_linear", in_features=3, out_features=2, c=0.5, init="hnnpp").double()
    mlr = ga.create("encoder", "poincare_mlr", in_features=3, num_classes=2, c=0.5).double()
    with torch.no_grad():
        lin.bias.normal_(0, 0.3)
        mlr.bias.normal_(0, 0.3)
    x = _points(4, 3, 0.5).requires_grad_(True)
    for layer in (lin, mlr):
        w, b = layer.weight, layer.bias

        def f(x, w, b, layer=layer):
            return poincare_fc(x, w, b, layer.ball) if layer is lin else poincare_hyperplane_logits(x, w, b, layer.ball)

        assert torch.autograd.gradcheck(f, (x, w, b))


def test_gradcheck_conv() -> None:
    conv = ga.create(
        "encoder", "poincare_conv2d", in_channels=2, out_channels=3, kernel_size=3, padding=1, stride=2, c=0.5, init="hnnpp"
    ).double()
    g = torch.Generator().manual_seed(6)
    x = conv.ball.expmap0(0.5 * torch.randn(2, 2, 4, 4, generator=g, dtype=D), dim=1).requires_grad_(True)
    w = conv.weight.detach().clone().requires_grad_(True)
    b = (0.3 * torch.randn(3, generator=g, dtype=D)).requires_grad_(True)

    def f(x, w, b):
        return torch.func.functional_call(conv, {"weight": w, "bias": b}, (x,))

    assert torch.autograd.gradcheck(f, (x, w, b))
    # the identity initialisation too (columns of Z are unit coordinate vectors / 2)
    w_id = conv.weight.detach().clone().fill_(0)
    w_id[:3] = 0.5 * torch.eye(3, dtype=D)
    assert torch.autograd.gradcheck(f, (x, w_id.requires_grad_(True), b))


def test_gradcheck_batchnorm() -> None:
    bn = ga.create("encoder", "poincare_batchnorm2d", num_features=2, c=1.0).double()
    g = torch.Generator().manual_seed(8)
    x = bn.ball.expmap0(0.3 + 0.5 * torch.randn(3, 2, 2, 1, generator=g, dtype=D), dim=1).requires_grad_(True)
    beta = bn.ball.expmap0(torch.tensor([0.1, -0.2], dtype=D)).requires_grad_(True)
    gamma = torch.tensor(1.3, dtype=D, requires_grad=True)

    def f(x, beta, gamma):
        return torch.func.functional_call(bn, {"mean": beta, "var": gamma}, (x,))

    assert torch.autograd.gradcheck(f, (x, beta, gamma))


def test_gradcheck_residual_network() -> None:
    torch.manual_seed(0)
    m = ga.create("encoder", "poincare_resnet", in_channels=1, num_classes=3, channels=[2, 3], blocks_per_stage=[1, 1], c=1.0).double()
    x = torch.rand(2, 1, 4, 4, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,), atol=1e-6)
