"""Issue 21, class 4: no silent wrong answers through the Python API.

The core checks at the component boundaries (``geoatlas.validation``): Manifold public ops,
Encoder inputs, constructor parameters (at construction and in ``validate``), Group.sample.
"""

from __future__ import annotations

import math

import pytest
import torch

import geoatlas as ga
from geoatlas import validation
from geoatlas.errors import SpecError
from geoatlas.pipeline import Pipeline

NAN = float("nan")


# ---------------------------------------------------------------------------- manifolds
@pytest.fixture
def ball():
    return ga.create("manifold", "poincare_ball", dim=2)


@pytest.mark.parametrize("op,args", [
    ("dist", ([[0.1, 0.2]], [[1.5, 0.0]])),
    ("dist", ([[1.0, 0.0]], [[0.0, 0.0]])),          # on the boundary: not in the open ball
    ("dist2", ([[0.0, 0.0]], [[0.8, 0.8]])),         # norm 1.13
    ("logmap", ([[0.0, 0.0]], [[-2.0, 0.0]])),
    ("logmap0", ([[0.0, 3.0]],)),
    ("expmap", ([[0.0, 1.2]], [[0.1, 0.1]])),
])
def test_points_outside_the_ball_are_refused(ball, op: str, args: tuple) -> None:
    with pytest.raises(ValueError, match="not inside the Poincaré ball"):
        getattr(ball, op)(*[torch.tensor(a) for a in args])


@pytest.mark.parametrize("op,args", [
    ("expmap0", ([[NAN, 0.0]],)),
    ("expmap0", ([[math.inf, 0.0]],)),
    ("expmap", ([[0.1, 0.1]], [[0.0, NAN]])),
    ("dist", ([[NAN, 0.1]], [[0.0, 0.0]])),
    ("logmap0", ([[0.1, -math.inf]],)),
])
def test_nan_and_inf_are_refused(ball, op: str, args: tuple) -> None:
    with pytest.raises(ValueError, match="NaN or Inf"):
        getattr(ball, op)(*[torch.tensor(a) for a in args])


def test_smaller_ball_for_larger_curvature() -> None:
    ball = ga.create("manifold", "poincare_ball", dim=2, c=4.0)  # radius 1/2
    x = torch.tensor([[0.6, 0.0]])
    with pytest.raises(ValueError, match="radius 1/sqrt\\(c\\) = 0.5"):
        ball.logmap0(x)
    assert torch.isfinite(ball.logmap0(torch.tensor([[0.49, 0.0]]))).all()


def test_valid_points_pass_and_match_the_closed_form(ball) -> None:
    """Control: points inside (including close to the boundary) are accepted, and the distance
    is the closed form d(0, x) = 2 artanh(|x|)."""
    for r in (0.0, 0.3, 0.9, 0.999):
        x = torch.tensor([[r, 0.0]], dtype=torch.float64)
        d = ball.dist(torch.zeros_like(x), x)
        assert torch.allclose(d, torch.tensor([2 * math.atanh(r)], dtype=torch.float64), atol=1e-6)
    # geoopt's own outputs (expmap0 of a huge vector, projected) are accepted downstream
    far = ball.expmap0(torch.tensor([[50.0, 0.0]]))
    assert torch.isfinite(ball.dist(far, torch.zeros_like(far))).all()


def test_the_switch_turns_data_checks_off(ball, monkeypatch: pytest.MonkeyPatch) -> None:
    y = torch.tensor([[1.5, 0.0]])
    with validation.checks(False):
        assert torch.isfinite(ball.dist(torch.zeros(1, 2), y)).all()  # the unchecked answer (garbage)
    with pytest.raises(ValueError):
        ball.dist(torch.zeros(1, 2), y)  # back on after the block
    monkeypatch.setenv("GEOATLAS_CHECKS", "0")
    assert not validation.enabled()
    assert torch.isfinite(ball.dist(torch.zeros(1, 2), y)).all()
    with validation.checks(True):
        with pytest.raises(ValueError):
            ball.dist(torch.zeros(1, 2), y)


