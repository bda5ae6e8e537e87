"""PER: projectors, exact equivariance after projection, regulariser, automatic tuning, data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_equivariance
from geoatlas_plugins.soft_equivariance.model import adjust_strengths
from geoatlas_plugins.soft_equivariance.reps import (
    CANDIDATE_GROUPS,
    bias_projector,
    rho,
    sample_group,
    weight_projector,
)

GROUPS = list(CANDIDATE_GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_projectors(group: str) -> None:
    gen = torch.Generator().manual_seed(0)
    gs = sample_group(group, 5, gen).numpy()
    for b in (0, 1, 2):
        for a in (0, 1, 2):
            P = weight_projector(group, b, a)
            assert np.abs(P - P.T).max() < 1e-10 and np.abs(P @ P - P).max() < 1e-10
            W = (P @ np.random.default_rng(1).normal(size=P.shape[0])).reshape(rho(b, np.eye(3)).shape[0], -1)
            for g in gs:  # projected maps commute with the group (sampled independently of generators)
                assert np.abs(rho(b, g) @ W - W @ rho(a, g)).max() < 1e-10
        Pb = bias_projector(group, b)
        v = Pb @ np.random.default_rng(2).normal(size=Pb.shape[0])
        for g in gs:
            assert np.abs(rho(b, g) @ v - v).max() < 1e-10
    # known dimensions: Hom_O(3)(T1, T1) = 1 (multiples of I), Hom_O(3)(T2, T2) = 3, Hom_SO(3)(T1, T2) = 1 (epsilon)
    assert round(np.trace(weight_projector("o3", 1, 1))) == 1
    assert round(np.trace(weight_projector("o3", 2, 2))) == 3
    assert round(np.trace(weight_projector("so3", 2, 1))) == 1
    assert round(np.trace(weight_projector("o2_xy", 1, 1))) == 2


def _positions_model(m):
    """The model as a function of the point cloud of positions (masses fixed)."""
    masses = torch.rand(4, m.n_scalars, generator=torch.Generator().manual_seed(5), dtype=torch.float64) + 0.5
    return lambda pos: m(torch.cat([masses, pos.reshape(len(pos), -1)], 1)).reshape(-1, 3, 3)


def _matrix_action(g: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return g.to(y.dtype) @ y @ g.to(y.dtype).transpose(-1, -2)


@pytest.mark.parametrize("group", GROUPS)
def test_projected_network_is_exactly_equivariant(group: str) -> None:
    torch.manual_seed(0)
    m = ga.create("encoder", "soft_equivariant_mlp", in_features=20, candidate_groups=GROUPS).double()
    f = _positions_model(m)
    pos = torch.randn(4, 5, 3, dtype=torch.float64)
    els = sample_group(group, 6, torch.Generator().manual_seed(3))
    with pytest.raises(AssertionError):  # unconstrained: not equivariant
        check_equivariance(f, ga.create("group", "o_n", n=3), pos, elements=els, output=_matrix_action)
    m.project_(group)
    rep = check_equivariance(f, ga.create("group", "o_n", n=3), pos, elements=els, output=_matrix_action, atol=1e-10, rtol=1e-10)
    assert rep["max_error"] < 1e-10
    R = dict(zip(m.groups, m.regularisers().tolist(), strict=True))
    assert R[group] < 1e-20
    errs = m.equivariance_errors(torch.cat([torch.rand(8, 5, dtype=torch.float64), torch.randn(8, 15, dtype=torch.float64)], 1), 4)
    assert errs[group] < 1e-12
    if group == "o3":  # O(3)-equivariant implies equivariant to every subgroup
        assert max(errs.values()) < 1e-12 and max(R.values()) < 1e-20
    # random elements of O(3) via the core group: exact for the o3 projection only
    if group == "o3":
        check_equivariance(f, ga.create("group", "o_n", n=3), pos, output=_matrix_action, atol=1e-10, rtol=1e-10)


def test_training_step_and_auto_tuning() -> None:
    torch.manual_seed(0)
    m = ga.create("encoder", "soft_equivariant_mlp", in_features=20, candidate_groups=["o3", "o2_xy"], equiv_init=0.5, adjust_at=3, window=2).double()
    x = torch.randn(16, 20, dtype=torch.float64)
    y = torch.randn(16, 9, dtype=torch.float64)
    mse = torch.nn.functional.mse_loss
    loss = m.training_step(x, y, mse)
    expected = mse(m(x), y) + 0.5 * m.regularisers().sum()
    assert torch.allclose(loss, expected)
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())
    for _ in range(2):
        m.training_step(x, y, mse)
    R = m.rglr_sum.clone()
    lam = m.equiv_coef
    assert torch.allclose(lam, (0.5 * R).mean() / R)  # lambda_j = mean_k(lambda_k R_k) / R_j
    assert float(lam[torch.argmin(R)]) == float(lam.max())
    assert torch.allclose(adjust_strengths(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([2.0, 5.0, 1.0])), torch.tensor([0.75, 0.0, 1.5]))


def test_modified_inertia_dataset() -> None:
    b = ga.create("dataset", "modified_inertia", n_samples=50, breaking=0.0).load()
    X, y = b.X.astype(np.float64), b.y.astype(np.float64)
    assert X.shape == (50, 20) and y.shape == (50, 9) and b.task == "regression"
    m, pos = X[:, :5], X[:, 5:].reshape(50, 5, 3)
    # breaking = 0: the inertia tensor, symmetric with trace 2 sum m |x|^2
    Y = y.reshape(50, 3, 3)
    assert np.abs(Y - Y.transpose(0, 2, 1)).max() < 1e-5
    assert np.abs(np.trace(Y, axis1=1, axis2=2) - 2 * (m * (pos**2).sum(-1)).sum(1)).max() < 1e-3
    b2 = ga.create("dataset", "modified_inertia", n_samples=50, breaking=0.5, axis="z").load()
    assert np.abs(b2.y - b.y).max() > 0.1


def test_modified_inertia_is_the_papers_target() -> None:
    """Default data = the authors' ModifiedInertia: softplus(N(0,1)) masses, Y = I + 0.3 (I e_z) e_z^T."""
    from scipy import stats

    from geoatlas_plugins.soft_equivariance.data import paper_targets

    b = ga.create("dataset", "modified_inertia", n_samples=400).load()
    assert b.meta["target"] == "paper" and b.meta["masses"] == "softplus"
    X = b.X.astype(np.float64)
    m, pos = X[:, :5], X[:, 5:].reshape(400, 5, 3)
    # independent recomputation, particle by particle: inertia, then add 0.3 * (z column) to the z column
    Y = np.zeros((400, 3, 3))
    for k in range(5):
        r = pos[:, k]
        Y += m[:, k, None, None] * ((r**2).sum(-1)[:, None, None] * np.eye(3) - r[:, :, None] * r[:, None, :])
    Y[:, :, 2] *= 1.3
    assert np.abs(b.y.reshape(400, 3, 3) - Y).max() / np.abs(Y).max() < 1e-6
    assert np.abs(Y - Y.transpose(0, 2, 1)).max() > 0.1  # the paper's target is not symmetric
    # masses: softplus^{-1}(m) = log(expm1(m)) is standard normal; the old uniform masses fail the same test
    assert stats.kstest(np.log(np.expm1(m.ravel())), "norm").pvalue > 1e-3
    mu = ga.create("dataset", "modified_inertia", n_samples=400, masses="uniform").load().X[:, :5].astype(np.float64)
    assert stats.kstest(np.log(np.expm1(mu.ravel())), "norm").pvalue < 1e-6
    # exact O(2)_xy equivariance Y(gx) = g Y(x) g^T for random rotations/reflections about z; O(3) broken
    rng = np.random.default_rng(0)
    for _ in range(5):
        t = rng.uniform(0, 2 * np.pi)
        g = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]]) @ np.diag([1, rng.choice([-1, 1]), rng.choice([-1, 1])])
        Yg = paper_targets(m, pos @ g.T, 0.3, 2).reshape(-1, 3, 3)
        assert np.abs(Yg - g @ Y @ g.T).max() < 1e-9 * np.abs(Y).max()
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        Yq = paper_targets(m, pos @ q.T, 0.3, 2).reshape(-1, 3, 3)
        assert np.abs(Yq - q @ Y @ q.T).max() > 0.05 * np.abs(Y).max()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="multiple of 3"):
        ga.create("encoder", "soft_equivariant_mlp", in_features=21)
    with pytest.raises(ValueError, match="candidate group"):
        ga.create("encoder", "soft_equivariant_mlp", in_features=20, candidate_groups=["gl3"])
    with pytest.raises(ValueError, match="out_features=9"):
        ga.create("encoder", "soft_equivariant_mlp", in_features=20, out_features=4)
    m = ga.create("encoder", "soft_equivariant_mlp", in_features=20)
    with pytest.raises(ValueError, match=r"\(B, 20\)"):
        m(torch.randn(3, 19))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((2, 20), float("nan")))
    with pytest.raises(ValueError, match="axis"):
        ga.create("dataset", "modified_inertia", axis="w")
    with pytest.raises(ValueError, match="target"):
        ga.create("dataset", "modified_inertia", target="sym")
    with pytest.raises(ValueError, match="masses"):
        ga.create("dataset", "modified_inertia", masses="normal")
    with pytest.raises(ValueError, match="breaking"):
        ga.create("dataset", "modified_inertia", breaking=float("nan"))
    with pytest.raises(ValueError, match="unknown candidate group"):
        sample_group("sl2", 3)
