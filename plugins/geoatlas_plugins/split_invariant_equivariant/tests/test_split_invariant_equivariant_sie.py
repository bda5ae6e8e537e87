"""SIE: hypernetwork predictor, VICReg terms against closed forms, rotations, training, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import geoatlas as ga
from geoatlas_plugins.split_invariant_equivariant.images import rotate_images
from geoatlas_plugins.split_invariant_equivariant.model import (
    HyperNetPredictor,
    covariance_loss,
    variance_loss,
)


def _sie(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    params = dict(repr_dim=16, equi_dim=8, channels=[4, 8], mlp=[32, 32])
    params.update(kw)
    return ga.create("encoder", "sie", **params)


def test_linear_hypernetwork_is_linear_map_of_a() -> None:
    """Default predictor: y' = W(a) y with vec W(a) = H a (no biases)."""
    torch.manual_seed(0)
    p = HyperNetPredictor(5, 2).double()
    y = torch.randn(7, 5, dtype=torch.float64)
    a = torch.randn(7, 2, dtype=torch.float64)
    H = p.net.weight  # (25, 2)
    W = (a @ H.T).reshape(7, 5, 5)
    expected = torch.einsum("boi,bi->bo", W, y)
    assert torch.allclose(p(y, a), expected, atol=1e-12)
    # linear in a and in y
    a2 = torch.randn(7, 2, dtype=torch.float64)
    assert torch.allclose(p(y, a + a2), p(y, a) + p(y, a2), atol=1e-12)
    assert torch.allclose(p(2 * y, a), 2 * p(y, a), atol=1e-12)


def test_deep_predictor_with_hidden_layers_shapes_and_gradcheck() -> None:
    torch.manual_seed(0)
    p = HyperNetPredictor(4, 2, hidden=[6], hypernetwork="deep", bias_pred=True, predictor_relu=True).double()
    y = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    a = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert p(y, a).shape == (3, 4)
    assert torch.autograd.gradcheck(lambda yy, aa: p(yy, aa), (y, a))
    with pytest.raises(ValueError, match="hypernetwork"):
        HyperNetPredictor(4, 2, hypernetwork="conv")
    with pytest.raises(ValueError, match="transformation parameters"):
        p(y, torch.zeros(3, 3, dtype=torch.float64))


def test_vicreg_terms_against_closed_forms() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6))
    zt = torch.tensor(z)
    c = np.cov(z, rowvar=False)
    off = c[~np.eye(6, dtype=bool)]
    assert torch.isclose(covariance_loss(zt), torch.tensor((off**2).sum() / 6), rtol=1e-10)
    std = np.sqrt(z.var(axis=0, ddof=1) + 1e-4)
    assert torch.isclose(variance_loss(zt), torch.tensor(np.maximum(0, 1 - std).mean()), rtol=1e-10)
    # a constant embedding has the maximal variance penalty 1 - sqrt(eps)
    assert torch.isclose(variance_loss(torch.zeros(10, 3)), torch.tensor(1 - math.sqrt(1e-4)), rtol=1e-5)


def test_rotate_images_group_law() -> None:
    x = torch.rand(3, 1, 10, 10, dtype=torch.float64)
    q = torch.full((3,), math.pi / 2, dtype=torch.float64)
    assert torch.allclose(rotate_images(x, q), torch.rot90(x, -1, (2, 3)), atol=1e-12)
    # rotations by multiples of pi/2 compose exactly; the identity is exact
    assert torch.allclose(rotate_images(rotate_images(x, q), q), rotate_images(x, 2 * q), atol=1e-12)
    assert torch.allclose(rotate_images(x, torch.zeros(3, dtype=torch.float64)), x, atol=1e-12)
    # small rotations: theta then -theta approximately recovers a smooth centred blob
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    blob = torch.exp(-((xx - 7.5) ** 2 + (yy - 6.0) ** 2) / 20.0)[None, None].double()
    t = torch.tensor([0.4], dtype=torch.float64)
    back = rotate_images(rotate_images(blob, t), -t)
    assert (back - blob).abs().max() < 0.08  # bilinear interpolation applied twice
    with pytest.raises(ValueError, match="theta"):
        rotate_images(x, torch.zeros(2))
    with pytest.raises(ValueError, match="images"):
        rotate_images(x[0], torch.zeros(1))


