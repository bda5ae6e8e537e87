"""The forecasting task: windows, the chronological split, train-only scaling, end to end."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.errors import SpecError
from geoatlas.interfaces import DataBundle
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task


def _bundle(X):
    return DataBundle(np.asarray(X, dtype=np.float64), None, "series", "forecasting")


def _task(**kw):
    return ga.create("task", "forecasting", **kw)


def test_windows_hand_computed():
    # T = 10, test 0.3 -> the last 3 steps (7, 8, 9) are the test part; L = 3, H = 2
    s = _task(input_length=3, horizon=2, scale=False).split(_bundle(np.arange(10.0)), SplitSpec(test=0.3), 0)
    assert s["train_end"] == 7
    np.testing.assert_array_equal(s["X_train"][..., 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(s["y_train"][..., 0], [[3, 4], [4, 5], [5, 6]])
    np.testing.assert_array_equal(s["X_test"][..., 0], [[4, 5, 6], [5, 6, 7]])  # context from the train part
    np.testing.assert_array_equal(s["y_test"][..., 0], [[7, 8], [8, 9]])
    assert s["n_train"] == 3 and s["n_test"] == 2 and s["X_train"].shape == (3, 3, 1) and s["y_test"].shape == (2, 2, 1)
    # stride 2 and two channels (channel 1 = 100 + channel 0)
    two = np.stack([np.arange(12.0), 100 + np.arange(12.0)], 1)
    s = _task(input_length=2, horizon=1, stride=2, scale=False).split(_bundle(two), SplitSpec(test=0.25), 0)
    np.testing.assert_array_equal(s["starts_train"], [0, 2, 4, 6])  # train part: steps 0..8
    np.testing.assert_array_equal(s["starts_test"], [7, 9])  # test targets 9..11: starts 7..9 by 2
    np.testing.assert_array_equal(s["X_train"][1], [[2, 102], [3, 103]])
    np.testing.assert_array_equal(s["y_train"][1], [[4, 104]])
    np.testing.assert_array_equal(s["y_test"][:, 0], [[9, 109], [11, 111]])
    np.testing.assert_array_equal(s["X_test"][1], [[9, 109], [10, 110]])


@settings(max_examples=25, deadline=None)
@given(T=st.integers(20, 120), L=st.integers(1, 10), H=st.integers(1, 6), stride=st.integers(1, 4), test=st.floats(0.15, 0.6))
def test_no_leakage_across_the_chronological_split(T, L, H, stride, test):
    n_test = int(round(test * T))
    if n_test < H or T - n_test < L + H:
        return
    # values are the time indices, so each window says which steps it read
    s = _task(input_length=L, horizon=H, stride=stride, scale=False).split(_bundle(np.arange(float(T))), SplitSpec(test=test), 0)
    end = s["train_end"]
    assert end == T - n_test
    assert s["y_train"].max() < end <= s["y_test"].min()  # every test target after every train target
    assert s["X_train"].max() < end  # train windows never read the test part
    assert (s["X_test"].max(axis=(1, 2)) < s["y_test"].min(axis=(1, 2))).all()  # inputs are the past of their targets
    assert (s["y_test"][:, 0, 0] - s["X_test"][:, -1, 0] == 1).all()
    assert s["y_test"].max() <= T - 1 and s["X_test"].min() >= end - L
    # windows are as many as fit
    assert s["n_train"] == len(range(0, end - L - H + 1, stride))
    assert s["n_test"] == len(range(end - L, T - L - H + 1, stride))


def test_scaling_uses_the_train_part_only():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal([3.0, -2.0], [2.0, 0.5], size=(150, 2)), rng.normal(50.0, 10.0, size=(50, 2))])
    task = _task(input_length=8, horizon=4)
    s = task.split(_bundle(X), SplitSpec(test=0.25), 0)
    np.testing.assert_allclose(s["mean"], X[:150].mean(0), atol=1e-12)
    np.testing.assert_allclose(s["std"], X[:150].std(0), atol=1e-12)
    np.testing.assert_allclose(s["X_train"][0], (X[:8] - X[:150].mean(0)) / X[:150].std(0), atol=1e-5)
    # changing the test part changes nothing on the train side
    X2 = X.copy()
    X2[150:] *= -7
    s2 = task.split(_bundle(X2), SplitSpec(test=0.25), 0)
    np.testing.assert_array_equal(s["X_train"], s2["X_train"])
    np.testing.assert_array_equal(s["mean"], s2["mean"])
    # a constant channel keeps scale 1
    s3 = task.split(_bundle(np.stack([np.ones(60), np.arange(60.0)], 1)), SplitSpec(test=0.25), 0)
    assert s3["std"][0] == 1.0 and np.isfinite(s3["X_train"]).all()


def test_check_task_and_determinism():
    b = ga.create("dataset", "periodic_series", length=300, seed=0).load()
    rep = check_task(_task(input_length=24, horizon=6), b, SplitSpec(test=0.2), seed=0)
    assert rep == {"n_train": 240 - 30 + 1, "n_test": 60 - 6 + 1}
    # the seed does not matter for a chronological split
    a = _task(input_length=24, horizon=6).split(b, SplitSpec(test=0.2), 0)
    c = _task(input_length=24, horizon=6).split(b, SplitSpec(test=0.2), 7)
    np.testing.assert_array_equal(a["X_test"], c["X_test"])


@pytest.mark.parametrize("params,match", [
    ({"horizon": 0}, "horizon must be a positive integer"),
    ({"input_length": -1}, "input_length"),
    ({"stride": 0}, "stride"),
    ({"horizon": 2.5}, "horizon must be an integer"),
    ({"scale": "yes"}, "scale"),
])
def test_bad_params_at_creation(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _task(**params)


def test_bad_series_and_lengths():
    b = _bundle(np.arange(50.0))
    with pytest.raises(ValueError, match=r"input_length \(96\) must be shorter than the series \(50 steps\)"):
        _task().split(b, SplitSpec(test=0.25), 0)
    with pytest.raises(ValueError, match="fewer than the horizon"):
        _task(input_length=5, horizon=20).split(b, SplitSpec(test=0.2), 0)
    with pytest.raises(ValueError, match="train part has"):
        _task(input_length=30, horizon=10).split(b, SplitSpec(test=0.4), 0)
    with pytest.raises(ValueError, match="NaN"):
        _task(input_length=5, horizon=2).split(_bundle([1.0, np.nan] * 20), SplitSpec(test=0.25), 0)
    with pytest.raises(ValueError, match=r"\(T, C\)"):
        _task(input_length=5, horizon=2).split(_bundle(np.zeros((4, 4, 4))), SplitSpec(test=0.25), 0)


SPEC = {
    "name": "forecast_test", "seed": 0,
    "data": {"dataset": "periodic_series", "params": {"n_channels": 2, "length": 400, "noise": 0.05}, "split": {"test": 0.25}},
    "task": {"name": "forecasting", "params": {"input_length": 48, "horizon": 8}},
    "models": {"linear": {"encoder": "linear_forecaster"}, "ridge": {"classifier": "ridge", "params": {"alpha": 1.0}}},
    "train": {"epochs": 15, "batch_size": 32, "lr": 0.01}, "plots": False,
}


def test_pipeline_linear_beats_naive_on_periodic_data(tmp_path):
    res = ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False)
    m = res.metrics
    assert m["task"] == "forecasting" and m["data"]["n_test"] == 100 - 8 + 1
    for label in ("linear", "ridge"):
        r = m["models"][label]
        assert len(r["mse_by_horizon"]) == len(r["mae_by_horizon"]) == 8
        assert np.mean(r["mse_by_horizon"]) == pytest.approx(r["mse"], abs=1e-5)
        assert np.mean(r["mae_by_horizon"]) == pytest.approx(r["mae"], abs=1e-5)
        assert r["mse"] < 0.2 * r["naive_mse"], r
    # the trained encoder got the task's window sizes
    model = res.models["linear"]
    assert (model.input_length, model.horizon, model.n_channels) == (48, 8, 2)


def test_pipeline_spec_errors_are_clear(tmp_path):
    def problems(spec):
        with pytest.raises(SpecError) as e:
            ga.Pipeline.from_dict(spec).validate()
        return str(e.value)

    wrong_data = {**SPEC, "data": {"dataset": "sklearn_iris"}}
    assert "takes series data, not 'vector'" in problems(wrong_data)
    typo = {**SPEC, "task": {"name": "forecasting", "params": {"horizn": 8}}}
    assert "Did you mean 'horizon'" in problems(typo)
    bad_metric = {**SPEC, "evaluate": {"metrics": ["accuracy"]}}
    assert "metric 'accuracy' does not apply to task 'forecasting'" in problems(bad_metric)
    # horizon <= 0 passes the schema (an int) but fails when the task is created
    neg = {**SPEC, "task": {"name": "forecasting", "params": {"input_length": 48, "horizon": 0}}}
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        ga.Pipeline.from_dict(neg).run(runs_root=tmp_path, progress=False)
    svc = {**SPEC, "models": {"svr": {"classifier": "svc"}}}
    with pytest.raises(ValueError, match="cannot predict 16 values at once"):
        ga.Pipeline.from_dict(svc).run(runs_root=tmp_path, progress=False)
