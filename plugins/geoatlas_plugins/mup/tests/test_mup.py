"""mup plugin: the wrapper against the `mup` package (MuReadout + set_base_shapes + MuAdam / MuSGD) on
the same MLP: learning-rate groups, initialisation, readout scaling, and training trajectories;
the coordinate check's shape; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_measure

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


def _ours(width, optimizer="adam", seed=0, **kw):
    torch.manual_seed(seed)
    kw = {"base_width": 16, **kw}
    return ga.create("encoder", f"{PLUGIN}/mup", backbone="mlp", backbone_params={"hidden": [width, width]},
                     optimizer=optimizer, in_features=12, out_features=5, **kw)


def _theirs(ours, width):
    """The same SP weights in a model built with the mup package (MuReadout, set_base_shapes)."""
    import mup

    def build(w):
        return torch.nn.Sequential(torch.nn.Linear(12, w), torch.nn.ReLU(), torch.nn.Linear(w, w), torch.nn.ReLU(), mup.MuReadout(w, 5))

    model = build(width)
    model.load_state_dict({k.removeprefix("net."): v for k, v in ours.net.net.state_dict().items()})
    mup.set_base_shapes(model, build(16), delta=build(32) if width == 16 else None)
    return model


def _data(seed=0):
    g = np.random.default_rng(seed)
    return torch.tensor(g.normal(size=(40, 12)), dtype=torch.float32), torch.tensor(g.integers(0, 5, 40))


@pytest.mark.parametrize("width", [64, 256])
def test_init_and_readout_equal_the_mup_package(width):
    ours = _ours(width)
    theirs = _theirs(ours, width)
    X, _ = _data()
    np.testing.assert_allclose(ours(X).detach().numpy(), theirs(X).detach().numpy(), rtol=1e-5, atol=1e-6)
    # readout rescaled by sqrt(m) (weights and bias), 1/m on its input
    m = width / 16
    eff = ours.effective_parameters()
    np.testing.assert_allclose(eff["net.4.bias"].detach().numpy(), theirs[4].bias.detach().numpy(), rtol=1e-6)
    assert ours.info["net.4.weight"]["readout"] and ours.info["net.4.weight"]["ninf"] == 1
    assert np.allclose((eff["net.4.weight"] * m).detach().numpy(), theirs[4].weight.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_lr_groups_equal_mu_optimizers(optimizer):
    import mup

    width, lr = 128, 1e-2
    ours = _ours(width, optimizer)
    theirs = _theirs(ours, width)
    opt = (mup.MuAdam if optimizer == "adam" else mup.MuSGD)(theirs.parameters(), lr=lr)
    by_param = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    for (name, p) in theirs.named_parameters():
        assert ours.lr_factors["net." + name] * lr == pytest.approx(by_param[id(p)], rel=1e-12), name


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_with_multipliers_follows_mu_optimizer(optimizer):
    import mup

    width, lr = 128, 1e-2 if optimizer == "adam" else 0.05
    ours = _ours(width, optimizer)
    theirs = _theirs(ours, width)
    # Adam's eps is the only term that sees the multipliers (it is added to |gradient|); a tiny
    # eps makes the two updates equal
    kw = {"eps": 1e-16} if optimizer == "adam" else {}
    opt_a = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(ours.parameters(), lr=lr, **kw)
    opt_b = (mup.MuAdam if optimizer == "adam" else mup.MuSGD)(theirs.parameters(), lr=lr, **kw)
    X, y = _data()
    for _ in range(5):
        for model, opt in ((ours, opt_a), (theirs, opt_b)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
    a, b = ours(X).detach().numpy(), theirs(X).detach().numpy()
    assert np.abs(a - b).max() < 1e-4 * max(1.0, np.abs(b).max()), np.abs(a - b).max()


def test_base_width_is_standard_parametrization_and_sp_mode():
    X, _ = _data()
    ours = _ours(16)
    assert all(f == 1.0 for f in ours.lr_factors.values())
    np.testing.assert_allclose(ours(X).detach().numpy(), ours.net(X).detach().numpy(), rtol=1e-6)
    sp = _ours(256, parametrization="sp")
    assert all(f == 1.0 for f in sp.lr_factors.values())
    np.testing.assert_allclose(sp(X).detach().numpy(), sp.net(X).detach().numpy(), rtol=1e-6)


def test_coordinate_check_flat_under_mup_growing_under_sp():
    X, y = _data(1)
    X = torch.cat([X] * 4).numpy()
    y = np.concatenate([y.numpy()] * 4)
    common = {"backbone_params": {"hidden": [64, 64]}, "base_width": 64, "widths": [64, 256, 1024], "lr": 1e-2, "steps": 4, "batch_size": 32}
    mu = ga.create("measure", f"{PLUGIN}/coordinate_check", parametrization="mup", **common)
    sp = ga.create("measure", f"{PLUGIN}/coordinate_check", parametrization="sp", **common)
    r_mu = check_measure(mu, data={"X": X, "y": y})
    assert "slope_net.4" in r_mu["keys"]
    a, b = mu(data={"X": X, "y": y}), sp(data={"X": X, "y": y})
    # output logits: about flat under muP, growing like a power of the width under SP (Adam)
    assert abs(a["slope_net.4"]) < 0.15, a
    assert b["slope_net.4"] > 0.4, b


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="optimizer"):
        _ours(32, optimizer="rmsprop")
    with pytest.raises(ValueError, match="base_width"):
        _ours(32, base_width=0)
    with pytest.raises(ValueError, match="width parameter"):
        ga.create("encoder", f"{PLUGIN}/mup", backbone="mlp", backbone_params={}, width_param="hidden", in_features=3, out_features=2)
    with pytest.raises(ValueError, match="backbone"):
        ga.create("encoder", f"{PLUGIN}/mup", backbone="effective_rank", backbone_params={"hidden": [8]})
    with pytest.raises(ValueError, match="output_mult"):
        _ours(32, output_mult=-1.0)
    with pytest.raises(ValueError, match="widths"):
        ga.create("measure", f"{PLUGIN}/coordinate_check", widths=[64])
    with pytest.raises(ValueError, match="lr"):
        ga.create("measure", f"{PLUGIN}/coordinate_check", lr=0)
    meas = ga.create("measure", f"{PLUGIN}/coordinate_check", widths=[16, 32], steps=1)
    with pytest.raises(ValueError, match="data="):
        meas(None, {"X": np.zeros((3, 2))})
    with pytest.raises(TypeError, match="integer class ids"):
        meas(None, {"X": np.zeros((3, 2)), "y": np.zeros(3)})


def test_pipeline_runs(tmp_path):
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        text = spec.read_text().replace("encoder: mup", f"encoder: {PLUGIN}/mup").replace("measure: coordinate_check", f"measure: {PLUGIN}/coordinate_check")
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        for label, r in res.metrics["models"].items():
            assert r["accuracy"] > 0.8, (label, r)
