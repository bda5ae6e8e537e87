import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.interfaces import Descriptor
from geoatlas.testing import check_group, check_manifold


class Noisy(Descriptor):
    def transform(self, X):
        return np.random.default_rng().normal(size=(len(X), 2))


class AcceptsNaN(Descriptor):
    def transform(self, X):
        return np.zeros((len(X), 2))


GROUPS = ["so2", "so3", "son", "o_n", "se2", "se3", "translations", "permutations"]
MANIFOLDS = ["euclidean", "sphere", "poincare_ball", "lorentz", "stiefel", "spd"]


@pytest.mark.parametrize("name", GROUPS)
def test_group_laws(name):
    report = check_group(ga.create("group", name))
    assert report["associativity"] < 1e-8


@pytest.mark.parametrize("name,kwargs", [("son", {"n": 4}), ("o_n", {"n": 5})])
def test_haar_moments(name, kwargs):
    """For Haar-random orthogonal matrices E[R_ij] = 0 and E[R_ij^2] = 1/n."""
    g = ga.create("group", name, **kwargs)
    R = g.sample(4000, torch.Generator().manual_seed(1), dtype=torch.float64)
    n = kwargs["n"]
    assert R.mean(0).abs().max() < 0.06
    assert (R.pow(2).mean(0) - 1 / n).abs().max() < 0.03
    if name == "son":
        assert torch.allclose(torch.linalg.det(R), torch.ones(4000, dtype=torch.float64))


def test_so3_haar_angle_distribution():
    """Rotation angles of Haar SO(3) have density (1 - cos t)/pi: E[t] = pi/2 + 2/pi."""
    R = ga.create("group", "so3").sample(20000, torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.acos(((torch.diagonal(R, dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
    assert abs(float(t.mean()) - (math.pi / 2 + 2 / math.pi)) < 0.02


def test_group_action_errors():
    so3 = ga.create("group", "so3")
    g = so3.sample(1)[0]
    with pytest.raises(TypeError, match="does not act on 'image'"):
        so3.act(g, torch.zeros(1, 1, 8, 8), "image")
    with pytest.raises(ValueError, match="3-dimensional"):
        so3.act(g, torch.zeros(5, 2), "point_cloud")
    with pytest.raises(ValueError, match="NaN"):
        so3.act(g, torch.full((5, 3), float("nan")), "point_cloud")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_so3_log_exp_roundtrip(seed):
    so3 = ga.create("group", "so3")
    R = so3.sample(1, torch.Generator().manual_seed(seed), dtype=torch.float64)[0]
    w = so3.log(R)
    if float(w.norm()) < math.pi - 1e-3:
        K = torch.zeros(3, 3, dtype=torch.float64)
        K[0, 1], K[0, 2], K[1, 2] = -w[2], w[1], -w[0]
        K = K - K.T
        assert torch.allclose(torch.linalg.matrix_exp(K), R, atol=1e-9)


@pytest.mark.parametrize("name", MANIFOLDS)
def test_manifold_identities(name):
    report = check_manifold(ga.create("manifold", name))
    assert report["projx_idempotent"] < 1e-6


def test_check_point_errors():
    ball = ga.create("manifold", "poincare_ball", dim=2)
    with pytest.raises(ValueError, match="not on the poincare_ball"):
        ball.check_point(torch.tensor([[0.9, 0.9]]))
    with pytest.raises(ValueError, match="NaN"):
        ball.check_point(torch.tensor([[float("nan"), 0.0]]))
    spd = ga.create("manifold", "spd", n=2)
    with pytest.raises(ValueError):
        spd.check_point(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64))


def test_poincare_boundary_float32_stays_finite():
    ball = ga.create("manifold", "poincare_ball", dim=3)
    x = ball.projx(torch.tensor([[0.999999, 0.0, 0.0]]))
    y = ball.expmap(x, torch.tensor([[10.0, 0.0, 0.0]]))
    assert torch.isfinite(ball.dist(x, y)).all() and (y.norm() < 1)


def test_testing_kit_detects_failures():
    """The checks must be able to fail."""
    from geoatlas.testing import check_descriptor, check_equivariance

    so3 = ga.create("group", "so3")
    x = torch.randn(10, 3, dtype=torch.float64)
    with pytest.raises(AssertionError, match="not invariant"):
        check_equivariance(lambda p: p[:, 0].sum(), so3, x, output="invariant")
    check_equivariance(lambda p: p.norm(dim=-1), so3, x, output="invariant")
    check_equivariance(lambda p: 2 * p, so3, x, output="equivariant")

    class NotAGroup(type(ga.create("group", "translations"))):
        def compose(self, g, h):
            return g + 2 * h

    with pytest.raises(AssertionError, match="violated"):
        check_group(NotAGroup(dim=3))

    with pytest.raises(AssertionError, match="not deterministic"):
        check_descriptor(Noisy(), np.zeros((4, 5, 3)))

    with pytest.raises(AssertionError, match="NaN"):
        check_descriptor(AcceptsNaN(), np.zeros((4, 5, 3)))


def test_graph_action_rotates_vector_attributes_and_translates_positions():
    from torch_geometric.data import Data

    se3 = ga.create("group", "se3")
    g = se3.sample(1, torch.Generator().manual_seed(0), dtype=torch.float64)[0]
    d = Data(pos=torch.randn(5, 3, dtype=torch.float64), vec=torch.randn(5, 3, dtype=torch.float64),
             edge_index=torch.tensor([[0, 1], [1, 0]]))
    out = se3.act(g, d, "graph")
    R, t = g[:3, :3], g[:3, 3]
    assert torch.allclose(out.pos, d.pos @ R.T + t)
    assert torch.allclose(out.vec, d.vec @ R.T)  # rotated, not translated
