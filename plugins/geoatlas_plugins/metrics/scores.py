"""Metrics of scores: ROC AUC and log-loss.

``y_pred`` is the ``"scores"`` prediction of a task:

- shape ``(n,)`` (or ``(n, 1)``): one score per sample for a binary problem (a click or link
  probability, or any real score for ROC AUC). The positive class is ``1`` when the labels are
  0/1 (or booleans), otherwise the larger of the two labels (as scikit-learn);
- shape ``(n, k)`` with ``k >= 2``: one column per class. Column ``j`` belongs to class id ``j``
  when the labels are integers in ``0..k-1`` (the classification task's convention, which
  tolerates classes missing from the test set); otherwise the labels must take exactly ``k``
  values, matched to the columns in sorted order.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Metric

_TASKS = ("classification", "ranking", "link_prediction")


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _inputs(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (n,), scores (n,) or (n, k))`` after shape, length and value checks."""
    if y_true is None:
        raise ValueError("y_true is None; a score metric needs the true labels")
    if y_pred is None:
        raise ValueError("y_pred is None; a score metric needs the scores")
    t = _to_numpy(y_true)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise ValueError(f"y_true must be a 1-D array of labels, got shape {t.shape}")
    if t.dtype.kind in "fc" and not np.isfinite(t).all():
        raise ValueError("y_true contains NaN or Inf values")
    s = _to_numpy(y_pred)
    if s.dtype.kind not in "biuf":
        raise TypeError(f"y_pred must hold numeric scores, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2):
        raise ValueError(f"scores must have shape (n,) or (n, k), got shape {s.shape}")
    if len(t) != len(s):
        raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(s)}")
    if len(t) == 0:
        raise ValueError("cannot evaluate a metric on 0 samples")
    if not np.isfinite(s).all():
        raise ValueError("y_pred (scores) contains NaN or Inf values")
    return t, s


def _binary_positive(t: np.ndarray) -> np.ndarray:
    """Which samples are positive, for labels with at most two values."""
    values = np.unique(t)
    if t.dtype.kind == "b" or (t.dtype.kind in "iuf" and set(values.tolist()) <= {0, 1}):
        return t.astype(np.float64) == 1
    if len(values) != 2:
        raise ValueError(
            f"scores of shape (n,) are for a binary problem, but y_true has {len(values)} distinct labels; "
            "give scores of shape (n, k) with one column per class"
        )
    return t == values[1]


def _class_ids(t: np.ndarray, k: int) -> np.ndarray:
    """The column of each sample's class in ``(n, k)`` scores."""
    if t.dtype.kind in "biuf":
        v = t.astype(np.float64)
        if np.all(v == np.round(v)) and v.min() >= 0 and v.max() < k:
            return v.astype(np.int64)
    values, codes = np.unique(t, return_inverse=True)
    if len(values) != k:
        raise ValueError(
            f"scores have {k} columns, but y_true is neither class ids in 0..{k - 1} nor {k} distinct labels "
            f"(it has {len(values)}: {values[:10].tolist()})"
        )
    return codes.ravel()


def _auc(pos: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic (ties count one half)."""
    from scipy.stats import rankdata

    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    ranks = rankdata(s)  # average ranks of tied scores
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class ROCAUC(Metric):
    """Area under the ROC curve.

    Binary scores ``(n,)`` or ``(n, 2)`` give the usual AUC (the probability that a random
    positive scores above a random negative, ties counting one half). Scores ``(n, k)`` with
    ``k > 2`` give the macro average of the one-vs-rest AUCs, over the classes that have both
    positive and negative test samples (equal to scikit-learn's ``multi_class="ovr"`` when every
    class is present). Scores need not be probabilities.
    """

    tasks: ClassVar[tuple[str, ...]] = _TASKS
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "scores"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        t, s = _inputs(y_true, y_pred)
        if s.ndim == 1:
            pos = _binary_positive(t)
            if pos.all() or not pos.any():
                raise ValueError("ROC AUC is not defined when y_true has only one class")
            return _auc(pos, s)
        ids = _class_ids(t, s.shape[1])
        if s.shape[1] == 2:
            pos = ids == 1
            if pos.all() or not pos.any():
                raise ValueError("ROC AUC is not defined when y_true has only one class")
            return _auc(pos, s[:, 1])
        aucs = [_auc(ids == j, s[:, j]) for j in range(s.shape[1]) if 0 < int((ids == j).sum()) < len(ids)]
        if not aucs:
            raise ValueError("ROC AUC is not defined when y_true has only one class")
        return float(np.mean(aucs))


class LogLoss(Metric):
    """Mean negative log-probability of the true class (binary or multiclass cross-entropy).

    Probabilities are clipped to ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon, as
    scikit-learn's ``log_loss`` does, so a confident mistake costs about 36 nats, not infinity.
    Scores ``(n,)`` are probabilities of the positive class; ``(n, k)`` rows are class
    probabilities (used as given, not renormalised). Values outside ``[0, 1]`` raise.
    """

    tasks: ClassVar[tuple[str, ...]] = _TASKS
    higher_is_better: ClassVar[bool] = False
    input: ClassVar[str] = "scores"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        t, p = _inputs(y_true, y_pred)
        if p.min() < 0 or p.max() > 1:
            raise ValueError(
                f"log-loss needs probabilities in [0, 1], got values in [{p.min():.4g}, {p.max():.4g}] "
                "(apply a sigmoid/softmax to logits)"
            )
        eps = np.finfo(np.float64).eps
        if p.ndim == 1:
            pos = _binary_positive(t)
            p_true = np.where(pos, np.clip(p, eps, 1 - eps), np.clip(1 - p, eps, 1 - eps))
        else:
            ids = _class_ids(t, p.shape[1])
            p_true = np.clip(p[np.arange(len(ids)), ids], eps, 1 - eps)
        return float(-np.mean(np.log(p_true)))
