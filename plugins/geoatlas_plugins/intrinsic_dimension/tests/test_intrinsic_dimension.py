"""intrinsic_dimension: P = I equals direct training, the gradient identity dL/dz = P^T dL/dtheta,
unit-norm projections, the measure's contract, the encoder wrapper, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.intrinsic_dimension.subspace import SubspaceModel, random_projection

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


def _mlp(hidden=(8,), seed=0, d_in=6, k=3):
    torch.manual_seed(seed)
    return ga.create("encoder", "mlp", in_features=d_in, out_features=k, hidden=list(hidden))


def _data(n=90, d=6, k=3, seed=0):
    g = np.random.default_rng(seed)
    y = np.arange(n) % k
    mu = 2 * g.normal(size=(k, d))
    return (mu[y] + g.normal(size=(n, d))).astype(np.float32), y


def test_identity_projection_equals_direct_training():
    X, y = _data()
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y)
    direct = _mlp().double()
    sub = SubspaceModel(_mlp().double(), sum(p.numel() for p in direct.parameters()), "identity")
    opt_a = torch.optim.SGD(direct.parameters(), lr=0.1)
    opt_b = torch.optim.SGD([sub.z], lr=0.1)
    for _ in range(25):
        for model, opt in ((direct, opt_a), (sub, opt_b)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xt), yt).backward()
            opt.step()
    theta = torch.nn.utils.parameters_to_vector(direct.parameters()).detach()
    assert float((theta - sub.theta().detach()).abs().max()) < 1e-12
    assert float((direct(Xt) - sub(Xt)).abs().max()) < 1e-12


@pytest.mark.parametrize("projection", ["dense", "sparse"])
def test_gradient_identity(projection):
    X, y = _data()
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y)
    sub = SubspaceModel(_mlp().double(), 40, projection, seed=3)
    with torch.no_grad():
        sub.z.normal_(generator=torch.Generator().manual_seed(0))
    gz = torch.autograd.grad(torch.nn.functional.cross_entropy(sub(Xt), yt), sub.z)[0]
    # independent: the base model's own gradient at theta = theta0 + P z, then P^T
    base = _mlp().double()
    torch.nn.utils.vector_to_parameters(sub.theta().detach(), base.parameters())
    gtheta = torch.autograd.grad(torch.nn.functional.cross_entropy(base(Xt), yt), list(base.parameters()))
    gtheta = torch.cat([g.reshape(-1) for g in gtheta])
    P = sub.P.to_dense()
    np.testing.assert_allclose(gz.numpy(), (P.T @ gtheta).numpy(), rtol=1e-6, atol=1e-12)


def test_projection_columns_and_density():
    g = torch.Generator().manual_seed(0)
    P = random_projection(10000, 50, "dense", generator=g, dtype=torch.float64)
    np.testing.assert_allclose(P.norm(dim=0).numpy(), 1.0, atol=1e-6)
    S = random_projection(10000, 50, "sparse", generator=g, dtype=torch.float64)
    assert S.is_sparse
    np.testing.assert_allclose(S.to_dense().norm(dim=0).numpy(), 1.0, atol=1e-6)
    density = S._nnz() / (10000 * 50)
    assert density == pytest.approx(1 / np.sqrt(10000), rel=0.1)
    raw = random_projection(10000, 50, "dense", normalize=False, generator=g)
    assert float(raw.std()) == pytest.approx(1.0, rel=0.02)


def test_measure_contract_and_subspace_learns():
    X, y = _data(n=120)
    meas = ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[2, 40], epochs=15, lr=3e-2, batch_size=32)
    res = check_measure(meas, model=_mlp(), data={"X": X, "y": y, "data_type": "vector"})
    assert {"d_int", "baseline_accuracy", "accuracies"} <= set(res["keys"])
    r = meas(_mlp(), {"X": X, "y": y})
    assert r["n_params"] == 6 * 8 + 8 + 8 * 3 + 3
    assert r["baseline_accuracy"] > 0.8 and r["accuracies"][1] >= 0.9 * r["baseline_accuracy"]
    assert r["d_int"] in (2.0, 40.0) and r["reached"] == 1.0


def test_measure_reinitialises_the_model():
    # theta_0 is a random initialisation: a trained model and a fresh one give the same result
    X, y = _data(n=60)
    trained = _mlp(seed=5)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    meas = ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[5], epochs=2)
    assert meas(trained, {"X": X, "y": y}) == meas(_mlp(seed=9), {"X": X, "y": y})


def test_subspace_encoder_trains_only_z():
    enc = ga.create("encoder", f"{PLUGIN}/subspace_encoder", backbone="mlp", backbone_params={"hidden": [8]}, d=12,
                    in_features=6, out_features=3)
    trainable = [p for p in enc.parameters() if p.requires_grad]
    assert len(trainable) == 1 and trainable[0].numel() == 12
    assert enc(torch.zeros(4, 6)).shape == (4, 3)


def test_bad_input_is_refused():
    X, y = _data(n=30)
    meas = ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[5], epochs=1)
    with pytest.raises(ValueError, match="needs a model"):
        meas(None, {"X": X, "y": y})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        meas("mlp", {"X": X, "y": y})
    with pytest.raises(TypeError, match="integer class ids"):
        meas(_mlp(), {"X": X, "y": y.astype(float)})
    with pytest.raises(ValueError, match="samples"):
        meas(_mlp(), {"X": X, "y": y[:-2]})
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        meas(_mlp(), {"X": bad, "y": y})
    with pytest.raises(ValueError, match="exceeds"):
        ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[10**6], epochs=1)(_mlp(), {"X": X, "y": y})
    with pytest.raises(ValueError, match="d_grid"):
        ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[50, 10])
    with pytest.raises(ValueError, match="d_grid"):
        ga.create("measure", f"{PLUGIN}/intrinsic_dimension", d_grid=[])
    with pytest.raises(ValueError, match="projection"):
        ga.create("measure", f"{PLUGIN}/intrinsic_dimension", projection="fastfood")
    with pytest.raises(ValueError, match="threshold"):
        ga.create("measure", f"{PLUGIN}/intrinsic_dimension", threshold=1.5)
    with pytest.raises(ValueError, match="identity"):
        random_projection(10, 5, "identity")
    with pytest.raises(ValueError, match="must not exceed"):
        SubspaceModel(_mlp(), 10**6)
    with pytest.raises(ValueError, match="backbone"):
        ga.create("encoder", f"{PLUGIN}/subspace_encoder", backbone="effective_rank", d=3)


def test_pipeline_runs(tmp_path):
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        text = spec.read_text().replace("measure: intrinsic_dimension", f"measure: {PLUGIN}/intrinsic_dimension")
        text = text.replace("encoder: subspace_encoder", f"encoder: {PLUGIN}/subspace_encoder")
        text = text.replace("d_grid: [50, 200, 800], epochs: 10", "d_grid: [50, 800], epochs: 3")  # shorter in the test
        text = text.replace("epochs: 15,", "epochs: 3,")
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        (m,) = res.metrics["measures"].values()
        r = m["mlp_direct"]
        assert r["accuracies"][1] > r["accuracies"][0]  # a larger subspace learns more
        assert 0 <= res["mlp_subspace_200"]["accuracy"] <= 1
