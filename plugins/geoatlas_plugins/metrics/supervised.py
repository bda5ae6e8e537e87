"""Classification and regression metrics (values as scikit-learn computes them)."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import Metric


def _flat2(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def _check_len(y_true: Any, y_pred: Any) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot evaluate a metric on 0 samples")


class Accuracy(Metric):
    tasks = ("classification", "representation")
    higher_is_better = True
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        _check_len(y_true, y_pred)
        return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


class MacroF1(Metric):
    tasks = ("classification", "representation")
    higher_is_better = True
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        from sklearn.metrics import f1_score

        _check_len(y_true, y_pred)
        return float(f1_score(y_true, y_pred, average="macro"))


class MSE(Metric):
    tasks = ("regression", "forecasting")
    higher_is_better = False
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        _check_len(y_true, y_pred)
        return float(np.mean((_flat2(y_true) - _flat2(y_pred)) ** 2))


class MAE(Metric):
    tasks = ("regression", "forecasting")
    higher_is_better = False
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        _check_len(y_true, y_pred)
        return float(np.mean(np.abs(_flat2(y_true) - _flat2(y_pred))))


class R2(Metric):
    tasks = ("regression", "forecasting")
    higher_is_better = True
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        from sklearn.metrics import r2_score

        _check_len(y_true, y_pred)
        return float(r2_score(_flat2(y_true), _flat2(y_pred)))
