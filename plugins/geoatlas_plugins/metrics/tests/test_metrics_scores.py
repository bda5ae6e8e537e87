"""roc_auc and logloss: scikit-learn agreement (binary and multiclass), conventions, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss, roc_auc_score

import geoatlas as ga
from geoatlas.testing import check_metric


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
def test_binary_equal_sklearn_and_pass_check_metric(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    logits = 1.5 * (2 * y - 1) + rng.normal(size=400)
    p = 1 / (1 + np.exp(-logits))
    noise = rng.random(400)
    auc, ll = ga.create("metric", "roc_auc"), ga.create("metric", "logloss")
    check_metric(auc, y, logits, reference=roc_auc_score, worse=noise, atol=1e-12)
    check_metric(auc, y, np.round(p, 1), reference=roc_auc_score, atol=1e-12)  # many ties
    check_metric(ll, y, p, reference=log_loss, worse=noise, atol=1e-12)
    two = np.stack([1 - p, p], 1)  # (n, 2) columns are classes 0 and 1
    assert abs(auc(y, two) - roc_auc_score(y, p)) <= 1e-12
    assert abs(ll(y, two) - log_loss(y, two)) <= 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_equal_sklearn_ovr_macro(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 3 + seed
    y = rng.integers(0, k, 300)
    p = _softmax(rng.normal(size=(300, k)) + 2.0 * np.eye(k)[y])
    worse = _softmax(rng.normal(size=(300, k)))
    check_metric(ga.create("metric", "roc_auc"), y, p, reference=lambda t, s: roc_auc_score(t, s, multi_class="ovr"), worse=worse, atol=1e-12)
    check_metric(ga.create("metric", "logloss"), y, p, reference=lambda t, s: log_loss(t, s, labels=np.arange(k)), worse=worse, atol=1e-12)


def test_logloss_clips_like_sklearn() -> None:
    y = np.array([0, 1, 1, 0, 2])
    p = np.array([[1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])  # two certain mistakes
    ll = ga.create("metric", "logloss")
    assert np.isfinite(ll(y, p))
    assert abs(ll(y, p) - log_loss(y, p)) <= 1e-12
    assert abs(ll([0, 1], [0.0, 1.0]) - log_loss([0, 1], [0.0, 1.0])) <= 1e-12
    eps = np.finfo(np.float64).eps
    assert ll([1, 0], [0.0, 1.0]) == pytest.approx(-np.log(eps))


def test_label_conventions() -> None:
    auc, ll = ga.create("metric", "roc_auc"), ga.create("metric", "logloss")
    rng = np.random.default_rng(0)
    s = rng.random(50)
    y01 = (rng.random(50) < s).astype(int)
    # two arbitrary labels: the larger is positive (scikit-learn's convention)
    for labels in (np.array([-1, 1]), np.array(["neg", "pos"]), np.array([2.0, 5.0])):
        assert abs(auc(labels[y01], s) - auc(y01, s)) <= 1e-15
        assert abs(ll(labels[y01], s) - ll(y01, s)) <= 1e-15
    assert auc(y01.astype(bool), s) == auc(y01, s)
    # only one class in a 0/1 test set: log-loss is defined, AUC is not
    assert ll(np.ones(5, dtype=int), np.full(5, 0.8)) == pytest.approx(-np.log(0.8))
    with pytest.raises(ValueError, match="only one class"):
        auc(np.ones(5, dtype=int), rng.random(5))
    # class ids 0..k-1 tolerate a class missing from the test set: the macro mean skips it
    y = np.array([0, 0, 1, 1, 3, 3])
    p = _softmax(rng.normal(size=(6, 4)))
    per_class = [roc_auc_score(y == j, p[:, j]) for j in (0, 1, 3)]
    assert auc(y, p) == pytest.approx(np.mean(per_class), abs=1e-12)
    assert ll(y, p) == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), abs=1e-12)
    # labels that are not ids 0..k-1 are matched to the columns in sorted order
    assert auc(y + 10, p[:, [0, 1, 3]]) == pytest.approx(auc(np.array([0, 0, 1, 1, 2, 2]), p[:, [0, 1, 3]]))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(4, 40))
def test_auc_is_rank_based_and_flips(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    s = rng.normal(size=n)
    auc = ga.create("metric", "roc_auc")
    value = auc(y, s)
    assert 0.0 <= value <= 1.0
    assert auc(y, np.exp(3 * s) + 1) == pytest.approx(value, abs=1e-12)  # monotone maps keep it
    assert auc(1 - y, s) == pytest.approx(1 - value, abs=1e-12)
    assert value == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_declarations() -> None:
    for name, higher in (("roc_auc", True), ("logloss", False)):
        metric = ga.create("metric", name)
        assert metric.tasks == ("classification", "ranking", "link_prediction")
        assert metric.higher_is_better is higher and metric.input == "scores"


@pytest.mark.parametrize("name", ["roc_auc", "logloss"])
def test_bad_input_raises_clear_errors(name: str) -> None:
    metric = ga.create("metric", name)
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.7, 0.6, 0.4])
    with pytest.raises(ValueError, match="4 samples but y_pred has 3"):
        metric(y, p[:3])
    with pytest.raises(ValueError, match="0 samples"):
        metric(np.array([], dtype=int), np.array([]))
    with pytest.raises(ValueError, match="NaN"):
        metric(y, np.array([0.2, np.nan, 0.6, 0.4]))
    with pytest.raises(ValueError, match="NaN"):
        metric(np.array([0, 1, np.nan, 0]), p)
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, k\)"):
        metric(y, np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="3 columns"):  # labels 0..4 do not fit 3 columns
        metric(np.array([0, 1, 4, 2]), np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="binary"):  # (n,) scores with three classes
        metric(np.array([0, 1, 2, 2]), p)
    with pytest.raises(ValueError, match="None"):
        metric(None, p)


def test_logloss_rejects_non_probabilities() -> None:
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        ga.create("metric", "logloss")([0, 1], [-0.5, 2.0])