def test_sie_forward_split_and_training_step() -> None:
    model = _sie()
    x = torch.rand(16, 1, 12, 12)
    y = torch.randint(0, 10, (16,))
    assert model(x).shape == (16, 10)
    r_inv, r_equi = model.representation(x)
    assert r_inv.shape == (16, 8) and r_equi.shape == (16, 8)
    assert model.embed(x).shape == (16, 16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    torch.manual_seed(1)
    losses = []
    for _ in range(15):
        loss = model.training_step(x, y, F.cross_entropy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert set(model.last_stats) == {"inv", "equi", "std", "pred_std", "cov", "probe"}


def test_sie_loss_identity_pair() -> None:
    """Identical views with the identity transformation: invariance term is exactly 0."""
    model = _sie()
    model.eval()
    x = torch.rand(8, 1, 12, 12)
    a = model.rotation_params(torch.zeros(8))
    assert torch.allclose(a, torch.tensor([[1.0, 0.0]]).expand(8, 2))
    _, stats, _ = model.sie_loss(x, x, a)
    assert stats["inv"] == 0.0


def _np_var(z: np.ndarray) -> float:
    return float(np.maximum(0.0, 1.0 - np.sqrt(z.var(axis=0, ddof=1) + 1e-4)).mean())


def _np_cov(z: np.ndarray) -> float:
    c = np.cov(z, rowvar=False)
    return float((c[~np.eye(c.shape[0], dtype=bool)] ** 2).sum() / c.shape[0])


@pytest.mark.parametrize("weights", [None, dict(sim_coeff=3.0, equi_factor=0.7, std_coeff=2.0, cov_coeff=5.0)])
def test_sie_loss_is_the_stated_weighted_sum(weights: dict | None) -> None:
    """The loss equals sim*inv + equi_factor*sim*equi + std*(V(z)/2+V(z')/2+V(pred)/2) + cov*(C(z)+C(z')),
    each term recomputed in numpy from the projector/predictor outputs; defaults 10, 0.45, 10, 1
    (the authors' documented SIE command)."""
    m = _sie(**(weights or {})).double()
    w = weights or dict(sim_coeff=10.0, equi_factor=0.45, std_coeff=10.0, cov_coeff=1.0)
    assert (m.sim_coeff, m.equi_factor, m.std_coeff, m.cov_coeff) == (w["sim_coeff"], w["equi_factor"], w["std_coeff"], w["cov_coeff"])
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.rand(12, 1, 16, 16, generator=g, dtype=torch.float64), torch.rand(12, 1, 16, 16, generator=g, dtype=torch.float64)
    a = m.rotation_params(torch.rand(12, generator=g, dtype=torch.float64))
    loss, _, _ = m.sie_loss(x1, x2, a)
    with torch.no_grad():
        r1, r2 = m.backbone(x1), m.backbone(x2)
        k = m.inv_dim
        zi1, zi2 = m.projector_inv(r1[:, :k]).numpy(), m.projector_inv(r2[:, :k]).numpy()
        ze1, ze2 = m.projector_equi(r1[:, k:]), m.projector_equi(r2[:, k:]).numpy()
        pred = m.predictor(ze1, a).numpy()
        ze1 = ze1.numpy()
    z1, z2 = np.concatenate([zi1, ze1], 1), np.concatenate([zi2, ze2], 1)
    expected = (w["sim_coeff"] * ((zi1 - zi2) ** 2).mean()
                + w["equi_factor"] * w["sim_coeff"] * ((pred - ze2) ** 2).mean()
                + w["std_coeff"] * (_np_var(z1) / 2 + _np_var(z2) / 2 + _np_var(pred) / 2)
                + w["cov_coeff"] * (_np_cov(z1) + _np_cov(z2)))
    assert abs(float(loss) - expected) < 1e-10 * max(1.0, abs(expected))


def test_probe_does_not_shape_representation() -> None:
    """The online classifier sees detached features: its loss gives the backbone no gradient."""
    model = _sie()
    x = torch.rand(8, 1, 12, 12)
    F.cross_entropy(model(x), torch.zeros(8, dtype=torch.long)).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.probe[1].weight.grad is not None


def test_bad_input() -> None:
    model = _sie()
    with pytest.raises(ValueError, match="shape"):
        model(torch.rand(4, 3, 12, 12))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((4, 1, 12, 12), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        model(torch.rand(0, 1, 12, 12))
    with pytest.raises(TypeError):
        model(np.zeros((4, 1, 12, 12)))
    with pytest.raises(ValueError, match="at least 2"):
        model.sie_loss(torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="equi_dim"):
        ga.create("encoder", "sie", repr_dim=8, equi_dim=8)
    with pytest.raises(ValueError, match="std_coeff"):
        ga.create("encoder", "sie", std_coeff=-1.0)
    with pytest.raises(ValueError, match="max_angle"):
        ga.create("encoder", "sie", max_angle=4.0)


def test_rotated_digits_dataset() -> None:
    single = ga.create("dataset", "rotated_digits", n_samples=20, size=16, seed=1).load()
    assert single.X.shape == (20, 1, 16, 16) and single.meta["angles"].shape == (20,)
    pairs = ga.create("dataset", "rotated_digits", n_samples=20, size=16, pairs=True, seed=1).load()
    assert pairs.X.shape == (20, 2, 16, 16) and pairs.meta["angles"].shape == (20, 2)
    again = ga.create("dataset", "rotated_digits", n_samples=20, size=16, pairs=True, seed=1).load()
    assert np.array_equal(pairs.X, again.X)
    assert np.abs(single.meta["angles"]).max() <= math.pi
    with pytest.raises(ValueError, match="max_angle"):
        ga.create("dataset", "rotated_digits", max_angle=7.0)
