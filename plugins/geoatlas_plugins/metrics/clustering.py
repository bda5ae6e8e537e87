"""Clustering metrics: normalized mutual information, adjusted Rand index, cluster accuracy.

All three compare a partition of the test samples (cluster ids, ``y_pred``) with the true
classes (``y_true``). Labels may be any hashable values (ints, strings); only the partition they
induce matters, so the values are invariant under relabelling of clusters (and, for NMI and ARI,
symmetric in their two arguments).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Metric

_AVERAGES = ("arithmetic", "geometric", "min", "max")


def _as_labels(a: Any, what: str) -> np.ndarray:
    """A 1-D label array (``(n,)`` or ``(n, 1)``), without NaN/Inf."""
    if a is None:
        raise ValueError(f"{what} is None; a clustering metric needs labels")
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of labels, got shape {arr.shape}")
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return arr


def _codes(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both labelings as integer codes ``0..k-1`` after shape, length and value checks."""
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("cannot evaluate a metric on 0 samples")
    return np.unique(t, return_inverse=True)[1].ravel(), np.unique(p, return_inverse=True)[1].ravel()


def contingency(y_true: Any, y_pred: Any) -> np.ndarray:
    """The ``(n_classes, n_clusters)`` table of counts ``n_ij`` (class ``i``, cluster ``j``)."""
    t, p = _codes(y_true, y_pred)
    table = np.zeros((t.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of the distribution given by positive counts."""
    counts = counts[counts > 0].astype(np.float64)
    n = counts.sum()
    return float(-np.sum(counts / n * (np.log(counts) - np.log(n))))


class NMI(Metric):
    """Normalized mutual information ``I(Y; C) / mean(H(Y), H(C))`` of classes and clusters.

    Parameters
    ----------
    average : str
        How the two entropies are averaged in the normaliser: ``"arithmetic"`` (default, as
        scikit-learn's ``normalized_mutual_info_score``), ``"geometric"``, ``"min"`` or ``"max"``.

    Notes
    -----
    Two labelings that are both a single cluster agree perfectly (value 1); otherwise zero mutual
    information gives 0. Values lie in [0, 1].
    """

    tasks: ClassVar[tuple[str, ...]] = ("clustering",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "labels"

    def __init__(self, average: str = "arithmetic") -> None:
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {', '.join(_AVERAGES)}, got {average!r}")
        self.average = average

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        table = contingency(y_true, y_pred)
        if table.shape[0] == table.shape[1] == 1:
            return 1.0
        if table.shape[0] == 1 or table.shape[1] == 1:
            return 0.0  # one side is a single group: no information shared
        n = float(table.sum())
        rows = table.sum(1).astype(np.float64)
        cols = table.sum(0).astype(np.float64)
        i, j = np.nonzero(table)
        nij = table[i, j].astype(np.float64)
        # I = sum_ij p_ij log(p_ij / (p_i p_j)) with p = counts / n
        mi = float(np.sum(nij / n * ((np.log(nij) - np.log(rows[i])) + (np.log(n) - np.log(cols[j])))))
        mi = max(mi, 0.0)
        if mi == 0.0:
            return 0.0
        h_true, h_pred = _entropy(rows), _entropy(cols)
        if self.average == "arithmetic":
            norm = (h_true + h_pred) / 2
        elif self.average == "geometric":
            norm = float(np.sqrt(h_true * h_pred))
        elif self.average == "min":
            norm = min(h_true, h_pred)
        else:
            norm = max(h_true, h_pred)
        return float(mi / norm)


class ARI(Metric):
    """Adjusted Rand index: the Rand index of pairs, corrected for chance (Hubert & Arabie 1985).

    1 for identical partitions, about 0 for independent ones, negative for worse than chance.
    Computed in exact integer arithmetic from the pair counts, then one division.
    """

    tasks: ClassVar[tuple[str, ...]] = ("clustering",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        table = contingency(y_true, y_pred)
        n = int(table.sum())
        # ordered pairs of distinct samples: same class and same cluster, same class only, ...
        same_both = sum(int(v) * int(v) for v in table.ravel()) - n
        same_class = sum(int(v) * int(v) for v in table.sum(1)) - n
        same_cluster = sum(int(v) * int(v) for v in table.sum(0)) - n
        only_class = same_class - same_both
        only_cluster = same_cluster - same_both
        neither = n * (n - 1) - same_both - only_class - only_cluster
        if only_class == 0 and only_cluster == 0:
            return 1.0  # the same partition (this includes n = 1)
        num = 2 * (same_both * neither - only_class * only_cluster)
        den = (same_both + only_class) * (only_class + neither) + (same_both + only_cluster) * (only_cluster + neither)
        return float(num / den)


class ClusterAccuracy(Metric):
    """Accuracy after the best one-to-one matching of clusters to classes (Hungarian algorithm).

    The matching maximises the number of samples whose cluster is mapped to their class
    (``scipy.optimize.linear_sum_assignment`` on the contingency table). When there are more
    clusters than classes, the unmatched clusters count as wrong; when there are fewer, the
    unmatched classes do.
    """

    tasks: ClassVar[tuple[str, ...]] = ("clustering",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        from scipy.optimize import linear_sum_assignment

        table = contingency(y_true, y_pred)
        rows, cols = linear_sum_assignment(table, maximize=True)
        return float(table[rows, cols].sum() / table.sum())