@pytest.mark.parametrize("name,kwargs", [("sphere", {}), ("euclidean", {}), ("lorentz", {}), ("stiefel", {})])
def test_every_manifold_refuses_nan(name: str, kwargs: dict) -> None:
    m = ga.create("manifold", name, **kwargs)
    x = m.random_point(3, generator=torch.Generator().manual_seed(0))
    u = torch.zeros_like(x).contiguous()
    assert torch.isfinite(m.expmap(x, u)).all()  # control
    u.view(-1)[0] = NAN
    with pytest.raises(ValueError, match="NaN or Inf"):
        m.expmap(x, u)
    bad = x.clone().contiguous()
    bad.view(-1)[-1] = math.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        m.expmap(bad, torch.zeros_like(x))


# ---------------------------------------------------------------------------- encoders
@pytest.fixture
def mlp():
    return ga.create("encoder", "mlp", in_features=4, out_features=2)


@pytest.mark.parametrize("x,exc,match", [
    (torch.full((3, 4), NAN), ValueError, "NaN or Inf"),
    (torch.tensor([[0.0, 1.0, math.inf, 0.0]]), ValueError, "NaN or Inf"),
    (torch.zeros(0, 4), ValueError, "empty batch"),
    (torch.zeros(3, 4, dtype=torch.long), TypeError, "floating-point"),
    (torch.zeros(3, 4, dtype=torch.bool), TypeError, "floating-point"),
    (torch.zeros(3, 5), ValueError, "expects 4 input features"),
    (torch.tensor(1.0), ValueError, "scalar"),
])
def test_mlp_inputs(mlp, x: torch.Tensor, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        mlp(x)


def test_cnn_inputs() -> None:
    cnn = ga.create("encoder", "cnn", in_channels=1, num_classes=3)
    assert cnn(torch.zeros(2, 1, 8, 8)).shape == (2, 3)  # control
    for x, match in ((torch.zeros(2, 3, 8, 8), "input channels"), (torch.zeros(0, 1, 8, 8), "empty"),
                     (torch.full((1, 1, 8, 8), NAN), "NaN")):
        with pytest.raises(ValueError, match=match):
            cnn(x)


@pytest.mark.parametrize("kwargs,match", [
    ({"in_features": 10**12, "out_features": 2}, "in_features"),
    ({"in_features": 4, "out_features": 2, "hidden": [-5]}, "hidden"),
    ({"in_features": 4, "out_features": 2, "hidden": [0, 3]}, "hidden"),
    ({"in_features": 4, "out_features": 0}, "out_features"),
    ({"in_features": 4, "out_features": 2, "dropout": 1.5}, "dropout"),
    ({"in_features": 10**6, "out_features": 2, "hidden": [10**5]}, "weights"),
    ({"in_features": "four", "out_features": 2}, "in_features"),
])
def test_absurd_or_wrong_parameters_fail_before_allocation(kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        ga.create("encoder", "mlp", **kwargs)


# ---------------------------------------------------------------------------- datasets
@pytest.mark.parametrize("name,kwargs,param", [
    ("sklearn_digits", {"n_samples": -5}, "n_samples"),
    ("sklearn_digits", {"n_samples": 0}, "n_samples"),
    ("shapes_3d", {"n_per_class": -1}, "n_per_class"),
    ("manifold_samples", {"outliers": 1.0}, "outliers"),
    ("graph_families", {"n_nodes": 10**9}, "n_nodes"),
    ("synthetic_ctr", {"n_samples": -3}, "n_samples"),
    ("periodic_series", {"length": 0}, "length"),
])
def test_dataset_parameters_at_construction_and_validation(name: str, kwargs: dict, param: str) -> None:
    with pytest.raises((ValueError, TypeError), match=param):
        ga.create("dataset", name, **kwargs)
    spec = {"name": "t", "data": {"dataset": name, "params": kwargs}, "model": {"classifier": "logistic_regression"}}
    with pytest.raises(SpecError) as info:
        Pipeline.from_dict(spec).validate()
    assert any(f"data.params.{param}" in p and repr(param) in p for p in info.value.problems), info.value.problems


def test_digits_n_samples_control() -> None:
    assert len(ga.create("dataset", "sklearn_digits", n_samples=50).load()) == 50


@pytest.mark.parametrize("params,param", [
    ({"hidden": [-5]}, "hidden"),
    ({"hidden": [16, 0]}, "hidden"),
    ({"hidden": "lots"}, "hidden"),
    ({"dropout": 2.0}, "dropout"),
    ({"in_features": 10**12}, "in_features"),
])
def test_encoder_parameters_fail_at_validation_with_their_name(params: dict, param: str) -> None:
    spec = {"name": "t", "data": {"dataset": "sklearn_digits"}, "model": {"encoder": "mlp", "params": params}}
    with pytest.raises(SpecError) as info:
        Pipeline.from_dict(spec).validate()
    assert any(f"model.params.{param}" in p and "baselines/mlp" in p for p in info.value.problems), info.value.problems


def test_validate_params_hook_is_called_by_validate_and_construction() -> None:
    """The per-component hook (rules that involve several parameters) runs in both places."""
    from geoatlas.interfaces import Dataset

    class Pair(Dataset):
        def __init__(self, low: int = 0, high: int = 1) -> None:
            self.low, self.high = low, high

        @classmethod
        def validate_params(cls, params: dict) -> list[str]:
            lo, hi = params.get("low", 0), params.get("high", 1)
            return [f"high: must be greater than low ({lo}), got {hi}"] if hi <= lo else []

        def load(self):  # pragma: no cover
            raise NotImplementedError

    assert validation.param_problems(Pair, {"low": 3, "high": 2}) == {"high": "must be greater than low (3), got 2"}
    assert validation.param_problems(Pair, {"low": 1, "high": 2}) == {}
    with pytest.raises(ValueError, match="Pair: parameter 'high' must be greater than low"):
        Pair(low=3, high=2)


# ---------------------------------------------------------------------------- groups
@pytest.mark.parametrize("n,exc", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError), (10**12, ValueError)])
@pytest.mark.parametrize("group", ["so3", "so2", "permutations", "translations"])
def test_group_sample_n(group: str, n: object, exc: type) -> None:
    kwargs = {"n": 4} if group == "permutations" else ({"dim": 3} if group == "translations" else {})
    try:
        g = ga.create("group", group, **kwargs)
    except TypeError:
        g = ga.create("group", group)
    assert len(g.sample(2)) == 2  # control
    with pytest.raises(exc, match="sample: n"):
        g.sample(n)


def test_digits_n_samples_beyond_the_data_is_an_error() -> None:
    with pytest.raises(ValueError, match="n_samples=5000 but sklearn's digits has only 1797"):
        ga.create("dataset", "sklearn_digits", n_samples=5000).load()


@pytest.mark.parametrize("y_column", [5, -6])
def test_local_csv_y_column_out_of_range(tmp_path, y_column: int) -> None:
    p = tmp_path / "d.csv"
    p.write_text("1,2,3,0\n4,5,6,1\n")
    with pytest.raises(ValueError, match=f"y_column={y_column}"):
        ga.create("dataset", "local_arrays", path=str(p), y_column=y_column).load()
    assert len(ga.create("dataset", "local_arrays", path=str(p), y_column=-1).load()) == 2  # control


@pytest.mark.parametrize("dtype", [torch.long, torch.int32, torch.bool])
def test_manifold_ops_refuse_integer_tensors(ball, dtype: torch.dtype) -> None:
    x = torch.zeros(2, 2, dtype=dtype)
    with pytest.raises(TypeError, match="floating-point"):
        ball.dist(x, x)
    with pytest.raises(TypeError, match="floating-point"):
        ball.expmap0(x)
