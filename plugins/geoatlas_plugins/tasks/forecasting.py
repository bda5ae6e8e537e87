"""Forecasting: input/target windows cut from one multichannel series, split chronologically."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Task, TaskOutput

#: scikit-learn regressors (``classifier:`` names) that predict several outputs at once
MULTI_OUTPUT = ("ridge", "knn", "random_forest")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"forecasting task: {name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"forecasting task: {name} must be a positive integer, got {value}")
    return int(value)


def as_series(X: Any) -> np.ndarray:
    """A series as a finite float64 ``(T, C)`` array (a 1-D series becomes ``(T, 1)``)."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"a series must be a (T, C) array (or (T,) for one channel), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"the series is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ValueError("the series contains NaN or Inf values; fill or drop them first")
    return arr


def windows(series: np.ndarray, starts: np.ndarray, input_length: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``series[s : s + input_length]`` and targets ``series[s + input_length : s +
    input_length + horizon]`` for each start ``s``: arrays ``(N, input_length, C)`` and
    ``(N, horizon, C)``."""
    starts = np.asarray(starts, dtype=np.int64)
    T = len(series)
    if len(starts) and (starts.min() < 0 or starts.max() + input_length + horizon > T):
        raise ValueError(f"window starts must lie in [0, {T - input_length - horizon}] for a series of {T} steps")
    steps = np.arange(input_length + horizon)
    w = series[starts[:, None] + steps[None, :]]  # (N, L + H, C)
    return np.ascontiguousarray(w[:, :input_length]), np.ascontiguousarray(w[:, input_length:])


class Forecasting(Task):
    """Multi-step forecasting of a multichannel series ``(T, C)``.

    The split is chronological: the last ``split.test`` fraction of time steps is the test
    part, the rest the train part. Train windows lie entirely in the train part; a test window
    has all its targets in the test part and may take its inputs from the ``input_length``
    steps before them (which can reach back into the train part: past context, never future
    values), so the first test target comes after every train target. Windows start every
    ``stride`` steps. Inputs are ``(N, input_length, C)``, targets ``(N, horizon, C)``.

    With ``scale=True`` each channel is standardised with the mean and standard deviation of
    the **train part only** (a constant channel keeps scale 1), as iTransformer and TimesNet
    do; models are trained and **metrics are computed on this standardised scale** (the usual
    way long-horizon benchmarks report MSE/MAE). The split dict holds the ``mean`` and
    ``std`` to undo it.

    Models are encoders mapping ``(B, input_length, C)`` to ``(B, horizon, C)`` (or any
    output with ``horizon * C`` values per sample), trained with the model's ``loss:`` or MSE
    on the targets as they are; the task fills the encoder parameters ``input_length``,
    ``horizon`` and ``n_channels``. ``classifier:`` models (``ridge``, ``knn``,
    ``random_forest``) are training-free multi-output regressors on the flattened window.
    Besides the metrics (default ``mse``, ``mae``), each model reports ``mse_by_horizon`` and
    ``mae_by_horizon`` (one value per forecast step) and the naive last-value forecast's
    ``naive_mse`` / ``naive_mae`` on the same test windows.

    Parameters
    ----------
    input_length : int
        Length ``L`` of the input window (look-back).
    horizon : int
        Number ``H`` of future steps to predict.
    stride : int
        Step between consecutive window starts.
    scale : bool
        Standardise each channel with the train part's statistics.
    """

    data_types = ("series",)
    dataset_tasks = ("forecasting",)
    default_metrics = ("mse", "mae")
    default_loss = "mse"
    model_kinds = ("encoder", "classifier")
    inferred = ("input_length", "horizon", "n_channels")

    def __init__(self, input_length: int = 96, horizon: int = 24, stride: int = 1, scale: bool = True) -> None:
        self.input_length = _positive_int("input_length", input_length)
        self.horizon = _positive_int("horizon", horizon)
        self.stride = _positive_int("stride", stride)
        if not isinstance(scale, (bool, np.bool_)):
            raise TypeError(f"forecasting task: scale must be true or false, got {scale!r}")
        self.scale = bool(scale)

    # ------------------------------------------------------------------ split
    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        series = as_series(bundle.X)
        T, C = series.shape
        L, H = self.input_length, self.horizon
        if L >= T:
            raise ValueError(f"forecasting task: input_length ({L}) must be shorter than the series ({T} steps)")
        test_frac = float(getattr(split, "test", split))
        n_test_steps = int(round(test_frac * T))
        train_end = T - n_test_steps
        if n_test_steps < H:
            raise ValueError(
                f"forecasting task: the test part has {n_test_steps} steps (test fraction {test_frac} of {T}), "
                f"fewer than the horizon ({H}); raise data.split.test or shorten the horizon"
            )
        if train_end < L + H:
            raise ValueError(
                f"forecasting task: the train part has {train_end} steps, fewer than input_length + horizon "
                f"({L} + {H}); use a shorter input_length or horizon, or a smaller data.split.test"
            )
        if self.scale:
            mean = series[:train_end].mean(0)
            std = series[:train_end].std(0)
            std = np.where(std > 0, std, 1.0)
        else:
            mean, std = np.zeros(C), np.ones(C)
        scaled = ((series - mean) / std).astype(np.float32)
        starts_tr = np.arange(0, train_end - L - H + 1, self.stride)
        starts_te = np.arange(train_end - L, T - L - H + 1, self.stride)
        Xtr, ytr = windows(scaled, starts_tr, L, H)
        Xte, yte = windows(scaled, starts_te, L, H)
        return {
            "X_train": Xtr, "y_train": ytr, "X_test": Xte, "y_test": yte,
            "n_train": len(Xtr), "n_test": len(Xte),
            "starts_train": starts_tr, "starts_test": starts_te,
            "train_end": train_end, "mean": mean, "std": std,
        }

    def inferred_params(self, data: dict[str, Any], bundle: DataBundle) -> dict[str, Any]:
        X, y = np.asarray(data["X_train"]), np.asarray(data["y_train"])
        return {"input_length": int(X.shape[1]), "horizon": int(y.shape[1]), "n_channels": int(X.shape[2])}

    # ------------------------------------------------------------------ fit
    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        ytr = np.asarray(data["y_train"])
        n_out = int(np.prod(ytr.shape[1:]))
        target_shape = ytr.shape[1:]
        if model.encoder is None:
            if model.classifier not in MULTI_OUTPUT:
                raise ValueError(
                    f"forecasting task: classifier {model.classifier!r} cannot predict {n_out} values at once; "
                    f"use one of {', '.join(MULTI_OUTPUT)}"
                )
            est = ctx.fit_estimator(model, data["X_train"], ytr.reshape(len(ytr), -1), "regression")

            def predict_est(X: Any) -> dict[str, Any]:
                out = np.asarray(est.predict(ctx.flatten(X)), dtype=np.float64)
                return {"labels": out.reshape((len(out), *target_shape))}

            predict, fitted, history = predict_est, est, []
        else:
            enc = ctx.build_encoder(model, data)
            loss = ctx.make_loss(model.loss, self.default_loss)
            trainer = ctx.train(label, enc, data["X_train"], ytr, data_type=data["data_type"], targets="raw", loss=loss,
                                train=ctx.train_spec(model))

            def predict_enc(X: Any) -> dict[str, Any]:
                out = trainer.outputs(X)
                if out.shape[1] != n_out:
                    raise ValueError(
                        f"forecasting task: {model.encoder} returned {out.shape[1]} values per window, "
                        f"expected horizon * channels = {n_out} (shape {tuple(target_shape)})"
                    )
                return {"labels": out.reshape((len(out), *target_shape))}

            predict, fitted, history = predict_enc, enc, trainer.history
        yte = np.asarray(data["y_test"], dtype=np.float64)
        extra = horizon_errors(yte, predict(data["X_test"])["labels"])
        naive = naive_forecast(np.asarray(data["X_test"]), self.horizon)
        extra["naive_mse"] = round(float(np.mean((yte - naive) ** 2)), 6)
        extra["naive_mae"] = round(float(np.mean(np.abs(yte - naive))), 6)
        return TaskOutput(fitted, predict, data["y_test"], history, extra)


def naive_forecast(X: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value of each channel, repeated ``horizon`` times: ``(N, horizon, C)``."""
    X = np.asarray(X, dtype=np.float64)
    return np.repeat(X[:, -1:, :], horizon, axis=1)


def horizon_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, list[float]]:
    """MSE and MAE at each forecast step (averaged over windows and channels)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    err = y_pred - y_true
    return {
        "mse_by_horizon": [round(float(v), 6) for v in (err**2).mean(axis=(0, 2))],
        "mae_by_horizon": [round(float(v), 6) for v in np.abs(err).mean(axis=(0, 2))],
    }
