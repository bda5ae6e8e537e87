"""nmi, ari and cluster_accuracy: scikit-learn agreement, Hungarian matching, invariances, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

import geoatlas as ga
from geoatlas.testing import check_metric

labelings = st.integers(1, 60).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n), st.lists(st.integers(0, 7), min_size=n, max_size=n))
)


def _noisy(y: np.ndarray, frac: float, k: int, rng: np.random.Generator) -> np.ndarray:
    """``y`` with a fraction of entries replaced by random labels, then relabelled by a shift."""
    out = y.copy()
    flip = rng.random(len(y)) < frac
    out[flip] = rng.integers(0, k, int(flip.sum()))
    return (out + 3) % k


@pytest.mark.parametrize("seed", range(5))
def test_nmi_ari_equal_sklearn_and_pass_check_metric(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 300)
    good, bad = _noisy(y, 0.2, 4, rng), rng.integers(0, 6, 300)
    for name, ref in (("nmi", normalized_mutual_info_score), ("ari", adjusted_rand_score)):
        report = check_metric(ga.create("metric", name), y, good, reference=ref, worse=bad, atol=1e-12)
        assert report["error"] <= 1e-12 and report["value"] > report["worse"]


@pytest.mark.parametrize("average", ["arithmetic", "geometric", "min", "max"])
def test_nmi_averages_equal_sklearn(average: str) -> None:
    rng = np.random.default_rng(7)
    y, c = rng.integers(0, 3, 200), rng.integers(0, 5, 200)
    c[:100] = y[:100]
    value = ga.create("metric", "nmi", average=average)(y, c)
    assert abs(value - normalized_mutual_info_score(y, c, average_method=average)) <= 1e-12


def test_edge_cases_match_sklearn() -> None:
    nmi, ari = ga.create("metric", "nmi"), ga.create("metric", "ari")
    cases = [
        ([0, 0, 0], [1, 1, 1]),  # one group each: perfect agreement
        ([0, 0, 0], [0, 1, 2]),  # one class, all singletons
        ([0, 1, 2], [5, 5, 5]),
        ([3], [4]),  # one sample
        (["a", "b", "a", "c"], [1, 2, 1, 2]),  # string labels
    ]
    for t, p in cases:
        assert nmi(t, p) == pytest.approx(normalized_mutual_info_score(t, p), abs=1e-12)
        assert ari(t, p) == pytest.approx(adjusted_rand_score(t, p), abs=1e-12)


def _brute_force_accuracy(t: np.ndarray, p: np.ndarray) -> float:
    """Best accuracy over every injective map of the smaller label set into the larger."""
    classes, clusters = np.unique(t), np.unique(p)
    best = 0
    if len(clusters) <= len(classes):
        for image in itertools.permutations(classes, len(clusters)):
            mapping = dict(zip(clusters, image, strict=True))
            best = max(best, sum(mapping[c] == y for c, y in zip(p, t, strict=True)))
    else:
        for image in itertools.permutations(clusters, len(classes)):
            mapping = dict(zip(image, classes, strict=True))
            best = max(best, sum(mapping.get(c) == y for c, y in zip(p, t, strict=True)))
    return best / len(t)


@pytest.mark.parametrize("k_classes,k_clusters", [(3, 3), (3, 5), (4, 2), (2, 6)])
def test_cluster_accuracy_is_the_best_matching(k_classes: int, k_clusters: int) -> None:
    rng = np.random.default_rng(k_classes * 10 + k_clusters)
    metric = ga.create("metric", "cluster_accuracy")
    for _ in range(5):
        t, p = rng.integers(0, k_classes, 40), rng.integers(0, k_clusters, 40)
        assert metric(t, p) == pytest.approx(_brute_force_accuracy(t, p), abs=1e-15)


def test_cluster_accuracy_known_values_and_check_metric() -> None:
    metric = ga.create("metric", "cluster_accuracy")
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert metric(y, (y + 1) % 3) == 1.0  # a relabelling is perfect
    assert metric(y, np.arange(9)) == pytest.approx(3 / 9)  # singletons: one sample per class matched
    assert metric(y, np.zeros(9, dtype=int)) == pytest.approx(3 / 9)  # one cluster: one class matched
    assert metric(y, [7, 7, 8, 1, 1, 1, 2, 2, 5]) == pytest.approx(7 / 9)
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 200)
    check_metric(metric, t, _noisy(t, 0.1, 4, rng), worse=rng.integers(0, 4, 200))


@settings(max_examples=25, deadline=None)
@given(labelings, st.randoms(use_true_random=False))
def test_invariant_under_relabelling_of_clusters(pair: tuple[list[int], list[int]], rnd) -> None:
    t, p = np.array(pair[0]), np.array(pair[1])
    perm = np.array(rnd.sample(range(100, 108), 8))  # an injective relabelling of cluster ids
    for name in ("nmi", "ari", "cluster_accuracy"):
        metric = ga.create("metric", name)
        assert metric(t, perm[p]) == pytest.approx(metric(t, p), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(labelings)
def test_nmi_ari_symmetric_and_bounded(pair: tuple[list[int], list[int]]) -> None:
    t, p = np.array(pair[0]), np.array(pair[1])
    nmi, ari, acc = (ga.create("metric", n) for n in ("nmi", "ari", "cluster_accuracy"))
    assert nmi(t, p) == pytest.approx(nmi(p, t), abs=1e-12)
    assert ari(t, p) == pytest.approx(ari(p, t), abs=1e-12)
    assert -1e-12 <= nmi(t, p) <= 1 + 1e-12
    assert ari(t, p) <= 1 + 1e-12
    assert 0 < acc(t, p) <= 1
    assert nmi(t, p) == pytest.approx(normalized_mutual_info_score(t, p), abs=1e-12)
    assert ari(t, p) == pytest.approx(adjusted_rand_score(t, p), abs=1e-12)


def test_declarations() -> None:
    for name in ("nmi", "ari", "cluster_accuracy"):
        metric = ga.create("metric", name)
        assert metric.tasks == ("clustering",) and metric.higher_is_better and metric.input == "labels"


@pytest.mark.parametrize("name", ["nmi", "ari", "cluster_accuracy"])
def test_bad_input_raises_clear_errors(name: str) -> None:
    metric = ga.create("metric", name)
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        metric([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="0 samples"):
        metric([], [])
    with pytest.raises(ValueError, match="NaN"):
        metric([0.0, 1.0, np.nan], [0, 1, 1])
    with pytest.raises(ValueError, match="1-D"):
        metric(np.zeros((3, 2)), [0, 1, 1])
    with pytest.raises(ValueError, match="None"):
        metric(None, [0, 1, 1])


def test_nmi_rejects_unknown_average() -> None:
    with pytest.raises(ValueError, match="average"):
        ga.create("metric", "nmi", average="harmonic")
