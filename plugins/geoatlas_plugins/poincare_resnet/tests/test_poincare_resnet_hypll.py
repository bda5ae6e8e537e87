"""Cross-check against HypLL, the authors' library (``hypll==0.1.1``, in geoatlas' ``test`` extra).

Same weights, same float64 input: HypLL's ``HLinear``, ``HConvolution2d`` and
``HBatchNorm2d(use_midpoint=True)`` against ours. ``hypll`` is in the ``test`` extra and imported
plainly: without it this module fails with ImportError, so the cross-check cannot vanish silently.

HypLL 0.1.1, the only PyPI release, stores the curvature parameter in float32 (HypLL issue #62; fixed
on HypLL's main branch), so ``softplus(v)`` and ``sqrt(c)`` are float32 there. Each test runs twice:

* ``curvature="float64"``: HypLL's curvature parameter is replaced by the same value in float64 (what
  HypLL main does); then both sides compute in float64 and must agree to ``1e-10``;
* ``curvature="float32"``: HypLL as shipped, ours at ``c = C`` in float64; the difference is float32
  rounding of the curvature, so the tolerance is ``16 * eps_float32 * max(1, max|output|)`` (~2e-6;
  measured 4e-8 to 1.2e-7).
"""

from __future__ import annotations

import math
import warnings

import hypll  # noqa: F401  (the oracle, from the test extra: fail loudly if it is missing)
import pytest
import torch

import geoatlas as ga

warnings.filterwarnings("ignore", message=".*geoatlas plugin.*")
D = torch.float64
C = 0.3


@pytest.fixture(autouse=True)
def _one_thread_float64():
    n, dt = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # HypLL modules cannot be converted with .double()
    yield
    torch.set_num_threads(n)
    torch.set_default_dtype(dt)


CURVATURES = pytest.mark.parametrize("curvature", ["float64", "float32"])


def _hypll_ball(curvature: str):
    from hypll.manifolds.poincare_ball import Curvature, PoincareBall

    # HypLL's Curvature(value) is softplus(value): invert it to get c
    cv = Curvature(value=math.log(math.expm1(C)))
    assert cv.value.dtype == torch.float32  # what hypll 0.1.1 does; if this changes, revisit the docstring
    if curvature == "float64":
        cv.value.data = torch.tensor(math.log(math.expm1(C)), dtype=torch.float64)
    return PoincareBall(c=cv)


def _check(ours_out: torch.Tensor, theirs_out: torch.Tensor, curvature: str) -> None:
    err = (ours_out - theirs_out).abs().max().item()
    scale = max(1.0, ours_out.abs().max().item())
    tol = 1e-10 if curvature == "float64" else 16 * torch.finfo(torch.float32).eps * scale
    print(f"max abs error vs HypLL ({curvature} curvature): {err:.2e} (tol {tol:.1e})")
    assert err < tol, (err, tol)


def _mt(x: torch.Tensor, manifold, man_dim: int):
    from hypll.tensors import ManifoldTensor

    return ManifoldTensor(data=x, manifold=manifold, man_dim=man_dim)


@CURVATURES
def test_linear_matches_hypll(curvature: str) -> None:
    from hypll.nn import HLinear

    hb = _hypll_ball(curvature)
    ours = ga.create("encoder", "poincare_linear", in_features=5, out_features=4, c=C, init="hnnpp").double()
    theirs = HLinear(5, 4, manifold=hb)
    with torch.no_grad():
        ours.bias.normal_(0, 0.3)
        theirs.z.tensor.copy_(ours.weight)
        theirs.bias.copy_(ours.bias)
    x = ours.ball.expmap0(torch.randn(16, 5, dtype=D))
    _check(ours(x), theirs(_mt(x, hb, -1)).tensor, curvature)


@CURVATURES
def test_conv_matches_hypll(curvature: str) -> None:
    from hypll.nn import HConvolution2d

    hb = _hypll_ball(curvature)
    ours = ga.create("encoder", "poincare_conv2d", in_channels=3, out_channels=4, kernel_size=3, padding=1, stride=2,
                     c=C, init="hnnpp").double()
    theirs = HConvolution2d(3, 4, 3, manifold=hb, padding=1, stride=2)
    with torch.no_grad():
        ours.bias.normal_(0, 0.3)
        theirs.weights.tensor.copy_(ours.weight)
        theirs.bias.copy_(ours.bias)
    x = ours.ball.expmap0(torch.randn(2, 3, 6, 6, dtype=D), dim=1)
    _check(ours(x), theirs(_mt(x, hb, 1)).tensor, curvature)


@CURVATURES
def test_midpoint_batchnorm_matches_hypll(curvature: str) -> None:
    from hypll.nn import HBatchNorm2d

    hb = _hypll_ball(curvature)
    ours = ga.create("encoder", "poincare_batchnorm2d", num_features=3, c=C).double()
    theirs = HBatchNorm2d(3, manifold=hb, use_midpoint=True)
    b = torch.tensor([0.2, -0.1, 0.3], dtype=D)
    with torch.no_grad():
        theirs.norm.bias.copy_(b)  # HypLL stores the learned mean as a tangent vector at 0
        theirs.norm.weight.fill_(1.7)
        ours.mean.copy_(ours.ball.expmap0(b))
        ours.var.fill_(1.7)
    x = ours.ball.expmap0(0.4 + torch.randn(4, 3, 3, 3, dtype=D), dim=1)
    _check(ours(x), theirs(_mt(x, hb, 1)).tensor, curvature)
