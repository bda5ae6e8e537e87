"""Ranking metrics of link prediction: mean reciprocal rank and Hits@k.

``y_pred`` is the ``"ranks"`` prediction: for each test query (a held-out edge or triple), the
1-based rank of the true item among its candidates (1 = ranked first). Ranks may be fractional
where a task averages the ranks of tied candidates. ``y_true`` is not used and may be ``None``;
when it is given, its length must match the number of ranks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Metric

from ._inputs import per_sample_values


def _ranks(y_true: Any, y_pred: Any) -> np.ndarray:
    """The ranks as a float64 vector, after shape, length and value checks."""
    r = per_sample_values(y_true, y_pred, noun="ranks", each="one rank per query",
                          need="a ranking metric needs the ranks of the true items")
    if not np.isfinite(r).all():
        raise ValueError("ranks contain NaN or Inf values")
    if r.min() < 1:
        raise ValueError(f"ranks are 1-based (1 = ranked first), got a rank of {r.min():g}")
    return r


class MRR(Metric):
    """Mean reciprocal rank: ``mean(1 / rank)``, in (0, 1]."""

    tasks: ClassVar[tuple[str, ...]] = ("link_prediction",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "ranks"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return float(np.mean(1.0 / _ranks(y_true, y_pred)))


class _HitsAtK(Metric):
    """Fraction of queries whose true item is ranked in the top ``k`` (``rank <= k``)."""

    tasks: ClassVar[tuple[str, ...]] = ("link_prediction",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "ranks"
    k: ClassVar[int] = 1

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return float(np.mean(_ranks(y_true, y_pred) <= self.k))


class HitsAt1(_HitsAtK):
    """Fraction of queries whose true item is ranked first."""

    k = 1


class HitsAt3(_HitsAtK):
    """Fraction of queries whose true item is ranked in the top 3."""

    k = 3


class HitsAt10(_HitsAtK):
    """Fraction of queries whose true item is ranked in the top 10."""

    k = 10
