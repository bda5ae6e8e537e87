"""mrr and hits_at_k: scikit-learn agreement through scores of candidates, y_true=None, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import label_ranking_average_precision_score, top_k_accuracy_score

import geoatlas as ga
from geoatlas.testing import check_metric

NAMES = ("mrr", "hits_at_1", "hits_at_3", "hits_at_10")


def _queries(seed: int, n: int = 200, k: int = 30, signal: float = 1.0):
    """Scores of ``k`` candidates for ``n`` queries, the true candidate of each, and its 1-based rank."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    scores = rng.normal(size=(n, k))
    scores[np.arange(n), true] += signal
    ranks = 1 + (scores > scores[np.arange(n), true][:, None]).sum(1)  # continuous scores: no ties
    return true, scores, ranks


@pytest.mark.parametrize("seed", range(3))
def test_equal_sklearn_and_pass_check_metric(seed: int) -> None:
    true, scores, ranks = _queries(seed, signal=2.0)
    _, _, worse = _queries(seed + 100, signal=0.0)
    k = scores.shape[1]
    onehot = np.eye(k, dtype=int)[true]
    refs = {
        # one relevant item per query: the label-ranking average precision is the mean of 1/rank
        "mrr": lambda t, r: label_ranking_average_precision_score(onehot, scores),
        "hits_at_1": lambda t, r: top_k_accuracy_score(true, scores, k=1, labels=np.arange(k)),
        "hits_at_3": lambda t, r: top_k_accuracy_score(true, scores, k=3, labels=np.arange(k)),
        "hits_at_10": lambda t, r: top_k_accuracy_score(true, scores, k=10, labels=np.arange(k)),
    }
    for name in NAMES:
        report = check_metric(ga.create("metric", name), true, ranks, reference=refs[name], worse=worse, atol=1e-12)
        assert report["error"] <= 1e-12


def test_known_values_and_y_true_none() -> None:
    ranks = np.array([1, 2, 3, 4, 10, 11, 1.5])  # 1.5: the true item tied with one other for first
    expected = {
        "mrr": np.mean(1 / ranks),
        "hits_at_1": 1 / 7,
        "hits_at_3": 4 / 7,
        "hits_at_10": 6 / 7,
    }
    for name in NAMES:
        metric = ga.create("metric", name)
        assert metric(None, ranks) == pytest.approx(expected[name], abs=1e-15)
        assert metric(None, ranks.reshape(-1, 1)) == metric(None, ranks)
        assert metric(None, [1] * 5) == 1.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_ordering_and_bounds(ranks: list[int]) -> None:
    r = np.array(ranks)
    mrr, h1, h3, h10 = (ga.create("metric", n)(None, r) for n in NAMES)
    assert 0 < mrr <= 1
    assert 0 <= h1 <= h3 <= h10 <= 1
    assert h1 <= mrr  # 1/rank is 1 for hits at 1 and positive otherwise
    assert mrr == pytest.approx(sum(1 / x for x in ranks) / len(ranks), abs=1e-12)


def test_declarations() -> None:
    for name in NAMES:
        metric = ga.create("metric", name)
        assert metric.tasks == ("link_prediction",) and metric.higher_is_better and metric.input == "ranks"


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_clear_errors(name: str) -> None:
    metric = ga.create("metric", name)
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        metric([0, 0, 0], [1, 2])
    with pytest.raises(ValueError, match="0 samples"):
        metric(None, [])
    with pytest.raises(ValueError, match="NaN"):
        metric(None, [1.0, np.nan])
    with pytest.raises(ValueError, match="1-based"):
        metric(None, [0, 1, 2])
    with pytest.raises(ValueError, match="1-D"):
        metric(None, np.ones((3, 2)))
    with pytest.raises(ValueError, match="None"):
        metric(None, None)
    with pytest.raises(TypeError, match="numbers"):
        metric(None, ["a", "b"])
