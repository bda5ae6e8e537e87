"""manifold_entropy: the estimator's exact scale law (2 log s, any k; Kozachenko-Leonenko: k log s),
agreement with scipy's Gaussian entropy, both buffer behaviours, the DLLE / DIsoMap terms, the
loss and measure contracts, bad input, the pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss, check_measure
from geoatlas_plugins.manifold_entropy.mee import (
    EntropyBuffer,
    disomap_loss,
    dlle_loss,
    kozachenko_leonenko,
    manifold_entropy,
)
from geoatlas_plugins.manifold_entropy.ring import mode_coverage, ring_modes

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name
D = torch.float64


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 16), n=st.integers(2, 60), s=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_scale_law_is_two_log_s_for_any_k(k, n, s, seed):
    e = torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=D)
    b = torch.randn(30, k, generator=torch.Generator().manual_seed(seed + 1), dtype=D)
    assert float(manifold_entropy(s * e) - manifold_entropy(e)) == pytest.approx(2 * math.log(s), abs=1e-9)
    assert float(manifold_entropy(s * e, s * b) - manifold_entropy(e, b)) == pytest.approx(2 * math.log(s), abs=1e-9)


def test_kozachenko_leonenko_shifts_by_k_log_s_and_matches_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(0)
    for k in (2, 8):
        e = rng.normal(size=(500, k))
        assert kozachenko_leonenko(3.0 * e) - kozachenko_leonenko(e) == pytest.approx(k * math.log(3.0), abs=1e-9)
    A = rng.normal(size=(3, 3))
    S = A @ A.T + 0.3 * np.eye(3)
    Z = rng.multivariate_normal(np.zeros(3), S, size=4000)
    assert kozachenko_leonenko(Z) == pytest.approx(multivariate_normal(cov=S).entropy(), abs=0.15)


def test_slope_two_for_isotropic_gaussians_through_a_fifo_buffer():
    """H of fresh N(0, s^2 I_8) batches against a FIFO buffer of earlier draws: slope 2 in log s."""
    logs = np.linspace(-2, 2, 9)
    hs = []
    for ls in logs:
        g = torch.Generator().manual_seed(0)
        buf = EntropyBuffer(512, "paper")
        for _ in range(4):
            buf.update(math.exp(ls) * torch.randn(128, 8, generator=g, dtype=D))
        hs.append(float(buf.entropy(math.exp(ls) * torch.randn(128, 8, generator=g, dtype=D))))
    slope = np.polyfit(logs, hs, 1)[0]
    assert slope == pytest.approx(2.0, abs=1e-6)


def test_estimate_rank_correlates_with_true_gaussian_entropy():
    from scipy.stats import multivariate_normal, spearmanr

    rng = np.random.default_rng(1)
    meas = ga.create("measure", f"{PLUGIN}/embedding_entropy")
    true, est = [], []
    for _ in range(12):
        A = rng.normal(size=(4, 4)) * rng.uniform(0.2, 3.0)
        S = A @ A.T + 0.05 * np.eye(4)
        true.append(multivariate_normal(cov=S).entropy())
        est.append(meas(data={"X": rng.multivariate_normal(np.zeros(4), S, size=800)})["mee_entropy"])
    assert spearmanr(true, est)[0] > 0.9


def test_entropy_grows_with_spread_and_gradient_sign():
    e = torch.randn(64, 4, generator=torch.Generator().manual_seed(0), dtype=D, requires_grad=True)
    h = manifold_entropy(e)
    (g,) = torch.autograd.grad(h, e)
    # moving along the gradient (spreading nearest neighbours apart) raises the estimate
    assert float(manifold_entropy(e + 1e-3 * g)) > float(h)
    assert float(manifold_entropy(2 * e)) > float(h)


def test_fifo_buffer_semantics():
    buf = EntropyBuffer(10, "paper")
    for i in range(4):
        buf.update(torch.full((4, 2), float(i), dtype=D))
    assert buf.memory.shape == (10, 2)
    assert buf.memory[:2, 0].tolist() == [1.0, 1.0] and buf.memory[-4:, 0].tolist() == [3.0] * 4  # oldest evicted
    # nearest neighbour over all of the buffer
    h = buf.entropy(torch.full((1, 2), 2.9, dtype=D))
    assert float(h) == pytest.approx(math.log(2 * 0.1**2 / 2), abs=1e-9)


def test_reference_code_buffer_shrinks_and_compares_same_position():
    B, k = 4, 3
    buf = EntropyBuffer(10, "reference_code", seed=0)
    e = torch.zeros(B, k, dtype=D)
    buf.entropy(e)
    sizes = []
    for _ in range(5):
        buf.update(e)
        sizes.append(buf.memory.shape[0])
    assert sizes == [7, 4, 1, 1, 1]  # 10 -> 10 - B + 1 -> ... -> only the previous batch
    # sample i is compared with column i only: put the batch's own rows there, permuted
    x = torch.arange(B * k, dtype=D).reshape(B, k)
    buf.memory = x[None].clone()
    assert float(buf.entropy(x)) == float("-inf")
    assert torch.isfinite(buf.entropy(x[[1, 0, 3, 2]]))
    with pytest.raises(ValueError, match="batch shape"):
        buf.entropy(torch.zeros(B + 1, k, dtype=D))


def test_dlle_and_disomap():
    lin = torch.nn.Linear(3, 2).double()
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(0), dtype=D)
    assert float(dlle_loss(lin, x, x)) == 0.0
    # an affine map is exactly "isometric" under mixing: only the target noise remains
    v = disomap_loss(lin, x, x.flip(0), torch.Generator().manual_seed(0), target_noise=0.0)
    assert float(v) == pytest.approx(0.0, abs=1e-20)
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()
    assert float(disomap_loss(mlp, x, x.flip(0), torch.Generator().manual_seed(0), target_noise=0.0)) > 0.0


def test_loss_contract_and_gan_helpers():
    loss = ga.create("loss", f"{PLUGIN}/mee", warmup_epochs=0, buffer_size=64)
    e = torch.randn(32, 8, requires_grad=True)
    check_loss(loss, e, {"x": torch.randn(32, 2), "epoch": 0})
    torch.manual_seed(0)
    D_ = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8))
    xr, xf = torch.randn(32, 2), torch.randn(32, 2)
    ld = loss.discriminator_loss(D_, xr, xf, epoch=0)
    lg = loss.generator_loss(D_, xf.requires_grad_(True), epoch=0)
    assert torch.isfinite(ld) and torch.isfinite(lg) and ld.requires_grad and lg.requires_grad
    assert loss.real.memory.shape[0] > 0 and loss.fake.memory.shape[0] > 0
    warm = ga.create("loss", f"{PLUGIN}/mee", weight=2.0, warmup_epochs=100)
    assert warm.entropy_weight(0) == 0.0 and warm.entropy_weight(50) == 1.0 and warm.entropy_weight(500) == 2.0
    # bound model: DLLE + DIsoMap are added
    bound = ga.create("loss", f"{PLUGIN}/mee", warmup_epochs=0, buffer_size=64)
    bound.bind(D_)
    x = torch.randn(32, 2)
    assert float(bound(D_(x), {"x": x, "epoch": 0})) != float(ga.create("loss", f"{PLUGIN}/mee", warmup_epochs=0, buffer_size=64)(D_(x), {"x": x, "epoch": 0}))


def test_measure_contract_model_and_scale():
    X = np.random.default_rng(0).normal(size=(300, 5))
    meas = ga.create("measure", f"{PLUGIN}/embedding_entropy")
    check_measure(meas, data={"X": X})
    a, b = meas(data={"X": X}), ga.create("measure", f"{PLUGIN}/embedding_entropy", scale=10.0)(data={"X": X})
    assert b["mee_entropy"] - a["mee_entropy"] == pytest.approx(2 * math.log(10.0), abs=1e-9)
    assert b["kl_entropy"] - a["kl_entropy"] == pytest.approx(5 * math.log(10.0), abs=1e-9)
    lin = torch.nn.Linear(5, 3)
    r = meas(model=lin, data={"X": X.astype(np.float32)})
    with torch.no_grad():
        E = lin(torch.tensor(X, dtype=torch.float32)).double()
    assert r["mee_entropy"] == pytest.approx(float(manifold_entropy(E)), abs=1e-6) and r["k"] == 3


def test_mode_coverage_metric():
    modes = ring_modes()
    s = np.repeat(modes[:3], 100, axis=0)
    assert mode_coverage(s) == {"modes": 3.0, "high_quality": 1.0}
    assert mode_coverage(np.zeros((50, 2)))["modes"] == 0.0


def test_bad_input():
    loss = ga.create("loss", f"{PLUGIN}/mee")
    with pytest.raises(ValueError, match="NaN"):
        loss(torch.full((4, 2), float("nan")), {"x": torch.zeros(4, 2)})
    with pytest.raises(ValueError, match="shape"):
        loss(torch.zeros(4), {"x": torch.zeros(4, 2)})
    with pytest.raises(TypeError, match="torch tensor"):
        loss(np.zeros((4, 2)), {"x": torch.zeros(4, 2)})
    with pytest.raises((ValueError, TypeError), match="buffer_mode"):
        ga.create("loss", f"{PLUGIN}/mee", buffer_mode="lifo")
    with pytest.raises((ValueError, TypeError), match="buffer_size"):
        ga.create("loss", f"{PLUGIN}/mee", buffer_size=0)
    with pytest.raises((ValueError, TypeError), match="weight"):
        ga.create("loss", f"{PLUGIN}/mee", weight=-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        manifold_entropy(torch.zeros(1, 3))
    meas = ga.create("measure", f"{PLUGIN}/embedding_entropy")
    with pytest.raises(ValueError, match="X"):
        meas(data={})
    with pytest.raises(ValueError, match="at least 2"):
        meas(data={"X": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="NaN"):
        meas(data={"X": np.full((5, 3), np.inf)})
    buf = EntropyBuffer(8, "paper")
    buf.update(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="k=4"):
        buf.entropy(torch.zeros(4, 4))


def test_pipeline_runs(tmp_path):
    res = ga.Pipeline.from_yaml(HERE / "pipelines" / "mee_ring.yaml").run(run_dir=tmp_path / "run", progress=False)
    r = res.metrics["measures"]["embedding_entropy"]["mee_mlp"]
    assert np.isfinite(r["mee_entropy"]) and r["k"] == 8
    assert res.metrics["models"]["mee_mlp"]["accuracy"] > 0.9
